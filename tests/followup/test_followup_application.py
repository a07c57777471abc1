"""Follow-up application on the in-memory store: plans from dispatch events, timers, views."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import msgspec
import pytest

from events import followup as f
from events.codec import decode, encode
from events.dispatch import DispatchStatusChangedV1, ResponderEnrolledV1
from events.intake import IncidentAcceptedV1, ReportIncidentV1
from events.subjects import Subjects
from events.vocabulary import Category, ResponderRole, RiskLevel
from plumbing.domain import Conflict
from plumbing.interface.commands import STATUS_HEADER
from plumbing.timers import Ticker
from services.followup.application import FollowupApplication
from services.followup.domain.ids import plan_id_for
from services.followup.renewed_risk import RenewedRiskReporter
from tests.support import NOW, TRACE, memory

pytestmark = pytest.mark.application


class Clock:
    """An injected clock the test moves by hand."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def app() -> Iterator[FollowupApplication]:
    app = FollowupApplication(env=memory())
    yield app
    app.close()


def status(status: str = "resolved", risk: str = "high", incident: UUID | None = None) -> Any:
    return DispatchStatusChangedV1(
        incident_id=incident or uuid4(),
        dispatch_id=uuid4(),
        responder_id="co-owner",
        school_id="s0",
        student_ref="stu-1",
        risk=RiskLevel(risk),
        status=status,
        at=NOW,
    )


def open_plan(app: FollowupApplication, **kw: Any) -> dict[str, Any]:
    event = status(**kw)
    app.record(*app.on_dispatch_event(event, TRACE))
    return app.plan_view(plan_id_for(event.incident_id))


def test_a_resolved_incident_opens_one_plan_and_later_statuses_do_not_open_another(
    app: FollowupApplication,
) -> None:
    incident = uuid4()
    app.record(*app.on_dispatch_event(status("stabilized", incident=incident), TRACE))

    assert app.on_dispatch_event(status("resolved", incident=incident), TRACE) == []
    assert app.on_dispatch_event(status("en_route"), TRACE) == []
    (plan,) = app.plans(f.ListPlansV1(incident_id=incident))
    assert plan["owner_id"] == "co-owner"
    assert [c["slot"] for c in plan["checkins"]] == ["24h", "72h", "7d", "30d"]


def test_a_published_protocol_applies_to_new_plans_only(app: FollowupApplication) -> None:
    before = open_plan(app)
    step = f.CheckinStepV1(label="2d", offset_s=2 * 86_400)
    app.publish_protocol(
        f.PublishProtocolV1(
            by="admin",
            low=[step],
            moderate=[step],
            high=[step],
            imminent=[step],
            grace_s=60,
            referral_stall_s=3600,
        ),
        trace=TRACE,
    )
    after = open_plan(app)

    assert (
        before["protocol_version"],
        len(app.plan_view(UUID(before["plan_id"]))["checkins"]),
    ) == (1, 4)
    assert (after["protocol_version"], len(after["checkins"])) == (2, 1)


async def test_overdue_timers_notify_the_schools_supervisor_once(
    app: FollowupApplication,
) -> None:
    enrolled = ResponderEnrolledV1(
        responder_id="sup-1", role=ResponderRole.SUPERVISOR, schools=["s0"], available=True
    )
    app.record(*app.on_dispatch_event(enrolled, TRACE))
    plan = open_plan(app)
    clock = Clock(NOW)
    ticker = Ticker(app.timers, app.fire, clock=clock)

    clock.now = NOW + timedelta(hours=36, seconds=1)  # 24 h check-in + 12 h grace
    await ticker.tick()
    await ticker.tick()
    # A restart rebuilds the timers from the store: nothing fires twice.
    restarted = Ticker(type(app.timers)(app), app.fire, clock=clock)
    await restarted.tick()

    first = app.plan_view(UUID(plan["plan_id"]))["checkins"][0]
    assert first["state"] == "overdue"
    assert first["overdue_notified"] == "sup-1"
    overdue = [
        e for _, e in app.domain_events_after(0, 1000) if type(e).__name__ == "CheckinBecameOverdue"
    ]
    assert len(overdue) == 1


def test_checkin_commands_route_by_checkin_id_and_refuse_a_second_completion(
    app: FollowupApplication,
) -> None:
    plan = open_plan(app)
    checkin_id = UUID(plan["checkins"][0]["checkin_id"])
    complete = f.CompleteCheckinV1(
        checkin_id=checkin_id, by="co-owner", outcome=f.CheckinOutcome.STABLE, note="synthetic note"
    )

    app.complete_checkin(complete, at=NOW, trace=TRACE)

    with pytest.raises(Conflict) as refused:
        app.complete_checkin(complete, at=NOW, trace=TRACE)
    assert refused.value.field == "checkin_id"
    assert app.plan_view(UUID(plan["plan_id"]))["checkins"][0]["state"] == "completed"


def test_consent_withdrawal_mid_referral_is_visible_in_the_plan(app: FollowupApplication) -> None:
    app.add_resource(
        f.AddResourceV1(resource_id="res-1", name="Synthetic Therapy", kind="outpatient_therapy"),
        trace=TRACE,
    )
    plan = open_plan(app)
    plan_id = UUID(plan["plan_id"])
    referral = app.propose_referral(
        f.ProposeReferralV1(plan_id=plan_id, by="co-owner", resource_id="res-1"),
        at=NOW,
        trace=TRACE,
    )
    consent = app.grant_consent(
        f.GrantConsentV1(
            plan_id=plan_id,
            by="co-owner",
            given_by="guardian",
            given_by_role=f.ConsentGiver.GUARDIAN,
            recipients=["res-1"],
            purpose="therapy referral",
            given_at=NOW,
            referral_id=referral,
        ),
        at=NOW,
        trace=TRACE,
    )
    app.advance_referral(
        f.AdvanceReferralV1(referral_id=referral, by="co-owner", to=f.ReferralState.REFERRED),
        at=NOW,
        trace=TRACE,
    )

    app.withdraw_consent(
        f.WithdrawConsentV1(consent_id=consent, by="co-owner", withdrawn_by="guardian", at=NOW),
        trace=TRACE,
    )

    view = app.plan_view(plan_id)
    assert view["referrals"][0]["state"] == "referred"
    assert view["referrals"][0]["blocked"] is True
    assert "withdrawn by guardian" in view["referrals"][0]["blocked_reason"]
    assert view["consents"][0]["status"] == "withdrawn"
    assert [d["legal_basis"] for d in view["disclosures"]] == ["consent"]
    with pytest.raises(Conflict) as refused:
        app.advance_referral(
            f.AdvanceReferralV1(referral_id=referral, by="co-owner", to=f.ReferralState.CONTACTED),
            at=NOW,
            trace=TRACE,
        )
    assert refused.value.field == "consent"


async def test_renewed_risk_is_reported_to_intake_once_with_a_stable_key(
    app: FollowupApplication,
) -> None:
    plan = open_plan(app)
    checkin_id = UUID(plan["checkins"][0]["checkin_id"])
    app.complete_checkin(
        f.CompleteCheckinV1(
            checkin_id=checkin_id,
            by="co-owner",
            outcome=f.CheckinOutcome.RENEWED_RISK,
            risk=RiskLevel.HIGH,
            categories=[Category.SUICIDAL_IDEATION],
        ),
        at=NOW,
        trace=TRACE,
    )
    received: list[ReportIncidentV1] = []
    new_incident = uuid4()

    async def intake(
        subject: str, body: bytes, headers: dict[str, str]
    ) -> tuple[bytes, dict[str, str]]:
        received.append(decode(body, ReportIncidentV1))
        return encode(IncidentAcceptedV1(incident_id=new_incident)), {STATUS_HEADER: "201"}

    reporter = RenewedRiskReporter(app, Subjects("t"), clock=lambda: NOW)
    assert await reporter.report_pending(intake) == 1
    assert await reporter.report_pending(intake) == 0

    (report,) = received
    assert report.idempotency_key == f"followup-renewed-risk-{checkin_id}"
    assert report.linked_incident_id == UUID(plan["incident_id"])
    assert "synthetic" not in msgspec.json.encode(report).decode()
    view = app.plan_view(UUID(plan["plan_id"]))
    assert view["linked_incidents"][0]["incident_id"] == str(new_incident)


def test_measures_count_on_time_completion_per_slot(app: FollowupApplication) -> None:
    plan = open_plan(app)
    first, second = (UUID(c["checkin_id"]) for c in plan["checkins"][:2])
    app.complete_checkin(
        f.CompleteCheckinV1(checkin_id=first, by="co-owner", outcome=f.CheckinOutcome.STABLE),
        at=NOW + timedelta(hours=30),
        trace=TRACE,
    )  # within 24 h + 12 h grace
    app.complete_checkin(
        f.CompleteCheckinV1(checkin_id=second, by="co-owner", outcome=f.CheckinOutcome.STABLE),
        at=NOW + timedelta(days=4),
        trace=TRACE,
    )  # after 72 h + 12 h

    measures = app.measures(f.ShowMeasuresV1(), as_of=NOW + timedelta(days=5))

    assert measures["total"]["checkins"] == {
        "24h": {"counted": 1, "on_time": 1, "rate": 1.0},
        "72h": {"counted": 1, "on_time": 0, "rate": 0.0},
    }
