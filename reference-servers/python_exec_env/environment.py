"""The python_exec_env as an OpenEnv `Environment` (a thin layer over `episode` and `sandbox`).

`reset` starts a fresh sandboxed workdir (removing the previous one, and releasing its uid) and
reports the isolation this episode's runs get in `metadata["isolation"]`; `step(RunCodeAction)`
runs the code and returns the article's reward, with `truncated=True` on the 20th step; `state`
carries `episode_id`, `step_count`, `max_steps` and `isolation`. `reset(expected_stdout=...)`
grades the episode against a hidden answer kept in the sandbox's grader directory (see
`episode`). A step before the first reset or after truncation is an `EnvironmentFault` (the SDK
reports it as `EXECUTION_ERROR`, or the v1 episode errors)."""

from __future__ import annotations

import uuid
from typing import Any

from openenv import Action, Observation, State
from openenv.server import Environment, EnvironmentFault
from pydantic import ConfigDict, Field, JsonValue

from .episode import DEFAULT_MAX_STEPS, Episode
from .sandbox import MAX_CODE_BYTES, MAX_TIMEOUT_S, SandboxError, probe_isolation

MARKER_FILE = "openenv_marker.txt"
# The recipe of the conformance check `isolation.session_files` (spec OE-SEC-009): write a
# marker into this session's files; read every marker file the code can reach anywhere.
SESSION_FILES_RECIPE: dict[str, JsonValue] = {
    "write": {"code": f"open({MARKER_FILE!r}, 'w').write('{{marker}}')"},
    "read": {
        "code": (
            "import os\n"
            "found = []\n"
            "for top, dirs, files in os.walk('/'):\n"
            "    dirs[:] = [d for d in dirs if os.path.join(top, d) not in ('/proc', '/sys', '/dev')]\n"
            f"    if {MARKER_FILE!r} in files:\n"
            "        try:\n"
            f"            found.append(open(os.path.join(top, {MARKER_FILE!r})).read(100))\n"
            "        except OSError:\n"
            "            pass\n"
            "    if len(found) > 100:\n"
            "        break\n"
            "print(found)\n"
        ),
        "timeout_seconds": 30.0,
    },
}


class RunCodeAction(Action):
    """Execute a Python snippet in the sandbox."""

    model_config = ConfigDict(json_schema_extra={"x-openenv-session-files": SESSION_FILES_RECIPE})

    code: str = Field(max_length=MAX_CODE_BYTES, description="Python source to run.")
    timeout_seconds: float = Field(
        default=10.0, gt=0, le=MAX_TIMEOUT_S, allow_inf_nan=False, description="Wall-clock limit."
    )


class PyExecObservation(Observation):
    """What one run produced."""

    stdout: str = ""
    stderr: str = ""
    exit_code: int = 0
    execution_time_ms: float = Field(default=0.0, json_schema_extra={"x-openenv-nondeterministic": True})
    """Wall-clock time of the run: marked volatile in `/schema` (spec OE-HTTP-027)."""
    files_changed: list[str] = Field(default_factory=list)


class PyExecState(State):
    """Episode state plus the step limit and the isolation this host gives."""

    max_steps: int
    isolation: dict[str, str]


class PythonExecEnvironment(Environment):
    """A Python code-execution sandbox: +1 success, -0.5 error, -1 timeout; 20 steps."""

    action_type = RunCodeAction
    observation_type = PyExecObservation
    state_type = PyExecState
    single_thread = True

    def __init__(self, max_steps: int = DEFAULT_MAX_STEPS) -> None:
        self._max_steps = max_steps
        self._episode: Episode | None = None
        self._episode_id: str | None = None

    def reset(
        self,
        seed: int | None = None,
        episode_id: str | None = None,
        expected_stdout: str | None = None,
        **kwargs: Any,
    ) -> PyExecObservation:
        self.close()
        if expected_stdout is not None and not isinstance(expected_stdout, str):
            raise EnvironmentFault("expected_stdout must be a string")
        try:
            self._episode = Episode(max_steps=self._max_steps, expected_stdout=expected_stdout)
        except (ValueError, SandboxError) as exc:
            raise EnvironmentFault(str(exc)) from exc
        self._episode_id = episode_id or uuid.uuid4().hex
        return PyExecObservation(
            stdout="Python sandbox ready.\n",
            metadata={"isolation": self._episode.sandbox.isolation.as_dict(), "max_steps": self._max_steps},
        )

    def step(self, action: RunCodeAction) -> PyExecObservation:
        if self._episode is None:
            raise EnvironmentFault("no episode: call reset before step")
        if self._episode.finished:
            raise EnvironmentFault("the episode is over (step limit reached): call reset")
        try:
            outcome = self._episode.step(action.code, action.timeout_seconds)
        except SandboxError as exc:
            raise EnvironmentFault(str(exc)) from exc
        result = outcome.result
        return PyExecObservation(
            stdout=result.stdout,
            stderr=result.stderr,
            exit_code=result.exit_code,
            execution_time_ms=round(result.execution_time_ms, 3),
            files_changed=list(result.files_changed),
            reward=outcome.reward,
            truncated=outcome.truncated,
            done=outcome.truncated,
            metadata={
                "timed_out": result.timed_out,
                "stdout_truncated": result.stdout_truncated,
                "stderr_truncated": result.stderr_truncated,
                "isolation": result.isolation.as_dict(),
            },
        )

    def state(self) -> PyExecState:
        return PyExecState(
            episode_id=self._episode_id,
            step_count=self._episode.step_count if self._episode else 0,
            max_steps=self._max_steps,
            isolation=(self._episode.sandbox.isolation if self._episode else probe_isolation()).as_dict(),
        )

    def close(self) -> None:
        if self._episode is not None:
            self._episode.close()
            self._episode = None
