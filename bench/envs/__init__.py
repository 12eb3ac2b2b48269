"""Benchmark environments written against this project's SDK."""
