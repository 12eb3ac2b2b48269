"""0.10's `openenv.core.env_server.interfaces`: the `Environment` base class authors subclass.

Contract (0.10's, unchanged): one instance per session; `reset(seed, episode_id, **kwargs)` and
`step(action, timeout_s, **kwargs)` return observations; `state` is a *property*; `reset_async` /
`step_async` default to the sync methods and may be overridden with real async code; `close()`
releases resources. `SUPPORTS_CONCURRENT_SESSIONS` must be True for more than one session per
server. Optional `transform` and `rubric` hooks. Our runtime serves such a class through
`openenv.core.env_server.http_server.create_app`, which adapts it to `openenv.server.Environment`.
"""

from __future__ import annotations

import inspect
from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

from typing_extensions import TypedDict

from openenv.core.env_server.types import Action, EnvironmentMetadata, Observation, State

if TYPE_CHECKING:
    from openenv.core.rubrics import Rubric

__all__ = [
    "CompositeTransform",
    "Environment",
    "Message",
    "ModelTokenizer",
    "NullTransform",
    "TaskProvider",
    "Transform",
]

ActT = TypeVar("ActT", bound=Action)
ObsT = TypeVar("ObsT", bound=Observation)
StateT = TypeVar("StateT", bound=State)


class Message(TypedDict):
    """A chat message (`role`, `content`), as chat templates take it."""

    role: str
    content: str


class ModelTokenizer(Protocol):
    """A tokenizer with a chat template (Hugging Face style)."""

    def apply_chat_template(
        self,
        conversation: list[Message],
        tokenize: bool = True,
        return_tensors: str | None = None,
        **kwargs: Any,
    ) -> Any: ...

    def decode(self, token_ids: Any, skip_special_tokens: bool = False, **kwargs: Any) -> str: ...


class TaskProvider(Protocol):
    """Optional task discovery an environment may implement structurally."""

    def list_splits(self) -> list[Any]: ...

    def list_tasks(self, split: str) -> list[Any]: ...

    def num_tasks(self, split: str) -> int: ...

    def get_task(self, split: str, index: int) -> Any: ...

    def get_task_range(self, split: str, start: int | None = None, stop: int | None = None) -> list[Any]: ...


class Transform(ABC, Generic[ObsT]):
    """Maps an observation to a (possibly modified) observation."""

    @abstractmethod
    def __call__(self, observation: ObsT) -> ObsT: ...


class CompositeTransform(Transform[Observation]):
    """Applies several transforms in order."""

    def __init__(self, transforms: list[Transform[Any]]):
        self.transforms = transforms

    def __call__(self, observation: Observation) -> Observation:
        for transform in self.transforms:
            observation = transform(observation)
        return observation


class NullTransform(Transform[Observation]):
    """Returns the observation unchanged."""

    def __call__(self, observation: Observation) -> Observation:
        return observation


class Environment(ABC, Generic[ActT, ObsT, StateT]):
    """Base class of a 0.10-style environment (see the module docstring)."""

    SUPPORTS_CONCURRENT_SESSIONS: bool = False
    REQUIRES_SINGLE_THREAD_EXECUTOR: bool = False
    rubric: Rubric | None

    def __init__(self, transform: Transform[ObsT] | None = None, rubric: Rubric | None = None):
        self.transform = transform
        self.rubric = rubric

    @abstractmethod
    def reset(self, seed: int | None = None, episode_id: str | None = None, **kwargs: Any) -> ObsT:
        """Start an episode and return its first observation."""

    async def reset_async(self, seed: int | None = None, episode_id: str | None = None, **kwargs: Any) -> ObsT:
        """Async `reset`; the default calls the sync one."""
        return self.reset(seed=seed, episode_id=episode_id, **kwargs)

    @abstractmethod
    def step(self, action: ActT, timeout_s: float | None = None, **kwargs: Any) -> ObsT:
        """Apply one action."""

    async def step_async(self, action: ActT, timeout_s: float | None = None, **kwargs: Any) -> ObsT:
        """Async `step`; the default calls the sync one."""
        return self.step(action, timeout_s=timeout_s, **kwargs)

    @property
    @abstractmethod
    def state(self) -> StateT:
        """The current episode state."""

    def get_metadata(self) -> EnvironmentMetadata:
        """Name, description and version for `/metadata` (override to customise)."""
        name = self.__class__.__name__
        return EnvironmentMetadata(name=name, description=f"{name} environment", version="1.0.0")

    def _apply_transform(self, observation: ObsT) -> ObsT:
        return self.transform(observation) if self.transform is not None else observation

    def _apply_rubric(self, action: ActT, observation: ObsT) -> float:
        if self.rubric is not None:
            value: float = self.rubric(action, observation)
            return value
        return 0.0

    async def _apply_rubric_async(self, action: ActT, observation: ObsT) -> float:
        if self.rubric is None:
            return 0.0
        result = self.rubric(action, observation)
        if inspect.isawaitable(result):
            result = await result
        return float(result)

    def _reset_rubric(self) -> None:
        if self.rubric is not None:
            self.rubric.reset()

    async def _reset_rubric_async(self) -> None:
        if self.rubric is None:
            return
        reset_async = getattr(self.rubric, "reset_async", None)
        if reset_async is None:
            self.rubric.reset()
            return
        result = reset_async()
        if inspect.isawaitable(result):
            await result

    def render_web(self, observation: dict[str, Any]) -> str | None:
        """HTML for a web view of an observation (none by default; we serve no web UI)."""
        return None

    def web_actions(self, observation: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
        """One-click actions for a web view (none by default)."""
        return []

    def close(self) -> None:
        """Release resources; called once when the session ends."""
