"""Published events (and their NATS headers) -> timeline entries.

Records reads whatever a stream carries.  A tag it does not know (a newer
event, a notice) is recorded as processed and otherwise ignored, so it never
parks good traffic behind it; a known tag that does not validate is a real
contract error.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import msgspec

from events import audit, dispatch, followup, intake
from events import headers as h
from events.codec import decode
from services.records.domain.entries import ACCESS, EVENT, SYSTEM_ROLE, Entry

#: A v2 intake event's reason is not on the wire: it stays in intake's record of the incident.
AT_INTAKE = " (reason in intake's record)"
#: Nor is a v2 decline's: it stays in dispatch's record of the response.
AT_DISPATCH = " (reason in dispatch's record)"

#: Every tagged integration event records understands, by tag.
KNOWN: dict[str, type[msgspec.Struct]] = {
    tag: kind
    for module in (intake, dispatch, followup, audit)
    for tag, kind in module.MESSAGES.items()
    if kind.__struct_config__.tag == tag
}


class _Tag(msgspec.Struct):
    type: str = ""


def parse(raw: bytes) -> msgspec.Struct | None:
    """The message as its contract type, or None for a tag records does not know."""
    tag = msgspec.json.decode(raw, type=_Tag).type
    kind = KNOWN.get(tag)
    return None if kind is None else decode(raw, kind)


@dataclass(frozen=True)
class Envelope:
    """What the headers say about a message: its identity, source, time and causes."""

    event_id: str
    service: str
    position: int
    recorded_at: datetime | None
    correlation_id: str
    causation_id: str
    incident_id: str

    @classmethod
    def of(cls, headers: Mapping[str, str], service: str) -> Envelope:
        recorded = headers.get(h.RECORDED_AT)
        return cls(
            event_id=headers.get(h.MSG_ID, ""),
            service=headers.get(h.SOURCE, service),
            position=int(headers.get(h.POSITION, "0") or 0),
            recorded_at=datetime.fromisoformat(recorded) if recorded else None,
            correlation_id=headers.get(h.CORRELATION_ID, ""),
            causation_id=headers.get(h.CAUSATION_ID, ""),
            incident_id=headers.get(h.INCIDENT_ID, ""),
        )


@dataclass(frozen=True)
class Described:
    type: str
    summary: str
    at: datetime
    actor: str = ""
    role: str = ""
    effective_at: datetime | None = None


Describe = Callable[[Any, Envelope], Described]


def entry(message: msgspec.Struct, envelope: Envelope, roles: Mapping[str, str]) -> Entry | None:
    """The timeline entry for a message about an incident (None for roster changes)."""
    describe = _DESCRIBE.get(type(message))
    if describe is None:
        return None
    d = describe(message, envelope)
    data = msgspec.to_builtins(message)
    data.pop("type", None)
    kind = ACCESS if isinstance(message, audit.AuditRecordedV1) else EVENT
    return Entry(
        event_id=envelope.event_id or f"{envelope.service}/{envelope.position}",
        type=d.type,
        summary=d.summary,
        service=envelope.service,
        at=d.at,
        effective_at=d.effective_at or d.at,
        recorded_at=envelope.recorded_at,
        actor=d.actor,
        role=d.role or roles.get(d.actor, ""),
        causation_id=envelope.causation_id,
        correlation_id=envelope.correlation_id,
        kind=kind,
        data=data,
    )


def incident_of(message: msgspec.Struct) -> str | None:
    value = getattr(message, "incident_id", None)
    return str(value) if value else None


# -- one description per event type ------------------------------------------------------------
def _system(kind: str, summary: str, at: datetime, service: str) -> Described:
    return Described(kind, summary, at, actor=f"service:{service}", role=SYSTEM_ROLE)


def _reported(m: intake.IncidentReportedV1, e: Envelope) -> Described:
    danger = ", immediate danger" if m.immediate_danger else ""
    cats = ", ".join(m.categories)
    return Described(
        "incident_reported",
        f"Reported at {m.school_id}: {m.risk} risk ({cats}){danger}",
        m.reported_at,
    )


def _linked(m: intake.ReportLinkedV1, e: Envelope) -> Described:
    return Described("report_linked", f"Another report linked ({m.risk} risk)", m.at)


def _reclassified(
    m: intake.RiskReclassifiedV1 | intake.RiskReclassifiedV2, e: Envelope
) -> Described:
    why = f": {m.reason}" if isinstance(m, intake.RiskReclassifiedV1) else AT_INTAKE
    return Described(
        "risk_reclassified",
        f"Risk {m.previous_risk} -> {m.risk}{why}",
        m.at,
        actor=m.by,
    )


def _corrected(
    m: intake.IncidentCorrectedV1 | intake.IncidentCorrectedV2, e: Envelope
) -> Described:
    value = "(value withheld)" if m.value is None else repr(m.value)
    why = f": {m.reason}" if isinstance(m, intake.IncidentCorrectedV1) else AT_INTAKE
    return Described(
        "incident_corrected",
        f"Corrected {m.field} to {value}, effective {m.effective_at.isoformat()}{why}",
        m.at,
        actor=m.by,
        effective_at=m.effective_at,
    )


def _noted(m: intake.IncidentNotedV1, e: Envelope) -> Described:
    return Described("incident_noted", "Note added", m.at, actor=m.by)


def _cancelled(
    m: intake.IncidentCancelledV1 | intake.IncidentCancelledV2, e: Envelope
) -> Described:
    why = f": {m.reason}" if isinstance(m, intake.IncidentCancelledV1) else AT_INTAKE
    return Described("incident_cancelled", f"Cancelled{why}", m.at, actor=m.by)


def _closed(m: intake.IncidentClosedV1, e: Envelope) -> Described:
    return Described("incident_closed", "Closed", m.at, actor=m.by)


def _assigned(m: dispatch.ResponderAssignedV1, e: Envelope) -> Described:
    return _system(
        "responder_assigned",
        f"Assigned to {m.responder_id} ({m.rule}, step {m.step})",
        m.assigned_at,
        e.service,
    )


def _no_responder(m: dispatch.NoResponderEligibleV1, e: Envelope) -> Described:
    return _system("no_responder_eligible", f"No responder eligible: {m.reason}", m.at, e.service)


def _acknowledged(m: dispatch.DispatchAcknowledgedV1, e: Envelope) -> Described:
    return Described(
        "dispatch_acknowledged", f"Acknowledged by {m.responder_id}", m.at, actor=m.responder_id
    )


def _declined(
    m: dispatch.DispatchDeclinedV1 | dispatch.DispatchDeclinedV2, e: Envelope
) -> Described:
    why = f": {m.reason}" if isinstance(m, dispatch.DispatchDeclinedV1) else AT_DISPATCH
    return Described(
        "dispatch_declined",
        f"Declined by {m.responder_id}{why}",
        m.at,
        actor=m.responder_id,
    )


def _escalated(m: dispatch.DispatchEscalatedV1, e: Envelope) -> Described:
    to = m.to_responder_id or "nobody"
    return _system(
        "dispatch_escalated", f"Escalated ({m.reason}) to {to}, step {m.step}", m.at, e.service
    )


def _status(
    m: dispatch.DispatchStatusChangedV1 | dispatch.DispatchStatusChangedV2, e: Envelope
) -> Described:
    handed_to = m.handed_off_to if isinstance(m, dispatch.DispatchStatusChangedV1) else ""
    to = f" to {handed_to}" if handed_to else ""
    return Described(
        "dispatch_status_changed",
        f"{m.responder_id}: {m.status.replace('_', ' ')}{to}",
        m.at,
        actor=m.responder_id,
    )


def _paged(m: dispatch.ResponderPagedV1, e: Envelope) -> Described:
    at = e.recorded_at or datetime.fromtimestamp(0).astimezone()
    return _system(
        "responder_paged", f"{m.kind.replace('_', ' ')} to {m.responder_id}", at, e.service
    )


def _delivery(m: dispatch.NotificationDeliveryV1, e: Envelope) -> Described:
    return _system(
        "notification_delivery",
        f"{m.kind} via {m.channel} to {m.responder_id}: {m.outcome}",
        m.at,
        e.service,
    )


def _plan_opened(m: followup.PlanOpenedV1, e: Envelope) -> Described:
    return _system(
        "plan_opened",
        f"Follow-up plan opened, owner {m.owner_id}, {m.checkins} check-ins "
        f"(protocol v{m.protocol_version})",
        m.opened_at,
        e.service,
    )


def _plan_reassigned(m: followup.PlanReassignedV1, e: Envelope) -> Described:
    return Described(
        "plan_reassigned", f"Plan reassigned {m.previous_owner_id} -> {m.owner_id}", m.at
    )


def _notice(m: followup.FollowupNoticeV1, e: Envelope) -> Described:
    return _system(
        "followup_notice", f"{m.kind.replace('_', ' ')} to {m.recipient_id}", m.at, e.service
    )


def _checkin(m: followup.CheckinRecordedV1, e: Envelope) -> Described:
    outcome = f" ({m.outcome})" if m.outcome else ""
    return Described("checkin_recorded", f"Check-in {m.slot}: {m.state}{outcome}", m.at)


def _renewed(m: followup.RenewedRiskReportedV1, e: Envelope) -> Described:
    return _system(
        "renewed_risk_reported",
        f"Renewed risk reported as incident {m.new_incident_id}",
        m.at,
        e.service,
    )


def _referral(m: followup.ReferralChangedV1, e: Envelope) -> Described:
    blocked = " (blocked: consent withdrawn)" if m.blocked else ""
    return Described("referral_changed", f"Referral to {m.resource_id}: {m.state}{blocked}", m.at)


def _consent(m: followup.ConsentChangedV1, e: Envelope) -> Described:
    return Described(
        "consent_changed",
        f"Consent {m.status} by {m.given_by_role} for {', '.join(m.recipients)}",
        m.at,
    )


def _guardian(m: followup.GuardianNotificationRecordedV1, e: Envelope) -> Described:
    text = f"Guardian notified ({m.method})" if m.notified else f"Guardian not notified: {m.reason}"
    return Described("guardian_notification_recorded", text, m.at)


def _disclosure(m: followup.DisclosureRecordedV1, e: Envelope) -> Described:
    return Described(
        "disclosure_recorded",
        f"Disclosed to {m.party} ({m.legal_basis}): {m.purpose}",
        m.at,
        actor=m.by,
    )


def _audit(m: audit.AuditRecordedV1, e: Envelope) -> Described:
    glass = " [break-the-glass]" if m.break_glass else ""
    return Described(
        "audit",
        f"{m.kind} {m.action} via {m.interface}: {m.outcome}{glass}",
        m.at,
        actor=m.actor,
        role=m.role,
    )


_DESCRIBE: dict[type[Any], Describe] = {
    intake.IncidentReportedV1: _reported,
    intake.ReportLinkedV1: _linked,
    intake.RiskReclassifiedV1: _reclassified,
    intake.RiskReclassifiedV2: _reclassified,
    intake.IncidentCorrectedV1: _corrected,
    intake.IncidentCorrectedV2: _corrected,
    intake.IncidentNotedV1: _noted,
    intake.IncidentCancelledV1: _cancelled,
    intake.IncidentCancelledV2: _cancelled,
    intake.IncidentClosedV1: _closed,
    dispatch.ResponderAssignedV1: _assigned,
    dispatch.NoResponderEligibleV1: _no_responder,
    dispatch.DispatchAcknowledgedV1: _acknowledged,
    dispatch.DispatchDeclinedV1: _declined,
    dispatch.DispatchDeclinedV2: _declined,
    dispatch.DispatchEscalatedV1: _escalated,
    dispatch.DispatchStatusChangedV1: _status,
    dispatch.DispatchStatusChangedV2: _status,
    dispatch.ResponderPagedV1: _paged,
    dispatch.NotificationDeliveryV1: _delivery,
    followup.PlanOpenedV1: _plan_opened,
    followup.PlanReassignedV1: _plan_reassigned,
    followup.FollowupNoticeV1: _notice,
    followup.CheckinRecordedV1: _checkin,
    followup.RenewedRiskReportedV1: _renewed,
    followup.ReferralChangedV1: _referral,
    followup.ConsentChangedV1: _consent,
    followup.GuardianNotificationRecordedV1: _guardian,
    followup.DisclosureRecordedV1: _disclosure,
    audit.AuditRecordedV1: _audit,
}
