"""Dispatch's figures for Prometheus: dispatches by state, and how long acknowledgements take.

Both are read from the dispatch board when ``/metrics`` is scraped, so nothing
is counted on the crisis path, and a restart loses nothing: the histogram is
filled from every acknowledgement the store holds, each observed once.
"""

from __future__ import annotations

from datetime import datetime

from plumbing.interface.metrics import Metrics
from services.dispatch.application import DispatchApplication

STATES = (
    "assigned",
    "acknowledged",
    "declined",
    "escalated",
    "en_route",
    "with_student",
    "stabilized",
    "handed_off",
    "resolved",
    "stood_down",
    "cancelled",
)


def register(metrics: Metrics, app: DispatchApplication) -> None:
    by_state = metrics.gauge("dispatches", "Dispatches by their current state", ("state",))
    to_ack = metrics.histogram(
        "dispatch_time_to_acknowledge_seconds",
        "Seconds from a responder being paged to their acknowledgement",
    )
    observed: set[str] = set()

    def refresh() -> None:
        counts = dict.fromkeys(STATES, 0)
        for row in app.dispatches():
            counts[row["state"]] = counts.get(row["state"], 0) + 1
            acknowledged = row.get("acknowledged_at")
            if acknowledged and row["dispatch_id"] not in observed:
                observed.add(row["dispatch_id"])
                waited = datetime.fromisoformat(acknowledged) - datetime.fromisoformat(
                    row["assigned_at"]
                )
                to_ack.observe(max(0.0, waited.total_seconds()))
        for state, count in counts.items():
            by_state.labels(state).set(count)

    metrics.on_scrape(refresh)
