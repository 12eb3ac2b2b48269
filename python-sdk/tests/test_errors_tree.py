"""One exception tree: every exception class the SDK defines derives from `OpenEnvError`, and the
server branch is `ServerError` (its members documented in `openenv.server.faults`)."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import openenv
from openenv.errors import LocalError, OpenEnvError, ServerError
from openenv.server import faults


def sdk_exceptions() -> list[type[BaseException]]:
    found: list[type[BaseException]] = []
    for info in pkgutil.walk_packages(openenv.__path__, "openenv."):
        if info.name.startswith(("openenv._generated", "openenv.cli.templates")) or info.name.endswith("__main__"):
            continue
        try:
            module = importlib.import_module(info.name)
        except ImportError:  # an optional extra (ray, kubernetes, trl) that is not installed here
            continue
        for _, value in vars(module).items():
            if inspect.isclass(value) and issubclass(value, BaseException) and value.__module__ == info.name:
                found.append(value)
    return found


def test_every_sdk_exception_is_an_openenv_error() -> None:
    classes = sdk_exceptions()
    assert len(classes) >= 30  # the walk really found the tree
    outside = sorted(f"{c.__module__}.{c.__qualname__}" for c in classes if not issubclass(c, OpenEnvError))
    assert outside == []


def test_server_branch_is_documented_where_it_is_defined() -> None:
    members = [
        c
        for c in vars(faults).values()
        if inspect.isclass(c) and issubclass(c, ServerError) and c.__module__ == faults.__name__
    ]
    assert {c.__name__ for c in members} >= {
        "EnvironmentFault",
        "InvalidRequest",
        "ToolCallFailed",
        "StepTimedOut",
        "CapacityExhausted",
    }
    for cls in members:
        assert f"`{cls.__name__}`" in (faults.__doc__ or ""), cls.__name__


def test_user_facing_errors_sit_in_the_right_branch() -> None:
    from openenv.cli._ui import CliError
    from openenv.manifest import ManifestError

    assert issubclass(ManifestError, LocalError) and issubclass(CliError, LocalError)
    assert issubclass(faults.EnvironmentFault, ServerError)
