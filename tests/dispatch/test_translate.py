"""The translator tells each outgoing event's incident facts as of that event's version.

It keeps a record of each response as the relay passes its events in order, so it
need not load the response for every event; after any gap it loads instead, so
what it says is always what the response held at that version.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from uuid import UUID

import pytest

from events.dispatch import ResponderAssignedV1
from events.intake import RiskReclassifiedV1
from events.subjects import Subjects
from events.vocabulary import ResponderRole, RiskLevel
from services.dispatch.application import DispatchApplication
from services.dispatch.domain.response import response_id_for
from services.dispatch.translate import Translator
from tests.dispatch.test_dispatch_application import POLICY, add, report
from tests.support import NOW, TRACE, memory

pytestmark = pytest.mark.application


def _reclassify(app: DispatchApplication, incident_id: UUID, risk: RiskLevel) -> None:
    event = RiskReclassifiedV1(
        incident_id=incident_id,
        risk=risk,
        previous_risk=RiskLevel.HIGH,
        reason="r",
        by="sup-d",
        at=NOW + timedelta(minutes=1),
    )
    app.record(*app.on_intake_event(event, TRACE, at=NOW + timedelta(minutes=1)))


def _history(app: DispatchApplication) -> list[Any]:
    return [event for _, event in app.domain_events_after(0, 10_000)]


@pytest.fixture
def app() -> Any:
    app = DispatchApplication(env=memory(), policy=POLICY)
    add(app, "co-a", ResponderRole.COUNSELOR, ["s0"])
    add(app, "co-b", ResponderRole.COUNSELOR, ["s0"])
    yield app
    app.close()


def _translating(app: DispatchApplication) -> tuple[Translator, list[tuple[UUID, int]]]:
    loads: list[tuple[UUID, int]] = []

    def load(aggregate_id: UUID, version: int) -> Any:
        loads.append((aggregate_id, version))
        return app.repository.get(aggregate_id, version=version)

    return Translator(Subjects("t"), load), loads


def test_in_order_the_facts_come_from_the_record_and_a_risk_change_is_told(
    app: DispatchApplication,
) -> None:
    incident = report(app, risk=RiskLevel.HIGH)
    _reclassify(app, incident, RiskLevel.IMMINENT)
    app.decline(
        UUID(app.response_view(incident)["current"]["dispatch_id"]),
        "co-a",
        "busy",
        at=NOW + timedelta(minutes=2),
        trace=TRACE,
    )
    translate, loads = _translating(app)

    told = [translate(event) for event in _history(app)]

    risks = [o.message.risk for o in told if o is not None and hasattr(o.message, "risk")]
    assert risks[0] == RiskLevel.HIGH
    assert risks[-1] == RiskLevel.IMMINENT
    assert [v for i, v in loads if i == response_id_for(incident)] == []  # none loaded


def test_after_a_gap_the_response_is_loaded_at_that_version(app: DispatchApplication) -> None:
    incident = report(app, risk=RiskLevel.HIGH)
    _reclassify(app, incident, RiskLevel.IMMINENT)
    app.decline(
        UUID(app.response_view(incident)["current"]["dispatch_id"]),
        "co-a",
        "busy",
        at=NOW + timedelta(minutes=2),
        trace=TRACE,
    )
    history = _history(app)
    translate, loads = _translating(app)
    translate(history[-1])  # the relay resumed late: no record of what came before
    first_assignment = next(e for e in history if type(e).__name__ == "ResponderAssigned")

    told = translate(first_assignment)  # and a rewind goes back before the record

    assert told is not None
    assert isinstance(told.message, ResponderAssignedV1)
    assert told.message.risk == RiskLevel.HIGH
    assert [v for i, v in loads if i == response_id_for(incident)] == [
        history[-1].originator_version,
        first_assignment.originator_version,
    ]
