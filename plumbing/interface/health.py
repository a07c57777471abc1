"""``/healthz`` (the process is alive) and ``/readyz`` (it can do its work now).

``/readyz`` answers 503 with the reasons when any of these holds, and 200
otherwise; the body always lists every check, and *alarms*: things that need a
person although work goes on (parked messages, quarantined timers).

* NATS is not connected, or a stream or the lease bucket it needs is missing;
* the store does not answer within two seconds;
* the relay (where this instance holds its lease) is stopped on a regression,
  or stalled for longer than ``GRACE_S``, or lags more than ``MAX_LAG`` events;
* a consumer lane this instance holds is stalled longer than ``GRACE_S``
  (a hole it waits for, or its store unreachable), or has more than ``MAX_LAG``
  messages pending;
* a deadline ticker cannot reach its store.

So every skip, park or stall is in a log line and here.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import anyio

from plumbing.messaging.host import RELAY, MessagingHost
from plumbing.store.application import LanternApplication
from plumbing.timers import Ticker

GRACE_S = 5.0
MAX_LAG = 10_000


@dataclass
class Readiness:
    ready: bool = True
    problems: list[str] = field(default_factory=list)
    alarms: list[str] = field(default_factory=list)
    checks: dict[str, Any] = field(default_factory=dict)

    def problem(self, text: str) -> None:
        self.ready = False
        self.problems.append(text)

    def body(self, service: str) -> dict[str, Any]:
        return {
            "service": service,
            "ready": self.ready,
            "problems": self.problems,
            "alarms": self.alarms,
            "checks": self.checks,
        }


async def readiness(
    app: LanternApplication, host: MessagingHost, tickers: list[Ticker]
) -> Readiness:
    r = Readiness()
    now = time.monotonic()
    r.checks["nats"] = "connected" if host.connected else "not connected"
    if not host.connected:
        r.problem("nats: not connected")
    if host.waiting_for:
        r.problem(host.waiting_for)
    await _store(app, r)
    _relay(host, r, now)
    _lanes(host, r, now)
    for ticker in tickers:
        entry: dict[str, Any] = {"fired": ticker.fired, "quarantined": len(ticker.quarantine)}
        if ticker.stalled:
            entry["stalled"] = ticker.stalled
            r.problem(f"{ticker.name}: {ticker.stalled}")
        for q in ticker.quarantine.values():
            r.alarms.append(f"{ticker.name}: timer {q.key} due {q.due_at} quarantined: {q.reason}")
        r.checks[ticker.name] = entry
    return r


async def _store(app: LanternApplication, r: Readiness) -> None:
    try:
        with anyio.fail_after(2.0):
            position = await anyio.to_thread.run_sync(app.max_position, abandon_on_cancel=True)
    except Exception as exc:  # noqa: BLE001 - any failure means unreachable
        r.checks["store"] = "unreachable"
        r.problem(f"store unreachable: {type(exc).__name__}")
        return
    r.checks["store"] = {"reachable": True, "position": position}


def _relay(host: MessagingHost, r: Readiness, now: float) -> None:
    relay = host.relay
    if relay is None:
        return
    s = relay.status
    if not host.holds(RELAY):
        r.checks["relay"] = {"state": "standby (another instance publishes, or none yet)"}
        return
    r.checks["relay"] = {
        "state": s.state,
        "reason": s.reason or None,
        "position": s.position,
        "stream_seq": s.stream_seq,
        "published": s.published,
        "lag": s.lag,
    }
    if s.state == "stopped":
        r.problem(f"relay stopped: {s.reason}")
    elif s.state == "stalled" and now - s.since > GRACE_S:
        r.problem(f"relay stalled: {s.reason}")
    if s.lag > MAX_LAG:
        r.problem(f"relay lags {s.lag} events")


def _lanes(host: MessagingHost, r: Readiness, now: float) -> None:
    lanes: dict[str, Any] = {}
    for unit, lane in sorted(host.lanes.items()):
        s = lane.status
        held = host.holds(unit)
        lanes[unit] = {
            "held": held,
            "epoch": s.epoch or None,
            "position": s.position,
            "processed": s.processed,
            "parked": s.parked,
            "duplicates": s.duplicates,
            "redeliveries": s.redeliveries,
            "pending": s.pending,
            "stalled": s.stalled or None,
        }
        if s.parked:
            r.alarms.append(f"{unit}: {s.parked} message(s) parked (lantern dlq list)")
        if not held:
            continue
        if s.stalled and now - s.stalled_since > GRACE_S:
            r.problem(f"{unit} stalled: {s.stalled}")
        if s.pending > MAX_LAG:
            r.problem(f"{unit} has {s.pending} messages pending")
    if host.keeper is not None:
        r.checks["leases"] = {
            "owner": host.keeper.owner,
            "instances": host.keeper.instances,
            "held": sorted(u for u in host.keeper.units if host.holds(u)),
        }
    r.checks["lanes"] = lanes
