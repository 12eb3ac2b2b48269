/**
 * Client-certification driver for the Node client (`EnvClient` in client.ts).
 *
 * Run by `openenv-conformance serve-client --command "node dist/src/client/driver.js"`: reads
 * OPENENV_CONFORMANCE_URL and OPENENV_CONFORMANCE_PLAN, performs the plan's operations with ONE
 * client and prints one JSON result line per operation (the driver protocol of
 * conformance/drivers/driverlib.py). It never reconnects on its own.
 */
import { EnvClient, OpenEnvClientError, type StepResult } from "./client.js";

type Op = { op: string; data?: Record<string, unknown>; action?: Record<string, unknown>; ops?: Op[]; s?: number };
type Result = Record<string, unknown>;

function stepResult(r: StepResult): Result {
  return { ok: true, ...r };
}

function failure(error: unknown): Result {
  if (error instanceof OpenEnvClientError) {
    return { ok: false, error: error.kind, code: error.code, status: error.status, message: error.message };
  }
  return { ok: false, error: "other", code: null, status: null, message: String(error) };
}

async function perform(client: EnvClient, op: Op): Promise<Result> {
  try {
    switch (op.op) {
      case "connect":
        await client.connect();
        return { op: op.op, ok: true };
      case "reset":
        return { op: op.op, ...stepResult(await client.reset(op.data ?? {})) };
      case "step":
        return { op: op.op, ...stepResult(await client.step(op.action ?? {})) };
      case "state":
        return { op: op.op, ok: true, state: await client.state() };
      case "close":
        await client.close();
        return { op: op.op, ok: true };
      case "sleep":
        await new Promise((r) => setTimeout(r, (op.s ?? 0) * 1000));
        return { op: op.op, ok: true };
      default:
        return { op: op.op, ok: false, error: "other", message: `unknown op ${op.op}` };
    }
  } catch (error) {
    return { op: op.op, ...failure(error) };
  }
}

async function main(): Promise<void> {
  const url = process.env.OPENENV_CONFORMANCE_URL;
  const planText = process.env.OPENENV_CONFORMANCE_PLAN;
  if (!url || !planText) {
    process.stderr.write("driver: OPENENV_CONFORMANCE_URL and OPENENV_CONFORMANCE_PLAN are required\n");
    process.exit(2);
  }
  const plan = JSON.parse(planText) as { timeout_s?: number; ops: Op[] };
  const client = new EnvClient(url, { timeoutMs: Math.round((plan.timeout_s ?? 5) * 1000) });
  for (const op of plan.ops) {
    const result =
      op.op === "concurrent"
        ? { op: "concurrent", results: await Promise.all((op.ops ?? []).map((o) => perform(client, o))) }
        : await perform(client, op);
    // wait for each line to be flushed: stdout to a pipe is asynchronous in Node
    await new Promise<void>((resolve) => process.stdout.write(JSON.stringify(result) + "\n", () => resolve()));
  }
  await client.close();
}

void main();
