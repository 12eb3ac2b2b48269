"""Data models of the code executor environment (0.10 template style)."""

from openenv.core.env_server.types import Action, Observation
from pydantic import Field


class CodeAction(Action):
    """Python source to run."""

    code: str = Field(..., max_length=20_000, description="Python code to execute")


class CodeObservation(Observation):
    """What the code printed and how it exited."""

    stdout: str = Field(default="", description="Standard output (truncated to 8 KiB)")
    stderr: str = Field(default="", description="Standard error (truncated to 8 KiB)")
    exit_code: int = Field(default=0, description="Exit status; -1 when it timed out")
