"""The `openenv` command line: `serve`, `validate`, `conformance`."""
