"""A Python code executor environment in openenv 0.10's template layout."""

from .client import CodeExecEnv
from .models import CodeAction, CodeObservation

__all__ = ["CodeAction", "CodeExecEnv", "CodeObservation"]
