"""A seeded, deterministic grid-world game (pure logic; no I/O, no global state).

Contract:

* `SplitMix64` is the only source of randomness: integer arithmetic mod 2**64, so a seed gives the
  same stream on every platform and Python version (no `random`, no `hash()`).
* `new_game(seed, config)` draws a layout: walls, ``config.traps`` traps, a start and a goal, such
  that the goal is reachable from the start without touching a wall or a trap. A layout that fails
  that check is redrawn from the same stream, at most ``MAX_LAYOUT_ATTEMPTS`` times; after that the
  walls are dropped (an open grid always satisfies it), so every seed yields a game.
* `Game.move(direction)` moves the agent one cell (a wall or the border blocks it). Reward:
  ``STEP_COST`` every move, plus potential-based shaping ``SHAPING * (d_before - d_after)`` with d
  the shortest-path distance to the goal avoiding walls and traps, plus ``GOAL_REWARD`` on reaching
  the goal or ``TRAP_REWARD`` on entering a trap. Goal and trap *terminate* the episode; reaching
  ``config.max_steps`` moves without that *truncates* it. Rewards are rounded to 6 decimals.
  Moving after the episode ended raises `GameOver`.
* `Game.render()` is the text board: ``#`` wall, ``.`` floor, ``X`` trap, ``G`` goal, ``A`` agent.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Literal

Direction = Literal["north", "south", "east", "west"]
DIRECTIONS: dict[str, tuple[int, int]] = {
    "north": (-1, 0),
    "south": (1, 0),
    "east": (0, 1),
    "west": (0, -1),
}
Cell = tuple[int, int]

STEP_COST = -0.01
SHAPING = 0.1
GOAL_REWARD = 1.0
TRAP_REWARD = -1.0
MAX_LAYOUT_ATTEMPTS = 64
MIN_SIDE, MAX_SIDE = 4, 32
MASK64 = (1 << 64) - 1


class GameOver(RuntimeError):
    """A move was made after the episode had terminated or been truncated."""


class SplitMix64:
    """SplitMix64 (Steele, Lea, Flood 2014): a tiny, well-mixed, portable 64-bit generator."""

    def __init__(self, seed: int) -> None:
        if not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed <= MASK64:
            raise ValueError(f"seed must be an int in [0, 2**64), got {seed!r}")
        self._state = seed

    def next_u64(self) -> int:
        self._state = (self._state + 0x9E3779B97F4A7C15) & MASK64
        z = self._state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
        return z ^ (z >> 31)

    def below(self, n: int) -> int:
        """Uniform integer in [0, n) by rejection (no modulo bias)."""
        if n <= 0:
            raise ValueError("n must be positive")
        limit = (1 << 64) - ((1 << 64) % n)
        while True:
            value = self.next_u64()
            if value < limit:
                return value % n


@dataclass(frozen=True)
class GameConfig:
    width: int = 8
    height: int = 8
    wall_percent: int = 20
    traps: int = 3
    max_steps: int = 50

    def __post_init__(self) -> None:
        for name in ("width", "height"):
            value = getattr(self, name)
            if not isinstance(value, int) or not MIN_SIDE <= value <= MAX_SIDE:
                raise ValueError(f"{name} must be an int in [{MIN_SIDE}, {MAX_SIDE}], got {value!r}")
        if not isinstance(self.wall_percent, int) or not 0 <= self.wall_percent <= 40:
            raise ValueError(f"wall_percent must be an int in [0, 40], got {self.wall_percent!r}")
        if not isinstance(self.traps, int) or not 0 <= self.traps <= self.width * self.height // 4:
            raise ValueError(f"traps must be an int in [0, cells/4], got {self.traps!r}")
        if not isinstance(self.max_steps, int) or not 1 <= self.max_steps <= 10_000:
            raise ValueError(f"max_steps must be an int in [1, 10000], got {self.max_steps!r}")


@dataclass(frozen=True)
class Layout:
    width: int
    height: int
    walls: frozenset[Cell]
    traps: frozenset[Cell]
    start: Cell
    goal: Cell

    def passable(self, cell: Cell) -> bool:
        r, c = cell
        return 0 <= r < self.height and 0 <= c < self.width and cell not in self.walls


@dataclass(frozen=True)
class MoveResult:
    reward: float
    terminated: bool
    truncated: bool
    blocked: bool
    event: Literal["moved", "blocked", "goal", "trap"]


def _distances(layout: Layout) -> dict[Cell, int]:
    """Shortest path length to the goal from every cell that reaches it avoiding walls/traps."""
    dist = {layout.goal: 0}
    queue = deque([layout.goal])
    while queue:
        r, c = queue.popleft()
        for dr, dc in DIRECTIONS.values():
            nxt = (r + dr, c + dc)
            if nxt not in dist and layout.passable(nxt) and nxt not in layout.traps:
                dist[nxt] = dist[(r, c)] + 1
                queue.append(nxt)
    return dist


def _draw_layout(rng: SplitMix64, config: GameConfig, with_walls: bool) -> Layout:
    cells = [(r, c) for r in range(config.height) for c in range(config.width)]
    for i in range(len(cells) - 1, 0, -1):  # Fisher-Yates with our generator
        j = rng.below(i + 1)
        cells[i], cells[j] = cells[j], cells[i]
    start, goal = cells[0], cells[1]
    traps = frozenset(cells[2 : 2 + config.traps])
    rest = cells[2 + config.traps :]
    n_walls = len(cells) * config.wall_percent // 100 if with_walls else 0
    walls = frozenset(rest[:n_walls])
    return Layout(config.width, config.height, walls, traps, start, goal)


def draw_layout(seed: int, config: GameConfig) -> Layout:
    rng = SplitMix64(seed)
    for _ in range(MAX_LAYOUT_ATTEMPTS):
        layout = _draw_layout(rng, config, with_walls=True)
        if layout.start in _distances(layout):
            return layout
    return _draw_layout(rng, config, with_walls=False)


class Game:
    """One episode. Create with `new_game`."""

    def __init__(self, seed: int, layout: Layout, config: GameConfig) -> None:
        self.seed = seed
        self.layout = layout
        self.config = config
        self.agent: Cell = layout.start
        self.steps = 0
        self.terminated = False
        self.truncated = False
        self.total_reward = 0.0
        self._dist = _distances(layout)

    @property
    def done(self) -> bool:
        return self.terminated or self.truncated

    @property
    def distance_to_goal(self) -> int:
        return self._dist.get(self.agent, -1)

    def move(self, direction: str) -> MoveResult:
        if direction not in DIRECTIONS:
            raise ValueError(f"direction must be one of {sorted(DIRECTIONS)}, got {direction!r}")
        if self.done:
            raise GameOver("the episode has ended; start a new game")
        dr, dc = DIRECTIONS[direction]
        target = (self.agent[0] + dr, self.agent[1] + dc)
        blocked = not self.layout.passable(target)
        before = self._dist[self.agent]
        if not blocked:
            self.agent = target
        self.steps += 1
        reward = STEP_COST
        event: Literal["moved", "blocked", "goal", "trap"] = "blocked" if blocked else "moved"
        if self.agent in self.layout.traps:
            reward += TRAP_REWARD
            event = "trap"
            self.terminated = True
        else:
            reward += SHAPING * (before - self._dist[self.agent])
            if self.agent == self.layout.goal:
                reward += GOAL_REWARD
                event = "goal"
                self.terminated = True
        self.truncated = not self.terminated and self.steps >= self.config.max_steps
        reward = round(reward, 6)
        self.total_reward = round(self.total_reward + reward, 6)
        return MoveResult(reward, self.terminated, self.truncated, blocked, event)

    def render(self) -> str:
        rows = []
        for r in range(self.layout.height):
            row = []
            for c in range(self.layout.width):
                cell = (r, c)
                if cell == self.agent:
                    row.append("A")
                elif cell == self.layout.goal:
                    row.append("G")
                elif cell in self.layout.traps:
                    row.append("X")
                elif cell in self.layout.walls:
                    row.append("#")
                else:
                    row.append(".")
            rows.append("".join(row))
        return "\n".join(rows) + "\n"


def new_game(seed: int, config: GameConfig | None = None) -> Game:
    config = config or GameConfig()
    return Game(seed, draw_layout(seed, config), config)
