/** The environments this server can host, by the name `ENV` / `--env` selects. */
import type { EnvironmentDefinition } from "../env.js";
import { echoDefinition } from "./echo.js";
import { gridworldDefinition } from "./gridworld/env.js";

export const ENVIRONMENTS: Readonly<Record<string, EnvironmentDefinition>> = {
  echo: echoDefinition,
  gridworld: gridworldDefinition,
};
