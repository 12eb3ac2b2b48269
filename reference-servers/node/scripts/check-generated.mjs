#!/usr/bin/env node
/**
 * Fail when `src/generated/` is not exactly what `generate-types.mjs` produces from `schemas/` now.
 *
 * Regenerates into a fresh temporary folder, compares file sets and bytes, prints a line diff of
 * each changed module (first differences, bounded) and exits 1 on any difference, 0 otherwise.
 * The committed folder is never written.
 */
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";

import { DEFAULT_OUT_DIR, generateAll } from "./generate-types.mjs";

const MAX_LINES_SHOWN = 40;

async function listTs(dir) {
  try {
    return (await readdir(dir)).filter((name) => name.endsWith(".ts")).sort();
  } catch {
    return [];
  }
}

/** A short line diff (`-` committed, `+` fresh) of two texts. */
function lineDiff(committed, fresh) {
  const a = committed.split("\n");
  const b = fresh.split("\n");
  const out = [];
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n && out.length < MAX_LINES_SHOWN; i++) {
    if (a[i] !== b[i]) {
      if (a[i] !== undefined) out.push(`  ${i + 1}: - ${a[i]}`);
      if (b[i] !== undefined) out.push(`  ${i + 1}: + ${b[i]}`);
    }
  }
  return out.join("\n");
}

const tmp = await mkdtemp(path.join(os.tmpdir(), "openenv-node-types-"));
let problems = 0;
try {
  const fresh = await generateAll(tmp);
  const committed = await listTs(DEFAULT_OUT_DIR);
  for (const name of committed.filter((n) => !fresh.includes(n))) {
    console.error(`stale: src/generated/${name} has no schema any more`);
    problems++;
  }
  for (const name of fresh) {
    const want = await readFile(path.join(tmp, name), "utf8");
    let have;
    try {
      have = await readFile(path.join(DEFAULT_OUT_DIR, name), "utf8");
    } catch {
      console.error(`missing: src/generated/${name}`);
      problems++;
      continue;
    }
    if (have !== want) {
      console.error(`out of date: src/generated/${name}\n${lineDiff(have, want)}`);
      problems++;
    }
  }
} finally {
  await rm(tmp, { recursive: true, force: true });
}
if (problems) {
  console.error(`${problems} generated module(s) differ; run \`npm run generate:types\``);
  process.exit(1);
}
console.log("src/generated is up to date with schemas/");
