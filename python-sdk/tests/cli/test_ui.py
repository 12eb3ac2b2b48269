"""Progress display: silent when stderr is not a terminal, spinner and done lines when it is;
CliError's one-line format."""

from __future__ import annotations

import io
import re

from openenv.cli._ui import CliError, Progress


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_quiet_when_not_a_terminal() -> None:
    stream = io.StringIO()
    progress = Progress(stream=stream)
    with progress.step("building x"):
        progress.update("building x: step 1/3")
    assert not progress.live and stream.getvalue() == ""


def test_spinner_and_done_line_on_a_terminal() -> None:
    stream = _Terminal()
    progress = Progress(stream=stream)
    assert progress.live
    with progress.step("building x"):
        progress.update("building x: step 1/3")
    shown = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", stream.getvalue())  # without the terminal's control codes
    assert "building x: step 1/3" in shown and "✓ building x (0.0s)" in shown
    quiet = Progress(stream=_Terminal(), quiet=True)
    assert not quiet.live


def test_error_line() -> None:
    error = CliError("something\n  broke", hint="do this  next")
    assert error.line() == "openenv: something broke — do this next" and error.code == 2
    assert CliError("x", code=1).line() == "openenv: x"
