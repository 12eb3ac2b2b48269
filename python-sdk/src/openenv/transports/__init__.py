"""Transports: move bytes, map library errors; nothing else."""
