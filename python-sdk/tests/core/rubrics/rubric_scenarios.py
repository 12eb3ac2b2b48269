"""Run rubric trees through `openenv.core.rubrics` and print what happened as JSON (either interpreter).

Run as a script by the rubric tests, once with `.venv-openenv010/bin/python` (the real 0.10.0
package) and once with ours: both must print the same. Each scenario builds a tree, evaluates it
(synchronously, or inside `asyncio.run`), and records the scores returned, every rubric's
`last_score`, the order in which children and hooks ran, and the type of any exception raised.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import sys
import warnings
from collections.abc import Callable
from typing import Any

from openenv.core.env_server.interfaces import Environment
from openenv.core.env_server.types import Action, Observation, State
from openenv.core.rubrics import (
    ExponentialDiscountingTrajectoryRubric,
    Gate,
    Rubric,
    RubricDict,
    RubricList,
    Sequential,
    TrajectoryRubric,
    WeightedSum,
)

LOG: list[str] = []


class Const(Rubric):
    """Returns a fixed score and logs its evaluation."""

    def __init__(self, name: str, score: float) -> None:
        super().__init__()
        self.name = name
        self.score = score

    def forward(self, action: Any, observation: Any) -> float:
        LOG.append(f"eval {self.name}")
        return self.score


class AsyncConst(Rubric):
    """An `async def forward` returning a fixed score."""

    def __init__(self, name: str, score: float) -> None:
        super().__init__()
        self.name = name
        self.score = score

    async def forward(self, action: Any, observation: Any) -> float:
        LOG.append(f"start {self.name}")
        await asyncio.sleep(0)
        LOG.append(f"end {self.name}")
        return self.score


class FromObservation(Rubric):
    """The observation's `value`."""

    def forward(self, action: Any, observation: Any) -> float:
        return float(observation.value)


class Boom(Rubric):
    def forward(self, action: Any, observation: Any) -> float:
        raise ZeroDivisionError("boom")


class Obs:
    def __init__(self, value: float = 0.0, done: bool = False) -> None:
        self.value = value
        self.done = done


class Final(ExponentialDiscountingTrajectoryRubric):
    def score_trajectory(self, trajectory: list[tuple[Any, Any]]) -> float:
        return float(trajectory[-1][1].value)


class Mean(TrajectoryRubric):
    def score_trajectory(self, trajectory: list[tuple[Any, Any]]) -> float:
        return sum(o.value for _, o in trajectory) / len(trajectory)

    def compute_step_rewards(self) -> list[float]:
        return [self.score_trajectory(self._trajectory)] * len(self._trajectory)


class ByGame(Rubric):
    def __init__(self) -> None:
        super().__init__()
        self.games = RubricDict({"pong": Const("pong", 0.25), "chess": Const("chess", 0.75)})
        self.levels = RubricList([Const("l0", 0.1), Const("l1", 0.2)])

    def forward(self, action: Any, observation: Any) -> float:
        game = "pong" if observation.value < 1 else "chess"
        return self.games[game](action, observation) + self.levels[int(observation.value) % 2](action, observation)


def hooked(rubric: Rubric, name: str, *, async_hooks: bool = False) -> Rubric:
    """Log pre- and post-hooks (plain or `async def`) on `rubric`."""
    if async_hooks:

        async def pre(r: Any, a: Any, o: Any) -> None:
            LOG.append(f"apre {name}")

        async def post(r: Any, a: Any, o: Any, result: Any) -> None:
            LOG.append(f"apost {name} {result}")

    else:

        def pre(r: Any, a: Any, o: Any) -> None:  # type: ignore[misc]
            LOG.append(f"pre {name}")

        def post(r: Any, a: Any, o: Any, result: Any) -> None:  # type: ignore[misc]
            LOG.append(f"post {name} {result}")

    rubric.register_forward_pre_hook(pre)
    rubric.register_forward_hook(post)
    return rubric


def evaluate(rubric: Rubric, observation: Any = None, *, in_loop: bool = False) -> dict[str, Any]:
    """Call `rubric` (awaiting it when it hands back a coroutine) and describe the outcome."""
    LOG.clear()
    out: dict[str, Any] = {}
    try:
        if in_loop:

            async def run() -> Any:
                result = rubric(None, observation)
                out["awaitable"] = inspect.isawaitable(result)
                return await result if inspect.isawaitable(result) else result

            out["score"] = asyncio.run(run())
        else:
            result = rubric(None, observation)
            out["awaitable"] = inspect.isawaitable(result)
            out["score"] = asyncio.run(result) if inspect.iscoroutine(result) else result
    except Exception as exc:
        out["error"] = type(exc).__name__
    out["log"] = list(LOG)
    out["last"] = {"": rubric.last_score, **{n: r.last_score for n, r in rubric.named_rubrics()}}
    return out


def attempt(build: Callable[[], Any]) -> Any:
    try:
        return build()
    except Exception as exc:
        return {"error": type(exc).__name__}


def seq(*scores: float) -> Sequential:
    return Sequential(*(Const(f"c{i}", s) for i, s in enumerate(scores)))


def scenarios() -> dict[str, Any]:
    out: dict[str, Any] = {}
    # Sequential
    out["seq_all_pass"] = evaluate(seq(0.5, 0.8))
    out["seq_short_circuit"] = evaluate(seq(0.5, 0.0, 0.9))
    out["seq_empty"] = evaluate(Sequential())
    out["seq_empty_in_loop"] = evaluate(Sequential(), in_loop=True)
    out["seq_sync_in_loop"] = evaluate(seq(0.5, 0.7), in_loop=True)
    out["seq_zero_in_loop"] = evaluate(seq(0.0, 0.7), in_loop=True)
    out["seq_async_first"] = evaluate(Sequential(AsyncConst("a", 0.4), Const("b", 0.6)))
    out["seq_async_first_zero"] = evaluate(Sequential(AsyncConst("a", 0.0), Const("b", 0.6)))
    out["seq_async_mid"] = evaluate(Sequential(Const("a", 0.4), AsyncConst("b", 0.6), Const("c", 0.3)))
    out["seq_async_mid_zero"] = evaluate(Sequential(Const("a", 0.4), AsyncConst("b", 0.0), Const("c", 0.3)))
    out["seq_async_then_zero"] = evaluate(Sequential(AsyncConst("a", 0.4), Const("b", 0.0), AsyncConst("c", 1)))
    out["seq_len_getitem"] = [len(seq(1, 2, 3)), seq(1, 2, 3)[1].score]
    out["seq_forward_direct"] = seq(0.3, 0.6).forward(None, None)
    out["seq_error"] = evaluate(Sequential(Const("a", 1.0), Boom(), Const("c", 1.0)))
    # Gate
    for threshold in (0.5, 0.7, 0.9):
        out[f"gate_{threshold}"] = evaluate(Gate(Const("g", 0.7), threshold=threshold))
    out["gate_default"] = evaluate(Gate(Const("g", 0.99)))
    out["gate_async"] = evaluate(Gate(AsyncConst("g", 0.3), threshold=0.5))
    out["gate_async_pass"] = evaluate(Gate(AsyncConst("g", 0.8), threshold=0.5))
    out["gate_forward_direct"] = Gate(Const("g", 0.4), threshold=0.5).forward(None, None)
    # WeightedSum
    out["ws"] = evaluate(WeightedSum([Const("a", 0.1), Const("b", 0.7), Const("c", 0.3)], [0.2, 0.5, 0.3]))
    out["ws_async"] = evaluate(
        WeightedSum([AsyncConst("a", 0.5), Const("b", 1.0), AsyncConst("c", 0.25)], [0.25, 0.25, 0.5])
    )
    out["ws_length_mismatch"] = attempt(lambda: WeightedSum([Const("a", 1.0)], [0.5, 0.5]))
    out["ws_bad_sum"] = attempt(lambda: WeightedSum([Const("a", 1.0), Const("b", 1.0)], [0.5, 0.6]))
    out["ws_empty"] = attempt(lambda: WeightedSum([], []))
    out["ws_tolerance"] = evaluate(WeightedSum([Const("a", 1.0), Const("b", 1.0)], [0.5, 0.5 + 5e-7]))
    out["ws_negative_weight"] = evaluate(WeightedSum([Const("a", 1.0), Const("b", 0.5)], [1.5, -0.5]))
    weights = WeightedSum([Const("a", 1.0)], [1.0])
    weights.weights.append(3.0)
    out["ws_weights_copy"] = weights.weights
    out["ws_forward_direct"] = WeightedSum([Const("a", 0.2), Const("b", 0.4)], [0.5, 0.5]).forward(None, None)
    out["ws_error"] = evaluate(WeightedSum([Const("a", 1.0), Boom()], [0.5, 0.5]))
    # hooks, nested trees, sync and async
    tree = hooked(
        Sequential(
            hooked(Gate(hooked(Const("tests", 0.8), "tests"), threshold=0.5), "gate"),
            hooked(WeightedSum([Const("x", 1.0), Const("y", 0.5)], [0.75, 0.25]), "ws"),
        ),
        "root",
    )
    out["tree"] = evaluate(tree)
    out["tree_names"] = [n for n, _ in tree.named_rubrics()]
    out["tree_get"] = attempt(lambda: tree.get_rubric("rubric_0.rubric").name)
    out["tree_get_missing"] = attempt(lambda: tree.get_rubric("rubric_0.nope"))
    async_tree = hooked(
        Sequential(
            hooked(Gate(hooked(AsyncConst("tests", 0.8), "tests", async_hooks=True), threshold=0.5), "gate"),
            hooked(WeightedSum([AsyncConst("x", 1.0), Const("y", 0.5)], [0.75, 0.25]), "ws", async_hooks=True),
        ),
        "root",
        async_hooks=True,
    )
    out["async_tree"] = evaluate(async_tree)
    mixed = Gate(AsyncConst("c", 0.9), threshold=0.5)
    hooked(mixed, "sync-first")
    hooked(mixed, "async-second", async_hooks=True)
    hooked(mixed, "sync-third")
    out["gate_sync_then_async_hooks"] = evaluate(mixed)
    out["gate_async_hook_sync_child_in_loop"] = evaluate(Gate(AsyncConst("c", 0.9)), in_loop=True)
    out["async_forward_hooks"] = evaluate(hooked(AsyncConst("solo", 0.6), "solo", async_hooks=True))
    out["plain_hooks"] = evaluate(hooked(Const("solo", 0.6), "solo"))
    # RubricList / RubricDict
    by_game = ByGame()
    out["dispatch_0"] = evaluate(by_game, Obs(0.0))
    out["dispatch_1"] = evaluate(by_game, Obs(1.0))
    out["dispatch_names"] = [n for n, _ in by_game.named_rubrics()]
    games = by_game.games
    games.update({"go": Const("go", 0.5)})
    out["dict_api"] = [
        len(games),
        list(games),
        list(games.keys()),
        [r.name for r in games.values()],
        [(k, r.name) for k, r in games.items()],
        "go" in games,
        "tennis" in games,
        games.pong.name,
        by_game.get_rubric("games.go").name,
    ]
    out["dict_missing"] = attempt(lambda: games["tennis"])
    out["dict_call"] = evaluate(games)
    levels = by_game.levels
    levels.append(Const("l2", 0.3))
    levels.extend([Const("l3", 0.4)])
    out["list_api"] = [len(levels), [r.name for r in levels], levels[-1].name, [n for n, _ in levels.named_children()]]
    out["list_call"] = evaluate(levels)
    out["list_empty"] = [len(RubricList()), len(RubricDict())]
    # trajectories
    final = Final(gamma=0.5, intermediate_reward=0.0)
    out["traj_steps"] = [final(None, Obs(0.2)), final(None, Obs(0.4)), final(None, Obs(0.9, done=True))]
    out["traj_rewards"] = final.compute_step_rewards()
    out["traj_len"] = len(final.trajectory)
    final.trajectory.clear()
    out["traj_copy"] = len(final.trajectory)
    out["traj_state"] = final.state_dict()
    final.load_state_dict({"gamma": 0.25, "intermediate_reward": 0.1})
    out["traj_loaded"] = [final.gamma, final.intermediate_reward, final.compute_step_rewards()]
    final.load_state_dict({})
    out["traj_load_empty"] = final.state_dict()
    final.reset()
    out["traj_reset"] = [final.trajectory, final.compute_step_rewards(), final(None, Obs(0.3))]
    for gamma in (0.0, 1.0):
        flat = Final(gamma=gamma)
        for value, done in ((0.1, False), (0.2, False), (0.8, True)):
            flat(None, Obs(value, done))
        out[f"traj_gamma_{gamma}"] = flat.compute_step_rewards()
    out["traj_bad_gamma"] = [attempt(lambda: Final(gamma=1.5)), attempt(lambda: Final(gamma=-0.1))]
    out["traj_abstract"] = attempt(lambda: TrajectoryRubric())  # type: ignore[abstract]
    mean = Mean(intermediate_reward=0.05)
    out["traj_mean"] = [mean(None, Obs(1.0)), mean(None, Obs(0.0, done=True)), mean.compute_step_rewards()]
    out["traj_mean_after_done"] = [mean(None, Obs(0.5)), len(mean.trajectory)]
    out["traj_no_done_attr"] = Final()(None, object())
    out["traj_in_tree"] = evaluate(WeightedSum([Final(gamma=0.9), Const("k", 1.0)], [0.5, 0.5]), Obs(0.6, done=True))
    # an environment that applies its rubric, as 0.10 environments do
    out["environment"] = run_environment()
    return out


def run_environment() -> dict[str, Any]:
    class Move(Action):
        value: float

    class Seen(Observation):
        value: float = 0.0

    class Env(Environment[Move, Seen, State]):
        def __init__(self) -> None:
            super().__init__(rubric=Final(gamma=0.5))
            self._state = State()

        def reset(self, seed: int | None = None, episode_id: str | None = None, **kwargs: Any) -> Seen:
            self._reset_rubric()
            return Seen()

        def step(self, action: Move, timeout_s: float | None = None, **kwargs: Any) -> Seen:
            seen = Seen(value=action.value, done=action.value >= 1.0)
            seen.reward = self._apply_rubric(action, seen)
            return seen

        @property
        def state(self) -> State:
            return self._state

    env = Env()
    env.reset()
    rewards = [env.step(Move(value=v)).reward for v in (0.5, 0.25, 1.0)]
    rubric = env.rubric
    assert isinstance(rubric, Final)
    steps = rubric.compute_step_rewards()
    env.reset()

    async def in_loop() -> Any:
        return await env._apply_rubric_async(Move(value=1.0), Seen(value=1.0, done=True))

    return {"rewards": rewards, "steps": steps, "after_reset": len(rubric.trajectory), "async": asyncio.run(in_loop())}


if __name__ == "__main__":
    warnings.simplefilter("error")  # an unawaited coroutine is a difference worth seeing
    json.dump(scenarios(), sys.stdout, indent=1, sort_keys=True)
