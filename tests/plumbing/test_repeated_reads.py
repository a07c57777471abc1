"""Repeated identical reads: the first recorded at once, the rest counted into one entry."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from plumbing.integrity.audit import Entry
from plumbing.integrity.repeats import RepeatWindows
from tests.support import NOW, TRACE


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def read(actor: str = "sup-1", incident: str = "inc-1", seconds: int = 0) -> Entry:
    return Entry(
        service="intake",
        actor=actor,
        role="supervisor",
        action="show_incident",
        kind="read",
        interface="http",
        trace=TRACE,
        at=NOW + timedelta(seconds=seconds),
        incident_id=incident,
        student_ref="stu-1",
        school_id="s0",
    )


def windows(window_s: float = 60) -> tuple[RepeatWindows, list[Entry], Clock]:
    stored: list[Entry] = []
    clock = Clock()
    return RepeatWindows(window_s, stored.append, clock), stored, clock


def test_the_first_read_is_recorded_and_repeats_make_one_entry_when_the_window_closes() -> None:
    repeats, stored, clock = windows()

    assert repeats.admit(read(seconds=0)) is True
    for second in range(1, 10):
        clock.now = second
        assert repeats.admit(read(seconds=second)) is False
    assert repeats.flush() == 0  # still open
    clock.now = 61
    assert repeats.flush() == 1

    (summary,) = stored
    assert (summary.count, summary.at, summary.last_at) == (
        9,
        NOW + timedelta(seconds=1),
        NOW + timedelta(seconds=9),
    )
    assert summary.audit_id != read().audit_id


def test_a_read_after_the_window_records_the_summary_and_opens_a_new_window() -> None:
    repeats, stored, clock = windows()
    repeats.admit(read(seconds=0))
    clock.now = 5
    repeats.admit(read(seconds=5))
    clock.now = 70

    assert repeats.admit(read(seconds=70)) is True

    assert [s.count for s in stored] == [1]


def test_other_identities_records_and_outcomes_are_never_merged() -> None:
    repeats, _, _ = windows()
    first = read()
    assert repeats.admit(first) is True
    assert repeats.admit(read(actor="sup-2")) is True
    assert repeats.admit(read(incident="inc-2")) is True
    assert repeats.admit(replace(first, purpose="court order")) is True
    assert repeats.admit(replace(first, status=404)) is True
    assert repeats.admit(read()) is False


def test_stopping_records_every_open_window_and_no_window_means_every_read() -> None:
    repeats, stored, _ = windows()
    repeats.admit(read())
    repeats.admit(read(seconds=1))
    assert repeats.flush(everything=True) == 1
    assert stored[0].count == 1

    never, _, _ = windows(window_s=0)
    assert all(never.admit(read()) for _ in range(3))


def test_a_summary_whose_write_failed_is_written_on_the_next_flush() -> None:
    attempts: list[Entry] = []

    def flaky(entry: Entry) -> None:
        attempts.append(entry)
        if len(attempts) == 1:
            raise OSError("store unavailable")

    clock = Clock()
    repeats = RepeatWindows(10, flaky, clock)
    repeats.admit(read())
    repeats.admit(read(seconds=1))
    clock.now = 11
    with pytest.raises(OSError, match="store unavailable"):
        repeats.flush()
    assert repeats.flush() == 1
    assert attempts[0] is attempts[1]
