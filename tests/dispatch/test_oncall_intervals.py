"""The on-call intervals a calendar shows agree with the dispatcher's own rule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.dispatch.domain.oncall import on_call_intervals
from services.dispatch.domain.roster import Override, Responder, Shift

pytestmark = pytest.mark.domain

MONDAY = datetime(2026, 11, 30, 0, 0, tzinfo=UTC)  # a Monday


def responder(**changes: object) -> Responder:
    base = Responder(
        responder_id="co-a",
        name="A",
        role="counselor",
        schools=("s0",),
        shifts=(Shift(("mon", "tue"), "08:00", "16:00"),),
        timezone="America/Chicago",  # UTC-6 in winter
    )
    return Responder(**{**base.__dict__, **changes})


def hours(h: float) -> timedelta:
    return timedelta(hours=h)


def test_weekly_shifts_in_the_responders_zone_become_utc_intervals() -> None:
    got = on_call_intervals(responder(), MONDAY, MONDAY + timedelta(days=7))
    assert got == [
        (MONDAY + hours(14), MONDAY + hours(22)),  # 08:00-16:00 Chicago on Monday
        (MONDAY + hours(24 + 14), MONDAY + hours(24 + 22)),
    ]


def test_overrides_add_and_remove_time_the_way_dispatch_decides() -> None:
    sick = Override(MONDAY + hours(14), MONDAY + hours(18), on_call=False, reason="sick")
    cover = Override(MONDAY + hours(100), MONDAY + hours(102), on_call=True, reason="swap")
    who = responder(overrides=(sick, cover))

    got = on_call_intervals(who, MONDAY, MONDAY + timedelta(days=7))

    assert got == [
        (MONDAY + hours(18), MONDAY + hours(22)),
        (MONDAY + hours(38), MONDAY + hours(46)),
        (MONDAY + hours(100), MONDAY + hours(102)),
    ]
    for begin, end in got:  # every interval is on call by the dispatcher's rule, and nothing else
        assert who.on_call(begin)
        assert who.on_call(end - timedelta(minutes=1))
    assert not who.on_call(MONDAY + hours(15))


def test_a_shift_to_midnight_and_round_the_clock() -> None:
    late = responder(shifts=(Shift(("mon",), "18:00", "24:00"),), timezone="UTC")
    assert on_call_intervals(late, MONDAY, MONDAY + timedelta(days=2)) == [
        (MONDAY + hours(18), MONDAY + hours(24))
    ]
    always = responder(shifts=None)
    assert on_call_intervals(always, MONDAY, MONDAY + hours(5)) == [(MONDAY, MONDAY + hours(5))]
