"""The wrapped third-party `mcp-server-time` certified by the conformance suite (core and MCP profiles).

Each session of the wrapped environment starts its own server process, so the reply timeout is
longer than the harness's quick default; the whole run is bounded by the suite's budget.
"""

from __future__ import annotations

import sys
from pathlib import Path

from openenv.mcpserver import MCPServerEnvironment, StdioServer
from openenv_conformance import Outcome, arun_suite
from openenv_conformance.target import RunOptions

from tests.conftest import Serve

TIME = StdioServer(str(Path(sys.executable).parent / "mcp-server-time"), ("--local-timezone", "UTC"))


async def test_wrapped_mcp_server_time_passes_core_and_mcp(serve: Serve) -> None:
    server = serve(MCPServerEnvironment.for_server(TIME), max_sessions=4)
    options = RunOptions(timeout_s=15.0, budget_s=240.0, sessions=2, perf_steps=20, fuzz_examples=8)
    report = await arun_suite(server.base_url, profiles="core,mcp", options=options)
    failing = [
        f"{c.id}: {c.outcome.value} {c.message}" for c in report.cases if c.outcome in (Outcome.FAIL, Outcome.ERROR)
    ]
    assert failing == []
    assert sum(c.outcome is Outcome.PASS for c in report.cases) >= 25
    assert any("tools: get_current_time, convert_time" in note for note in report.notes)
