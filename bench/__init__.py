"""Side-by-side benchmark of openenv 0.10.0 and this project's server (see bench/README.md)."""
