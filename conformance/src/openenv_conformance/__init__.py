"""OpenEnv conformance harness."""
