"""Follow-up end to end on a real nats-server, on SQLite and on PostgreSQL.

Given the follow-up service running as a real process (HTTP, NATS, relay, timers),
when dispatch's integration events arrive on the dispatch stream
(published here with the relay's headers, so dispatch itself need not run),
then plans open, timers notify exactly once, and consent withdrawals stop referrals.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

import msgspec
import nats
import pytest
from nats.js import JetStreamContext

from events.dispatch import DispatchStatusChangedV1, ResponderEnrolledV1
from events.subjects import DISPATCH, FOLLOWUP, Subjects
from events.vocabulary import ResponderRole, RiskLevel
from tests.harness import Harness, eventually
from tests.upstream import Upstream

pytestmark = pytest.mark.system

DAY = 86_400


@pytest.fixture
async def harness(
    subjects: Subjects, nats_url: str, store: dict[str, str], clean_streams: None
) -> AsyncIterator[Harness]:
    harness = Harness(subjects, nats_url, store)
    await harness.start("followup")
    yield harness
    await harness.stop_all()


@pytest.fixture
async def js(nats_url: str) -> AsyncIterator[JetStreamContext]:
    nc = await nats.connect(nats_url)
    yield nc.jetstream()
    await nc.close()


class DispatchFeed:
    """Publishes onto the dispatch stream exactly as dispatch's relay would."""

    def __init__(self, js: JetStreamContext, subjects: Subjects) -> None:
        self.subjects = subjects
        self.upstream = Upstream(js, subjects, DISPATCH)

    async def publish(self, subject: str, event: msgspec.Struct, incident: UUID | None) -> None:
        await self.upstream.publish(subject, event, incident)

    async def supervisor(self, person: str = "sup-1") -> None:
        event = ResponderEnrolledV1(
            responder_id=person, role=ResponderRole.SUPERVISOR, schools=["s0"], available=True
        )
        await self.publish(self.subjects.responder_enrolled, event, None)

    async def status(self, status: str = "resolved", risk: str = "high") -> UUID:
        incident = uuid4()
        event = DispatchStatusChangedV1(
            incident_id=incident,
            dispatch_id=uuid4(),
            responder_id="co-owner",
            school_id="s0",
            student_ref="stu-7",
            risk=RiskLevel(risk),
            status=status,
            at=datetime.now(UTC),
        )
        await self.publish(self.subjects.dispatch_status_changed, event, incident)
        return incident


@pytest.fixture
def feed(js: JetStreamContext, subjects: Subjects) -> DispatchFeed:
    return DispatchFeed(js, subjects)


async def plan_for(harness: Harness, incident: UUID) -> dict[str, Any] | None:
    status, plans = await harness.call("GET", "followup", f"/plans?incident_id={incident}")
    assert status == 200, plans
    return plans[0] if plans else None


async def stream_messages(js: JetStreamContext, subjects: Subjects, subject: str) -> list[Any]:
    info = await js.stream_info(subjects.stream(FOLLOWUP))
    found: list[Any] = []
    if not info.state.last_seq:  # nothing published yet
        return found
    for seq in range(max(info.state.first_seq, 1), info.state.last_seq + 1):
        msg = await js.get_msg(subjects.stream(FOLLOWUP), seq=seq)
        if subjects.family(msg.subject or "") == subject:
            found.append(msgspec.json.decode(msg.data or b"{}"))
    return found


async def publish_protocol(harness: Harness, offset_s: int, grace_s: int) -> None:
    step = [{"label": "soon", "offset_s": offset_s}]
    status, body = await harness.call(
        "POST",
        "followup",
        "/protocols",
        {
            "by": "admin",
            "low": step,
            "moderate": step,
            "high": step,
            "imminent": step,
            "grace_s": grace_s,
            "referral_stall_s": 7 * DAY,
        },
    )
    assert status == 201, body


async def test_a_resolved_high_risk_incident_gets_a_plan_with_four_checkins_at_the_offsets(
    harness: Harness, feed: DispatchFeed, js: JetStreamContext, subjects: Subjects
) -> None:
    incident = await feed.status("resolved", "high")
    await feed.status("stabilized", "high")  # another incident, to show plans stay apart

    plan = await eventually(lambda: plan_for(harness, incident))

    opened = datetime.fromisoformat(plan["opened_at"])
    offsets = [
        (datetime.fromisoformat(c["due_at"]) - opened).total_seconds() for c in plan["checkins"]
    ]
    assert offsets == [DAY, 3 * DAY, 7 * DAY, 30 * DAY]
    assert {c["state"] for c in plan["checkins"]} == {"scheduled"}
    assert plan["owner_id"] == "co-owner"
    (published,) = await eventually(lambda: _matching(js, subjects, subjects.plan_opened, incident))
    assert published["protocol_version"] == 1
    assert published["checkins"] == 4


async def _matching(js: JetStreamContext, subjects: Subjects, subject: str, incident: UUID) -> Any:
    found = await stream_messages(js, subjects, subject)
    return [m for m in found if m["incident_id"] == str(incident)]


async def test_an_overdue_checkin_notifies_the_supervisor_exactly_once_across_restarts(
    harness: Harness, feed: DispatchFeed, js: JetStreamContext, subjects: Subjects
) -> None:
    await publish_protocol(harness, offset_s=2, grace_s=1)
    await feed.supervisor("sup-1")
    incident = await feed.status("resolved", "high")
    plan = await eventually(lambda: plan_for(harness, incident))

    # The service is down when the check-in comes due and becomes overdue ...
    await harness.stop("followup")
    overdue_at = datetime.fromisoformat(plan["checkins"][0]["overdue_at"])
    await asyncio.sleep(max(0.0, (overdue_at - datetime.now(UTC)).total_seconds()) + 0.5)
    # ... and fires on its first tick after the restart; a second restart changes nothing.
    await harness.start("followup")
    inbox = subjects.inbox(FOLLOWUP, "sup-1")
    await eventually(lambda: stream_messages(js, subjects, inbox), timeout=10)
    await harness.stop("followup")
    await harness.start("followup")
    await asyncio.sleep(1.0)

    notices = await stream_messages(js, subjects, inbox)
    assert [(n["kind"], n["recipient_id"]) for n in notices] == [("checkin_overdue", "sup-1")]
    shown = await plan_for(harness, incident)
    assert shown is not None
    assert shown["checkins"][0]["state"] == "overdue"
    assert shown["checkins"][0]["overdue_notified"] == "sup-1"
    owner = await stream_messages(js, subjects, subjects.inbox(FOLLOWUP, "co-owner"))
    assert [n["kind"] for n in owner] == ["checkin_due"]


async def test_a_consent_withdrawal_mid_referral_stops_the_referral_and_shows_in_the_plan(
    harness: Harness, feed: DispatchFeed, js: JetStreamContext, subjects: Subjects
) -> None:
    await harness.call(
        "POST",
        "followup",
        "/resources",
        {
            "resource_id": "res-1",
            "name": "Synthetic Therapy Center",
            "kind": "outpatient_therapy",
            "languages": ["en", "es"],
        },
    )
    incident = await feed.status("handed_off", "moderate")
    plan = await eventually(lambda: plan_for(harness, incident))
    plan_id = plan["plan_id"]
    _, proposed = await harness.call(
        "POST",
        "followup",
        f"/plans/{plan_id}/referrals",
        {"by": "co-owner", "resource_id": "res-1"},
    )
    referral = proposed["referral_id"]
    _, granted = await harness.call(
        "POST",
        "followup",
        f"/plans/{plan_id}/consents",
        {
            "by": "co-owner",
            "given_by": "synthetic guardian",
            "given_by_role": "guardian",
            "recipients": ["res-1"],
            "purpose": "outpatient therapy referral",
            "given_at": datetime.now(UTC).isoformat(),
            "referral_id": referral,
        },
    )
    for step in ("referred", "contacted"):
        status, body = await harness.call(
            "POST", "followup", f"/referrals/{referral}/advance", {"by": "co-owner", "to": step}
        )
        assert status == 200, body

    status, withdrawn = await harness.call(
        "POST",
        "followup",
        f"/consents/{granted['consent_id']}/withdraw",
        {"by": "co-owner", "withdrawn_by": "guardian", "at": datetime.now(UTC).isoformat()},
    )
    refused_status, refused = await harness.call(
        "POST",
        "followup",
        f"/referrals/{referral}/advance",
        {"by": "co-owner", "to": "appointment_scheduled"},
    )

    assert status == 200
    assert withdrawn["blocked_referrals"] == [referral]
    shown = withdrawn["referrals"][0]
    assert (shown["state"], shown["blocked"]) == ("contacted", True)
    assert "withdrawn by guardian" in shown["blocked_reason"]
    assert refused_status == 409
    assert refused["field"] == "consent"
    disclosures = await eventually(
        lambda: _matching(js, subjects, subjects.disclosure_recorded, incident)
    )
    assert disclosures[0]["legal_basis"] == "consent"
    assert disclosures[0]["student_ref"] == "stu-7"
    changes = await eventually(lambda: _blocked(js, subjects, incident))
    assert changes[-1]["state"] == "contacted"


async def _blocked(js: JetStreamContext, subjects: Subjects, incident: UUID) -> list[Any]:
    found = await _matching(js, subjects, subjects.referral_changed, incident)
    return [m for m in found if m.get("blocked")]


async def test_bad_commands_name_the_field_and_completing_twice_names_the_state(
    harness: Harness, feed: DispatchFeed
) -> None:
    incident = await feed.status("resolved", "low")
    plan = await eventually(lambda: plan_for(harness, incident))
    checkin = plan["checkins"][0]["checkin_id"]
    path = f"/checkins/{checkin}/complete"

    bad_status, bad = await harness.call(
        "POST", "followup", path, {"by": "co-owner", "outcome": "fine"}
    )
    first, _ = await harness.call("POST", "followup", path, {"by": "co-owner", "outcome": "stable"})
    again_status, again = await harness.call(
        "POST", "followup", path, {"by": "co-owner", "outcome": "stable"}
    )

    assert (bad_status, bad["field"]) == (400, "outcome")
    assert first == 200
    assert again_status == 409
    assert again["field"] == "checkin_id"
    assert "already completed" in again["error"]
