"""Expected-failure lists: checks a given implementation is known to fail, each with a reason.

Contract: the YAML file is `{target: str, failures: [{id, reason[, when_name][, match][, when_failing]},
...]}`, where `when_name` (a string or list of strings) limits an entry to targets whose
`/metadata` `name` is one of them, and `match` (a regular expression) limits it to failures whose
message matches: a listed case that fails for another reason is not excused. `when_failing: true`
marks a defect of the implementation that shows only in environments whose code behaves a certain
way (0.10 passes a `seed` of `inf` to every `reset(**kwargs)`): such an entry needs `match`, takes
no `when_name`, excuses that failure on any target and is not stale where the case passes. Loading rejects unknown
check ids, unknown keys, bad patterns, duplicate entries and entries without a reason, so a typo
cannot silently excuse a failure. `expectation()` decides one case; `applicable()` lists the
entries for one target. A listed check that does not fail makes the run fail (a stale entry).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import yaml

MAX_ENTRIES = 1_000
_KEYS = {"id", "reason", "when_name", "match", "when_failing"}
MAX_PATTERN_CHARS = 500


@dataclass(frozen=True, slots=True)
class ExpectedFailure:
    id: str
    reason: str
    when_name: tuple[str, ...] = ()
    match: re.Pattern[str] | None = None
    """Only failures whose message matches count as expected."""
    when_failing: bool = False
    """A behavioural defect: excused wherever it shows (with `match`), never stale."""


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
            raise ValueError(f"{path}: entry {n} needs 'id' and 'reason' (optional 'when_name', 'match')")
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
        pattern = entry.get("match")
        if pattern is not None and (not isinstance(pattern, str) or not pattern or len(pattern) > MAX_PATTERN_CHARS):
            raise ValueError(f"{path}: entry {n} ({cid}): match must be a regular expression of 1-500 characters")
        try:
            compiled = re.compile(pattern) if pattern is not None else None
        except re.error as exc:
            raise ValueError(f"{path}: entry {n} ({cid}): match is not a valid regular expression: {exc}") from None
        when_failing = entry.get("when_failing", False)
        if not isinstance(when_failing, bool) or (when_failing and (compiled is None or names)):
            raise ValueError(f"{path}: entry {n} ({cid}): when_failing: true needs match and no when_name")
        out.append(ExpectedFailure(cid, reason.strip(), names, compiled, when_failing))
    return out


def applicable(entries: list[ExpectedFailure], env_name: str | None) -> dict[str, str]:
    """Check id → reason for the entries a target named `env_name` must fail (`when_failing`
    entries excluded: they excuse a failure but do not require one)."""
    return {e.id: e.reason for e in entries if not e.when_failing and (not e.when_name or env_name in e.when_name)}


def expectation(
    entries: list[ExpectedFailure], case_id: str, env_name: str | None, message: str, *, failed: bool
) -> tuple[str | None, str | None]:
    """(reason the case is expected to fail, note when its failure is not the listed one).

    An entry with `match` excuses only a failure (`failed`) whose message matches it: a listed case
    that failed for another reason gets no excuse, and the note says so. A case that did not fail
    keeps the reason, so the entry is reported stale.
    """
    for entry in entries:
        if entry.id != case_id or (entry.when_name and env_name not in entry.when_name):
            continue
        if failed and entry.match is not None and entry.match.search(message) is None:
            return None, f"listed as an expected failure matching /{entry.match.pattern}/, but it failed otherwise"
        if entry.when_failing and not failed:
            return None, None  # the environment does not show the defect: nothing to excuse, not stale
        return entry.reason, None
    return None, None
