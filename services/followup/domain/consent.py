"""Informed consent to release information, and its withdrawal at any time.

A withdrawal stops every future disclosure the consent covered; it does not
erase the history of what was disclosed while it was in force.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from plumbing.domain import Conflict, Invalid, NotFound

EMERGENCY = "health_safety_emergency"
CONSENT = "consent"


@dataclass
class Consent:
    consent_id: UUID
    recipients: tuple[str, ...]
    given_by_role: str
    given_at: datetime
    withdrawn_at: datetime | None = None
    withdrawn_by: str = ""

    @property
    def in_force(self) -> bool:
        return self.withdrawn_at is None

    def covers(self, party: str) -> bool:
        return party in self.recipients

    def refusal(self, party: str) -> str:
        """Why a disclosure to ``party`` under this consent is refused ("" = allowed)."""
        if not self.in_force:
            assert self.withdrawn_at is not None
            return (
                f"consent {self.consent_id} was withdrawn by {self.withdrawn_by} "
                f"at {self.withdrawn_at.isoformat()}"
            )
        if not self.covers(party):
            return f"consent {self.consent_id} does not cover {party}"
        return ""


def check_disclosure(
    *,
    legal_basis: str,
    party: str,
    consent: Consent | None,
    consent_named: bool,
    threat: str,
    recipients: list[str],
) -> None:
    """The guard every disclosure passes: a consent in force, or an articulable emergency."""
    if legal_basis == EMERGENCY:
        if not threat.strip():
            raise Invalid(
                "an emergency disclosure must record the articulable and significant threat",
                field="threat",
            )
        if not recipients:
            raise Invalid("an emergency disclosure must record who received it", "recipients")
        return
    if consent is None:
        if consent_named:
            raise NotFound("no such consent on this plan", field="consent_id")
        raise Invalid("a disclosure under consent must name the consent", field="consent_id")
    refusal = consent.refusal(party)
    if refusal:
        raise Conflict(f"cannot disclose to {party}: {refusal}", field="consent_id")
