"""The tracked consumer on a real nats-server: each failure class handled its own way.

Given a probe service following intake's stream (faked exactly as intake's relay
publishes), when messages of every kind arrive, then: good ones are applied once
and in order; poison is parked at once; a domain refusal is parked with its
reason; a defect is tried once more, then parked; an infrastructure failure is
retried until it passes and nothing is parked; a hole holds the lane until it
is filled; and a duplicate changes nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

import nats
import pytest
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import OperationalError
from nats.js import JetStreamContext

from events import headers as h
from events.intake import IncidentReportedV1
from events.subjects import INTAKE, Subjects
from events.vocabulary import Category, RiskLevel
from plumbing.domain import Conflict
from plumbing.messaging.consumer import Lane
from plumbing.messaging.deadletters import DeadLetters, Parcel
from plumbing.messaging.failures import Failure
from plumbing.messaging.feed import MAX_PAYLOAD_BYTES, Feed, contract
from plumbing.messaging.host import MessagingHost
from plumbing.messaging.puller import Puller
from plumbing.messaging.streams import provision
from plumbing.store.application import LanternApplication
from tests.harness import eventually
from tests.upstream import Upstream

pytestmark = pytest.mark.system

PROBE = "probe"


class Seen(Aggregate):
    """One per incident the probe applied: the effect the tests count."""

    class Applied(Aggregate.Created):
        school_id: str

    def __init__(self, school_id: str) -> None:
        self.school_id = school_id


class Probe(LanternApplication):
    name = PROBE


@dataclass
class Behaviour:
    """How the probe's decider treats a school id (the test's lever on each failure class)."""

    attempts: dict[str, int] = field(default_factory=dict)
    infra_failures: int = 0

    def decide(self, app: Probe, event: IncidentReportedV1) -> Sequence[Aggregate]:
        school = event.school_id
        self.attempts[school] = self.attempts.get(school, 0) + 1
        if school == "refuse":
            raise Conflict("the incident is closed", "incident_id")
        if school == "boom":
            raise KeyError("a value from the message")
        if school == "flaky" and self.attempts[school] <= self.infra_failures:
            raise OperationalError("database is locked")
        if app.exists(event.incident_id):
            return []
        return [Seen._create(Seen.Applied, id=event.incident_id, school_id=school)]


def report(school: str, incident: UUID | None = None) -> IncidentReportedV1:
    return IncidentReportedV1(
        incident_id=incident or uuid4(),
        school_id=school,
        student_ref="stu-1",
        categories=[Category.OTHER],
        risk=RiskLevel.LOW,
        reported_at=datetime.now(UTC),
    )


@dataclass
class Rig:
    app: Probe
    host: MessagingHost
    behaviour: Behaviour
    upstream: Upstream
    js: JetStreamContext
    subjects: Subjects

    def applied(self) -> list[str]:
        return [
            e.school_id
            for _, e in self.app.domain_events_after(0, 10_000)
            if isinstance(e, Seen.Applied)
        ]

    async def parked(self) -> list[dict[str, str]]:
        stream = self.subjects.dlq_stream(PROBE)
        info = await self.js.stream_info(stream)
        found = []
        for seq in range(info.state.first_seq or 1, (info.state.last_seq or 0) + 1):
            msg = await self.js.get_msg(stream, seq=seq)
            found.append(dict(msg.headers or {}))
        return found


@pytest.fixture
async def rig(nats_url: str, subjects: Subjects, clean_streams: None) -> AsyncIterator[Rig]:
    async with running_rig(nats_url, subjects) as started:
        yield started


@contextlib.asynccontextmanager
async def running_rig(
    nats_url: str,
    subjects: Subjects,
    before: Callable[[Upstream], Awaitable[None]] | None = None,
) -> AsyncIterator[Rig]:
    """The probe consuming intake's stream; ``before`` publishes what is there at its start."""
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    await provision(js, subjects)
    await js.add_stream(name=subjects.dlq_stream(PROBE), subjects=[subjects.dlq_subjects(PROBE)])
    app = Probe(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    behaviour = Behaviour()
    one_partition = Subjects(subjects.prefix, partitions=1)
    upstream = Upstream(js, one_partition, INTAKE)
    if before is not None:
        await before(upstream)
    feed = Feed(
        consumer=PROBE,
        name=f"{PROBE}-from-{INTAKE}",
        upstream=INTAKE,
        family="evt",
        decode=contract(IncidentReportedV1),
        decide=lambda event, _message: behaviour.decide(app, event),
    )
    host = MessagingHost(
        nats_url=nats_url, subjects=one_partition, service=PROBE, app=app, feeds=[feed]
    )
    stop = asyncio.Event()
    task = asyncio.create_task(host.run(stop))
    await eventually(lambda: _true(bool(host.lanes)), timeout=15)
    try:
        yield Rig(app, host, behaviour, upstream, js, subjects)
    finally:
        stop.set()
        await asyncio.wait_for(task, 15)
        app.close()
        await js.delete_stream(subjects.dlq_stream(PROBE))
        await nc.close()


async def _true(value: bool) -> bool:
    return value


async def test_good_messages_are_applied_once_each_in_order(rig: Rig) -> None:
    for school in ("a", "b", "c"):
        await rig.upstream.publish(rig.subjects.incident_reported, report(school))

    assert await eventually(lambda: _true(rig.applied() == ["a", "b", "c"]))
    assert await rig.parked() == []


async def test_a_domain_refusal_is_parked_at_once_with_its_reason(rig: Rig) -> None:
    await rig.upstream.publish(rig.subjects.incident_reported, report("refuse"))
    await rig.upstream.publish(rig.subjects.incident_reported, report("after"))

    await eventually(lambda: _true(rig.applied() == ["after"]))
    (parked,) = await rig.parked()
    assert parked[h.FAILURE] == "rejected"
    assert parked[h.ERROR] == "Conflict: the incident is closed (incident_id)"
    assert rig.behaviour.attempts["refuse"] == 1


async def test_a_defect_is_tried_once_more_then_parked_without_quoting_the_message(
    rig: Rig,
) -> None:
    await rig.upstream.publish(rig.subjects.incident_reported, report("boom"))
    await rig.upstream.publish(rig.subjects.incident_reported, report("after"))

    await eventually(lambda: _true(rig.applied() == ["after"]))
    (parked,) = await rig.parked()
    assert parked[h.FAILURE] == "defect"
    assert parked[h.ERROR].startswith("KeyError at test_consumer.py:")
    assert "a value from the message" not in parked[h.ERROR]
    assert rig.behaviour.attempts["boom"] == 2


async def test_an_infrastructure_failure_is_retried_until_it_passes_and_nothing_is_parked(
    rig: Rig,
) -> None:
    rig.behaviour.infra_failures = 4  # about four seconds of a locked store
    await rig.upstream.publish(rig.subjects.incident_reported, report("flaky"))
    await rig.upstream.publish(rig.subjects.incident_reported, report("after"))

    lane = next(iter(rig.host.lanes.values()))
    await eventually(lambda: _true(lane.status.stalled.startswith("infrastructure")))
    assert await eventually(lambda: _true(rig.applied() == ["flaky", "after"]), timeout=20)
    assert await rig.parked() == []
    assert rig.behaviour.attempts["flaky"] == 5
    assert lane.status.stalled == ""


async def test_a_message_delivered_twice_changes_nothing(rig: Rig) -> None:
    incident = uuid4()
    await rig.upstream.publish(rig.subjects.incident_reported, report("once", incident))
    await eventually(lambda: _true(rig.applied() == ["once"]))
    # The same position again under a new message id (a re-publish after the window).
    rig.upstream.position -= 1
    rig.upstream.lanes = {k: v - 1 for k, v in rig.upstream.lanes.items()}
    ack = await rig.upstream.publish(
        rig.subjects.incident_reported, report("twice", incident), headers={h.MSG_ID: "again"}
    )
    assert not ack.duplicate
    await rig.upstream.publish(rig.subjects.incident_reported, report("next"))

    await eventually(lambda: _true(rig.applied() == ["once", "next"]))
    lane = next(iter(rig.host.lanes.values()))
    assert lane.status.duplicates == 1


async def test_a_hole_holds_the_lane_until_it_is_filled_and_order_is_kept(rig: Rig) -> None:
    first, second = report("first"), report("second")
    # Position 2 arrives before position 1 (as after a relay re-published a lost tail).
    await rig.upstream.publish(
        rig.subjects.incident_reported,
        second,
        headers={h.POSITION: "2", h.PREVIOUS: "1", h.MSG_ID: "m2"},
    )
    lane = next(iter(rig.host.lanes.values()))
    await eventually(lambda: _true(lane.status.stalled.startswith("hole")))
    assert rig.applied() == []

    await rig.upstream.publish(
        rig.subjects.incident_reported,
        first,
        headers={h.POSITION: "1", h.PREVIOUS: "0", h.MSG_ID: "m1"},
    )

    assert await eventually(lambda: _true(rig.applied() == ["first", "second"]), timeout=10)
    assert await rig.parked() == []


async def test_older_messages_redelivered_behind_newer_ones_in_one_batch_are_all_applied(
    nats_url: str, subjects: Subjects, clean_streams: None
) -> None:
    """After a lease moves or an ack wait runs out, a batch holds a lane out of stream order."""

    async def out_of_order(upstream: Upstream) -> None:
        for position, school in ((3, "third"), (1, "first"), (4, "fourth"), (2, "second")):
            await upstream.publish(
                upstream.subjects.incident_reported,
                report(school),
                headers={
                    h.POSITION: str(position),
                    h.PREVIOUS: str(position - 1),
                    h.MSG_ID: f"m{position}",
                },
            )

    async with running_rig(nats_url, subjects, before=out_of_order) as rig:
        await eventually(lambda: _true(len(rig.applied()) == 4), timeout=10)
        assert rig.applied() == ["first", "second", "third", "fourth"]
        assert await rig.parked() == []


V1 = "intake.incident_reported.v1"
#: Every kind of poison.  Those whose headers give them no place in the lane (a forged or
#: mangled message) are parked and nothing moves; the others are parked in their place.
POISON: dict[str, dict[str, Any]] = {
    "bad UTF-8": {"raw": b'{"type": "' + V1.encode() + b'", "school_id": "\xff\xfe"}'},
    "garbage": {"raw": b"\x00\x01 not json at all", "schema": V1},
    "wrong schema version": {"raw": b'{"type": "x"}', "schema": "intake.incident_reported.v9"},
    "missing schema": {"headers": {h.SCHEMA: ""}},
    "over the size limit": {"raw": b'{"type": "' + b"x" * (MAX_PAYLOAD_BYTES + 10) + b'"}'},
    "missing epoch": {"headers": {h.EPOCH: ""}, "in_lane": False},
    "bad position": {"headers": {h.POSITION: "minus one"}, "in_lane": False},
    "missing previous": {"headers": {h.PREVIOUS: ""}, "in_lane": False},
}


async def test_poison_of_every_kind_is_parked_within_a_second_and_good_traffic_flows(
    rig: Rig,
) -> None:
    for kind in POISON.values():
        await rig.upstream.publish(
            rig.subjects.incident_reported,
            report("poisoned") if "raw" not in kind else None,
            raw=kind.get("raw"),
            schema=kind.get("schema", V1 if "raw" in kind else None),
            headers=kind.get("headers"),
            in_lane=kind.get("in_lane", True),
        )
    began = asyncio.get_running_loop().time()
    await rig.upstream.publish(rig.subjects.incident_reported, report("good"))

    await eventually(lambda: _true(len(rig.applied()) == 1), timeout=5)
    assert asyncio.get_running_loop().time() - began < 1.5
    parked = await rig.parked()
    assert len(parked) == len(POISON)
    assert {p[h.FAILURE] for p in parked} == {"poison"}
    reasons = [p[h.ERROR] for p in parked]
    assert any("does not fit the contract" in r or "undecodable" in r for r in reasons)
    assert any(r == "unknown schema version intake.incident_reported.v9" for r in reasons)
    assert any(r == f"missing or bad header {h.EPOCH}" for r in reasons)
    assert any("over the" in r for r in reasons)
    assert rig.applied() == ["good"]


async def test_a_batch_that_holds_a_message_ahead_of_its_predecessors_is_decided_in_order(
    rig: Rig,
) -> None:
    """After a reconnection, in-flight messages come back only when their ack wait ends
    while newer ones are delivered at once: one batch can hold them out of order."""
    schools = ["one", "two", "three"]
    for school in schools:
        await rig.upstream.publish(rig.subjects.incident_reported, report(school))
    subscription = await rig.js.pull_subscribe(
        rig.subjects.stream_subjects(INTAKE, 0), stream=rig.subjects.stream(INTAKE)
    )
    msgs = await subscription.fetch(3, timeout=5)
    app = Probe(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    own = Behaviour()
    feed = Feed(
        consumer=PROBE,
        name="probe-replay",
        upstream=INTAKE,
        family="evt",
        decode=contract(IncidentReportedV1),
        decide=lambda event, _message: own.decide(app, event),
    )
    lane = Lane(
        app=app,
        feed=feed,
        partition=0,
        subjects=Subjects(rig.subjects.prefix, partitions=1),
        dead_letters=DeadLetters(rig.js, rig.subjects, PROBE),
    )

    plan = await lane.handle(list(reversed(msgs)))  # newest first

    assert [p.reason for p in plan.parked] == []
    assert plan.hole is None
    seen = [e.school_id for _, e in app.domain_events_after(0, 100) if isinstance(e, Seen.Applied)]
    assert seen == schools  # as the upstream wrote them
    await subscription.unsubscribe()
    app.close()


async def test_a_dead_letter_keeps_no_publish_condition_of_the_upstream_relay(rig: Rig) -> None:
    """The relay's chain header travels with every message it published; parked as it is,
    the dead-letter stream refused it ("wrong last sequence") and the lane stalled."""
    stored = {
        h.MSG_ID: "intake/feedc0ffee00/7",
        h.EXPECTED_LAST_SEQUENCE: "41",
        h.POSITION: "7",
        h.PREVIOUS: "3",
    }
    parcel = Parcel(
        "x.evt.intake.p0.incident_reported", b"{}", stored, 42, 1, Failure.POISON, "test"
    )

    await DeadLetters(rig.js, rig.subjects, PROBE).park("probe-p0", "X_INTAKE", [parcel])

    (parked,) = await rig.parked()
    assert h.EXPECTED_LAST_SEQUENCE not in parked
    assert parked[h.POSITION] == "7"  # what the message is stays with it
    assert parked[h.MSG_ID] == "dlq/probe-p0/X_INTAKE/42"


async def test_a_lane_whose_stream_and_consumer_were_lost_makes_them_again_and_goes_on(
    nats_url: str, subjects: Subjects, clean_streams: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A wiped server: the stream goes, and its consumers with it.  A lane may hear a 409
    for its open pull, or (seen in CI, on the relay-fault test) hear nothing, and then its
    pulls get no answer at all.  The lane notices even then (it polls its consumer), makes
    the consumer again once the stream is back, and applies what comes next."""
    hearing = Puller._on_msg

    async def deaf_to_409(puller: Puller, msg: Any) -> None:  # as the lanes in a CI run were
        if (msg.headers or {}).get("Status") != "409":
            await hearing(puller, msg)

    monkeypatch.setattr(Puller, "_on_msg", deaf_to_409)
    async with running_rig(nats_url, subjects) as rig:
        await rig.upstream.publish(rig.subjects.incident_reported, report("before"))
        assert await eventually(lambda: _true(rig.applied() == ["before"]))
        (lane,) = rig.host.lanes.values()
        await rig.js.delete_stream(lane.stream)
        await asyncio.sleep(1.0)  # the lane's pulls go unanswered
        await provision(rig.js, rig.subjects)

        await rig.upstream.publish(rig.subjects.incident_reported, report("after"))
        assert await eventually(lambda: _true(rig.applied() == ["before", "after"]), timeout=15)
        assert (await rig.js.consumer_info(lane.stream, lane.durable)).name == lane.durable
