"""Exceptions a check raises to conclude with something other than PASS.

Contract: `Fail` → FAIL when the violated clauses (`Fail(msg, clauses=[...])`, default: all the
check cites) include a MUST, NON-STRICT when they are only SHOULD/MAY; `Tolerated` → NON-STRICT
(a legacy behaviour the spec tolerates); `Unimplemented` → UNIMPLEMENTED
(an optional feature is absent); `Info` → INFORMATIONAL; `Undecided` → ERROR (the harness could
not decide, e.g. the target never gave the setup this check needs).
"""

from __future__ import annotations

from openenv_conformance.model import Level


class Verdict(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Fail(Verdict):
    def __init__(
        self,
        message: str,
        *,
        clauses: tuple[str, ...] | list[str] = (),
        level: Level | None = None,
    ) -> None:
        super().__init__(message)
        self.clauses = tuple(clauses)
        self.level = level
        """The level of the violated requirement when it is not the check's own level."""


class Tolerated(Verdict):
    pass


class Unimplemented(Verdict):
    pass


class Info(Verdict):
    pass


class Undecided(Verdict):
    pass
