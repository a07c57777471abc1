"""Dispatch's domain events -> public integration events (deliberate and minimal).

Incident facts (school, risk, pseudonymous student reference) live on the
response aggregate, so events that need them know them as of that version: from
the translator's own record of each response, kept as the relay passes its
events in order, or (after any gap) by loading the response at that version.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any
from uuid import UUID

from events.dispatch import (
    DispatchAcknowledgedV1,
    DispatchDeclinedV2,
    DispatchEscalatedV1,
    DispatchStatusChangedV2,
    NotificationDeliveryV1,
    ResponderAssignedV1,
    ResponderEnrolledV1,
    ResponderPagedV1,
)
from events.subjects import DISPATCH, Subjects
from events.vocabulary import ResponderRole, RiskLevel
from plumbing.envelope import Outgoing
from services.dispatch.domain.delivery import Delivery
from services.dispatch.domain.response import IncidentResponse as R
from services.dispatch.domain.roster import Roster

Load = Callable[[UUID, int], Any]


@dataclass(frozen=True, slots=True)
class Facts:
    """What the outgoing events say about a response's incident, as of ``version``."""

    version: int
    incident_id: UUID
    school_id: str
    student_ref: str
    risk: str


class Translator:
    def __init__(self, subjects: Subjects, load: Load, *, remember: int = 20_000) -> None:
        self.subjects = subjects
        self.load = load
        self.remember = remember
        self._facts: OrderedDict[UUID, Facts] = OrderedDict()

    def facts(self, event: Any) -> Facts:
        """The response's facts as of this event's version (loading only after a gap).

        Valid only when every earlier event of the response passed through here in
        order: a record one version behind is moved on (a risk change applied), any
        other record is set aside and the response is loaded at that version.
        """
        rid, version = event.originator_id, event.originator_version
        known = self._facts.get(rid)
        if known is not None and known.version == version:
            facts = known
        elif known is not None and known.version == version - 1:
            facts = replace(known, version=version)
            if isinstance(event, R.RiskChanged):
                facts = replace(facts, risk=event.risk)
        elif isinstance(event, R.Opened):
            facts = Facts(
                version, event.incident_id, event.school_id, event.student_ref, event.risk
            )
        else:
            r: R = self.load(rid, version)
            facts = Facts(version, r.incident_id, r.school_id, r.student_ref, r.risk)
        self._facts[rid] = facts
        self._facts.move_to_end(rid)
        if len(self._facts) > self.remember:
            self._facts.popitem(last=False)
        return facts

    def __call__(self, event: Any) -> Outgoing | None:
        if isinstance(event, Roster.ResponderEnrolled | Roster.AvailabilityChanged):
            return self._enrolled(event)
        if isinstance(event, Delivery.Recorded):
            return Outgoing(
                self.subjects.notification_delivery,
                NotificationDeliveryV1(
                    incident_id=event.incident_id,
                    dispatch_id=event.dispatch_id,
                    responder_id=event.responder_id,
                    kind=event.kind,
                    channel=event.channel,
                    outcome=event.outcome,
                    detail=event.detail,
                    attempts=event.attempts,
                    at=event.at,
                ),
                str(event.incident_id),
            )
        if not isinstance(event, R.Event):
            return None
        response = self.facts(event)  # every response event keeps the record in step
        if not isinstance(
            event,
            R.ResponderAssigned
            | R.Escalated
            | R.Acknowledged
            | R.Declined
            | R.StatusReported
            | R.ResponderPaged,
        ):
            return None
        incident = str(response.incident_id)
        risk = RiskLevel(response.risk)
        s = self.subjects
        if isinstance(event, R.ResponderAssigned):
            return Outgoing(
                s.responder_assigned,
                ResponderAssignedV1(
                    incident_id=response.incident_id,
                    dispatch_id=event.dispatch_id,
                    responder_id=event.responder_id,
                    school_id=response.school_id,
                    risk=risk,
                    assigned_at=event.at,
                    rule=event.rule,
                    ack_deadline=event.ack_deadline,
                    step="initial",
                ),
                incident,
            )
        if isinstance(event, R.Escalated):
            return Outgoing(
                s.dispatch_escalated,
                DispatchEscalatedV1(
                    incident_id=response.incident_id,
                    from_dispatch_id=event.from_dispatch_id,
                    reason=event.reason,
                    step=event.step,
                    to_responder_id=event.to_responder_id,
                    to_dispatch_id=event.dispatch_id,
                    at=event.at,
                ),
                incident,
            )
        if isinstance(event, R.Acknowledged):
            return Outgoing(
                s.dispatch_acknowledged,
                DispatchAcknowledgedV1(
                    incident_id=response.incident_id,
                    dispatch_id=event.dispatch_id,
                    responder_id=event.responder_id,
                    at=event.at,
                ),
                incident,
            )
        if isinstance(event, R.Declined):
            return Outgoing(
                s.dispatch_declined,
                DispatchDeclinedV2(  # why they declined stays here
                    incident_id=response.incident_id,
                    dispatch_id=event.dispatch_id,
                    responder_id=event.responder_id,
                    at=event.at,
                ),
                incident,
            )
        if isinstance(event, R.StatusReported):
            return Outgoing(
                s.dispatch_status_changed,
                DispatchStatusChangedV2(  # to whom it was handed off stays here
                    incident_id=response.incident_id,
                    dispatch_id=event.dispatch_id,
                    responder_id=event.responder_id,
                    school_id=response.school_id,
                    student_ref=response.student_ref,
                    risk=risk,
                    status=event.status,
                    at=event.at,
                ),
                incident,
            )
        return Outgoing(
            s.inbox(DISPATCH, event.responder_id),
            ResponderPagedV1(
                dispatch_id=event.dispatch_id,
                incident_id=response.incident_id,
                responder_id=event.responder_id,
                kind=event.kind,
                school_id=response.school_id,
                risk=risk,
                ack_deadline=event.ack_deadline,
            ),
            incident,
        )

    def _enrolled(self, event: Any) -> Outgoing:
        roster: Roster = self.load(event.originator_id, event.originator_version)
        responder_id = (
            event.responder["responder_id"]
            if isinstance(event, Roster.ResponderEnrolled)
            else event.responder_id
        )
        r = roster.responders[responder_id]
        return Outgoing(
            self.subjects.responder_enrolled,
            ResponderEnrolledV1(
                responder_id=r.responder_id,
                role=ResponderRole(r.role),
                schools=list(r.schools),
                available=r.available,
            ),
        )
