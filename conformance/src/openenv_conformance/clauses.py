"""The spec's clause index (`spec/clause-index.json`): clause id → level, side, testability.

Contract: `ClauseIndex.load(path)` reads the generated list of
`{id, title, level, side, mode, page, anchor, testable}` records; `level_of(ids)` returns the
strongest level among the given clauses (MUST > SHOULD > MAY), or None when none is known.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from openenv_conformance.model import Level

_RANK = {Level.MUST: 3, Level.SHOULD: 2, Level.MAY: 1}


@dataclass(frozen=True, slots=True)
class Clause:
    id: str
    title: str
    level: Level | None
    side: str
    mode: str
    page: str
    anchor: str
    testable: bool


def _level(raw: Any) -> Level | None:
    text = str(raw or "").upper().replace(" NOT", "")
    for lv in Level:
        if text.startswith(lv.value):
            return lv
    if text in ("REQUIRED", "SHALL"):
        return Level.MUST
    if text in ("RECOMMENDED",):
        return Level.SHOULD
    if text in ("OPTIONAL",):
        return Level.MAY
    return None


class ClauseIndex:
    def __init__(self, path: Path | None, clauses: list[Clause]) -> None:
        self.path = path
        self.clauses = {c.id: c for c in clauses}

    @classmethod
    def load(cls, path: Path | None) -> ClauseIndex:
        if path is None:
            return cls(None, [])
        raw = json.loads(path.read_text("utf-8"))
        items = raw["clauses"] if isinstance(raw, dict) and "clauses" in raw else raw
        if not isinstance(items, list):
            raise ValueError(f"{path}: expected a list of clause records")
        clauses = [
            Clause(
                id=str(item["id"]),
                title=str(item.get("title", "")),
                level=_level(item.get("level")),
                side=str(item.get("side", "")),
                mode=str(item.get("mode", "")),
                page=str(item.get("page", "")),
                anchor=str(item.get("anchor", "")),
                testable=item.get("testable", True) is not False,
            )
            for item in items
        ]
        return cls(path, clauses)

    def __contains__(self, clause_id: str) -> bool:
        return clause_id in self.clauses

    def level_of(self, ids: list[str] | tuple[str, ...]) -> Level | None:
        levels = [self.clauses[i].level for i in ids if i in self.clauses]
        known = [lv for lv in levels if lv is not None]
        return max(known, key=lambda lv: _RANK[lv]) if known else None
