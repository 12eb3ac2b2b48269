"""The hidden-test-suite scorer of python_exec_env's tasks (`task_env`).

`run_hidden_tests(sandbox, code, tests)` runs, in one sandboxed process, the submitted code and
then each hidden test's expression — a Python expression over the names the code defined — and
reads back the values; the server compares them with the expected values, which never enter the
sandbox (spec OE-SEC-010: the code cannot read the answers that score it; it sees only the
expressions, as any caller of its functions would). A value counts only if it survives a JSON
round trip unchanged. The harness prints the values as the last line of stdout after a per-run
random marker; the submission's own output comes before it and is returned without that line. A
submission that forges that line gains nothing it could not get by returning the values itself.
Bounded: at most `MAX_TESTS` tests, each expression at most `MAX_EXPRESSION` characters.
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
def __openenv_hidden_tests(__exprs, __marker):
    import json as __json
    __values = []
    for __expr in __exprs:
        try:
            __value = eval(__expr, globals())
            __text = __json.dumps(__value)
            __values.append([True, __text] if __json.loads(__text) == __value else [False, None])
        except BaseException:
            __values.append([False, None])
    print(__marker + __json.dumps(__values), flush=True)

__openenv_hidden_tests({exprs}, {marker})
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


def _count_passed(line: str, expected: list[Any]) -> int:
    """How many of the reported values equal the expected ones (compared here, in the server)."""
    try:
        values = json.loads(line)
    except ValueError:
        return 0
    if not isinstance(values, list) or len(values) != len(expected):
        return 0
    passed = 0
    for item, want in zip(values, expected, strict=True):
        if isinstance(item, list) and len(item) == 2 and item[0] is True and isinstance(item[1], str):
            try:
                passed += json.loads(item[1]) == want
            except ValueError:
                continue
    return passed


def run_hidden_tests(sandbox: Sandbox, code: str, tests: Any) -> HiddenTestResult:
    """Run `code`, then `tests`, in `sandbox`; the submission's exceptions count as failures."""
    checked = _checked(tests)
    marker = f"@@openenv-tests-{secrets.token_hex(16)}@@"
    program = (
        "try:\n    exec(compile(" + repr(code) + ", '<submission>', 'exec'))\n"
        "except BaseException as __error:\n"
        "    import traceback as __tb\n    __tb.print_exc()\n"
        + _HARNESS.format(exprs=repr([expr for expr, _ in checked]), marker=repr(marker))
    )
    run = sandbox.run(program, RUN_TIMEOUT_S)
    passed, total = 0, len(checked)
    lines = run.stdout.splitlines(keepends=True)
    for index in range(len(lines) - 1, -1, -1):
        if lines[index].startswith(marker):
            passed = _count_passed(lines[index][len(marker) :], [want for _, want in checked])
            del lines[index]
            break
    return HiddenTestResult(passed, total, replace(run, stdout="".join(lines)))
