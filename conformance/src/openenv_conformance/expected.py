"""Expected-failure lists: checks a given implementation is known to fail, each with a reason.

Contract: the YAML file is `{target: str, failures: [{id, reason[, when_name]}, ...]}`, where
`when_name` (a string or list of strings) limits an entry to targets whose `/metadata` `name` is
one of them. Loading rejects unknown check ids, unknown keys, duplicate entries and entries
without a reason, so a typo cannot silently excuse a failure. `applicable()` picks the entries
for one target. A listed check that does not fail makes the run fail (a stale entry).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import yaml

MAX_ENTRIES = 1_000
_KEYS = {"id", "reason", "when_name"}


@dataclass(frozen=True, slots=True)
class ExpectedFailure:
    id: str
    reason: str
    when_name: tuple[str, ...] = ()


def load_expected_failures(path: Path, known_ids: Iterable[str]) -> list[ExpectedFailure]:
    try:
        raw = yaml.safe_load(path.read_text("utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ValueError(f"{path}: cannot read expected failures: {exc}") from exc
    if raw is None:
        return []
    if not isinstance(raw, dict) or not isinstance(raw.get("failures", []), list):
        raise ValueError(f"{path}: expected a mapping with a 'failures' list")
    unknown_keys = set(raw) - {"target", "failures"}
    if unknown_keys:
        raise ValueError(f"{path}: unknown top-level keys {sorted(unknown_keys)}")
    known = set(known_ids)
    entries = raw.get("failures") or []
    if len(entries) > MAX_ENTRIES:
        raise ValueError(f"{path}: more than {MAX_ENTRIES} entries")
    out: list[ExpectedFailure] = []
    seen: set[tuple[str, str]] = set()
    for n, entry in enumerate(entries, 1):
        if not isinstance(entry, dict) or not {"id", "reason"} <= set(entry) <= _KEYS:
            raise ValueError(f"{path}: entry {n} needs 'id' and 'reason' (optional 'when_name')")
        cid, reason, names = entry["id"], entry["reason"], entry.get("when_name", ())
        if not isinstance(cid, str) or cid not in known:
            raise ValueError(f"{path}: entry {n}: unknown check id {cid!r}")
        if not isinstance(reason, str) or not reason.strip():
            raise ValueError(f"{path}: entry {n} ({cid}): the reason must be a non-empty string")
        names = (names,) if isinstance(names, str) else tuple(names)
        if not all(isinstance(x, str) and x for x in names):
            raise ValueError(f"{path}: entry {n} ({cid}): when_name must be non-empty strings")
        for key in names or ("*",):
            if (cid, key) in seen or (cid, "*") in seen or (key == "*" and any(s[0] == cid for s in seen)):
                raise ValueError(f"{path}: {cid} is listed twice")
            seen.add((cid, key))
        out.append(ExpectedFailure(cid, reason.strip(), names))
    return out


def applicable(entries: list[ExpectedFailure], env_name: str | None) -> dict[str, str]:
    """Check id → reason for the entries that apply to a target named `env_name`."""
    return {e.id: e.reason for e in entries if not e.when_name or env_name in e.when_name}
