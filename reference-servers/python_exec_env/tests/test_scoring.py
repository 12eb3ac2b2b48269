"""The hidden-test scorer keeps the expected values out of the sandbox (spec OE-SEC-010)."""

from __future__ import annotations

from python_exec_env.sandbox import Sandbox, SandboxLimits
from python_exec_env.scoring import run_hidden_tests

SECRET = "hidden-expected-7f3a"

# Everything a submission can look at: its own script, every file of /code, the interpreter's
# objects (the harness's arguments included, once it runs) and its caller's frames.
SNOOP = """
import gc, glob, os, sys
seen = []
for path in glob.glob('/code/*') + glob.glob(os.path.join(os.path.dirname(os.path.abspath(sys.argv[0])), '*')):
    try:
        seen.append(open(path).read())
    except OSError:
        pass
def answer():
    for obj in gc.get_objects():
        if isinstance(obj, (list, tuple, dict)):
            seen.append(repr(obj)[:2000])
    frame = sys._getframe(1)
    while frame is not None:
        seen.append(repr(frame.f_locals)[:2000])
        frame = frame.f_back
    print('\\n'.join(s for s in seen if 'hidden' in s)[:20000])  # within the output cap
    print('seen', len(seen), 'answer()' in ''.join(seen))
    return 'guess'
"""


def test_the_code_never_sees_the_expected_values() -> None:
    with Sandbox(SandboxLimits(cpu_seconds=5)) as box:
        result = run_hidden_tests(box, SNOOP, [["answer()", SECRET], ["1 + 1", 2]])
    assert "seen" in result.run.stdout and "True" in result.run.stdout  # it ran and saw the expressions
    assert SECRET not in result.run.stdout
    assert (result.passed, result.total) == (1, 2)


def test_values_that_do_not_survive_json_fail() -> None:
    with Sandbox(SandboxLimits(cpu_seconds=5)) as box:
        result = run_hidden_tests(box, "def pair():\n    return (1, 2)\n", [["pair()", [1, 2]], ["[1, 2]", [1, 2]]])
    assert (result.passed, result.total) == (1, 2)
