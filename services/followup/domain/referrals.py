"""A referral to a community resource, tracked to attended or not.

proposed -> consent_requested -> consent_given | consent_declined -> referred ->
contacted -> appointment_scheduled -> attended | not_attended -> closed.  Any
open referral may be closed (with a note).  ``consent_given`` is reached only by
recording the consent itself, so every referral that discloses has a consent
on record.  Steps from ``referred`` on disclose information to the provider:
they need a consent in force that covers the resource.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from plumbing.domain import Conflict

PROPOSED = "proposed"
CONSENT_REQUESTED = "consent_requested"
CONSENT_GIVEN = "consent_given"
CONSENT_DECLINED = "consent_declined"
REFERRED = "referred"
CONTACTED = "contacted"
APPOINTMENT_SCHEDULED = "appointment_scheduled"
ATTENDED = "attended"
NOT_ATTENDED = "not_attended"
CLOSED = "closed"

NEXT: dict[str, frozenset[str]] = {
    PROPOSED: frozenset({CONSENT_REQUESTED, CONSENT_GIVEN}),
    CONSENT_REQUESTED: frozenset({CONSENT_GIVEN, CONSENT_DECLINED}),
    CONSENT_GIVEN: frozenset({REFERRED}),
    CONSENT_DECLINED: frozenset(),
    REFERRED: frozenset({CONTACTED}),
    CONTACTED: frozenset({APPOINTMENT_SCHEDULED}),
    APPOINTMENT_SCHEDULED: frozenset({ATTENDED, NOT_ATTENDED}),
    ATTENDED: frozenset(),
    NOT_ATTENDED: frozenset({APPOINTMENT_SCHEDULED}),
    CLOSED: frozenset(),
}

#: Steps that share the student's information with the provider.
DISCLOSING = frozenset({REFERRED, CONTACTED, APPOINTMENT_SCHEDULED, ATTENDED, NOT_ATTENDED})


@dataclass
class Referral:
    referral_id: UUID
    resource_id: str
    state: str
    last_progress_at: datetime
    stale_after: datetime
    consent_id: UUID | None = None
    blocked_reason: str = ""  # set when the consent it relies on was withdrawn
    stalled: bool = False

    @property
    def is_open(self) -> bool:
        return self.state != CLOSED

    def ensure_can_move(self, to: str, *, via_consent: bool = False) -> None:
        if to == self.state:
            raise Conflict(f"referral {self.referral_id} is already {to}", field="to")
        if to == CLOSED:
            if not self.is_open:
                raise Conflict(f"referral {self.referral_id} is already closed", field="to")
            return
        if self.blocked_reason:
            raise Conflict(
                f"cannot move referral {self.referral_id} to {to}: {self.blocked_reason}",
                field="consent",
            )
        if to == CONSENT_GIVEN and not via_consent:
            raise Conflict(
                "consent_given is recorded by granting the consent (scope, who, when)", field="to"
            )
        if to not in NEXT[self.state]:
            allowed = ", ".join(sorted(NEXT[self.state] | {CLOSED})) if self.is_open else "none"
            raise Conflict(
                f"referral {self.referral_id} is {self.state}; cannot move to {to} "
                f"(allowed: {allowed})",
                field="to",
            )
