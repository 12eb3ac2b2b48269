"""The hidden-test-suite scorer of python_exec_env's tasks (`task_env`).

`run_hidden_tests(sandbox, code, tests)` runs, in one sandboxed process, the submitted code and
then each hidden test — a Python expression over the names the code defined, and the value it must
equal (JSON-comparable) — and reads back how many passed. The harness prints its result as the last
line of stdout after a per-run random marker; the submission's own output comes before it and is
returned without that line. Known limit: the tests run in the submission's process, so a
submission that inspects its own script can forge the marker line; the scorer then sees a made-up
result (the sandbox still contains the process). Bounded: at most `MAX_TESTS` tests, each
expression at most `MAX_EXPRESSION` characters.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, replace
from typing import Any

from .sandbox import RunResult, Sandbox

SCORER_NAME = "hidden_tests"
MAX_TESTS = 100
MAX_EXPRESSION = 1000
RUN_TIMEOUT_S = 10.0

_HARNESS = """
def __openenv_hidden_tests(__tests, __marker):
    import json as __json
    __passed = 0
    for __expr, __expected in __tests:
        try:
            if eval(__expr, globals()) == __expected:
                __passed += 1
        except BaseException:
            pass
    print(__marker + __json.dumps({{"passed": __passed, "total": len(__tests)}}), flush=True)

__openenv_hidden_tests({tests}, {marker})
"""


@dataclass(frozen=True)
class HiddenTestResult:
    passed: int
    total: int
    run: RunResult

    @property
    def pass_rate(self) -> float:
        return self.passed / self.total if self.total else 0.0

    @property
    def all_passed(self) -> bool:
        return self.total > 0 and self.passed == self.total


def _checked(tests: Any) -> list[tuple[str, Any]]:
    if not isinstance(tests, list) or len(tests) > MAX_TESTS:
        raise ValueError(f"a task's tests must be a list of at most {MAX_TESTS} [expression, expected] pairs")
    out: list[tuple[str, Any]] = []
    for test in tests:
        if not (isinstance(test, list | tuple) and len(test) == 2 and isinstance(test[0], str)):
            raise ValueError("each test is an [expression, expected] pair")
        if len(test[0]) > MAX_EXPRESSION:
            raise ValueError(f"a test expression is longer than {MAX_EXPRESSION} characters")
        out.append((test[0], test[1]))
    return out


def run_hidden_tests(sandbox: Sandbox, code: str, tests: Any) -> HiddenTestResult:
    """Run `code`, then `tests`, in `sandbox`; the submission's exceptions count as failures."""
    checked = _checked(tests)
    marker = f"@@openenv-tests-{secrets.token_hex(16)}@@"
    program = (
        "try:\n    exec(compile(" + repr(code) + ", '<submission>', 'exec'))\n"
        "except BaseException as __error:\n"
        "    import traceback as __tb\n    __tb.print_exc()\n"
        + _HARNESS.format(tests=repr(json.loads(json.dumps(checked))), marker=repr(marker))
    )
    run = sandbox.run(program, RUN_TIMEOUT_S)
    passed, total = 0, len(checked)
    lines = run.stdout.splitlines(keepends=True)
    for index in range(len(lines) - 1, -1, -1):
        if lines[index].startswith(marker):
            try:
                summary = json.loads(lines[index][len(marker) :])
                passed = min(int(summary["passed"]), total)
            except (ValueError, KeyError, TypeError):
                passed = 0
            del lines[index]
            break
    return HiddenTestResult(passed, total, replace(run, stdout="".join(lines)))
