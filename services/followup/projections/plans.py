"""What does each plan look like now, and which plan holds this check-in, referral or consent?

A projection kept in the store (``plumbing/store/projections.py``), caught up
before each query.  It answers the plans list and show, and routes item ids (a
check-in id on the command line, say) to their plan.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from plumbing.domain import NotFound, rfc3339
from plumbing.store.projections import Projection
from services.followup.domain.plan import FollowupPlan as P


def _iso(value: Any) -> str:
    return rfc3339(value)


class PlanBoard(Projection):
    name = "plans"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.plans = self.table(
            "plans",
            indexes={
                "incident_id": lambda p: p["incident_id"],
                "owner_id": lambda p: p["owner_id"],
            },
        )
        self.items = self.table("items")  # check-in, referral or consent id -> {"plan_id"}
        self.pending = self.table("pending")  # renewed-risk reports: {"plan_id", "facts"}

    # -- queries -----------------------------------------------------------------------------
    def plan_of(self, item_id: UUID, field: str) -> UUID:
        self.catch_up()
        with self.lock:
            try:
                return UUID(self.items[str(item_id)]["plan_id"])
            except KeyError:
                noun = field.removesuffix("_id").replace("checkin", "check-in")
                raise NotFound(f"no {noun} {item_id}", field=field) from None

    def view(self, plan_id: UUID) -> dict[str, Any]:
        self.catch_up()
        with self.lock:
            try:
                return _copy(self.plans[str(plan_id)])
            except KeyError:
                raise NotFound(f"no plan {plan_id}", field="plan_id") from None

    def select(self, incident_id: UUID | None, owner_id: str | None) -> list[dict[str, Any]]:
        self.catch_up()
        with self.lock:
            if incident_id is not None:
                found = self.plans.where(incident_id=str(incident_id))
            elif owner_id is not None:
                found = self.plans.where(owner_id=owner_id)
            else:
                found = list(self.plans.values())
            return sorted(
                (
                    _copy(p)
                    for p in found
                    if (incident_id is None or p["incident_id"] == str(incident_id))
                    and (owner_id is None or p["owner_id"] == owner_id)
                ),
                key=lambda p: str(p["opened_at"]),
            )

    def pending_reports(self) -> list[tuple[UUID, UUID, dict[str, Any]]]:
        """(plan id, check-in id, report facts) for renewed risk not yet reported to intake."""
        self.catch_up()
        with self.lock:
            return [
                (UUID(row["plan_id"]), UUID(cid), dict(row["facts"]))
                for cid, row in self.pending.items()
            ]

    # -- folding -------------------------------------------------------------------------------
    def apply(self, event: Any) -> None:
        if isinstance(event, P.Opened):
            self.plans[str(event.originator_id)] = {
                "plan_id": str(event.originator_id),
                "incident_id": str(event.incident_id),
                "school_id": event.school_id,
                "student_ref": event.student_ref,
                "risk": event.risk,
                "owner_id": event.owner_id,
                "protocol_version": event.protocol["version"],
                "opened_at": _iso(event.opened_at),
                "trigger": event.trigger,
                "checkins": [],
                "referrals": [],
                "consents": [],
                "safety_plan": None,
                "guardian": [],
                "disclosures": [],
                "reentry": None,
                "linked_incidents": [],
            }
            return
        plan = self.plans.get(str(event.originator_id))
        if plan is None:
            return
        handler = _HANDLERS.get(type(event))
        if handler is not None:
            handler(self, plan, event)
            self.plans.touch(str(event.originator_id))

    def _checkin(self, plan: dict[str, Any], checkin_id: UUID) -> dict[str, Any]:
        found: dict[str, Any] = next(
            c for c in plan["checkins"] if c["checkin_id"] == str(checkin_id)
        )
        return found

    def _referral(self, plan: dict[str, Any], referral_id: UUID) -> dict[str, Any]:
        found: dict[str, Any] = next(
            x for x in plan["referrals"] if x["referral_id"] == str(referral_id)
        )
        return found


def _copy(plan: dict[str, Any]) -> dict[str, Any]:
    copied = dict(plan)
    for key in ("checkins", "referrals", "consents", "guardian", "disclosures", "linked_incidents"):
        copied[key] = [dict(x) for x in plan[key]]
    return copied


def _owner(board: PlanBoard, plan: dict[str, Any], e: Any) -> None:
    plan["owner_id"] = e.owner_id


def _scheduled(board: PlanBoard, plan: dict[str, Any], e: Any) -> None:
    board.items[str(e.checkin_id)] = {"plan_id": str(e.originator_id)}
    plan["checkins"].append(
        {
            "checkin_id": str(e.checkin_id),
            "slot": e.slot,
            "due_at": _iso(e.due_at),
            "overdue_at": _iso(e.overdue_at),
            "mode": e.mode,
            "state": "scheduled",
            "replaces": str(e.replaces) if e.replaces else None,
        }
    )


def _checkin_state(state: str) -> Any:
    def fold(board: PlanBoard, plan: dict[str, Any], e: Any) -> None:
        checkin = board._checkin(plan, e.checkin_id)
        checkin["state"] = state
        if isinstance(e, P.CheckinCameDue | P.CheckinBecameOverdue):
            checkin[f"{state}_notified"] = e.notified
        if isinstance(e, P.CheckinCompleted):
            checkin.update(
                outcome=e.outcome, note=e.note, mode=e.mode, completed_at=_iso(e.at), by=e.actor
            )
        if isinstance(e, P.CheckinMissed):
            checkin.update(missed_at=_iso(e.at), reason=e.reason)
        if isinstance(e, P.CheckinRescheduled):
            checkin.update(rescheduled_to=_iso(e.to), reason=e.reason)

    return fold


def _renewed(board: PlanBoard, plan: dict[str, Any], e: Any) -> None:
    board._checkin(plan, e.checkin_id)["renewed_risk"] = e.risk
    facts = {
        "risk": e.risk,
        "categories": list(e.categories),
        "by": e.actor,
        "correlation_id": e.correlation_id,
        "school_id": plan["school_id"],
        "student_ref": plan["student_ref"],
        "incident_id": plan["incident_id"],
    }
    board.pending[str(e.checkin_id)] = {"plan_id": str(e.originator_id), "facts": facts}


def _reported(board: PlanBoard, plan: dict[str, Any], e: Any) -> None:
    board.pending.pop(str(e.checkin_id))
    checkin = board._checkin(plan, e.checkin_id)
    if isinstance(e, P.RenewedRiskReported):
        checkin["linked_incident_id"] = str(e.new_incident_id)
        plan["linked_incidents"].append(
            {
                "incident_id": str(e.new_incident_id),
                "checkin_id": str(e.checkin_id),
                "linked_to_open": e.linked_to_open,
            }
        )
    else:
        checkin["linked_incident_error"] = {"error": e.error, "field": e.field}


def _safety(board: PlanBoard, plan: dict[str, Any], e: Any) -> None:
    plan["safety_plan"] = {
        "revision": e.revision,
        "revised_at": _iso(e.at),
        "by": e.actor,
        **{k: list(v) for k, v in e.parts.items()},
    }


def _guardian(board: PlanBoard, plan: dict[str, Any], e: Any) -> None:
    if isinstance(e, P.GuardianNotified):
        entry = {"notified": True, "by": e.notified_by, "whom": e.guardian, "method": e.method}
    else:
        entry = {
            "notified": False,
            "reason": e.reason,
            "justification": e.justification,
            "agency_contacted": e.agency_contacted,
        }
    plan["guardian"].append({**entry, "at": _iso(e.at), "recorded_by": e.actor})


def _proposed(board: PlanBoard, plan: dict[str, Any], e: Any) -> None:
    board.items[str(e.referral_id)] = {"plan_id": str(e.originator_id)}
    plan["referrals"].append(
        {
            "referral_id": str(e.referral_id),
            "resource_id": e.resource_id,
            "state": "proposed",
            "consent_id": None,
            "blocked": False,
            "blocked_reason": "",
            "stalled": False,
            "proposed_at": _iso(e.at),
            "updated_at": _iso(e.at),
        }
    )


def _moved(board: PlanBoard, plan: dict[str, Any], e: Any) -> None:
    referral = board._referral(plan, e.referral_id)
    referral.update(state=e.to, stalled=False, updated_at=_iso(e.at))
    if e.consent_id is not None:
        referral["consent_id"] = str(e.consent_id)


def _referral_flag(board: PlanBoard, plan: dict[str, Any], e: Any) -> None:
    referral = board._referral(plan, e.referral_id)
    if isinstance(e, P.ReferralStalled):
        referral["stalled"] = True
    elif isinstance(e, P.ReferralBlocked):
        referral.update(blocked=True, blocked_reason=e.reason)
    else:
        referral.update(blocked=False, blocked_reason="", consent_id=str(e.consent_id))


def _consent(board: PlanBoard, plan: dict[str, Any], e: Any) -> None:
    if isinstance(e, P.ConsentGranted):
        board.items[str(e.consent_id)] = {"plan_id": str(e.originator_id)}
        plan["consents"].append(
            {
                "consent_id": str(e.consent_id),
                "status": "granted",
                "given_by": e.given_by,
                "given_by_role": e.given_by_role,
                "recipients": list(e.recipients),
                "information": list(e.information),
                "purpose": e.purpose,
                "given_at": _iso(e.given_at),
                "referral_id": str(e.referral_id) if e.referral_id else None,
            }
        )
        return
    consent = next(c for c in plan["consents"] if c["consent_id"] == str(e.consent_id))
    consent.update(
        status="withdrawn", withdrawn_by=e.withdrawn_by, withdrawn_at=_iso(e.at), reason=e.reason
    )


def _disclosed(board: PlanBoard, plan: dict[str, Any], e: Any) -> None:
    plan["disclosures"].append(
        {
            "disclosure_id": str(e.disclosure_id),
            "party": e.party,
            "purpose": e.purpose,
            "legal_basis": e.legal_basis,
            "consent_id": str(e.consent_id) if e.consent_id else None,
            "threat": e.threat,
            "recipients": list(e.recipients),
            "at": _iso(e.at),
            "by": e.actor,
        }
    )


def _reentry(board: PlanBoard, plan: dict[str, Any], e: Any) -> None:
    if isinstance(e, P.ReentryMeetingRecorded):
        plan["reentry"] = {
            "reason": e.reason,
            "meeting_at": _iso(e.meeting_at),
            "participants": list(e.participants),
            "accommodations": [],
        }
    elif plan["reentry"] is not None:
        plan["reentry"]["accommodations"] = list(e.accommodations)


_HANDLERS: dict[type, Any] = {
    P.OwnerReassigned: _owner,
    P.CheckinScheduled: _scheduled,
    P.CheckinCameDue: _checkin_state("due"),
    P.CheckinBecameOverdue: _checkin_state("overdue"),
    P.CheckinCompleted: _checkin_state("completed"),
    P.CheckinMissed: _checkin_state("no_show"),
    P.CheckinRescheduled: _checkin_state("rescheduled"),
    P.RenewedRiskFound: _renewed,
    P.RenewedRiskReported: _reported,
    P.RenewedRiskRefused: _reported,
    P.SafetyPlanRevised: _safety,
    P.GuardianNotified: _guardian,
    P.GuardianNotNotified: _guardian,
    P.ReferralProposed: _proposed,
    P.ReferralMoved: _moved,
    P.ReferralStalled: _referral_flag,
    P.ReferralBlocked: _referral_flag,
    P.ReferralResumed: _referral_flag,
    P.ConsentGranted: _consent,
    P.ConsentWithdrawn: _consent,
    P.DisclosureRecorded: _disclosed,
    P.ReentryMeetingRecorded: _reentry,
    P.AccommodationsRecorded: _reentry,
}
