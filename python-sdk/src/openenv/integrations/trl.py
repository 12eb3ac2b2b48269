"""TRL's `GRPOTrainer` driving OpenEnv environments: reward functions and a rollout function.

Nothing here imports TRL, transformers or torch at import time (the SDK does not depend on them);
`make_rollout_func` imports torch when it is called.

Contract:

* `env_reward_func(source, to_action, …)` returns a reward function in the shape TRL calls
  (`f(prompts, completions, **columns) -> list[float]`, with a `__name__` TRL logs it under). For
  each completion it runs one episode on a session from `source` (a list of URLs, an `EnvPool`,
  any `SessionSource`): `reset(**args)` with the arguments named by `reset_columns` taken from the
  dataset row (e.g. `task_id`, `seed`), then up to `max_steps` steps whose actions come from
  `to_action(completion, observation)`; the reward is the episode's return as the server reported
  it (`Trajectory.total_reward`). All completions of a batch run concurrently
  (`concurrency`). An episode that fails scores `failure_reward` and is counted; when every episode
  of a call fails, it raises `RolloutFailed` (a training step must not silently learn from
  nothing). The last call's trajectories stay on `f.last_trajectories` and every reward on
  `f.history` (bounded to the last `history_limit`).
* `make_rollout_func(source, to_action, …)` returns a function in the shape of TRL's
  `rollout_func` (`(prompts, trainer) -> dict`): it samples one completion per prompt it is given
  (TRL's sampler already repeats each prompt `num_generations` times) from `trainer.model` (plain
  `generate`, CPU or GPU, batched, left-padded), records their sampling log-probs,
  scores each completion with an episode as above, and returns `prompt_ids`, `completion_ids`,
  `logprobs` and `env_reward` (one per completion). Pair it with `reward_from_env`, which hands
  `env_reward` to TRL as the reward.
* Both run their episodes with `openenv.rollout.run_rollouts` on a `BackgroundLoop` (an event loop
  on its own daemon thread; one shared by default), so they work from TRL's synchronous training
  loop and from a notebook whose loop is running. An `EnvPool` is bound to the loop it was started
  on: start it on the same `BackgroundLoop` (`loop.run(EnvPool(...).start())`) and pass `loop=`.
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from collections.abc import Callable, Coroutine, Mapping, Sequence
from typing import Any, TypeVar

from openenv.errors import OpenEnvError
from openenv.rollout import EpisodeSpec, SessionSource, Trajectory, run_rollouts

ToAction = Callable[[str, Any], Any]
"""(completion text, observation) → action."""

T = TypeVar("T")

__all__ = [
    "BackgroundLoop",
    "EnvRewardFunc",
    "RolloutFailed",
    "env_reward_func",
    "make_rollout_func",
    "reward_from_env",
]


class RolloutFailed(OpenEnvError):
    """Every episode of a reward call failed; the first error is in the message."""


def _completion_text(completion: Any) -> str:
    """TRL passes plain strings, or (conversational) a list of messages: take the last content."""
    if isinstance(completion, str):
        return completion
    if isinstance(completion, list) and completion and isinstance(completion[-1], Mapping):
        return str(completion[-1].get("content", ""))
    raise TypeError(f"a completion must be a string or a list of messages, not {type(completion).__name__}")


class BackgroundLoop:
    """An event loop on its own daemon thread; `run(coro)` blocks the caller until it finishes."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="openenv-trl-loop", daemon=True)
        self._thread.start()

    def run(self, coro: Coroutine[Any, Any, T], timeout_s: float | None = None) -> T:
        """Run `coro` on the loop and return its result (re-raising its exception)."""
        if threading.current_thread() is self._thread:
            coro.close()
            raise RuntimeError("BackgroundLoop.run called from its own loop thread")
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout_s)

    def close(self) -> None:
        """Stop the loop and its thread (idempotent)."""
        if self.loop.is_closed():
            return
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)
        self.loop.close()


_SHARED: BackgroundLoop | None = None
_SHARED_LOCK = threading.Lock()


def shared_loop() -> BackgroundLoop:
    """The process-wide `BackgroundLoop` (started on first use)."""
    global _SHARED
    with _SHARED_LOCK:
        if _SHARED is None or _SHARED.loop.is_closed():
            _SHARED = BackgroundLoop()
        return _SHARED


def _episodes(
    completions: Sequence[Any],
    columns: Mapping[str, Any],
    reset_columns: Sequence[str],
    to_action: ToAction,
    max_steps: int,
) -> list[EpisodeSpec]:
    specs: list[EpisodeSpec] = []
    for i, completion in enumerate(completions):
        text = _completion_text(completion)
        reset: dict[str, Any] = {}
        for name in reset_columns:
            values = columns.get(name)
            if values is not None and i < len(values) and values[i] is not None:
                reset[name] = values[i]

        def policy(observation: Any, text: str = text) -> Any:
            return to_action(text, observation)

        specs.append(EpisodeSpec(reset=reset, policy=policy, max_steps=max_steps, tag=i))
    return specs


def _score(trajectories: list[Trajectory], failure_reward: float) -> list[float]:
    if trajectories and all(not t.ok for t in trajectories):
        first = trajectories[0].error
        assert first is not None
        raise RolloutFailed(f"all {len(trajectories)} episodes failed; first: {first.type}: {first.message}")
    return [t.total_reward if t.ok else failure_reward for t in trajectories]


class EnvRewardFunc:
    """The reward function `env_reward_func` returns (see the module docstring)."""

    def __init__(
        self,
        source: SessionSource | Sequence[str],
        to_action: ToAction,
        *,
        reset_columns: Sequence[str],
        max_steps: int,
        concurrency: int,
        episode_timeout_s: float,
        failure_reward: float,
        name: str,
        history_limit: int,
        loop: BackgroundLoop | None,
    ) -> None:
        self.source = source
        self.to_action = to_action
        self.reset_columns = tuple(reset_columns)
        self.max_steps = max_steps
        self.concurrency = concurrency
        self.episode_timeout_s = episode_timeout_s
        self.failure_reward = failure_reward
        self.__name__ = name
        self.last_trajectories: list[Trajectory] = []
        self.history: deque[float] = deque(maxlen=history_limit)
        self.failures = 0
        self.loop = loop or shared_loop()

    def __call__(
        self, prompts: Sequence[Any] | None = None, completions: Sequence[Any] = (), **columns: Any
    ) -> list[float]:
        specs = _episodes(completions, columns, self.reset_columns, self.to_action, self.max_steps)
        trajectories = self.loop.run(
            run_rollouts(
                self.source,
                None,
                specs,
                concurrency=self.concurrency,
                max_steps=self.max_steps,
                episode_timeout_s=self.episode_timeout_s,
                sync_policy_in_thread=False,
            )
        )
        self.last_trajectories = trajectories
        self.failures += sum(not t.ok for t in trajectories)
        rewards = _score(trajectories, self.failure_reward)
        self.history.extend(rewards)
        return rewards


def env_reward_func(
    source: SessionSource | Sequence[str],
    to_action: ToAction,
    *,
    reset_columns: Sequence[str] = ("task_id", "seed"),
    max_steps: int = 1,
    concurrency: int = 64,
    episode_timeout_s: float = 120.0,
    failure_reward: float = 0.0,
    name: str = "openenv_reward",
    history_limit: int = 100_000,
    loop: BackgroundLoop | None = None,
) -> EnvRewardFunc:
    """A TRL reward function whose rewards come from episodes on `source` (module docstring)."""
    return EnvRewardFunc(
        source,
        to_action,
        reset_columns=reset_columns,
        max_steps=max_steps,
        concurrency=concurrency,
        episode_timeout_s=episode_timeout_s,
        failure_reward=failure_reward,
        name=name,
        history_limit=history_limit,
        loop=loop,
    )


def reward_from_env(
    completions: Sequence[Any] = (), env_reward: Sequence[float] | None = None, **_: Any
) -> list[float]:
    """The reward function to pair with `make_rollout_func`: the environment's reward, as is."""
    if env_reward is None or len(env_reward) != len(completions):
        raise ValueError("reward_from_env needs the 'env_reward' field of make_rollout_func, one per completion")
    return [float(r) for r in env_reward]


def make_rollout_func(
    source: SessionSource | Sequence[str],
    to_action: ToAction,
    *,
    reset_columns: Sequence[str] = ("task_id", "seed"),
    max_steps: int = 1,
    concurrency: int = 64,
    episode_timeout_s: float = 120.0,
    failure_reward: float = 0.0,
    max_new_tokens: int | None = None,
    loop: BackgroundLoop | None = None,
) -> Callable[[list[Any], Any], dict[str, Any]]:
    """A TRL `rollout_func`: sample with `trainer.model`, score every completion on `source`."""
    runner = loop or shared_loop()

    def rollout_func(prompts: list[Any], trainer: Any) -> dict[str, Any]:
        import torch  # only when training

        tokenizer = trainer.processing_class
        model = trainer.model
        new_tokens = int(max_new_tokens or trainer.args.max_completion_length)
        texts = [p if isinstance(p, str) else tokenizer.apply_chat_template(p, tokenize=False) for p in prompts]
        prompt_ids: list[list[int]] = []
        completion_ids: list[list[int]] = []
        logprobs: list[list[float]] = []
        completions: list[str] = []
        was_training = model.training
        model.eval()
        try:
            with torch.no_grad():
                encoded = tokenizer(texts, return_tensors="pt", padding=True).to(model.device)
                out = model.generate(
                    **encoded,
                    do_sample=True,
                    temperature=float(trainer.args.temperature),
                    max_new_tokens=new_tokens,
                    output_scores=True,
                    return_dict_in_generate=True,
                    pad_token_id=tokenizer.pad_token_id,
                )
        finally:
            model.train(was_training)
        start = encoded["input_ids"].shape[1]
        steps = torch.stack(out.scores, dim=1).float().log_softmax(-1)  # (N, T, V): the sampling distribution
        for i in range(len(texts)):
            ids = out.sequences[i, start:].tolist()
            if tokenizer.eos_token_id in ids:  # keep the EOS, drop the padding after it
                ids = ids[: ids.index(tokenizer.eos_token_id) + 1]
            mask = encoded["attention_mask"][i].tolist()
            prompt_ids.append([tok for tok, keep in zip(encoded["input_ids"][i].tolist(), mask, strict=True) if keep])
            completion_ids.append(ids)
            logprobs.append([float(steps[i, t, tok]) for t, tok in enumerate(ids)])
            completions.append(tokenizer.decode(ids, skip_special_tokens=True))
        columns = {name: _column(trainer, prompts, name) for name in reset_columns}
        specs = _episodes(completions, columns, reset_columns, to_action, max_steps)
        trajectories = runner.run(
            run_rollouts(
                source,
                None,
                specs,
                concurrency=concurrency,
                max_steps=max_steps,
                episode_timeout_s=episode_timeout_s,
                sync_policy_in_thread=False,
            )
        )
        return {
            "prompt_ids": prompt_ids,
            "completion_ids": completion_ids,
            "logprobs": logprobs,
            "env_reward": _score(trajectories, failure_reward),
        }

    return rollout_func


def _column(trainer: Any, prompts: list[Any], name: str) -> list[Any]:
    """A dataset column for `prompts`, looked up by prompt in the trainer's training set (TRL
    hands a rollout function only the prompts); None where the set has no such column."""
    dataset = getattr(trainer, "train_dataset", None)
    if dataset is None or name not in getattr(dataset, "column_names", ()):
        return [None] * len(prompts)
    index: dict[str, Any] = {}
    for row in dataset:
        index.setdefault(repr(row["prompt"]), row[name])
    return [index.get(repr(p)) for p in prompts]
