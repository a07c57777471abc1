"""Specification: a month recorded by the real dispatch application is reproduced exactly.

The month (``tests.dispatch.synthetic_month``) is recorded through
``DispatchApplication`` on the in-memory store, in accelerated time: over two
thousand incidents with declines, silences, late acknowledgements, roster
overrides (some recorded after they began), swaps, holds, cancellations,
intake's news decided in batches as the consumer decides them, and a policy
change in the middle.  Replayed under the policies pinned at the time,
every recorded step must come out the same: who, which step, why, every
candidate and load, every deadline.  Any difference fails, naming the
incident and its first divergent step.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from services.dispatch.whatif.fidelity import divergences
from services.dispatch.whatif.history import History
from services.dispatch.whatif.reading import read
from services.dispatch.whatif.replay import replay
from tests.dispatch.synthetic_month import POLICY_A, START, Month, generate

pytestmark = pytest.mark.application

CHANGE_DAY = 15


@pytest.fixture(scope="module")
def month() -> Iterator[tuple[Month, History]]:
    month = generate(days=30, per_day=70, policy_change_day=CHANGE_DAY)
    try:
        yield month, read(month.app.recorder, month.app.mapper)
    finally:
        month.app.close()


def test_the_month_has_what_fidelity_must_cover(month: tuple[Month, History]) -> None:
    generated, history = month
    counts = generated.counts

    assert len(history.incidents) == generated.incidents >= 2000
    pinned = {r.opened.policy["version"] for r in history.incidents.values()}
    assert pinned == {"month-a", "month-b"}
    for what in (
        "declined",
        "silent",
        "escalated:ack_timeout",
        "escalated:not_with_student",
        "escalated:no_eligible_responder",
        "exhausted",
        "override",
        "swap",
        "availability",
        "held",
        "cancelled",
        "reclassified",
        "closed",
        "ack_refused",  # late acknowledgements that lost to someone else's
        "batch_of_several",  # decided in one unit of work, recorded aggregate by aggregate
    ):
        assert counts.get(what, 0) > 0, what
    late_acks = [
        d
        for r in history.incidents.values()
        for d in r.dispatches.values()
        if d.reaction is not None
        and d.reaction.kind == "ack"
        and d.reaction.place.at > d.ack_deadline
    ]
    assert late_acks, "some acknowledgements came after the deadline and still counted"
    overtaken = sum(len(r.overtaken) for r in history.incidents.values())
    assert overtaken > 0, "some deadlines were overtaken before the ticker came round"


def test_replaying_the_month_under_its_pinned_policies_reproduces_every_step(
    month: tuple[Month, History],
) -> None:
    _, history = month

    result = replay(history)

    assert len(result.incidents) == len(history.incidents)
    different = divergences(result)
    assert not different, f"{len(different)} incidents differ:\n" + "\n".join(
        str(d) for d in different[:20]
    )


def test_the_first_policy_for_the_whole_month_keeps_the_first_half_and_changes_the_second(
    month: tuple[Month, History],
) -> None:
    _, history = month
    change = START + timedelta(days=CHANGE_DAY)

    result = replay(history, POLICY_A)

    different = {d.incident_id for d in divergences(result)}
    first_half = {
        i for i, r in history.incidents.items() if r.reported_at < change - timedelta(days=1)
    }
    second_half = {i for i, r in history.incidents.items() if r.reported_at >= change}
    assert not different & first_half
    assert different >= second_half  # at least their pinned policy differs
