"""Plot the benchmark from ``bench/results/*.json`` into the site: ``docs/benchmark.md`` and
``docs/assets/bench-throughput.svg`` / ``docs/assets/bench-latency.svg``.

Contract:

* A run is a result file named by its UTC timestamp (``YYYYMMDDTHHMMSSZ.json``, what ``make bench``
  writes); other files in the folder (other benchmarks' results) are not plotted. The latest run
  is the one whose name sorts last. Its
  ``results.<side>.conc_<N>`` blocks (``ops_s``, ``p50_ms``, ``p99_ms``) for ``legacy`` (0.10)
  and ``ours`` become two grouped bar charts (throughput and p99 latency per session count), drawn
  as plain SVG with every bar's value printed on it; its ``targets`` become a table.
* Every run contributes one row to the history table (aggregate steps/s at 64 sessions, both sides).
* Nothing is typed in: a figure on the page exists only if the JSON has it. A file that is not
  valid JSON or lacks ``results`` is reported by name and the tool exits 1.
* ``main(argv)`` writes the three files; ``--check`` renders them in memory and returns 1 when a
  committed file differs.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Sequence
from html import escape
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path("bench") / "results"
PAGE = Path("docs") / "benchmark.md"
THROUGHPUT_SVG = Path("docs") / "assets" / "bench-throughput.svg"
LATENCY_SVG = Path("docs") / "assets" / "bench-latency.svg"
SIDES: tuple[tuple[str, str, str], ...] = (("legacy", "openenv 0.10.0", "#9e9e9e"), ("ours", "this project", "#3f51b5"))
MAX_RESULT_BYTES = 10 * 1024 * 1024
RUN_NAME_RE = re.compile(r"^\d{8}T\d{6}Z\.json$")


def load_runs(root: Path) -> list[tuple[str, dict[str, Any]]]:
    """(file stem, document) for every result file, oldest first."""
    runs = []
    for path in sorted((root / RESULTS).glob("*.json")):
        if not RUN_NAME_RE.match(path.name):
            continue
        if path.stat().st_size > MAX_RESULT_BYTES:
            raise ValueError(f"{path.name}: over {MAX_RESULT_BYTES} bytes")
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path.name}: not valid JSON ({exc.msg} at line {exc.lineno})") from exc
        if not isinstance(doc, dict) or not isinstance(doc.get("results"), dict):
            raise ValueError(f"{path.name}: no 'results' object")
        runs.append((path.stem, doc))
    if not runs:
        raise ValueError(f"no result files in {RESULTS}")
    return runs


def concurrencies(doc: dict[str, Any]) -> list[int]:
    keys = {k for side, _, _ in SIDES for k in (doc["results"].get(side) or {}) if k.startswith("conc_")}
    return sorted(int(k.removeprefix("conc_")) for k in keys)


def metric(doc: dict[str, Any], side: str, block: str, name: str) -> float | None:
    value = ((doc["results"].get(side) or {}).get(block) or {}).get(name)
    return float(value) if isinstance(value, int | float) else None


def _fmt(value: float) -> str:
    return f"{value:,.0f}" if value >= 100 else f"{value:.2f}"


def bar_chart(title: str, unit: str, groups: list[str], values: dict[str, list[float | None]]) -> str:
    """A grouped bar chart as a standalone SVG document (no script, no external resource)."""
    width, height, left, top, bottom = 640, 320, 70, 40, 50
    plot_w, plot_h = width - left - 20, height - top - bottom
    peak = max([v for vs in values.values() for v in vs if v is not None] or [1.0]) * 1.15
    group_w = plot_w / max(len(groups), 1)
    bar_w = group_w / (len(SIDES) + 1)
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" height="{height}"'
        f' role="img" aria-label="{escape(title)}" font-family="sans-serif" font-size="12">',
        f'<rect width="{width}" height="{height}" fill="#ffffff"/>',
        f'<text x="{width / 2}" y="20" text-anchor="middle" font-size="14">{escape(title)}</text>',
        f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" stroke="#333"/>',
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + plot_h}" stroke="#333"/>',
        f'<text x="14" y="{top + plot_h / 2}" transform="rotate(-90 14 {top + plot_h / 2})"'
        f' text-anchor="middle">{escape(unit)}</text>',
    ]
    for tick in range(5):
        y = top + plot_h - plot_h * tick / 4
        out.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{_fmt(peak * tick / 4)}</text>')
        out.append(f'<line x1="{left}" y1="{y:.1f}" x2="{left + plot_w}" y2="{y:.1f}" stroke="#e0e0e0"/>')
    for gi, group in enumerate(groups):
        gx = left + gi * group_w
        out.append(
            f'<text x="{gx + group_w / 2:.1f}" y="{top + plot_h + 18}" text-anchor="middle">{escape(group)}</text>'
        )
        for si, (side, _, colour) in enumerate(SIDES):
            bar = values[side][gi]
            if bar is None:
                continue
            value = bar
            h = plot_h * value / peak
            x = gx + bar_w * (si + 0.5)
            y = top + plot_h - h
            out.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{h:.1f}" fill="{colour}">'
                f"<title>{escape(side)} {escape(group)}: {_fmt(value)} {escape(unit)}</title></rect>"
            )
            out.append(f'<text x="{x + bar_w / 2:.1f}" y="{y - 4:.1f}" text-anchor="middle">{_fmt(value)}</text>')
    for si, (_, label, colour) in enumerate(SIDES):
        lx = left + 10 + si * 160
        out.append(f'<rect x="{lx}" y="{height - 18}" width="12" height="12" fill="{colour}"/>')
        out.append(f'<text x="{lx + 18}" y="{height - 8}">{escape(label)}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def render(root: Path) -> dict[Path, str]:
    runs = load_runs(root)
    stem, latest = runs[-1]
    concs = concurrencies(latest)
    groups = [f"{n} session{'s' if n > 1 else ''}" for n in concs]
    throughput = {side: [metric(latest, side, f"conc_{n}", "ops_s") for n in concs] for side, _, _ in SIDES}
    latency = {side: [metric(latest, side, f"conc_{n}", "p99_ms") for n in concs] for side, _, _ in SIDES}
    meta = latest.get("meta") or {}
    lines = [
        "# Benchmark",
        "",
        "Generated by `tools/bench_chart.py` from `bench/results/*.json`; do not edit. The figures",
        "come from `make bench` (`bench/run.py`; method, set-up and caveats in `bench/README.md` in the",
        "repository): this project's server and `openenv==0.10.0` serving the same environment on the",
        "same machine, measured interleaved, each server pinned to one CPU.",
        "",
        f"Latest run: `{stem}` ({meta.get('timestamp', 'time not recorded')}, {meta.get('cpus', '?')} CPUs,"
        f" Python {meta.get('python', '?')}); workload: {meta.get('workload', 'not recorded')}.",
        "",
        "![Aggregate steps per second by session count](assets/bench-throughput.svg)",
        "",
        "![p99 step latency by session count](assets/bench-latency.svg)",
        "",
        "| sessions | steps/s 0.10 | steps/s ours | p50 ms 0.10 | p50 ms ours | p99 ms 0.10 | p99 ms ours |",
        "|---|---|---|---|---|---|---|",
    ]
    for n in concs:
        cells = [
            metric(latest, side, f"conc_{n}", name)
            for name in ("ops_s", "p50_ms", "p99_ms")
            for side in ("legacy", "ours")
        ]
        lines.append(f"| {n} | " + " | ".join("—" if c is None else _fmt(c) for c in cells) + " |")
    targets = latest.get("targets") or []
    if targets:
        lines += ["", "## Targets of the latest run", "", "| target | ours | 0.10 | met |", "|---|---|---|---|"]
        for t in targets:
            ours, legacy = t.get("ours"), t.get("legacy")
            lines.append(
                f"| {t.get('target', '?')} | {_fmt(ours) if isinstance(ours, int | float) else '—'}"
                f" | {_fmt(legacy) if isinstance(legacy, int | float) else '—'}"
                f" | {'yes' if t.get('passed') else 'no'} |"
            )
    lines += [
        "",
        "## Every run",
        "",
        "Aggregate steps/s with 64 sessions, per result file (earlier runs predate later server changes).",
        "",
        "| run | 0.10 | ours | ratio |",
        "|---|---|---|---|",
    ]
    for run_stem, doc in runs:
        legacy_v, ours_v = metric(doc, "legacy", "conc_64", "ops_s"), metric(doc, "ours", "conc_64", "ops_s")
        ratio = f"{ours_v / legacy_v:.2f}×" if legacy_v and ours_v else "—"
        lines.append(
            f"| `{run_stem}` | {'—' if legacy_v is None else _fmt(legacy_v)}"
            f" | {'—' if ours_v is None else _fmt(ours_v)} | {ratio} |"
        )
    return {
        PAGE: "\n".join(lines) + "\n",
        THROUGHPUT_SVG: bar_chart("Aggregate steps/s (higher is better)", "steps/s", groups, throughput),
        LATENCY_SVG: bar_chart("p99 step latency (lower is better)", "ms", groups, latency),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write (or --check) the benchmark page and charts.")
    parser.add_argument("--check", action="store_true", help="fail when a file is stale; write nothing")
    parser.add_argument("--root", type=Path, default=REPO_ROOT, help="repository root")
    args = parser.parse_args(argv)
    try:
        files = render(args.root)
    except (OSError, ValueError) as exc:
        print(f"bench_chart: {exc}", file=sys.stderr)
        return 1
    stale = []
    for rel, text in files.items():
        path = args.root / rel
        current = path.read_text(encoding="utf-8") if path.is_file() else None
        if current == text:
            continue
        if args.check:
            stale.append(str(rel))
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
    if stale:
        print(f"bench_chart: stale {', '.join(stale)}: run `.venv/bin/python tools/bench_chart.py`", file=sys.stderr)
        return 1
    print(f"bench_chart: {'fresh' if args.check else 'wrote'} {', '.join(str(p) for p in files)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
