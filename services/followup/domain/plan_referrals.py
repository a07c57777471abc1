"""The follow-up plan's referrals, and the consents and disclosures they depend on.

A part of :class:`~services.followup.domain.plan.FollowupPlan` (see
``plan_state`` for why the plan is split into mixins).  Referrals and consent
share a module because their rules are intertwined: a disclosing referral step
needs a consent in force, granting a consent moves or resumes a referral, and
withdrawing one blocks every referral relying on it.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING
from uuid import UUID

from plumbing.domain import Conflict, Invalid, NotFound, Trace, TracedEvent
from services.followup.domain import referrals as r
from services.followup.domain.consent import CONSENT, Consent, check_disclosure
from services.followup.domain.ids import item_id_for
from services.followup.domain.plan_state import PlanState
from services.followup.domain.referrals import Referral

if TYPE_CHECKING:
    from services.followup.domain.plan import FollowupPlan


class ReferralsMixin(PlanState):
    """Referral, consent and disclosure events and commands of the follow-up plan."""

    # -- events ------------------------------------------------------------------------------
    class ReferralProposed(TracedEvent):
        referral_id: UUID
        resource_id: str
        note: str
        stale_after: datetime
        at: datetime

        def apply(self, aggregate: FollowupPlan) -> None:
            aggregate.referrals[self.referral_id] = Referral(
                self.referral_id, self.resource_id, r.PROPOSED, self.at, self.stale_after
            )

    class ReferralMoved(TracedEvent):
        referral_id: UUID
        to: str
        note: str
        consent_id: UUID | None
        stale_after: datetime
        at: datetime

        def apply(self, aggregate: FollowupPlan) -> None:
            referral = aggregate.referrals[self.referral_id]
            referral.state = self.to
            referral.last_progress_at = self.at
            referral.stale_after = self.stale_after
            referral.stalled = False
            if self.consent_id is not None:
                referral.consent_id = self.consent_id

    class ReferralStalled(TracedEvent):
        """No progress for the protocol's stall period; the owner was notified."""

        referral_id: UUID
        notified: str
        since: datetime
        at: datetime

        def apply(self, aggregate: FollowupPlan) -> None:
            aggregate.referrals[self.referral_id].stalled = True

    class ReferralBlocked(TracedEvent):
        """The consent the referral relied on was withdrawn: no further disclosing step."""

        referral_id: UUID
        consent_id: UUID
        reason: str
        at: datetime

        def apply(self, aggregate: FollowupPlan) -> None:
            aggregate.referrals[self.referral_id].blocked_reason = self.reason

    class ReferralResumed(TracedEvent):
        """A new consent covers a blocked referral again."""

        referral_id: UUID
        consent_id: UUID
        stale_after: datetime
        at: datetime

        def apply(self, aggregate: FollowupPlan) -> None:
            referral = aggregate.referrals[self.referral_id]
            referral.blocked_reason = ""
            referral.consent_id = self.consent_id
            referral.stale_after = self.stale_after
            referral.last_progress_at = self.at

    class ConsentGranted(TracedEvent):
        consent_id: UUID
        given_by: str
        given_by_role: str
        recipients: list[str]
        information: list[str]
        purpose: str
        given_at: datetime
        referral_id: UUID | None
        at: datetime

        def apply(self, aggregate: FollowupPlan) -> None:
            aggregate.consents[self.consent_id] = Consent(
                self.consent_id, tuple(self.recipients), self.given_by_role, self.given_at
            )

    class ConsentWithdrawn(TracedEvent):
        consent_id: UUID
        withdrawn_by: str
        reason: str
        at: datetime

        def apply(self, aggregate: FollowupPlan) -> None:
            consent = aggregate.consents[self.consent_id]
            consent.withdrawn_at = self.at
            consent.withdrawn_by = self.withdrawn_by

    class DisclosureRecorded(TracedEvent):
        disclosure_id: UUID
        party: str
        purpose: str
        legal_basis: str
        consent_id: UUID | None
        threat: str
        recipients: list[str]
        information: list[str]
        referral_id: UUID | None
        at: datetime

        def apply(self, aggregate: FollowupPlan) -> None:
            aggregate.disclosures += 1

    # -- referrals -----------------------------------------------------------------------------
    def referral(self, referral_id: UUID) -> Referral:
        try:
            return self.referrals[referral_id]
        except KeyError:
            raise NotFound(f"no referral {referral_id}", field="referral_id") from None

    def _stale_after(self, at: datetime) -> datetime:
        return at + timedelta(seconds=self.protocol.referral_stall_s)

    def propose_referral(self, resource_id: str, *, note: str, at: datetime, trace: Trace) -> UUID:
        referral_id = item_id_for(self.id, "referral", len(self.referrals) + 1)
        self.trigger_event(
            self.ReferralProposed,
            referral_id=referral_id,
            resource_id=resource_id,
            note=note,
            stale_after=self._stale_after(at),
            at=at,
            **trace.fields(),
        )
        return referral_id

    def move_referral(
        self, referral_id: UUID, to: str, *, note: str, at: datetime, trace: Trace
    ) -> None:
        """One step of the referral; steps that disclose need a consent in force."""
        referral = self.referral(referral_id)
        referral.ensure_can_move(to)
        if to in r.DISCLOSING:
            consent = self.consents.get(referral.consent_id) if referral.consent_id else None
            check_disclosure(
                legal_basis=CONSENT,
                party=referral.resource_id,
                consent=consent,
                consent_named=False,
                threat="",
                recipients=[referral.resource_id],
            )
        self.trigger_event(
            self.ReferralMoved,
            referral_id=referral_id,
            to=to,
            note=note,
            consent_id=None,
            stale_after=self._stale_after(at),
            at=at,
            **trace.fields(),
        )
        if to == r.REFERRED:
            self._disclose(
                party=referral.resource_id,
                purpose="referral for services",
                legal_basis=CONSENT,
                consent_id=referral.consent_id,
                threat="",
                recipients=[referral.resource_id],
                information=[],
                referral_id=referral_id,
                at=at,
                trace=trace,
            )

    def flag_stalled(
        self, referral_id: UUID, *, stale_after: datetime, now: datetime, trace: Trace
    ) -> bool:
        """Timer: no progress since ``stale_after`` minus the stall period.  False when stale."""
        referral = self.referral(referral_id)
        if (
            not referral.is_open
            or referral.blocked_reason
            or referral.stalled
            or referral.stale_after != stale_after
            or now < stale_after
        ):
            return False
        self.trigger_event(
            self.ReferralStalled,
            referral_id=referral_id,
            notified=self.owner_id,
            since=referral.last_progress_at,
            at=now,
            **trace.fields(),
        )
        return True

    # -- consent and disclosure ------------------------------------------------------------------
    def grant_consent(
        self,
        *,
        given_by: str,
        given_by_role: str,
        recipients: list[str],
        information: list[str],
        purpose: str,
        given_at: datetime,
        referral_id: UUID | None,
        at: datetime,
        trace: Trace,
    ) -> UUID:
        referral = self.referral(referral_id) if referral_id is not None else None
        if referral is not None and referral.resource_id not in recipients:
            raise Invalid(
                f"the consent must cover the referral's resource {referral.resource_id}",
                field="recipients",
            )
        if referral is not None and not referral.blocked_reason:
            referral.ensure_can_move(r.CONSENT_GIVEN, via_consent=True)
        consent_id = item_id_for(self.id, "consent", len(self.consents) + 1)
        self.trigger_event(
            self.ConsentGranted,
            consent_id=consent_id,
            given_by=given_by,
            given_by_role=given_by_role,
            recipients=list(recipients),
            information=list(information),
            purpose=purpose,
            given_at=given_at,
            referral_id=referral_id,
            at=at,
            **trace.fields(),
        )
        if referral is not None and referral.blocked_reason:
            self.trigger_event(
                self.ReferralResumed,
                referral_id=referral.referral_id,
                consent_id=consent_id,
                stale_after=self._stale_after(at),
                at=at,
                **trace.fields(),
            )
        elif referral is not None:
            self.trigger_event(
                self.ReferralMoved,
                referral_id=referral.referral_id,
                to=r.CONSENT_GIVEN,
                note="",
                consent_id=consent_id,
                stale_after=self._stale_after(at),
                at=at,
                **trace.fields(),
            )
        return consent_id

    def consent(self, consent_id: UUID) -> Consent:
        try:
            return self.consents[consent_id]
        except KeyError:
            raise NotFound(f"no consent {consent_id}", field="consent_id") from None

    def withdraw_consent(
        self, consent_id: UUID, *, withdrawn_by: str, reason: str, at: datetime, trace: Trace
    ) -> list[UUID]:
        """Withdraw; every open referral relying on it is blocked.  Returns those referrals."""
        consent = self.consent(consent_id)
        if not consent.in_force:
            raise Conflict(f"consent {consent_id} is already withdrawn", field="consent_id")
        self.trigger_event(
            self.ConsentWithdrawn,
            consent_id=consent_id,
            withdrawn_by=withdrawn_by,
            reason=reason,
            at=at,
            **trace.fields(),
        )
        blocked = [
            ref
            for ref in self.referrals.values()
            if ref.consent_id == consent_id and ref.is_open and not ref.blocked_reason
        ]
        for ref in blocked:
            self.trigger_event(
                self.ReferralBlocked,
                referral_id=ref.referral_id,
                consent_id=consent_id,
                reason=consent.refusal(ref.resource_id),
                at=at,
                **trace.fields(),
            )
        return [ref.referral_id for ref in blocked]

    def record_disclosure(
        self,
        *,
        party: str,
        purpose: str,
        legal_basis: str,
        consent_id: UUID | None,
        threat: str,
        recipients: list[str],
        information: list[str],
        at: datetime,
        trace: Trace,
    ) -> UUID:
        check_disclosure(
            legal_basis=legal_basis,
            party=party,
            consent=self.consents.get(consent_id) if consent_id else None,
            consent_named=consent_id is not None,
            threat=threat,
            recipients=recipients,
        )
        return self._disclose(
            party=party,
            purpose=purpose,
            legal_basis=legal_basis,
            consent_id=consent_id,
            threat=threat,
            recipients=recipients or [party],
            information=information,
            referral_id=None,
            at=at,
            trace=trace,
        )

    def _disclose(
        self,
        *,
        party: str,
        purpose: str,
        legal_basis: str,
        consent_id: UUID | None,
        threat: str,
        recipients: list[str],
        information: list[str],
        referral_id: UUID | None,
        at: datetime,
        trace: Trace,
    ) -> UUID:
        disclosure_id = item_id_for(self.id, "disclosure", self.disclosures + 1)
        self.trigger_event(
            self.DisclosureRecorded,
            disclosure_id=disclosure_id,
            party=party,
            purpose=purpose,
            legal_basis=legal_basis,
            consent_id=consent_id,
            threat=threat,
            recipients=list(recipients),
            information=list(information),
            referral_id=referral_id,
            at=at,
            **trace.fields(),
        )
        return disclosure_id
