"""What every subcommand shares: the error type, exit codes and progress display.

Contract: a `CliError` is printed as ONE line on stderr, `openenv: <what went wrong> — <what to do
next>`, and ends the command with its `code`. Exit codes: `0` success; `1` the thing checked is
wrong (invalid manifest or layout, a failed conformance run, a failed build or upload); `2` the
command could not run (bad arguments or name, missing file, missing optional dependency, no Docker
engine, target exists); `130` interrupted. Progress (`Progress.step`) is a `rich` spinner on
stderr while a long operation runs, and a `✓ <what> (<seconds>)` line after it — only when stderr
is a terminal; otherwise nothing is shown. Results (`Progress.result`) always go to stdout.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from openenv.errors import LocalError

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


def describe(docstring: str | None) -> str | None:
    """A subcommand's `--help` description: its module docstring's contract paragraph."""
    if not docstring or "\n\n" not in docstring:
        return None
    return docstring.split("\n\n")[1].removeprefix("Contract: ")


class CliError(LocalError):
    """A user-facing failure: one line, the next step, an exit code."""

    def __init__(self, message: str, *, hint: str | None = None, code: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.message = " ".join(message.split())
        self.hint = " ".join(hint.split()) if hint else None
        self.code = code

    def line(self) -> str:
        return f"openenv: {self.message}" + (f" — {self.hint}" if self.hint else "")


class Progress:
    """Spinner + done lines on a terminal, silence otherwise."""

    def __init__(self, *, quiet: bool = False, stream: Any = None) -> None:
        from rich.console import Console

        stream = stream if stream is not None else sys.stderr
        self.console = Console(file=stream, highlight=False, soft_wrap=True)
        self.live = bool(self.console.is_terminal) and not quiet
        self._status: Any = None

    @contextmanager
    def step(self, text: str) -> Iterator[Progress]:
        """Show `text` with a spinner while the block runs; a done line after it."""
        t0 = time.monotonic()
        if not self.live:
            yield self
            return
        with self.console.status(text) as status:
            self._status = status
            try:
                yield self
            finally:
                self._status = None
        self.console.print(f"[green]✓[/green] {text} [dim]({time.monotonic() - t0:.1f}s)[/dim]")

    def update(self, text: str) -> None:
        """Replace the spinner's text (e.g. the latest build output line)."""
        if self._status is not None:
            self._status.update(text[:200])

    @staticmethod
    def result(text: str) -> None:
        """A result line on stdout (shown whether or not stdout is a terminal)."""
        print(text, flush=True)
