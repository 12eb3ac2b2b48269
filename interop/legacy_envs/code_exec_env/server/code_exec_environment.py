"""Run Python snippets in a child interpreter, written against openenv 0.10's `Environment`.

Each step runs ``action.code`` with ``python -I -c`` in a fresh process (isolated mode, no
environment variables passed on, working directory a per-session temporary directory), bounded
by ``TIMEOUT_S`` seconds (then killed: exit code -1) and with output truncated to ``MAX_OUTPUT``
bytes per stream. Reward: 1.0 when the code exits 0, else 0.0. The episode ends when the code
prints ``DONE`` on a line of its own. ``metadata.last_code`` carries the code (as 0.10's
coding_env does).
"""

import shutil
import subprocess
import sys
import tempfile
import uuid
from typing import Any

from openenv.core.env_server.interfaces import Environment
from openenv.core.env_server.types import State

try:
    from ..models import CodeAction, CodeObservation
except ImportError:
    from models import CodeAction, CodeObservation

TIMEOUT_S = 5.0
MAX_OUTPUT = 8192


def _clip(data: bytes) -> str:
    return data[:MAX_OUTPUT].decode("utf-8", "replace")


class CodeExecEnvironment(Environment[CodeAction, CodeObservation, State]):
    """Executes Python code in a child process per step."""

    SUPPORTS_CONCURRENT_SESSIONS = True

    def __init__(self) -> None:
        super().__init__()
        self._state = State(episode_id=str(uuid.uuid4()), step_count=0)
        self._workdir = tempfile.mkdtemp(prefix="code-exec-")

    def reset(self, seed: int | None = None, episode_id: str | None = None, **kwargs: Any) -> CodeObservation:
        self._state = State(episode_id=episode_id or str(uuid.uuid4()), step_count=0)
        return CodeObservation(reward=0.0, metadata={"python": sys.version.split()[0]})

    def step(self, action: CodeAction, timeout_s: float | None = None, **kwargs: Any) -> CodeObservation:
        self._state.step_count += 1
        try:
            done = subprocess.run(
                [sys.executable, "-I", "-c", action.code],
                cwd=self._workdir,
                env={},
                stdin=subprocess.DEVNULL,
                capture_output=True,
                timeout=TIMEOUT_S,
            )
            stdout, stderr, code = _clip(done.stdout), _clip(done.stderr), done.returncode
        except subprocess.TimeoutExpired as exc:
            stdout, stderr, code = _clip(exc.stdout or b""), f"timed out after {TIMEOUT_S:g} s", -1
        finished = "DONE" in stdout.splitlines()
        return CodeObservation(
            stdout=stdout,
            stderr=stderr,
            exit_code=code,
            reward=1.0 if code == 0 else 0.0,
            done=finished,
            metadata={"last_code": action.code},
        )

    @property
    def state(self) -> State:
        return self._state

    def close(self) -> None:
        shutil.rmtree(self._workdir, ignore_errors=True)
