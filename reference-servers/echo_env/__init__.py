"""echo_env: the OpenEnv reference MCP-tool environment, wire-compatible with 0.10's echo_env."""
