"""gridworld_env: the OpenEnv reference deterministic grid-world game (see README.md)."""
