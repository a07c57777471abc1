"""Specification: integration events carry no free text and no names.

A reason given for a reclassification, a correction, a cancellation or a decline, the
corrected value of a student's details and the person a student was handed off
to stay in the record of the service that took them (intake's incident,
dispatch's response), read there through audited reads.  The test drives each
of them with synthetic values through a wheel nats-server of its own, waits
until the events are in its JetStream store (their tags are), then scans every
store file: none of the values is there.  Records' timeline says where the
reason is kept, and intake's audited view still has every reason.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from events.subjects import DISPATCH, INTAKE, RECORDS, Subjects
from plumbing.access.auth import Role
from tests.harness import Harness, eventually
from tests.nats_process import OwnNats

pytestmark = pytest.mark.system

ROSTER = [{"responder_id": "r-a", "name": "A", "role": "counselor", "schools": ["s0"]}]
RECLASSIFY_REASON = "RECLASS-Wilhelmina-Farquharsonette said more"
CORRECTION_REASON = "CORRECT-Ottoline-Brackenbury spelled it"
CORRECTED_NAME = "Peregrine Thistlewaite-Improbable"
HANDED_OFF_TO = "Bartholomew Zephyrwood, county crisis team"
CANCEL_REASON = "CANCEL-persimmon-9921 duplicate of a phone report"
DECLINE_REASON = "DECLINE-Cordelia-Quillfeather is my neighbour's child"
SYNTHETIC = (
    RECLASSIFY_REASON,
    CORRECTION_REASON,
    CORRECTED_NAME,
    HANDED_OFF_TO,
    CANCEL_REASON,
    DECLINE_REASON,
)


@pytest.fixture
async def system(
    subjects: Subjects, own_nats: OwnNats, store: dict[str, str]
) -> AsyncIterator[Harness]:
    harness = Harness(subjects, own_nats.url, store)
    for service in (INTAKE, DISPATCH, RECORDS):
        await harness.start(service)
    await harness.call("POST", "intake", "/schools", {"school_id": "s0", "name": "S0"})
    await harness.call("POST", "dispatch", "/roster/import", {"responders": ROSTER})
    yield harness
    await harness.stop_all()


def jetstream_files(own_nats: OwnNats) -> bytes:
    files = sorted((own_nats.directory / "jetstream").rglob("*"))
    return b"".join(p.read_bytes() for p in files if p.is_file())


async def test_no_reason_name_or_hand_off_recipient_reaches_the_jetstream_store(
    system: Harness, own_nats: OwnNats
) -> None:
    harness = system
    status, first = await harness.report(student_ref="stu-w1")
    assert status == 201, first
    incident = f"/incidents/{first['incident_id']}"
    status, second = await harness.report(student_ref="stu-w2", school_id="s0")
    assert status == 201, second

    async def assigned(path: str = incident) -> str | None:
        _, response = await harness.call("GET", "dispatch", f"{path}/response")
        current = response.get("current") if isinstance(response, dict) else None
        return str(current["dispatch_id"]) if current else None

    dispatch_id = await eventually(assigned)
    second_dispatch = await eventually(lambda: assigned(f"/incidents/{second['incident_id']}"))
    steps = [
        (
            "intake",
            f"{incident}/reclassify",
            {"by": "psy-1", "risk": "high", "reason": RECLASSIFY_REASON},
        ),
        (
            "intake",
            f"{incident}/corrections",
            {
                "by": "t-1",
                "field": "student_details.name",
                "value": CORRECTED_NAME,
                "reason": CORRECTION_REASON,
            },
        ),
        ("dispatch", f"/dispatches/{dispatch_id}/ack", {"responder_id": "r-a"}),
        (
            "dispatch",
            f"/dispatches/{dispatch_id}/status",
            {"responder_id": "r-a", "state": "handed_off", "to": HANDED_OFF_TO},
        ),
        (
            "dispatch",
            f"/dispatches/{second_dispatch}/decline",
            {"responder_id": "r-a", "reason": DECLINE_REASON},
        ),
        (
            "intake",
            f"/incidents/{second['incident_id']}/cancel",
            {"by": "psy-1", "reason": CANCEL_REASON},
        ),
    ]
    for service, path, body in steps:
        status, reply = await harness.call("POST", service, path, body)
        assert status == 200, (path, reply)

    # every one of those events is in the JetStream store (their tags are)...
    tags = [
        b"intake.risk_reclassified.v2",
        b"intake.incident_corrected.v2",
        b"dispatch.dispatch_status_changed.v2",
        b"dispatch.dispatch_declined.v2",
        b"intake.incident_cancelled.v2",
    ]

    async def published() -> bool:
        stored = jetstream_files(own_nats)
        return all(tag in stored for tag in tags)

    await eventually(published, timeout=20)
    stored = jetstream_files(own_nats)
    # ...and none of the free text is
    for value in SYNTHETIC:
        assert value.encode() not in stored, value
    assert b"stu-w1" in stored  # the pseudonymous reference does travel

    # records says where the reason is; intake's audited view has it
    compliance = harness.token("comp-1", Role.COMPLIANCE)

    async def timeline() -> list[str] | None:
        _, body = await harness.call("GET", "records", f"{incident}/timeline", token=compliance)
        entries = body.get("entries", []) if isinstance(body, dict) else []
        kinds = {e.get("type"): e.get("summary", "") for e in entries}
        return [kinds[k] for k in ("risk_reclassified",)] if "risk_reclassified" in kinds else None

    assert (await eventually(timeline, timeout=20)) == [
        "Risk moderate -> high (reason in intake's record)"
    ]
    _, view = await harness.call("GET", "intake", incident, token=compliance)
    assert [r["reason"] for r in view["reclassifications"]] == [RECLASSIFY_REASON]
    _, response = await harness.call("GET", "dispatch", f"{incident}/response")
    assert HANDED_OFF_TO in str(response)  # kept by dispatch, read through its own view
    _, declined = await harness.call(
        "GET", "dispatch", f"/incidents/{second['incident_id']}/response"
    )
    reasons = [d.get("declined_reason") for d in declined["dispatches"]]
    assert DECLINE_REASON in reasons, declined
