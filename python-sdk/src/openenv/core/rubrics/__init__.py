"""0.10's `openenv.core.rubrics`: the `Rubric` base class, its containers and trajectory rubrics.

`LLMJudge` is not ported (it needs an LLM client). `rubric_reward_info` is ours: a rubric's last
evaluation as `metadata["reward_info"]` (spec/rewards.md).
"""

from openenv.core.rubrics.base import Rubric
from openenv.core.rubrics.containers import Gate, RubricDict, RubricList, Sequential, WeightedSum
from openenv.core.rubrics.rewards import rubric_reward_info
from openenv.core.rubrics.trajectory import ExponentialDiscountingTrajectoryRubric, TrajectoryRubric

__all__ = [
    "ExponentialDiscountingTrajectoryRubric",
    "Gate",
    "Rubric",
    "RubricDict",
    "RubricList",
    "Sequential",
    "TrajectoryRubric",
    "WeightedSum",
    "rubric_reward_info",
]
