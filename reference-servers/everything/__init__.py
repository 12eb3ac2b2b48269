"""everything: the OpenEnv reference server that exercises every optional feature (README.md)."""
