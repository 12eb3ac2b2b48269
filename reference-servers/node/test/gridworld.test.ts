/**
 * Gridworld: the port of game.py checked against the Python reference, byte for byte.
 *
 * The determinism test plays the same client frames (many seeds, board configurations, long
 * action sequences, invalid actions, steps after the end, re-resets; base level and v1) through
 * the Python runtime (`test/fixtures/python_frames.py`, the real `openenv.server` session code with
 * `gridworld_env`) and through this server over a real WebSocket, and requires identical frame
 * texts (the v1 hello excepted: session ids and limits differ by design).
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";

import { formatPyFloat, parseStrict } from "../src/json.js";
import { newGame, round6, SplitMix64 } from "../src/envs/gridworld/game.js";
import { Client, serve } from "./helpers.js";

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..", "..", "..");
const FIXTURE = path.join(REPO, "reference-servers", "node", "test", "fixtures", "python_frames.py");
const PYTHON = process.env["OPENENV_PYTHON"] ?? path.join(REPO, ".venv", "bin", "python");
const DIRECTIONS = ["north", "south", "east", "west"];

describe("gridworld game port", () => {
  it("reproduces the SplitMix64 reference stream", () => {
    const rng = new SplitMix64(0n);
    assert.deepEqual([rng.nextU64(), rng.nextU64(), rng.nextU64()], [0xe220a8397b1dcdafn, 0x6e789e6aa1b965f4n, 0x06c45d188009454fn]);
  });

  it("rounds like Python's round(x, 6), ties to even on the exact binary value", () => {
    assert.equal(round6(0.0078125), 0.007812); // exactly 7812.5e-6 → even
    assert.equal(round6(0.0234375), 0.023438); // exactly 23437.5e-6 → even
    assert.equal(round6(-0.0078125), -0.007812);
    assert.equal(round6(-0.01 + 0.1), 0.09);
    assert.equal(round6(-0.01 + 0.1 + 1.0), 1.09);
    assert.ok(Object.is(round6(-1e-9), -0));
    assert.equal(round6(123.4567895), 123.456789); // stored just below the tie
    assert.equal(round6(2.6749995), 2.675); // stored just above the tie
    assert.equal(round6(1.0000005), 1.000001);
    assert.ok(Object.is(round6(-2.5e-7), -0));
  });

  it("formats floats as orjson formats Python floats", () => {
    const cases: [number, string][] = [
      [1, "1.0"], [0, "0.0"], [-0, "-0.0"], [0.09, "0.09"], [-1.01, "-1.01"], [1e-5, "0.00001"],
      [1e-6, "1e-6"], [1.5e-6, "1.5e-6"], [1e16, "1e+16"], [2.5e16, "2.5e+16"], [123.456, "123.456"],
      [0.1 + 0.2, "0.30000000000000004"], [1e15 + 0.5, "1000000000000000.5"], [5e-324, "5e-324"],
    ];
    for (const [value, text] of cases) assert.equal(formatPyFloat(value), text, String(value));
    assert.throws(() => formatPyFloat(Number.NaN), RangeError);
    assert.throws(() => parseStrict("[1e400]"));
  });

  it("draws a solvable layout for every seed and ends episodes by the rules", () => {
    for (let seed = 0n; seed < 200n; seed++) {
      const game = newGame(seed, { width: 5, height: 4, wall_percent: 40, traps: 5, max_steps: 30 });
      assert.ok(game.distanceToGoal > 0, `seed ${seed}: start reaches the goal`);
      let moves = 0;
      while (!game.done) {
        const result = game.move(DIRECTIONS[Number(seed + BigInt(moves)) % 4] as string);
        moves += 1;
        assert.equal(result.truncated, !result.terminated && moves >= 30);
      }
      assert.ok(moves <= 30);
    }
  });
});

/** A tiny LCG for test inputs (independent of the code under test). */
function lcg(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state;
  };
}

function sessionFrames(index: number): string[] {
  const next = lcg(index + 1);
  const frames: string[] = [];
  const configs = [{}, { width: 4, height: 4, traps: 4, wall_percent: 40, max_steps: 12 }, { width: 12, height: 6, traps: 0, wall_percent: 0 }, { width: 32, height: 32, traps: 40, max_steps: 200 }];
  const seeds = [0, 1, 7, 42, 2 ** 53 - 1, 2 ** 32 + 5, 123456789];
  for (let episode = 0; episode < 2; episode++) {
    const seed = episode === 0 ? (seeds[index % seeds.length] as number) : next();
    const config = configs[(index + episode) % configs.length];
    frames.push(JSON.stringify({ type: "reset", data: { seed, episode_id: `ep-${index}-${episode}`, ...config } }));
    const moves = 20 + (next() % 60);
    for (let i = 0; i < moves; i++) {
      const roll = next() % 40;
      if (roll === 0) frames.push(JSON.stringify({ type: "step", data: { direction: "up" } }));
      else if (roll === 1) frames.push(JSON.stringify({ type: "state" }));
      else frames.push(JSON.stringify({ type: "step", data: { direction: DIRECTIONS[next() % 4] } }));
    }
    frames.push(JSON.stringify({ type: "state" }));
  }
  return frames;
}

describe("gridworld determinism against the Python reference", () => {
  const available = existsSync(PYTHON);
  it("sends byte-identical frames for the same seeds and actions", { skip: available ? false : `no Python at ${PYTHON}` }, async () => {
    const sessions = Array.from({ length: 24 }, (_, index) => ({ v1: index % 2 === 0, frames: sessionFrames(index) }));
    const python = spawnSync(PYTHON, [FIXTURE], {
      input: JSON.stringify({ env: "gridworld", sessions }),
      encoding: "utf8",
      timeout: 60_000,
      maxBuffer: 256 * 1024 * 1024,
    });
    assert.equal(python.status, 0, python.stderr);
    const expected = python.stdout.trim().split("\n").map((line) => JSON.parse(line) as string[]);
    assert.equal(expected.length, sessions.length);
    const server = await serve("gridworld");
    try {
      let compared = 0;
      for (const [index, session] of sessions.entries()) {
        const client = await Client.open(server, { v1: session.v1 });
        const got: string[] = [];
        if (session.v1) got.push(await client.nextText());
        for (const frame of session.frames) {
          client.send(frame);
          got.push(await client.nextText());
        }
        await client.close();
        const want = expected[index] as string[];
        if (session.v1) {
          const [mine, theirs] = [JSON.parse(got.shift() as string), JSON.parse(want.shift() as string)];
          assert.deepEqual([mine.type, mine.data.protocol], [theirs.type, theirs.data.protocol]);
        }
        assert.equal(got.length, want.length, `session ${index}: frame count`);
        for (let i = 0; i < want.length; i++) {
          assert.equal(got[i], want[i], `session ${index} (v1=${session.v1}), reply ${i} to ${session.frames[i]}`);
          compared++;
        }
      }
      assert.ok(compared > 1000, `compared ${compared} frames`);
    } finally {
      await server.close();
    }
  });
});
