"""Profile `rewards` (optional): reward components, pending and trajectory rewards, recorded
trajectories (spec/rewards.md, RFC 0004).

Contract: the harness plays a few seeded probe episodes over `/ws` at the base level — one from a
plain reset (`--reset-data`), and, when the server has a taskset (checks/tasks.py), one per task of
a small sample (`task_id`) — stepping with the known-valid action until `done` (at most
`MAX_EPISODE_STEPS` steps) and looks at every observation's `metadata.reward_info`:

* `rewards.reward_info`: its shape (`schemas/RewardInfo`, finite numbers, unique names,
  OE-RWD-001) and the weighted-sum rule (OE-RWD-002) on every observation; UNIMPLEMENTED when no
  observation carries `reward_info`;
* `rewards.pending`: a pending step has reward 0.0, no components and does not end the episode; an
  episode with pending steps ends on an observation with `pending: false`; a `trajectory_scorer`
  reward comes on the episode's last observation with its `scorer` (OE-RWD-003, OE-RWD-004), and
  the same episode replayed (same seed, task and actions) gets the same score (SHOULD; not judged
  where `/metadata` says `capabilities.deterministic: false`). UNIMPLEMENTED when no probe episode
  has a pending or trajectory reward;
* `rewards.trajectory`: where the server records its episodes (declared in `/metadata`, or a
  `trajectory` member in the state), after a reset and after each step of an episode played past
  the record's bound (when the bound is at most `MAX_BOUND_DRIVEN`, else as far as the episode
  goes): the record matches `schemas/RecordedTrajectory`, holds at most `max_steps` steps, the
  newest ones, equal to what the harness sent and received, and `dropped` + steps = `step_count`
  (OE-RWD-006, OE-RWD-007); the declared bound is the record's (OE-RWD-009).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

from openenv_conformance.checks._common import MAX_EPISODE_STEPS, disc, open_conn, reset_frame, state_of, step_frame
from openenv_conformance.checks.tasks import listing, sample
from openenv_conformance.context import CaseContext, Conn, expect_type
from openenv_conformance.model import Level
from openenv_conformance.registry import check
from openenv_conformance.verdicts import Fail, Undecided, Unimplemented

PROBE_SEED = 7
MAX_BOUND_DRIVEN = 48
"""Largest declared trajectory bound the harness plays past (bound + 2 steps)."""
TRAJECTORY_EPISODES = 3
REL_TOL = 1e-9


@dataclass(slots=True)
class Episode:
    """One probe episode: how it was started, the actions sent and the observation `data`s."""

    reset: dict[str, Any]
    actions: list[dict[str, Any]] = field(default_factory=list)
    observations: list[dict[str, Any]] = field(default_factory=list)
    """The reset's observation first, then one per step."""

    @property
    def ended(self) -> bool:
        return len(self.observations) > 1 and self.observations[-1].get("done") is True


def info_of(data: dict[str, Any]) -> Any:
    metadata = data.get("metadata")
    return metadata.get("reward_info") if isinstance(metadata, dict) else None


async def play(
    ctx: CaseContext, conn: Conn, reset: dict[str, Any], actions: list[dict[str, Any]] | None = None
) -> Episode:
    """Reset with `reset` and step until done (the valid action, or `actions` when given)."""
    episode = Episode(reset)
    first = await conn.request(reset_frame(ctx, **reset), what=f"reset {json.dumps(reset)}")
    episode.observations.append(expect_type(first, "observation", f"reset {json.dumps(reset)}"))
    plan = actions if actions is not None else [disc(ctx).valid_action()] * MAX_EPISODE_STEPS
    for action in plan:
        if episode.observations[-1].get("done") is True:
            break
        data = expect_type(await conn.request(step_frame(action)), "observation", f"step {len(episode.actions) + 1}")
        episode.actions.append(action)
        episode.observations.append(data)
    return episode


async def probe_episodes(ctx: CaseContext) -> list[Episode]:
    """The probe episodes (see the module doc), on one connection."""
    resets: list[dict[str, Any]] = [{"seed": PROBE_SEED}]
    try:
        found = await listing(ctx)
    except (Unimplemented, Fail, Undecided):  # no usable taskset: the tasks profile judges it
        found = None
    if found is not None:
        resets += [{"seed": PROBE_SEED, "task_id": t["id"]} for t in sample(found)]
    conn = await open_conn(ctx, label="probe")
    episodes = [await play(ctx, conn, reset) for reset in resets]
    await conn.close()  # one session at a time (fair to servers that allow one)
    return episodes


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def reward_info_problem(ctx: CaseContext, data: dict[str, Any]) -> tuple[str, str] | None:
    """(clause, problem) for an observation whose `reward_info` breaks OE-RWD-001/002, else None."""
    info = info_of(data)
    errors = ctx.run.schemas.errors("RewardInfo", info)
    if errors:
        return "OE-RWD-001", f"reward_info does not match RewardInfo: {'; '.join(errors)}"
    components = info["components"]
    if not all(_finite(c["value"]) and _finite(c["weight"]) for c in components):
        return "OE-RWD-001", "a component's value or weight is not a finite number"
    names = [c["name"] for c in components]
    if len(set(names)) != len(names):
        return "OE-RWD-001", f"component names repeat: {names}"
    if components:
        total = math.fsum(c["weight"] * c["value"] for c in components)
        reward = data.get("reward")
        if (
            not isinstance(reward, int | float)
            or not _finite(reward)
            or not math.isclose(reward, total, rel_tol=REL_TOL, abs_tol=1e-12)
        ):
            return "OE-RWD-002", f"reward {reward!r} is not the weighted sum of its components ({total!r})"
    return None


@check(
    "rewards.reward_info",
    title="reward_info has the RewardInfo shape and the reward is the weighted sum of its components",
    clauses=["OE-RWD-001", "OE-RWD-002"],
)
async def reward_info(ctx: CaseContext) -> str | None:
    episodes = await probe_episodes(ctx)
    seen = 0
    for n, episode in enumerate(episodes):
        for k, data in enumerate(episode.observations):
            if info_of(data) is None:
                continue
            seen += 1
            problem = reward_info_problem(ctx, data)
            if problem is not None:
                where = f"episode {n + 1} ({json.dumps(episode.reset)}), " + (f"step {k}" if k else "reset")
                raise Fail(f"{where}: {problem[1]}", clauses=[problem[0]])
    if not seen:
        raise Unimplemented(f"no observation of {len(episodes)} probe episode(s) carried metadata.reward_info")
    return f"{seen} observations with reward_info in {len(episodes)} episodes"


def _pending_problem(episode: Episode) -> tuple[str, str] | None:
    """(clause, problem) when the episode breaks OE-RWD-003/004, else None."""
    pending_seen = False
    last = len(episode.observations) - 1
    for k, data in enumerate(episode.observations):
        info = info_of(data)
        if not isinstance(info, dict):
            continue
        done = data.get("done") is True
        if info.get("pending") is True:
            pending_seen = True
            if data.get("reward") != 0.0 or info.get("components"):
                return "OE-RWD-003", f"step {k} is pending but carries reward {data.get('reward')!r} / components"
            if done:
                return "OE-RWD-003", f"step {k} is pending but ends the episode"
        if info.get("source") == "trajectory_scorer":
            if not done or k != last:
                return "OE-RWD-004", f"step {k} carries a trajectory_scorer reward but does not end the episode"
            if not isinstance(info.get("scorer"), str):
                return "OE-RWD-004", f"step {k} carries a trajectory_scorer reward without its scorer's name"
    if pending_seen and episode.ended:
        info = info_of(episode.observations[-1])
        if not isinstance(info, dict) or info.get("pending") is not False:
            return (
                "OE-RWD-003",
                "the episode had pending steps, but its last observation does not carry the score with pending false",
            )
    return None


def _delayed(episode: Episode) -> bool:
    return any(
        isinstance(i := info_of(d), dict) and (i.get("pending") is True or i.get("source") == "trajectory_scorer")
        for d in episode.observations
    )


@check(
    "rewards.pending",
    title="pending steps are 0.0 and never final; a trajectory score comes last, with its scorer, "
    "and is the same for the same episode",
    clauses=["OE-RWD-003", "OE-RWD-004"],
)
async def pending(ctx: CaseContext) -> str | None:
    episodes = await probe_episodes(ctx)
    delayed = [e for e in episodes if _delayed(e)]
    if not delayed:
        raise Unimplemented(f"no pending or trajectory_scorer reward in {len(episodes)} probe episode(s)")
    for episode in delayed:
        problem = _pending_problem(episode)
        if problem is not None:
            raise Fail(f"episode {json.dumps(episode.reset)}: {problem[1]}", clauses=[problem[0]])
    scored = [e for e in delayed if e.ended and info_of(e.observations[-1]).get("source") == "trajectory_scorer"]
    if not scored:
        return f"{len(delayed)} episode(s) with pending steps; none ended within {MAX_EPISODE_STEPS} steps"
    if disc(ctx).declared_capabilities.get("deterministic") is False:
        return f"{len(scored)} trajectory score(s); replay not judged (capabilities.deterministic: false)"
    first = scored[0]
    conn = await open_conn(ctx, label="replay")
    again = await play(ctx, conn, first.reset, first.actions)
    before, after = first.observations[-1], again.observations[-1]
    if (before.get("reward"), info_of(before)) != (after.get("reward"), info_of(after)):
        raise Fail(f"the same episode ({json.dumps(first.reset)}, same actions) was scored "
                   f"{before.get('reward')!r} then {after.get('reward')!r}", clauses=["OE-RWD-004"],
                   level=Level.SHOULD)  # fmt: skip
    return f"{len(scored)} trajectory score(s), the same on a replay"


def _record_problem(
    ctx: CaseContext, state: dict[str, Any], sent: list[dict[str, Any]], bound: int | None
) -> str | None:
    """What is wrong with the state's record after the steps `sent` ({action, observation, reward})."""
    record = state.get("trajectory")
    errors = ctx.run.schemas.errors("RecordedTrajectory", record)
    if errors or not isinstance(record, dict):
        return f"the state's trajectory does not match RecordedTrajectory: {'; '.join(errors)}"
    steps, max_steps, dropped = record["steps"], record["max_steps"], record["dropped"]
    if bound is not None and max_steps != bound:
        return f"the record's max_steps is {max_steps}, /metadata declares {bound} (OE-RWD-009)"
    if len(steps) > max_steps:
        return f"the record holds {len(steps)} steps, more than its max_steps {max_steps} (OE-RWD-007)"
    if dropped + len(steps) != len(sent) or state.get("step_count") != len(sent):
        count = state.get("step_count")
        return (
            f"after {len(sent)} steps the record has {len(steps)} steps and dropped {dropped} "
            f"(step_count {count!r}): the oldest steps are not the ones counted as dropped"
        )
    expected = sent[len(sent) - len(steps) :] if steps else []
    for got, want in zip(steps, expected, strict=True):
        if got != want:
            return (
                f"a recorded step {json.dumps(got)[:300]} is not what was sent and received: {json.dumps(want)[:300]}"
            )
    return None


@check(
    "rewards.trajectory",
    title="the recorded trajectory in state is bounded, the newest steps, with dropped counted",
    clauses=["OE-RWD-006", "OE-RWD-007", "OE-RWD-009"],
)
async def trajectory(ctx: CaseContext) -> str | None:
    found = disc(ctx)
    declared = found.declared_trajectory
    bound = declared.get("max_steps") if isinstance(declared, dict) else None
    promised = found.declared_capabilities.get("trajectory") is True or declared is not None
    conn = await open_conn(ctx, label="record")
    exceeded, longest = False, 0
    for n in range(TRAJECTORY_EPISODES):
        seed = PROBE_SEED + n
        expect_type(await conn.request(reset_frame(ctx, seed=seed)), "observation", f"reset (seed {seed})")
        state = await state_of(conn)
        if "trajectory" not in state:
            if promised:
                raise Fail("/metadata declares a trajectory record, but the state after a reset has no 'trajectory'")
            raise Unimplemented("the server declares no trajectory record and its state after a reset has none")
        problem = _record_problem(ctx, state, [], bound)
        if problem is not None:
            raise Fail(f"after a reset: {problem}")
        limit = state["trajectory"]["max_steps"]
        target = limit + 2 if limit <= MAX_BOUND_DRIVEN else MAX_BOUND_DRIVEN
        sent: list[dict[str, Any]] = []
        for k in range(target):
            action = found.valid_action() if n == 0 else found.random_action(ctx.rng)
            data = expect_type(await conn.request(step_frame(action)), "observation", f"step {k + 1}")
            reward = data.get("reward")
            sent.append({"action": action, "observation": data.get("observation"),
                         "reward": float(reward) if isinstance(reward, bool) else reward})  # fmt: skip
            problem = _record_problem(ctx, await state_of(conn), sent, bound)
            if problem is not None:
                raise Fail(f"after step {k + 1}: {problem}")
            if data.get("done") is True:
                break
        longest = max(longest, len(sent))
        if len(sent) > limit:
            exceeded = True
            break
    if not promised:
        what = "the state carries a trajectory record, but /metadata does not declare it"
        raise Fail(
            f"{what} (capabilities.trajectory, trajectory.max_steps)", clauses=["OE-RWD-009"], level=Level.SHOULD
        )
    if exceeded:
        return f"played {longest} steps, past the bound {limit}: the oldest were dropped and counted"
    return f"episodes ended within {longest} steps, before the bound {limit}: counts and contents checked"
