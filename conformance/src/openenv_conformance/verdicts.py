"""Exceptions a check raises to conclude with something other than PASS.

Contract: `Fail` → FAIL for a MUST, NON-STRICT for a SHOULD/MAY; `Unimplemented` → UNIMPLEMENTED
(an optional feature is absent); `Info` → INFORMATIONAL; `Undecided` → ERROR (the harness could
not decide, e.g. the target never gave the setup this check needs).
"""

from __future__ import annotations


class Verdict(Exception):  # noqa: N818 (these are outcomes, not errors)
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Fail(Verdict):
    pass


class Unimplemented(Verdict):
    pass


class Info(Verdict):
    pass


class Undecided(Verdict):
    pass
