"""The state the follow-up plan's parts share, declared once so each part is type-checked.

The plan is one aggregate because its rules cross its parts (withdrawing a
consent blocks referrals; re-entry schedules a check-in), yet its commands are
kept in one module per part so that each stays about one thing.  Each part is a
mixin over :class:`PlanState`: the type checker sees an ``Aggregate`` carrying
the plan's state, while at run time the mixins are plain classes and only
``FollowupPlan`` is an eventsourcing aggregate.  The library redefines the
event classes nested in an aggregate's direct bases as ``FollowupPlan.<Name>``,
so event topics and ``FollowupPlan.CheckinCompleted``-style access stay as they
were when everything lived in one class.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID

from plumbing.domain import Trace
from services.followup.domain.checkins import Checkin
from services.followup.domain.consent import Consent
from services.followup.domain.protocol import Protocol
from services.followup.domain.referrals import Referral

if TYPE_CHECKING:
    from eventsourcing.domain import Aggregate as _Base
else:
    _Base = object


class PlanState(_Base):
    """What ``FollowupPlan.__init__`` and the events' ``apply`` maintain, for every part."""

    incident_id: UUID
    school_id: str
    student_ref: str
    risk: str
    owner_id: str
    protocol: Protocol
    opened_at: datetime
    checkins: dict[UUID, Checkin]
    referrals: dict[UUID, Referral]
    consents: dict[UUID, Consent]
    pending_reports: dict[UUID, dict[str, Any]]
    safety_plan: dict[str, list[str]]
    safety_plan_revision: int
    disclosures: int
    reentry_meeting: bool

    if TYPE_CHECKING:

        def _schedule(
            self, slot: str, due_at: datetime, mode: str, trace: Trace, replaces: UUID | None = None
        ) -> UUID:
            """Defined by the check-ins part; opening and re-entry schedule check-ins too."""
