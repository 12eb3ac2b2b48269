#!/usr/bin/env node
/**
 * Command-line entry point: `node dist/src/main.js [--env echo|gridworld] [--host H] [--port P] …`
 * (settings in `config.ts`). Prints one line `listening on http://HOST:PORT` to stdout once the
 * socket is bound (with `--port 0` this names the port chosen), and shuts down cleanly on SIGINT
 * or SIGTERM (every `/ws` session closed with 1001). Exit status 2 on bad settings.
 */
import { ConfigError, loadConfig } from "./config.js";
import { startServer } from "./server.js";

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig(process.argv.slice(2), process.env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`openenv-node: ${error.message}\n`);
    process.exit(2);
  }
  const server = await startServer(config);
  process.stdout.write(`listening on ${server.url} (env ${config.env.name})\n`);
  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    server.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
}

main().catch((error: unknown) => {
  process.stderr.write(`openenv-node: failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
