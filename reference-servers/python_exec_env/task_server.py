"""ASGI app of python_exec_env's task mode (`task_env.PythonTaskEnvironment`): the hidden-test-suite
tasks of `tasks.jsonl`, with the Task API. Serve it with
``openenv serve python_exec_env.task_server:app`` (from `reference-servers/`)."""

from __future__ import annotations

from openenv.server import create_app

from .server import MANIFEST
from .task_env import PythonTaskEnvironment

app = create_app(PythonTaskEnvironment, manifest=MANIFEST)
