"""The performance targets of ``bench/run.py`` and their pass/fail verdict on one report.

Each :class:`Target` reads one figure of ours (and, for a ratio target, the same figure of 0.10)
from ``results[side][measurement][key]`` and compares it with a threshold. ``evaluate()`` returns
one dict per target: ``target`` (text), ``ours``, ``legacy``, ``ratio`` (ours/0.10 or None),
``value`` (what is compared), ``threshold``, ``passed`` (True/False, or None when a figure is
missing — e.g. that measurement was not requested or failed) and ``note``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

IDLE_TARGET_SESSIONS = 10_000
RSS_TARGET_BYTES = 50_000  # "≤ 50 KB per idle session"; compared in bytes, reported in KiB


@dataclass(frozen=True)
class Target:
    text: str
    measurement: str
    key: str
    threshold: float
    kind: str  # "ratio_min": ours/0.10 >= threshold; "max" / "min": ours <= / >= threshold
    scale: float = 1.0  # multiplies ours before comparing (e.g. KiB -> bytes)


TARGETS: tuple[Target, ...] = (
    Target("aggregate steps/s @64 sessions ≥ 5× 0.10", "conc_64", "ops_s", 5.0, "ratio_min"),
    Target("p99 step latency @64 sessions ≤ 10 ms", "conc_64", "p99_ms", 10.0, "max"),
    Target("new session + first reset p50 ≤ 1 ms", "new_session", "p50_ms", 1.0, "max"),
    Target("own sync client sequential steps/s ≥ 3× 0.10's", "sync_client", "ops_s", 3.0, "ratio_min"),
    Target("MCP echo env steps/s ≥ 20× 0.10's", "mcp_echo", "ops_s", 20.0, "ratio_min"),
    Target("own asyncio client CPU per step @64 sessions ≤ 60 µs", "async_client", "client_cpu_us_op", 60.0, "max"),
    Target("idle sessions held in one process ≥ 10,000", "idle", "sessions", IDLE_TARGET_SESSIONS, "min"),
    Target("RSS per idle session ≤ 50 KB", "idle", "rss_per_session_kib", RSS_TARGET_BYTES, "max", 1024.0),
)


def _figure(results: dict[str, dict[str, Any]], side: str, t: Target) -> float | None:
    row = results.get(side, {}).get(t.measurement, {})
    if not isinstance(row, dict) or row.get("error"):
        return None
    value = row.get(t.key)
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def evaluate(results: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """The verdict on every target; see the module docstring."""
    out: list[dict[str, Any]] = []
    for t in TARGETS:
        ours, legacy = _figure(results, "ours", t), _figure(results, "legacy", t)
        ratio = ours / legacy if ours is not None and legacy else None
        scaled = ours * t.scale if ours is not None else None
        value = ratio if t.kind == "ratio_min" else scaled
        passed: bool | None = None
        if value is not None:
            passed = value >= t.threshold if t.kind in ("ratio_min", "min") else value <= t.threshold
        out.append(
            {
                "target": t.text,
                "measurement": f"{t.measurement}.{t.key}",
                "ours": ours,
                "legacy": legacy,
                "ratio": ratio,
                "value": value,
                "threshold": t.threshold,
                "passed": passed,
                "note": "" if value is not None else "not measured",
            }
        )
    return out


def render(verdicts: list[dict[str, Any]]) -> str:
    """A plain-text table of ``evaluate()``'s result."""

    def fmt(v: Any) -> str:
        if not isinstance(v, int | float):
            return "–"
        return f"{v:,.0f}" if abs(v) >= 100 else f"{v:.3g}"

    head = f"{'target':50} {'0.10.0':>10} {'ours':>10} {'ours/0.10':>10}  verdict"
    lines = [head, "-" * len(head)]
    for v in verdicts:
        verdict = {True: "PASS", False: "FAIL", None: "n/a"}[v["passed"]]
        ratio = f"{v['ratio']:.2f}x" if v["ratio"] is not None else "–"
        lines.append(f"{v['target']:50} {fmt(v['legacy']):>10} {fmt(v['ours']):>10} {ratio:>10}  {verdict}")
    return "\n".join(lines)
