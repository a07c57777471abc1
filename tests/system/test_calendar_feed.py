"""A responder's calendar: their on-call shifts and open check-ins, at a secret, revocable URL.

The feed is read back with vobject, a parser independent of the icalendar
library that writes it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import vobject

from events.subjects import Subjects
from services.dispatch.calendar import digest
from tests.harness import Harness, eventually

pytestmark = pytest.mark.system
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@pytest.fixture
async def harness(
    subjects: Subjects, nats_url: str, store: dict[str, str], clean_streams: None
) -> AsyncIterator[Harness]:
    harness = Harness(subjects, nats_url, store)
    for service in ("intake", "dispatch", "followup"):
        await harness.start(service)
    yield harness
    await harness.stop_all()


async def fetch(harness: Harness, path: str) -> httpx.Response:
    async with httpx.AsyncClient(timeout=10) as client:
        return await client.get(f"{harness.running['dispatch'].url}{path}")  # no bearer token


def events_of(text: str) -> list[Any]:
    calendar = vobject.readOne(text)
    assert calendar.name == "VCALENDAR"
    assert calendar.version.value == "2.0"
    return list(getattr(calendar, "vevent_list", []))


async def plan_checkins(harness: Harness, owner: str) -> list[dict[str, Any]]:
    async def found() -> list[dict[str, Any]] | None:
        _, plans = await harness.call("GET", "followup", f"/plans?owner_id={owner}")
        return plans[0]["checkins"] if plans else None

    return await eventually(found, timeout=20)


async def test_a_responder_subscribes_to_their_shifts_and_check_ins_and_can_revoke_it(
    harness: Harness,
) -> None:
    tomorrow = DAYS[(datetime.now(UTC) + timedelta(days=1)).weekday()]
    await harness.call("POST", "intake", "/schools", {"school_id": "s0", "name": "S0"})
    roster = [
        {"responder_id": "co-a", "name": "A", "role": "counselor", "schools": ["s0"]},
        {
            "responder_id": "co-b",
            "name": "B",
            "role": "counselor",
            "schools": ["s0"],
            "shifts": [{"days": [tomorrow], "start": "09:00", "end": "17:00"}],
        },
    ]
    assert (await harness.call("POST", "dispatch", "/roster/import", {"responders": roster}))[
        0
    ] == 201
    status, accepted = await harness.report(student_ref="stu-cal", risk="moderate")
    assert status == 201

    async def dispatched() -> dict[str, Any] | None:
        _, body = await harness.call(
            "GET", "dispatch", f"/incidents/{accepted['incident_id']}/response"
        )
        found: dict[str, Any] | None = body.get("current")
        return found

    current = await eventually(dispatched, timeout=15)
    assert current["responder_id"] == "co-a"  # co-b is not on call now
    for step in ("ack", "status"):
        body = {"responder_id": "co-a", **({"state": "resolved"} if step == "status" else {})}
        status, _ = await harness.call(
            "POST", "dispatch", f"/dispatches/{current['dispatch_id']}/{step}", body
        )
        assert status == 200
    checkins = await plan_checkins(harness, "co-a")

    co_a = harness.token("co-a", "responder", ("s0",))
    status, feed = await harness.call(
        "POST", "dispatch", "/calendar/feeds/co-a", {"responder_id": "co-a"}, token=co_a
    )
    assert status == 201
    response = await fetch(harness, feed["path"])
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/calendar")
    assert "stu-cal" not in response.text  # times only, never student details
    assert "round the clock" in response.text  # co-a has no shifts: no on-call events
    events = events_of(response.text)
    assert {e.uid.value for e in events} == {f"checkin-{c['checkin_id']}@lantern" for c in checkins}
    for event in events:
        due = next(c["due_at"] for c in checkins if c["checkin_id"] in event.uid.value)
        assert event.dtstart.value == datetime.fromisoformat(due).replace(microsecond=0)

    status, _ = await harness.call(
        "POST", "dispatch", "/calendar/feeds/co-a", {"responder_id": "co-a"},
        token=harness.token("co-b", "responder", ("s0",)),
    )  # fmt: skip
    assert status == 403

    _, shifts_feed = await harness.call(
        "POST", "dispatch", "/calendar/feeds/co-b", {"responder_id": "co-b"}
    )
    shifts = events_of((await fetch(harness, shifts_feed["path"])).text)
    assert len(shifts) == 4  # four weeks ahead, one shift a week
    for shift in shifts:
        start, end = shift.dtstart.value, shift.dtend.value
        assert (DAYS[start.weekday()], start.hour, end - start) == (tomorrow, 9, timedelta(hours=8))
        assert shift.summary.value == "On call (Lantern)"

    secret = feed["path"].removeprefix("/calendar/").removesuffix(".ics")
    stored = stored_events_text(harness)  # decrypted: the cipher must not be what hides it
    assert digest(secret) in stored  # only its hash is kept...
    assert secret not in stored  # ...never the secret itself

    status, revoked = await harness.call(
        "POST", "dispatch", "/calendar/feeds/co-a/revoke", {"responder_id": "co-a"}, token=co_a
    )
    assert (status, revoked["active"]) == (200, False)
    assert (await fetch(harness, feed["path"])).status_code == 404
    _, again = await harness.call(
        "POST", "dispatch", "/calendar/feeds/co-a", {"responder_id": "co-a"}, token=co_a
    )
    assert again["path"] != feed["path"]
    assert (await fetch(harness, again["path"])).status_code == 200
    assert (await fetch(harness, "/calendar/not-a-secret.ics")).status_code == 404

    await harness.stop("followup")
    unavailable = await fetch(harness, again["path"])
    assert unavailable.status_code == 503  # not a calendar silently missing its check-ins
    assert unavailable.headers["Retry-After"] == "60"


def stored_events_text(harness: Harness) -> str:
    """Every event dispatch stored, decrypted and decoded, as one text to search."""
    app = harness.running["dispatch"].process.app
    found = []
    for notification in app.recorder.select_notifications(start=1, limit=1_000_000):
        found.append(repr(vars(app.mapper.to_domain_event(notification))))
    return "\n".join(found)
