"""0.10's `openenv.core.rubrics`: the `Rubric` base class (containers and LLM judges are not ported)."""

from openenv.core.rubrics.base import Rubric

__all__ = ["Rubric"]
