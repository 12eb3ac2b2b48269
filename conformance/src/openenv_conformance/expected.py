"""Expected-failure lists: checks a given implementation is known to fail, each with a reason.

Contract: the YAML file is `{target: str, failures: [{id: str, reason: str}, ...]}`. Loading
rejects unknown check ids, duplicates and entries without a reason, so a typo cannot silently
excuse a failure. A listed check that does not fail makes the run fail (a stale entry).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import yaml

MAX_ENTRIES = 1_000


def load_expected_failures(path: Path, known_ids: Iterable[str]) -> dict[str, str]:
    try:
        raw = yaml.safe_load(path.read_text("utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ValueError(f"{path}: cannot read expected failures: {exc}") from exc
    if raw is None:
        return {}
    if not isinstance(raw, dict) or not isinstance(raw.get("failures", []), list):
        raise ValueError(f"{path}: expected a mapping with a 'failures' list")
    unknown_keys = set(raw) - {"target", "failures"}
    if unknown_keys:
        raise ValueError(f"{path}: unknown top-level keys {sorted(unknown_keys)}")
    known = set(known_ids)
    out: dict[str, str] = {}
    entries = raw.get("failures") or []
    if len(entries) > MAX_ENTRIES:
        raise ValueError(f"{path}: more than {MAX_ENTRIES} entries")
    for n, entry in enumerate(entries, 1):
        if not isinstance(entry, dict) or set(entry) != {"id", "reason"}:
            raise ValueError(f"{path}: entry {n} must have exactly the keys 'id' and 'reason'")
        cid, reason = entry["id"], entry["reason"]
        if not isinstance(cid, str) or cid not in known:
            raise ValueError(f"{path}: entry {n}: unknown check id {cid!r}")
        if not isinstance(reason, str) or not reason.strip():
            raise ValueError(f"{path}: entry {n} ({cid}): the reason must be a non-empty string")
        if cid in out:
            raise ValueError(f"{path}: {cid} is listed twice")
        out[cid] = reason.strip()
    return out
