"""OpenEnv: typed, isolated RL environments over WebSocket/HTTP."""
