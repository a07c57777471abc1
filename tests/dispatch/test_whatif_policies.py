"""Specification: a changed policy changes the outcome as a hand-worked example says.

Each story is one recorded incident (plus, where the model is needed, the
record it learns from).  The district: counselors co-a and co-b, supervisor
sup-d and district crisis lead dcl-e, all on call.  The recorded policy: a
high-risk page must be acknowledged within 300 s; chain next responder,
supervisor, district crisis lead; the chain runs once (repeat limit 0).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from services.dispatch.domain.policy import Policy
from services.dispatch.whatif.fidelity import divergences
from services.dispatch.whatif.measures import Outcome, outcome
from services.dispatch.whatif.replay import IncidentReplay, Replay, replay
from tests.dispatch.whatif_given import HIGH_300, T0, Given, S, incident_id

pytestmark = pytest.mark.domain


def with_high_deadline(seconds: int, base: Policy = HIGH_300) -> Policy:
    return replace(
        base, version=f"high-{seconds}", ack_deadline_s={**base.ack_deadline_s, "high": seconds}
    )


def of(result: Replay, name: str) -> IncidentReplay:
    return result.incidents[incident_id(name)]


def recorded(result: Replay, name: str) -> Outcome:
    incident = of(result, name)
    return outcome(incident.record.recorded_events, incident.record.reported_at)


def replayed(result: Replay, name: str) -> Outcome:
    incident = of(result, name)
    return outcome(incident.events, incident.record.reported_at)


def test_a_shorter_deadline_reaches_the_second_responder_sooner_by_the_difference() -> None:
    # given: co-a never answers; at +300 s co-b is paged and acknowledges 30 s later (+330 s)
    given = Given()
    given.report("one", T0)
    given.deadlines("one", T0 + 300 * S)
    given.ack("one", "co-b", T0 + 330 * S)
    history = given.history()

    # when: the high-risk deadline had been 120 s
    result = replay(history, with_high_deadline(120))

    # then: co-b is paged at +120 s, answers as they did (30 s later): acknowledged at +150 s,
    # 180 s (= 300 - 120) sooner; the same one escalation step; nothing had to be modelled
    assert recorded(result, "one").acknowledged_after_s == 330
    assert replayed(result, "one").acknowledged_after_s == 150
    assert replayed(result, "one").pages == ("co-a", "co-b")
    assert replayed(result, "one").escalation_steps == 1
    assert of(result, "one").modelled == []


def test_a_shorter_deadline_overtaking_an_answer_pages_someone_whose_answer_is_modelled() -> None:
    # given: earlier, co-a declined incident "before" and co-b took it 45 s after their page;
    # then in incident "one" co-a acknowledged after 200 s (within the 300 s deadline)
    given = Given()
    given.report("before", T0 - timedelta(hours=3))
    given.decline("before", "co-a", T0 - timedelta(hours=3) + 10 * S)
    given.ack("before", "co-b", T0 - timedelta(hours=3) + 55 * S)
    given.status("before", "co-b", "resolved", T0 - timedelta(hours=2))
    given.report("one", T0)
    given.ack("one", "co-a", T0 + 200 * S)

    # when: the deadline had been 120 s (only incident "one" is replayed)
    result = replay(given.history(), with_high_deadline(120), since=T0 - 1 * S)

    # then: at +120 s co-b is paged; their only recorded answer is "acknowledges after 45 s",
    # so they have it at +165 s, 35 s sooner than co-a's +200 s; flagged as modelled
    assert list(result.incidents) == [incident_id("one")]
    assert recorded(result, "one").acknowledged_after_s == 200
    after = replayed(result, "one")
    assert (after.acknowledged_after_s, after.acknowledged_by) == (165, "co-b")
    assert after.pages == ("co-a", "co-b")
    [why] = of(result, "one").modelled
    assert "page 2 to co-b" in why
    assert "co-b's own record: acknowledges after 45 s" in why


def test_a_longer_deadline_waits_for_a_silent_responder_then_pages_the_same_person() -> None:
    # given: co-a never answers; at +300 s co-b is paged and acknowledges at +310 s
    given = Given()
    given.report("one", T0)
    given.deadlines("one", T0 + 300 * S)
    given.ack("one", "co-b", T0 + 310 * S)

    # when: the deadline had been 600 s
    result = replay(given.history(), with_high_deadline(600))

    # then: co-a's page stays open past the 310 s the record saw; what co-a does next is drawn
    # from co-a's record (silence with the whole deadline: no answer), so co-b is paged at
    # +600 s and answers as before, 10 s later: acknowledged at +610 s, 300 s later
    after = replayed(result, "one")
    assert after.acknowledged_after_s == 610
    assert after.pages == ("co-a", "co-b")
    [why] = of(result, "one").modelled
    assert "page 1 to co-a: silent 310 s in the record" in why
    assert why.endswith("no answer")


def test_a_higher_repeat_limit_runs_the_chain_again_before_it_is_exhausted() -> None:
    # given: nobody answers; co-a, co-b (+300), sup-d (+600), dcl-e (+900); exhausted at +1200
    given = Given()
    given.report("one", T0)
    for n in (1, 2, 3, 4):
        given.deadlines("one", T0 + 300 * n * S)
    before = recorded(replay(given.history()), "one")
    assert (before.pages, before.escalation_steps, before.exhausted) == (
        ("co-a", "co-b", "sup-d", "dcl-e"),
        3,
        True,
    )

    # when: the chain may run once more (repeat limit 1)
    result = replay(given.history(), replace(HIGH_300, version="repeat-1", repeat_limit=1))

    # then: round two skips next_responder (both counselors were asked) and pages sup-d at
    # +1200 s and dcl-e at +1500 s, who stay silent as in their record; exhausted at +1800 s
    after = replayed(result, "one")
    assert after.pages == ("co-a", "co-b", "sup-d", "dcl-e", "sup-d", "dcl-e")
    assert after.escalation_steps == 5
    assert after.exhausted
    steps = [
        (e.step, e.round, e.skipped, e.at - T0)
        for e in of(result, "one").events
        if type(e).__name__ == "Escalated"
    ]
    assert steps[3:] == [
        ("supervisor", 1, ["next_responder"], 1200 * S),
        ("district_crisis_lead", 1, [], 1500 * S),
        ("exhausted", 1, [], 1800 * S),
    ]
    assert len(of(result, "one").modelled) == 2


def test_a_longer_chain_reaches_the_district_crisis_lead_before_it_is_exhausted() -> None:
    # given: a chain of next responder then supervisor only; nobody answers; exhausted at +900 s
    short_chain = replace(HIGH_300, version="short", chain=("next_responder", "supervisor"))
    given = Given(short_chain)
    given.report("one", T0)
    for n in (1, 2, 3):
        given.deadlines("one", T0 + 300 * n * S)

    # when: the chain had ended with the district crisis lead
    result = replay(given.history(), replace(short_chain, version="long", chain=HIGH_300.chain))

    # then: dcl-e is paged at +900 s; with no record of their own they borrow everyone's (three
    # silences): no answer; the chain is exhausted at +1200 s, one step more
    assert recorded(result, "one").escalation_steps == 2
    after = replayed(result, "one")
    assert after.pages == ("co-a", "co-b", "sup-d", "dcl-e")
    assert after.escalation_steps == 3
    assert of(result, "one").events[-1].at == T0 + 1200 * S
    assert "everyone's record: no answer" in of(result, "one").modelled[0]


def test_the_same_policy_reproduces_the_record_and_a_changed_one_does_not() -> None:
    given = Given()
    given.report("one", T0)
    given.deadlines("one", T0 + 300 * S)
    given.ack("one", "co-b", T0 + 330 * S)

    assert divergences(replay(given.history())) == []
    [changed] = divergences(replay(given.history(), with_high_deadline(120)))
    assert changed.incident_id == incident_id("one")
    assert changed.step == 1  # the pinned policy itself differs
    assert changed.field == "policy"
