"""One poison timer never stops the others (application tier, the clock driven by the test).

Given three incidents whose acknowledgement deadlines pass together, and a
firing that raises for one of them, when the ticker runs, then the other two
escalate on the first tick; the failing one is retried, then quarantined with
its error, and stays out of the way of every later deadline.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterator
from datetime import datetime, timedelta
from typing import cast
from uuid import UUID

import pytest

from events.vocabulary import ResponderRole
from plumbing.timers import Ticker
from services.dispatch.application import DispatchApplication
from services.dispatch.domain.response import response_id_for
from tests.dispatch.test_dispatch_application import POLICY, add, report, view
from tests.support import NOW, TRACE, memory

pytestmark = pytest.mark.application


@pytest.fixture
def dispatch() -> Iterator[DispatchApplication]:
    app = DispatchApplication(env=memory(), policy=POLICY)
    for rid in ("co-a", "co-b", "co-c", "co-d"):
        add(app, rid, ResponderRole.COUNSELOR, ["s0"])
    add(app, "sup-d", ResponderRole.SUPERVISOR, ["s0"])
    yield app
    app.close()


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def escalations(app: DispatchApplication, incident: UUID) -> int:
    return len(view(app, incident)["escalations"])


def test_a_timer_that_raises_is_quarantined_and_every_other_deadline_fires_on_time(
    dispatch: DispatchApplication,
) -> None:
    incidents = [report(dispatch) for _ in range(3)]
    poisoned = incidents[1]
    clock = Clock(NOW)

    def fire(key: Hashable, due_at: datetime, now: datetime) -> bool:
        if cast(tuple[UUID, UUID, str], key)[0] == response_id_for(poisoned):
            raise ValueError("a bug that only this incident's state triggers")
        return dispatch.fire(key, due_at, now)

    ticker = Ticker(dispatch.timers, fire, clock=clock, max_failures=3)
    clock.now = NOW + timedelta(seconds=121)  # every high-risk deadline (120 s) has passed

    ticker._fire_due()

    assert [escalations(dispatch, i) for i in incidents] == [1, 0, 1]  # the others on time
    assert len(ticker.quarantine) == 0  # not yet: tried again on the next ticks
    ticker._fire_due()
    ticker._fire_due()
    (quarantined,) = ticker.quarantine.values()
    assert quarantined.failures == 3
    assert quarantined.reason.startswith("ValueError at test_ticker.py:")

    # Later deadlines of the others keep firing; the quarantined one is not tried again.
    clock.now += timedelta(seconds=121)
    ticker._fire_due()
    assert [escalations(dispatch, i) for i in incidents] == [2, 0, 2]
    assert ticker.failures[next(iter(ticker.quarantine))] == 3


@pytest.mark.parametrize("seen_from_the_start", [True, False])
def test_an_acknowledgement_cancels_the_deadline_whether_or_not_this_instance_saw_it_scheduled(
    dispatch: DispatchApplication, seen_from_the_start: bool
) -> None:
    """Timers of responses opened before this instance started are found in the table."""
    incident = report(dispatch)
    dispatch.timers.catch_up()
    if not seen_from_the_start:
        dispatch.timers.flush()
        dispatch.timers.reset()  # as after a restart: no memory of who scheduled what
    dispatch_id = UUID(view(dispatch, incident)["current"]["dispatch_id"])
    late = NOW + timedelta(hours=1)
    assert [k for k, _ in dispatch.timers.due(late)] == [
        (response_id_for(incident), dispatch_id, "ack")
    ]

    dispatch.acknowledge(
        dispatch_id, view(dispatch, incident)["current"]["responder_id"], at=NOW, trace=TRACE
    )
    dispatch.timers.catch_up()

    assert [cast(tuple[UUID, UUID, str], k)[2] for k, _ in dispatch.timers.due(late)] == [
        "on_scene"
    ]
