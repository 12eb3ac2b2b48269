"""Rollouts: run a batch of multi-turn episodes concurrently and get them back as trajectories.

Contract (`run_rollouts`):

* **Sources.** Episodes run on sessions from a `SessionSource`: anything with an async
  `open_session()` that returns a session (`reset`, `step`, `close`, all awaitable) — an `EnvPool`
  as it is, or `UrlSessions([...])` over a list of server URLs (episodes go round-robin over the
  URLs, one new session per episode). A plain list of URLs is wrapped in `UrlSessions`.
* **Policy.** A callable mapping an observation to an action, sync or async; an `EpisodeSpec` may
  carry its own. A sync policy runs on a worker thread (`asyncio.to_thread`) so a slow one (a
  model's generate) neither blocks the other episodes nor escapes the episode timeout; pass
  `sync_policy_in_thread=False` for a cheap one.
* **Bounds.** At most `concurrency` episodes run at once; each has `max_steps` steps (then it is
  truncated by the client: `truncated=True`, `truncated_by="client"`) and `episode_timeout_s`
  seconds of wall time (then it ends with an `EpisodeTimeout` error). A batch holds at most
  `MAX_EPISODES` episodes.
* **Results.** One `Trajectory` per episode, in the order the episodes were given, always: an
  episode that fails (refused session, lost connection, remote error, policy exception, timeout)
  comes back with `error` set and the steps it made; the batch itself never fails for one
  episode. Only cancellation of the caller propagates, after every open session was closed.
* **Trajectories** hold the reset's observation, then per step the action, observation, reward,
  `terminated`/`truncated`, and the time spent in the policy and in the environment; plus the
  episode's return, whether it terminated or was truncated (and by whom), its wall time and the
  session id. `Trajectory.to_dict()` is JSON-ready (`schemas/Trajectory.schema.json`).
"""

from openenv.rollout._core import (
    MAX_EPISODES,
    EpisodeError,
    EpisodeSpec,
    EpisodeTimeout,
    Policy,
    SessionSource,
    Trajectory,
    Transition,
    UrlSessions,
    run_rollouts,
    run_rollouts_sync,
)

__all__ = [
    "MAX_EPISODES",
    "EpisodeError",
    "EpisodeSpec",
    "EpisodeTimeout",
    "Policy",
    "SessionSource",
    "Trajectory",
    "Transition",
    "UrlSessions",
    "run_rollouts",
    "run_rollouts_sync",
]
