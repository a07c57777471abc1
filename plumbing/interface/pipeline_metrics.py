"""The delivery pipeline's figures on ``/metrics``: relay lag, consumer lag, redeliveries, parks.

Read from what the relay and each lane already keep (``status``) when Prometheus
scrapes, so nothing is counted twice and no hot path pays for it:

* ``lantern_relay_lag_events``: events stored but not yet published (this
  instance's relay, when it holds the relay's lease);
* ``lantern_relay_published_total``: messages the relay has published;
* ``lantern_relay_stopped``: 1 while the relay is stopped on a regression;
* ``lantern_consumer_pending_messages{unit}``: messages in the stream not yet
  delivered to the lane (its lag);
* ``lantern_consumer_processed_total{unit}``, ``..._redeliveries_total{unit}``,
  ``..._duplicates_total{unit}``;
* ``lantern_dead_letters_total{unit,}``: messages a lane parked;
* ``lantern_timers_quarantined{ticker}``.
"""

from __future__ import annotations

from plumbing.interface.metrics import Metrics
from plumbing.messaging.host import RELAY, MessagingHost
from plumbing.timers import Ticker


def register(metrics: Metrics, host: MessagingHost, tickers: list[Ticker]) -> None:
    lag = metrics.gauge("relay_lag_events", "Events stored but not yet published")
    published = metrics.gauge("relay_published_total", "Messages the relay published")
    stopped = metrics.gauge("relay_stopped", "1 while the relay is stopped on a regression")
    pending = metrics.gauge(
        "consumer_pending_messages", "Messages not yet delivered to a lane", ("unit",)
    )
    processed = metrics.gauge("consumer_processed_total", "Messages a lane decided", ("unit",))
    redelivered = metrics.gauge(
        "consumer_redeliveries_total", "Messages delivered again to a lane", ("unit",)
    )
    duplicates = metrics.gauge(
        "consumer_duplicates_total", "Messages a lane had already applied", ("unit",)
    )
    parked = metrics.gauge("dead_letters_total", "Messages a lane parked", ("unit",))
    quarantined = metrics.gauge("timers_quarantined", "Timers set aside after failing", ("ticker",))

    def refresh() -> None:
        relay = host.relay
        if relay is not None and host.holds(RELAY):
            lag.set(relay.status.lag)
            published.set(relay.status.published)
            stopped.set(1 if relay.status.state == "stopped" else 0)
        for unit, lane in host.lanes.items():
            s = lane.status
            pending.labels(unit).set(s.pending)
            processed.labels(unit).set(s.processed)
            redelivered.labels(unit).set(s.redeliveries)
            duplicates.labels(unit).set(s.duplicates)
            parked.labels(unit).set(s.parked)
        for ticker in tickers:
            quarantined.labels(ticker.name).set(len(ticker.quarantine))

    metrics.on_scrape(refresh)
