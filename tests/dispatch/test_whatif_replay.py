"""Specification: how the what-if replay treats the record (roster as known, answers, statuses).

Same district and recorded policy as ``test_whatif_policies``: co-a, co-b,
sup-d, dcl-e; high risk acknowledged within 300 s; no on-scene deadline.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import timedelta

import pytest

from services.dispatch.whatif.fidelity import divergences
from services.dispatch.whatif.history import fold
from services.dispatch.whatif.measures import balance, outcome, percentile
from services.dispatch.whatif.replay import replay
from tests.dispatch.whatif_given import HIGH_300, T0, Given, S, incident_id

pytestmark = pytest.mark.domain


def test_the_roster_is_used_as_it_was_known_at_each_decision_not_as_corrected_later() -> None:
    # given: co-a was off sick from 09:00, but that was only recorded at 10:00, between two
    # reports (each acknowledged at once by whoever was paged)
    given = Given()
    sick_from, noted = T0.replace(hour=9, minute=0), T0.replace(hour=10)
    given.report("before it was known", T0.replace(hour=9, minute=30))
    given.ack("before it was known", "co-a", T0.replace(hour=9, minute=30, second=10))
    given.off_call("co-a", sick_from, sick_from + timedelta(hours=8), recorded=noted)
    given.report("after it was known", T0.replace(hour=10, minute=30))
    given.ack("after it was known", "co-b", T0.replace(hour=10, minute=30, second=10))

    result = replay(given.history())

    # then: the 09:30 report went to co-a, as dispatch knew the roster then; 10:30 to co-b
    first = result.incidents[incident_id("before it was known")]
    second = result.incidents[incident_id("after it was known")]
    assert outcome(first.events, first.record.reported_at).pages == ("co-a",)
    assert outcome(second.events, second.record.reported_at).pages == ("co-b",)
    assert divergences(result) == []


def test_a_difference_names_the_incident_and_its_first_divergent_step() -> None:
    # given the same record, with the late sick-day entry lost from the history
    given = Given()
    sick_from = T0.replace(hour=9, minute=0)
    given.off_call("co-a", sick_from, sick_from + timedelta(hours=8), recorded=T0.replace(hour=10))
    given.report("after it was known", T0.replace(hour=10, minute=30))
    without_override = [
        (position, event)
        for position, event in given.rows
        if type(event).__name__ != "OverrideAdded"
    ]

    [difference] = divergences(replay(fold(without_override)))

    assert difference.incident_id == incident_id("after it was known")
    assert difference.step == 2
    assert str(difference).startswith(
        f"incident {incident_id('after it was known')}: step 2 "
        "(IncidentResponse.ResponderAssigned) differs in candidates"
    )


def test_a_recorded_decline_is_reused_with_its_delay_and_the_chain_moves_on_at_once() -> None:
    given = Given()
    given.report("one", T0)
    given.decline("one", "co-a", T0 + 20 * S)
    given.ack("one", "co-b", T0 + 50 * S)

    result = replay(given.history(), replace(HIGH_300, version="same-content"))

    incident = result.incidents[incident_id("one")]
    after = outcome(incident.events, incident.record.reported_at)
    assert (after.declines, after.pages, after.acknowledged_after_s) == (1, ("co-a", "co-b"), 50)
    assert incident.modelled == []
    [declined] = [e for e in incident.events if type(e).__name__ == "Declined"]
    assert (declined.at, declined.reason) == (T0 + 20 * S, "busy")


def test_an_on_scene_deadline_re_escalates_when_the_recorded_responder_arrived_later() -> None:
    # given: co-a acknowledged at +30 s and reported being with the student at +200 s
    given = Given()
    given.report("one", T0)
    given.ack("one", "co-a", T0 + 30 * S)
    given.status("one", "co-a", "en_route", T0 + 60 * S)
    given.status("one", "co-a", "with_student", T0 + 200 * S)

    # when: high risk must be with the student within 120 s of acknowledging
    on_scene = {**HIGH_300.on_scene_deadline_s, "high": 120}
    result = replay(given.history(), replace(HIGH_300, version="os", on_scene_deadline_s=on_scene))

    # then: at +150 s (30 + 120) the chain moves on to co-b; co-a's "with the student" at
    # +200 s no longer counts (their dispatch was escalated)
    incident = result.incidents[incident_id("one")]
    first = next(e for e in incident.events if type(e).__name__ == "Escalated")
    assert (first.reason, first.to_responder_id, first.at) == (
        "not_with_student",
        "co-b",
        T0 + 150 * S,
    )
    reports = [(e.responder_id, e.status) for e in incident.events if hasattr(e, "status")]
    assert ("co-a", "with_student") not in reports


def test_a_modelled_answer_is_the_same_for_the_same_seed_and_varies_with_the_seed() -> None:
    # given: co-b's record has one acknowledgement after 45 s and one page left unanswered
    given = Given()
    given.report("a", T0 - timedelta(hours=4))
    given.decline("a", "co-a", T0 - timedelta(hours=4) + 5 * S)
    given.ack("a", "co-b", T0 - timedelta(hours=4) + 50 * S)
    given.status("a", "co-b", "resolved", T0 - timedelta(hours=3))
    given.report("b", T0 - timedelta(hours=2))
    given.decline("b", "co-a", T0 - timedelta(hours=2) + 5 * S)
    given.deadlines("b", T0 - timedelta(hours=2) + 305 * S)
    given.ack("b", "sup-d", T0 - timedelta(hours=2) + 320 * S)
    given.report("one", T0)
    given.ack("one", "co-a", T0 + 200 * S)
    history = given.history()
    shorter = replace(
        HIGH_300, version="high-120", ack_deadline_s={**HIGH_300.ack_deadline_s, "high": 120}
    )

    def acknowledged_by(seed: int) -> str | None:
        incident = replay(history, shorter, since=T0, seed=seed).incidents[incident_id("one")]
        return outcome(incident.events, incident.record.reported_at).acknowledged_by

    assert {acknowledged_by(7) for _ in range(3)} == {acknowledged_by(7)}
    assert {acknowledged_by(seed) for seed in range(20)} == {"co-a", "co-b"}


def test_percentiles_are_nearest_rank_and_balance_counts_everyone_paged_on_either_side() -> None:
    values = [10.0, 20.0, 30.0, 40.0, 50.0, 60.0, 70.0, 80.0, 90.0, 100.0]

    assert (percentile(values, 50), percentile(values, 90)) == (50.0, 90.0)
    assert percentile([7.0], 90) == 7.0
    assert percentile([], 50) is None
    # three pages to co-a, one to co-b, none to co-c (paged only on the other side):
    # mean 4/3, population standard deviation of (3, 1, 0) = 1.247 -> CV 0.935
    figures = balance(Counter({"co-a": 3, "co-b": 1}), {"co-c"})
    assert figures == {"busiest_responder": "co-a", "busiest_share": 0.75, "pages_cv": 0.935}
