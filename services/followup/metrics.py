"""Follow-up's figures for Prometheus: check-ins by state, overdue ones first of all."""

from __future__ import annotations

from plumbing.interface.metrics import Metrics
from services.followup.application import FollowupApplication

STATES = ("scheduled", "due", "overdue", "completed", "no_show", "rescheduled")


def register(metrics: Metrics, app: FollowupApplication) -> None:
    overdue = metrics.gauge(
        "checkins_overdue", "Check-ins whose grace has passed without being held"
    )
    by_state = metrics.gauge("checkins", "Check-ins by their current state", ("state",))

    def refresh() -> None:
        counts = dict.fromkeys(STATES, 0)
        for plan in app.board.select(None, None):
            for checkin in plan["checkins"]:
                counts[checkin["state"]] = counts.get(checkin["state"], 0) + 1
        overdue.set(counts["overdue"])
        for state, count in counts.items():
            by_state.labels(state).set(count)

    metrics.on_scrape(refresh)
