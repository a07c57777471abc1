"""When a responder is on call over a stretch of time: the intervals a calendar shows.

The same rule as :meth:`Responder.on_call` (the last override covering an
instant wins, else the weekly shifts in the responder's zone), evaluated at
every instant where the answer can change: shift starts and ends on each local
day, and override bounds.  So the calendar and the dispatcher never disagree.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

from services.dispatch.domain.roster import Responder, _minutes

Interval = tuple[datetime, datetime]


def on_call_intervals(responder: Responder, start: datetime, end: datetime) -> list[Interval]:
    """Maximal on-call intervals within ``[start, end)`` (aware datetimes, in UTC)."""
    if end <= start:
        return []
    points = {start, end}
    zone = ZoneInfo(responder.timezone)
    if responder.shifts is not None:
        day = start.astimezone(zone).date() - timedelta(days=1)
        while day <= end.astimezone(zone).date():
            midnight = datetime(day.year, day.month, day.day, tzinfo=zone)
            for shift in responder.shifts:
                for hhmm in (shift.start, shift.end):
                    at = (midnight + timedelta(minutes=_minutes(hhmm))).astimezone(start.tzinfo)
                    if start < at < end:
                        points.add(at)
            day += timedelta(days=1)
    for override in responder.overrides:
        points |= {p for p in (override.start, override.end) if start < p < end}
    ordered = sorted(points)
    intervals: list[Interval] = []
    for left, right in pairwise(ordered):
        if not responder.on_call(left):
            continue
        if intervals and intervals[-1][1] == left:
            intervals[-1] = (intervals[-1][0], right)
        else:
            intervals.append((left, right))
    return intervals
