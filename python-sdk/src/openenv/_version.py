"""The release version of `openenv` and `openenv-conformance` — the one place it is written.

Both pyproject files read it (setuptools `dynamic` version); `tools/package_data.py` copies it into
the harness (`openenv_conformance/_version.py`, checked fresh by `make check`).
"""

__version__ = "1.0.0.dev0"
