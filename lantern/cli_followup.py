"""``lantern`` sub-commands that talk to follow-up.

Each one validates its input against the same contract type the HTTP and NATS
interfaces use, so a bad value is refused naming the field and nothing is sent.
``--as ID`` is the person acting (recorded on every event).
"""

from __future__ import annotations

import argparse
from typing import Any
from urllib.parse import urlencode

from events import followup as f
from lantern.cli_support import AddCommand, call, emit, validated
from lantern.render import deadline, table

FOLLOWUP = "followup"


def _send(args: argparse.Namespace, path: str, data: dict[str, Any], kind: type[Any]) -> Any:
    command = validated({k: v for k, v in data.items() if v is not None}, kind)
    return call(args, FOLLOWUP, "POST", path, command, actor=getattr(args, "as_", "") or "")


def _query(args: argparse.Namespace, path: str, params: dict[str, Any]) -> Any:
    query = urlencode({k: v for k, v in params.items() if v})
    return call(args, FOLLOWUP, "GET", path + (f"?{query}" if query else ""))


def _human_plan(plan: dict[str, Any]) -> str:
    title = (
        f"plan {plan['plan_id']}  incident {plan['incident_id']}  owner {plan['owner_id']}  "
        f"risk {plan['risk']}  protocol v{plan['protocol_version']}"
    )
    open_states = ("scheduled", "due", "overdue")
    lines = [
        table(
            title,
            ("check-in", "slot", "state", "due"),
            [
                (
                    c["checkin_id"],
                    c["slot"],
                    c["state"],
                    deadline(c["due_at"], open_=c["state"] in open_states),
                )
                for c in plan["checkins"]
            ],
            empty="no check-ins",
        )
    ]
    if plan["referrals"]:
        lines.append(
            table(
                "referrals",
                ("referral", "resource", "state", "note"),
                [
                    (
                        r["referral_id"],
                        r["resource_id"],
                        r["state"],
                        "BLOCKED: " + r["blocked_reason"] if r["blocked"] else "",
                    )
                    for r in plan["referrals"]
                ],
            )
        )
    return "\n".join(lines)


# -- plans ---------------------------------------------------------------------------------------
def cmd_plans(args: argparse.Namespace) -> None:
    validated({"incident_id": args.incident, "owner_id": args.owner}, f.ListPlansV1)
    plans = _query(args, "/plans", {"incident_id": args.incident, "owner_id": args.owner})
    emit(args, plans, lambda ps: "\n\n".join(_human_plan(p) for p in ps) or "no plans")


def cmd_plan(args: argparse.Namespace) -> None:
    validated({"plan_id": args.plan_id}, f.ShowPlanV1)
    emit(args, call(args, FOLLOWUP, "GET", f"/plans/{args.plan_id}"), _human_plan)


def cmd_reassign(args: argparse.Namespace) -> None:
    data = {"plan_id": args.plan_id, "by": args.as_, "owner_id": args.to, "reason": args.reason}
    emit(args, _send(args, f"/plans/{args.plan_id}/owner", data, f.ReassignPlanV1), _human_plan)


# -- check-ins -----------------------------------------------------------------------------------
CHECKIN_ACTIONS: dict[str, tuple[str, type[Any]]] = {
    "complete": ("complete", f.CompleteCheckinV1),
    "no-show": ("no-show", f.NoShowCheckinV1),
    "reschedule": ("reschedule", f.RescheduleCheckinV1),
}


def cmd_checkin(args: argparse.Namespace) -> None:
    path, kind = CHECKIN_ACTIONS[args.action]
    data: dict[str, Any] = {"checkin_id": args.checkin_id, "by": args.as_}
    if args.action == "complete":
        data.update(
            outcome=args.outcome,
            note=args.note,
            mode=args.mode,
            risk=args.risk,
            categories=args.category or None,
        )
    elif args.action == "no-show":
        data.update(reason=args.reason)
    else:
        data.update(to=args.to, reason=args.reason, mode=args.mode)
    plan = _send(args, f"/checkins/{args.checkin_id}/{path}", data, kind)
    emit(args, plan, _human_plan)


# -- referrals, consent, disclosures -------------------------------------------------------------
def cmd_referral(args: argparse.Namespace) -> None:
    if args.action == "propose":
        data = {"plan_id": args.id, "by": args.as_, "resource_id": args.resource, "note": args.note}
        plan = _send(args, f"/plans/{args.id}/referrals", data, f.ProposeReferralV1)
    else:
        data = {"referral_id": args.id, "by": args.as_, "to": args.to, "note": args.note}
        plan = _send(args, f"/referrals/{args.id}/advance", data, f.AdvanceReferralV1)
    emit(args, plan, _human_plan)


def cmd_consent(args: argparse.Namespace) -> None:
    if args.action == "grant":
        data = {
            "plan_id": args.id,
            "by": args.as_,
            "given_by": args.given_by,
            "given_by_role": args.role,
            "recipients": args.recipient,
            "information": args.info,
            "purpose": args.purpose,
            "given_at": args.at,
            "referral_id": args.referral,
        }
        plan = _send(args, f"/plans/{args.id}/consents", data, f.GrantConsentV1)
    else:
        data = {
            "consent_id": args.id,
            "by": args.as_,
            "withdrawn_by": args.withdrawn_by,
            "reason": args.reason,
            "at": args.at,
        }
        plan = _send(args, f"/consents/{args.id}/withdraw", data, f.WithdrawConsentV1)
    emit(args, plan, _human_plan)


def cmd_disclosure(args: argparse.Namespace) -> None:
    data = {
        "plan_id": args.plan_id,
        "by": args.as_,
        "party": args.party,
        "purpose": args.purpose,
        "legal_basis": args.basis,
        "consent_id": args.consent,
        "threat": args.threat,
        "recipients": args.recipient,
        "at": args.at,
    }
    emit(
        args,
        _send(args, f"/plans/{args.plan_id}/disclosures", data, f.RecordDisclosureV1),
        _human_plan,
    )


# -- guardian, safety plan, re-entry -------------------------------------------------------------
def cmd_guardian(args: argparse.Namespace) -> None:
    if args.action == "notified":
        data = {
            "plan_id": args.plan_id,
            "by": args.as_,
            "notified_by": args.notified_by or args.as_,
            "guardian": args.whom,
            "method": args.method,
            "at": args.at,
        }
        plan = _send(
            args, f"/plans/{args.plan_id}/guardian/notified", data, f.RecordGuardianNotifiedV1
        )
    else:
        data = {
            "plan_id": args.plan_id,
            "by": args.as_,
            "reason": args.reason,
            "justification": args.justification,
            "agency_contacted": args.agency,
            "at": args.at,
        }
        plan = _send(
            args,
            f"/plans/{args.plan_id}/guardian/not-notified",
            data,
            f.RecordGuardianNotNotifiedV1,
        )
    emit(args, plan, _human_plan)


SAFETY_PARTS = {
    "warning_sign": "warning_signs",
    "coping": "coping_strategies",
    "distraction": "distractions",
    "help_contact": "help_contacts",
    "professional": "professionals",
    "safe_environment": "safe_environment",
}


def cmd_safety_plan(args: argparse.Namespace) -> None:
    data: dict[str, Any] = {"plan_id": args.plan_id, "by": args.as_, "based_on": args.based_on}
    data.update({part: getattr(args, flag) for flag, part in SAFETY_PARTS.items()})
    plan = _send(args, f"/plans/{args.plan_id}/safety-plan", data, f.ReviseSafetyPlanV1)
    emit(args, plan, lambda p: f"safety plan revision {p['safety_plan']['revision']} recorded")


def cmd_reentry(args: argparse.Namespace) -> None:
    base = {"plan_id": args.plan_id, "by": args.as_}
    if args.action == "meeting":
        data = {
            **base,
            "reason": args.reason,
            "meeting_at": args.at,
            "participants": args.participant,
        }
        plan = _send(args, f"/plans/{args.plan_id}/reentry/meeting", data, f.RecordReentryMeetingV1)
    elif args.action == "accommodations":
        data = {**base, "accommodations": args.accommodation}
        plan = _send(
            args, f"/plans/{args.plan_id}/reentry/accommodations", data, f.RecordAccommodationsV1
        )
    else:
        data = {**base, "due_at": args.at, "mode": args.mode}
        plan = _send(
            args, f"/plans/{args.plan_id}/reentry/checkin", data, f.ScheduleReentryCheckinV1
        )
    emit(args, plan, _human_plan)


# -- catalogue, measures, demo -------------------------------------------------------------------
def cmd_resources(args: argparse.Namespace) -> None:
    rows = _query(args, "/resources", {"kind": args.kind, "language": args.language})
    emit(
        args,
        rows,
        lambda rs: "\n".join(f"{r['resource_id']:<18} {r['kind']:<24} {r['name']}" for r in rs),
    )


def cmd_measures(args: argparse.Namespace) -> None:
    validated({"school_id": args.school, "period": args.period}, f.ShowMeasuresV1)
    measures = _query(args, "/measures", {"school_id": args.school, "period": args.period})
    emit(args, measures, _human_measures)


def _human_measures(m: dict[str, Any]) -> str:
    total = m["total"]
    lines = [f"as of {m['as_of']}: {total['plans']} plans"]
    for slot, c in total["checkins"].items():
        rate = "-" if c["rate"] is None else f"{c['rate']:.0%}"
        lines.append(f"  {slot:<8} on time {c['on_time']}/{c['counted']}  ({rate})")
    r = total["referrals"]
    lines.append(f"  referrals attended {r['attended']}/{r['proposed']}")
    return "\n".join(lines)


def cmd_followup_demo(args: argparse.Namespace) -> None:
    from services.followup.scenario import run_month

    report = run_month()
    emit(args, report, lambda rep: rep["text"])


def _as(parser: argparse.ArgumentParser, required: bool = True) -> None:
    parser.add_argument("--as", dest="as_", required=required, help="staff id of the person acting")


def _choices(enum: Any) -> list[str]:
    return [str(e) for e in enum]


def register(add: AddCommand) -> None:
    plans = add("plans", cmd_plans, "list follow-up plans")
    plans.add_argument("--incident", default=None)
    plans.add_argument("--owner", default=None)

    plan = add("plan", cmd_plan, "one follow-up plan in full")
    plan.add_argument("plan_id")

    reassign = add("reassign", cmd_reassign, "give a plan to another owner")
    reassign.add_argument("plan_id")
    reassign.add_argument("--to", required=True)
    reassign.add_argument("--reason", required=True)
    _as(reassign)

    checkin = add("checkin", cmd_checkin, "complete, no-show or reschedule a check-in")
    checkin.add_argument("action", choices=list(CHECKIN_ACTIONS))
    checkin.add_argument("checkin_id")
    _as(checkin)
    checkin.add_argument("--outcome", default=None, help="|".join(_choices(f.CheckinOutcome)))
    checkin.add_argument("--note", default=None)
    checkin.add_argument("--mode", default=None, help="|".join(_choices(f.CheckinMode)))
    checkin.add_argument("--to", default=None, help="new time (ISO 8601 with offset)")
    checkin.add_argument("--reason", default=None)
    checkin.add_argument("--risk", default=None, help="renewed risk level found")
    checkin.add_argument("--category", action="append", default=None)

    referral = add("referral", cmd_referral, "propose a referral, or move one a step")
    referral.add_argument("action", choices=["propose", "advance"])
    referral.add_argument("id", help="plan id (propose) or referral id (advance)")
    _as(referral)
    referral.add_argument("--resource", default=None)
    referral.add_argument("--to", default=None, help="|".join(_choices(f.ReferralState)))
    referral.add_argument("--note", default=None)

    consent = add("consent", cmd_consent, "grant or withdraw a consent to release information")
    consent.add_argument("action", choices=["grant", "withdraw"])
    consent.add_argument("id", help="plan id (grant) or consent id (withdraw)")
    _as(consent)
    consent.add_argument("--given-by", default=None)
    consent.add_argument("--role", default=None, help="|".join(_choices(f.ConsentGiver)))
    consent.add_argument("--recipient", action="append", default=None)
    consent.add_argument("--info", action="append", default=None)
    consent.add_argument("--purpose", default=None)
    consent.add_argument("--referral", default=None)
    consent.add_argument("--withdrawn-by", default=None)
    consent.add_argument("--reason", default=None)
    consent.add_argument("--at", required=True, help="when it was given/withdrawn (ISO 8601)")

    disclosure = add("disclosure", cmd_disclosure, "record a disclosure (consent or emergency)")
    disclosure.add_argument("plan_id")
    _as(disclosure)
    disclosure.add_argument("--party", required=True)
    disclosure.add_argument("--purpose", required=True)
    disclosure.add_argument("--basis", required=True, help="|".join(_choices(f.LegalBasis)))
    disclosure.add_argument("--consent", default=None)
    disclosure.add_argument("--threat", default=None)
    disclosure.add_argument("--recipient", action="append", default=None)
    disclosure.add_argument("--at", required=True)

    guardian = add("guardian", cmd_guardian, "record a guardian notification, or why not")
    guardian.add_argument("action", choices=["notified", "not-notified"])
    guardian.add_argument("plan_id")
    _as(guardian)
    guardian.add_argument("--whom", default=None)
    guardian.add_argument("--notified-by", default=None)
    guardian.add_argument("--method", default=None, help="|".join(_choices(f.ContactMethod)))
    guardian.add_argument("--reason", default=None, help="|".join(_choices(f.NotNotifiedReason)))
    guardian.add_argument("--justification", default=None)
    guardian.add_argument("--agency", default=None)
    guardian.add_argument("--at", required=True)

    safety = add("safety-plan", cmd_safety_plan, "record a new safety-plan revision")
    safety.add_argument("plan_id")
    _as(safety)
    safety.add_argument("--based-on", type=int, required=True, help="revision you edited")
    for flag in SAFETY_PARTS:
        safety.add_argument(f"--{flag.replace('_', '-')}", dest=flag, action="append", default=[])

    reentry = add("reentry", cmd_reentry, "re-entry meeting, accommodations, first check-in")
    reentry.add_argument("action", choices=["meeting", "accommodations", "checkin"])
    reentry.add_argument("plan_id")
    _as(reentry)
    reentry.add_argument("--reason", default=None, help="hospitalization|long_absence")
    reentry.add_argument("--at", default=None)
    reentry.add_argument("--participant", action="append", default=None)
    reentry.add_argument("--accommodation", action="append", default=None)
    reentry.add_argument("--mode", default=None)

    resources = add("resources", cmd_resources, "the community resource catalogue")
    resources.add_argument("--kind", default=None)
    resources.add_argument("--language", default=None)

    measures = add("measures", cmd_measures, "follow-up effectiveness measures")
    measures.add_argument("--school", default=None)
    measures.add_argument("--period", default=None, help="YYYY-MM")

    add("followup-demo", cmd_followup_demo, "a scripted follow-up month in accelerated time")
