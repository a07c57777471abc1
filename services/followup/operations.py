"""Follow-up's operations, served identically over HTTP and NATS request-reply.

"Now" comes from the service's clock (injectable), not from the request, so
the timers and the commands agree on time in an accelerated demo too.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from events import followup as f
from plumbing import care_team
from plumbing.access import rules as access
from plumbing.access.auth import Role
from plumbing.access.rules import EVERYONE, READERS, STAFF, Access, Resource
from plumbing.interface.commands import Context, Operation, Result
from plumbing.timers import Clock
from services.followup.application import FollowupApplication


def operations(app: FollowupApplication, clock: Clock) -> list[Operation[Any]]:
    def plan_reply(plan_id: Any, status: int = 200, **extra: Any) -> Result:
        return Result({**app.plan_view(plan_id), **extra}, status)

    def reassign(c: f.ReassignPlanV1, ctx: Context) -> Result:
        app.reassign(c, at=clock(), trace=ctx.trace)
        return plan_reply(c.plan_id)

    def complete(c: f.CompleteCheckinV1, ctx: Context) -> Result:
        return plan_reply(app.complete_checkin(c, at=clock(), trace=ctx.trace))

    def no_show(c: f.NoShowCheckinV1, ctx: Context) -> Result:
        return plan_reply(app.no_show(c, at=clock(), trace=ctx.trace))

    def reschedule(c: f.RescheduleCheckinV1, ctx: Context) -> Result:
        replacement = app.reschedule(c, at=clock(), trace=ctx.trace)
        plan_id = app.board.plan_of(c.checkin_id, "checkin_id")
        return plan_reply(plan_id, replacement_checkin_id=str(replacement))

    def safety_plan(c: f.ReviseSafetyPlanV1, ctx: Context) -> Result:
        app.revise_safety_plan(c, at=clock(), trace=ctx.trace)
        return plan_reply(c.plan_id, 201)

    def guardian_notified(c: f.RecordGuardianNotifiedV1, ctx: Context) -> Result:
        app.guardian_notified(c, now=clock(), trace=ctx.trace)
        return plan_reply(c.plan_id, 201)

    def guardian_not_notified(c: f.RecordGuardianNotNotifiedV1, ctx: Context) -> Result:
        app.guardian_not_notified(c, now=clock(), trace=ctx.trace)
        return plan_reply(c.plan_id, 201)

    def propose(c: f.ProposeReferralV1, ctx: Context) -> Result:
        referral_id = app.propose_referral(c, at=clock(), trace=ctx.trace)
        return plan_reply(c.plan_id, 201, referral_id=str(referral_id))

    def advance(c: f.AdvanceReferralV1, ctx: Context) -> Result:
        return plan_reply(app.advance_referral(c, at=clock(), trace=ctx.trace))

    def grant(c: f.GrantConsentV1, ctx: Context) -> Result:
        consent_id = app.grant_consent(c, at=clock(), trace=ctx.trace)
        return plan_reply(c.plan_id, 201, consent_id=str(consent_id))

    def withdraw(c: f.WithdrawConsentV1, ctx: Context) -> Result:
        plan_id, blocked = app.withdraw_consent(c, trace=ctx.trace)
        return plan_reply(plan_id, blocked_referrals=[str(b) for b in blocked])

    def disclose(c: f.RecordDisclosureV1, ctx: Context) -> Result:
        disclosure_id = app.record_disclosure(c, trace=ctx.trace)
        return plan_reply(c.plan_id, 201, disclosure_id=str(disclosure_id))

    def reentry_meeting(c: f.RecordReentryMeetingV1, ctx: Context) -> Result:
        app.record_reentry_meeting(c, at=clock(), trace=ctx.trace)
        return plan_reply(c.plan_id, 201)

    def accommodations(c: f.RecordAccommodationsV1, ctx: Context) -> Result:
        app.record_accommodations(c, at=clock(), trace=ctx.trace)
        return plan_reply(c.plan_id, 201)

    def reentry_checkin(c: f.ScheduleReentryCheckinV1, ctx: Context) -> Result:
        checkin_id = app.schedule_reentry_checkin(c, at=clock(), trace=ctx.trace)
        return plan_reply(c.plan_id, 201, checkin_id=str(checkin_id))

    def add_resource(c: f.AddResourceV1, ctx: Context) -> Result:
        app.add_resource(c, trace=ctx.trace)
        return Result({"resource_id": c.resource_id}, 201)

    def publish_protocol(c: f.PublishProtocolV1, ctx: Context) -> Result:
        return Result(app.publish_protocol(c, trace=ctx.trace).as_record(), 201)

    by = "by"
    ops: list[Operation[Any]] = [
        Operation(
            "list_plans",
            f.ListPlansV1,
            "GET",
            "/plans",
            lambda q, ctx: [
                p for p in app.plans(q) if access.sees_school(ctx.identity, p.get("school_id"))
            ],
        ),
        Operation(
            "show_plan",
            f.ShowPlanV1,
            "GET",
            "/plans/{plan_id}",
            lambda q, _: app.plan_view(q.plan_id),
        ),
        Operation(
            "reassign_plan",
            f.ReassignPlanV1,
            "POST",
            "/plans/{plan_id}/owner",
            reassign,
            actor_field=by,
        ),
        Operation(
            "complete_checkin",
            f.CompleteCheckinV1,
            "POST",
            "/checkins/{checkin_id}/complete",
            complete,
            actor_field=by,
            summary="Record a held check-in (renewed risk opens a linked incident)",
        ),
        Operation(
            "no_show_checkin",
            f.NoShowCheckinV1,
            "POST",
            "/checkins/{checkin_id}/no-show",
            no_show,
            actor_field=by,
        ),
        Operation(
            "reschedule_checkin",
            f.RescheduleCheckinV1,
            "POST",
            "/checkins/{checkin_id}/reschedule",
            reschedule,
            actor_field=by,
        ),
        Operation(
            "revise_safety_plan",
            f.ReviseSafetyPlanV1,
            "POST",
            "/plans/{plan_id}/safety-plan",
            safety_plan,
            actor_field=by,
        ),
        Operation(
            "record_guardian_notified",
            f.RecordGuardianNotifiedV1,
            "POST",
            "/plans/{plan_id}/guardian/notified",
            guardian_notified,
            actor_field=by,
        ),
        Operation(
            "record_guardian_not_notified",
            f.RecordGuardianNotNotifiedV1,
            "POST",
            "/plans/{plan_id}/guardian/not-notified",
            guardian_not_notified,
            actor_field=by,
            summary="Record why a guardian was not notified",
        ),
        Operation(
            "propose_referral",
            f.ProposeReferralV1,
            "POST",
            "/plans/{plan_id}/referrals",
            propose,
            actor_field=by,
        ),
        Operation(
            "advance_referral",
            f.AdvanceReferralV1,
            "POST",
            "/referrals/{referral_id}/advance",
            advance,
            actor_field=by,
        ),
        Operation(
            "grant_consent",
            f.GrantConsentV1,
            "POST",
            "/plans/{plan_id}/consents",
            grant,
            actor_field=by,
        ),
        Operation(
            "withdraw_consent",
            f.WithdrawConsentV1,
            "POST",
            "/consents/{consent_id}/withdraw",
            withdraw,
            actor_field=by,
            summary="Withdraw a consent: every future disclosure it covered stops",
        ),
        Operation(
            "record_disclosure",
            f.RecordDisclosureV1,
            "POST",
            "/plans/{plan_id}/disclosures",
            disclose,
            actor_field=by,
        ),
        Operation(
            "record_reentry_meeting",
            f.RecordReentryMeetingV1,
            "POST",
            "/plans/{plan_id}/reentry/meeting",
            reentry_meeting,
            actor_field=by,
        ),
        Operation(
            "record_accommodations",
            f.RecordAccommodationsV1,
            "POST",
            "/plans/{plan_id}/reentry/accommodations",
            accommodations,
            actor_field=by,
        ),
        Operation(
            "schedule_reentry_checkin",
            f.ScheduleReentryCheckinV1,
            "POST",
            "/plans/{plan_id}/reentry/checkin",
            reentry_checkin,
            actor_field=by,
        ),
        Operation(
            "list_resources", f.ListResourcesV1, "GET", "/resources", lambda q, _: app.resources(q)
        ),
        Operation("add_resource", f.AddResourceV1, "POST", "/resources", add_resource),
        Operation(
            "show_protocol",
            f.ShowProtocolV1,
            "GET",
            "/protocols/current",
            lambda _, __: app.protocols().current().as_record(),
        ),
        Operation(
            "publish_protocol",
            f.PublishProtocolV1,
            "POST",
            "/protocols",
            publish_protocol,
            actor_field=by,
        ),
        Operation(
            "show_measures",
            f.ShowMeasuresV1,
            "GET",
            "/measures",
            lambda q, _: app.measures(q, as_of=clock()),
        ),
    ]
    rules = access_rules(app)
    return [replace(op, access=rules[op.name]) for op in ops]


def access_rules(app: FollowupApplication) -> dict[str, Access]:
    """Who may call each operation, and the plan (so incident, school, student) it touches."""

    def plan(plan_id: Any) -> Resource:
        found = app.plan(plan_id)
        dispatched = care_team.members(app, found.incident_id)
        return Resource(
            incident_id=str(found.incident_id),
            school_id=found.school_id,
            student_ref=found.student_ref,
            responders=dispatched | {found.owner_id},
        )

    def by_plan(c: Any) -> Resource:
        return plan(c.plan_id)

    def by_item(field: str) -> Any:
        return lambda c: plan(app.board.plan_of(getattr(c, field), field))

    def acting(scope: Any) -> Access:
        return access.command(STAFF, scope, self_field="by")

    rules = {
        "list_plans": access.read(READERS, self_field="owner_id"),  # a responder: owner_id=you
        "show_plan": access.read(READERS, by_plan),
        "list_resources": access.read(EVERYONE, student_data=False),
        "add_resource": access.admin(),
        "show_protocol": access.read(EVERYONE, student_data=False),
        "publish_protocol": access.admin(),
        "show_measures": access.read(
            frozenset({Role.SUPERVISOR, Role.COMPLIANCE, Role.ADMIN}),
            access.by_school,
            student_data=False,
        ),
    }
    for name in ("complete_checkin", "no_show_checkin", "reschedule_checkin"):
        rules[name] = acting(by_item("checkin_id"))
    rules["advance_referral"] = acting(by_item("referral_id"))
    rules["withdraw_consent"] = acting(by_item("consent_id"))
    for name in (
        "reassign_plan",
        "revise_safety_plan",
        "record_guardian_notified",
        "record_guardian_not_notified",
        "propose_referral",
        "grant_consent",
        "record_disclosure",
        "record_reentry_meeting",
        "record_accommodations",
        "schedule_reentry_checkin",
    ):
        rules[name] = acting(by_plan)
    return rules
