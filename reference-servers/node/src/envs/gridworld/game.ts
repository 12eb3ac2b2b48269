/**
 * Port of `reference-servers/gridworld_env/game.py`: same seed, same moves → same layout, rewards,
 * flags and board text, bit for bit.
 *
 * Contract (as the Python module): `SplitMix64` over unsigned 64-bit integers (BigInt, masked) is
 * the only randomness; `drawLayout` shuffles the cells with Fisher–Yates using unbiased
 * `below(n)`, taking start, goal, `traps` traps and `wall_percent`% walls, redrawing (same stream)
 * until the goal is reachable from the start avoiding walls and traps, at most 64 times, then
 * without walls. `Game.move` applies −0.01 per move, 0.1 × (distance before − after) shaping,
 * +1 goal / −1 trap (terminated), truncation at `max_steps`; rewards and the running total are
 * rounded to 6 decimals exactly as Python's `round(x, 6)` (correctly rounded, ties to even).
 */

export const DIRECTIONS = {
  north: [-1, 0],
  south: [1, 0],
  east: [0, 1],
  west: [0, -1],
} as const satisfies Record<string, readonly [number, number]>;
export type Direction = keyof typeof DIRECTIONS;
const DIRECTION_ORDER: readonly Direction[] = ["north", "south", "east", "west"];

export const STEP_COST = -0.01;
export const SHAPING = 0.1;
export const GOAL_REWARD = 1.0;
export const TRAP_REWARD = -1.0;
export const MAX_LAYOUT_ATTEMPTS = 64;
export const MIN_SIDE = 4;
export const MAX_SIDE = 32;
export const MASK64 = (1n << 64n) - 1n;
const TWO64 = 1n << 64n;

export type Event = "moved" | "blocked" | "goal" | "trap";

/** A move after the episode had ended. */
export class GameOver extends Error {}

/** SplitMix64 (Steele, Lea, Flood 2014). */
export class SplitMix64 {
  private state: bigint;

  constructor(seed: bigint) {
    if (seed < 0n || seed > MASK64) throw new RangeError(`seed must be an int in [0, 2**64), got ${seed}`);
    this.state = seed;
  }

  nextU64(): bigint {
    this.state = (this.state + 0x9e3779b97f4a7c15n) & MASK64;
    let z = this.state;
    z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & MASK64;
    z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & MASK64;
    return z ^ (z >> 31n);
  }

  /** Uniform integer in [0, n) by rejection (no modulo bias). */
  below(n: number): number {
    if (n <= 0) throw new RangeError("n must be positive");
    const bn = BigInt(n);
    const limit = TWO64 - (TWO64 % bn);
    for (;;) {
      const value = this.nextU64();
      if (value < limit) return Number(value % bn);
    }
  }
}

export interface GameConfig {
  readonly width: number;
  readonly height: number;
  readonly wall_percent: number;
  readonly traps: number;
  readonly max_steps: number;
}

export const DEFAULT_CONFIG: GameConfig = { width: 8, height: 8, wall_percent: 20, traps: 3, max_steps: 50 };

function isInt(value: unknown): value is number {
  return typeof value === "number" && Number.isInteger(value);
}

function show(value: unknown): string {
  return typeof value === "string" ? `'${value}'` : JSON.stringify(value) ?? String(value);
}

/** Check a config as `GameConfig.__post_init__` does; throws RangeError with the same text. */
export function checkConfig(config: GameConfig): GameConfig {
  for (const name of ["width", "height"] as const) {
    const value = config[name];
    if (!isInt(value) || value < MIN_SIDE || value > MAX_SIDE) {
      throw new RangeError(`${name} must be an int in [${MIN_SIDE}, ${MAX_SIDE}], got ${show(value)}`);
    }
  }
  if (!isInt(config.wall_percent) || config.wall_percent < 0 || config.wall_percent > 40) {
    throw new RangeError(`wall_percent must be an int in [0, 40], got ${show(config.wall_percent)}`);
  }
  const maxTraps = Math.floor((config.width * config.height) / 4);
  if (!isInt(config.traps) || config.traps < 0 || config.traps > maxTraps) {
    throw new RangeError(`traps must be an int in [0, cells/4], got ${show(config.traps)}`);
  }
  if (!isInt(config.max_steps) || config.max_steps < 1 || config.max_steps > 10_000) {
    throw new RangeError(`max_steps must be an int in [1, 10000], got ${show(config.max_steps)}`);
  }
  return config;
}

/** Python's `round(x, 6)`: the double nearest the exact value rounded half-even at 6 decimals. */
export function round6(x: number): number {
  if (!Number.isFinite(x) || x === 0) return x;
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  const bits = view.getBigUint64(0);
  const negative = bits >> 63n === 1n;
  const exponentBits = Number((bits >> 52n) & 0x7ffn);
  const fraction = bits & ((1n << 52n) - 1n);
  const mantissa = exponentBits === 0 ? fraction : fraction | (1n << 52n);
  const exponent = (exponentBits === 0 ? 1 : exponentBits) - 1075; // |x| = mantissa * 2^exponent
  if (exponent >= 0) return x; // an integer: nothing after the decimal point
  const numerator = mantissa * 1_000_000n;
  const denominator = 1n << BigInt(-exponent);
  let quotient = numerator / denominator;
  const twiceRemainder = 2n * (numerator % denominator);
  if (twiceRemainder > denominator || (twiceRemainder === denominator && quotient % 2n === 1n)) {
    quotient += 1n;
  }
  return Number(`${negative ? "-" : ""}${quotient}e-6`);
}

export interface Layout {
  readonly width: number;
  readonly height: number;
  /** Cell indexes `row * width + column`. */
  readonly walls: ReadonlySet<number>;
  readonly traps: ReadonlySet<number>;
  readonly start: number;
  readonly goal: number;
}

function passable(layout: Layout, row: number, column: number): boolean {
  return row >= 0 && row < layout.height && column >= 0 && column < layout.width && !layout.walls.has(row * layout.width + column);
}

/** Shortest safe path length to the goal from every cell that reaches it. */
export function distances(layout: Layout): Map<number, number> {
  const dist = new Map<number, number>([[layout.goal, 0]]);
  const queue = [layout.goal];
  for (let head = 0; head < queue.length; head++) {
    const cell = queue[head] as number;
    const row = Math.floor(cell / layout.width);
    const column = cell % layout.width;
    for (const direction of DIRECTION_ORDER) {
      const [dr, dc] = DIRECTIONS[direction];
      const r = row + dr;
      const c = column + dc;
      const next = r * layout.width + c;
      if (passable(layout, r, c) && !layout.traps.has(next) && !dist.has(next)) {
        dist.set(next, (dist.get(cell) as number) + 1);
        queue.push(next);
      }
    }
  }
  return dist;
}

function drawOnce(rng: SplitMix64, config: GameConfig, withWalls: boolean): Layout {
  const cells = Array.from({ length: config.width * config.height }, (_, index) => index);
  for (let i = cells.length - 1; i > 0; i--) {
    const j = rng.below(i + 1);
    const swap = cells[i] as number;
    cells[i] = cells[j] as number;
    cells[j] = swap;
  }
  const traps = new Set(cells.slice(2, 2 + config.traps));
  const rest = cells.slice(2 + config.traps);
  const wallCount = withWalls ? Math.floor((cells.length * config.wall_percent) / 100) : 0;
  return {
    width: config.width,
    height: config.height,
    walls: new Set(rest.slice(0, wallCount)),
    traps,
    start: cells[0] as number,
    goal: cells[1] as number,
  };
}

export function drawLayout(seed: bigint, config: GameConfig): Layout {
  const rng = new SplitMix64(seed);
  for (let attempt = 0; attempt < MAX_LAYOUT_ATTEMPTS; attempt++) {
    const layout = drawOnce(rng, config, true);
    if (distances(layout).has(layout.start)) return layout;
  }
  return drawOnce(rng, config, false);
}

export interface MoveResult {
  readonly reward: number;
  readonly terminated: boolean;
  readonly truncated: boolean;
  readonly blocked: boolean;
  readonly event: Event;
}

/** One episode. */
export class Game {
  agent: number;
  steps = 0;
  terminated = false;
  truncated = false;
  totalReward = 0.0;
  private readonly dist: Map<number, number>;

  constructor(
    readonly seed: bigint,
    readonly layout: Layout,
    readonly config: GameConfig,
  ) {
    this.agent = layout.start;
    this.dist = distances(layout);
  }

  get done(): boolean {
    return this.terminated || this.truncated;
  }

  get distanceToGoal(): number {
    return this.dist.get(this.agent) ?? -1;
  }

  /** [row, column] of a cell index. */
  position(cell: number): [number, number] {
    return [Math.floor(cell / this.layout.width), cell % this.layout.width];
  }

  move(direction: string): MoveResult {
    if (!Object.hasOwn(DIRECTIONS, direction)) {
      throw new RangeError(`direction must be one of ['east', 'north', 'south', 'west'], got ${show(direction)}`);
    }
    if (this.done) throw new GameOver("the episode has ended; start a new game");
    const [dr, dc] = DIRECTIONS[direction as Direction];
    const [row, column] = this.position(this.agent);
    const blocked = !passable(this.layout, row + dr, column + dc);
    const before = this.dist.get(this.agent) as number;
    if (!blocked) this.agent = (row + dr) * this.layout.width + (column + dc);
    this.steps += 1;
    let reward = STEP_COST;
    let event: Event = blocked ? "blocked" : "moved";
    if (this.layout.traps.has(this.agent)) {
      reward += TRAP_REWARD;
      event = "trap";
      this.terminated = true;
    } else {
      reward += SHAPING * (before - (this.dist.get(this.agent) as number));
      if (this.agent === this.layout.goal) {
        reward += GOAL_REWARD;
        event = "goal";
        this.terminated = true;
      }
    }
    this.truncated = !this.terminated && this.steps >= this.config.max_steps;
    reward = round6(reward);
    this.totalReward = round6(this.totalReward + reward);
    return { reward, terminated: this.terminated, truncated: this.truncated, blocked, event };
  }

  render(): string {
    const rows: string[] = [];
    for (let r = 0; r < this.layout.height; r++) {
      let row = "";
      for (let c = 0; c < this.layout.width; c++) {
        const cell = r * this.layout.width + c;
        if (cell === this.agent) row += "A";
        else if (cell === this.layout.goal) row += "G";
        else if (this.layout.traps.has(cell)) row += "X";
        else if (this.layout.walls.has(cell)) row += "#";
        else row += ".";
      }
      rows.push(row);
    }
    return `${rows.join("\n")}\n`;
  }
}

export function newGame(seed: bigint, config: GameConfig = DEFAULT_CONFIG): Game {
  return new Game(seed, drawLayout(seed, checkConfig(config)), config);
}
