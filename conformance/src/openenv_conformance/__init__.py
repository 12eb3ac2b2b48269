"""OpenEnv conformance harness: certify any OpenEnv server by URL.

Public API: `run_suite(url, profiles=..., options=RunOptions(...), expected_failures=Path)` returns
a `Report` (`report.passed`, `report.cases`, `report.to_json()`); `arun_suite` is its async twin.
The command line is `openenv-conformance run URL` (`openenv_conformance.cli.main`).
"""

from __future__ import annotations

from openenv_conformance._version import __version__
from openenv_conformance.model import CaseResult, Level, Outcome, Report
from openenv_conformance.runner import (
    TargetUnreachable,
    arun_suite,
    run_suite,
)
from openenv_conformance.target import RunOptions

__all__ = [
    "CaseResult",
    "Level",
    "Outcome",
    "Report",
    "RunOptions",
    "TargetUnreachable",
    "__version__",
    "arun_suite",
    "run_suite",
]
