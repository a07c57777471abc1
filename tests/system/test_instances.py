"""Two instances of a service share its work; kill one with SIGKILL and the other takes over.

Dispatch and records each run twice (real processes) against one NATS and one
store.  They split the partitions between them (leases); under a stream of
reports one instance of each is killed: its partitions move to the survivor
within seconds, nothing is lost, nothing happens twice, and each incident's
events keep their order.  Then the pager: two dispatch instances with a
webhook never send one page twice; a dispatch killed after sending and before
recording sends the page again, with the same id.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest

from events.subjects import Subjects
from services.dispatch.domain.delivery import Delivery
from tests.harness import Harness, eventually
from tests.invariants import assert_invariants, events, open_app
from tests.processes import Served, route, serve
from tests.system.dispatch_fixtures import ROSTER, short_policy

pytestmark = [pytest.mark.system, pytest.mark.faults]


@pytest.fixture
async def harness(
    subjects: Subjects, nats_url: str, store: dict[str, str], clean_streams: None, tmp_path: Path
) -> AsyncIterator[Harness]:
    harness = Harness(subjects, nats_url, store, config_file=short_policy(tmp_path, 60))
    await harness.start("intake")
    await harness.call("POST", "intake", "/schools", {"school_id": "s0", "name": "S0"})
    yield harness
    await harness.stop_all()


async def held(served: Served) -> list[str]:
    body: Any = await served.readyz()
    return list(body["checks"].get("leases", {}).get("held", []))


async def split(a: Served, b: Served) -> bool:
    mine, theirs = set(await held(a)), set(await held(b))
    return bool(mine) and bool(theirs) and not mine & theirs


async def report_stream(harness: Harness, count: int, accepted: list[str]) -> None:
    for n in range(count):
        status, body = await harness.report(student_ref=f"stu-{n}", idempotency_key=f"k-{n}")
        assert status == 201, body
        accepted.append(body["incident_id"])
        await asyncio.sleep(0.02)


async def dispatched(harness: Harness, accepted: list[str]) -> bool:
    status, rows = await harness.call("GET", "dispatch", "/dispatches")
    return status == 200 and {r["incident_id"] for r in rows} >= set(accepted)


async def timelines_complete(harness: Harness, accepted: list[str]) -> bool:
    for incident in accepted:
        status, body = await harness.call("GET", "records", f"/incidents/{incident}/timeline")
        if status != 200 or len(body["entries"]) < 2:  # reported, and assigned
            return False
    return True


async def test_two_instances_split_the_work_and_a_killed_ones_partitions_move(
    harness: Harness, store: dict[str, str]
) -> None:
    dispatch = [serve(harness, "dispatch", "dispatch-a"), serve(harness, "dispatch", "dispatch-b")]
    records = [serve(harness, "records", "records-a"), serve(harness, "records", "records-b")]
    try:
        for served in (*dispatch, *records):
            await served.ready()
        route(harness, "dispatch", dispatch[1])
        route(harness, "records", records[1])
        status, body = await harness.call(
            "POST", "dispatch", "/roster/import", {"responders": ROSTER}
        )
        assert status == 201, body
        await eventually(lambda: split(*dispatch), 20)
        await eventually(lambda: split(*records), 20)

        accepted: list[str] = []
        load = asyncio.create_task(report_stream(harness, 150, accepted))
        await asyncio.sleep(1.5)
        dispatch[0].kill9()
        records[0].kill9()
        killed_at = time.monotonic()

        # the survivors hold every unit within seconds (while reports keep coming) ...
        units = await eventually(lambda: _all_units(dispatch[1]), 20)
        moved_after = time.monotonic() - killed_at
        await load
        assert moved_after < 12, moved_after
        assert "relay" in units
        assert "ticker" in units
        # ... and everything is applied
        await eventually(lambda: dispatched(harness, accepted), 30)
        await eventually(lambda: timelines_complete(harness, accepted), 60)
    finally:
        for served in (*dispatch, *records):
            served.stop()
        harness.running.pop("dispatch", None)
        harness.running.pop("records", None)

    assert_invariants({s: harness.settings(s) for s in ("intake", "dispatch")}, accepted)
    assert_order_kept(harness, accepted)


#: dispatch's units of work: four partitions, the relay, the ticker, the pager and the chainer
DISPATCH_UNITS = {
    *(f"dispatch-from-intake.p{p}" for p in range(4)),
    "relay",
    "ticker",
    "notifier",
    "chainer",
}


async def _all_units(served: Served) -> list[str] | None:
    units = await held(served)
    return units if set(units) == DISPATCH_UNITS else None


def assert_order_kept(harness: Harness, accepted: list[str]) -> None:
    """In records, each incident's entries from one service are in that service's order."""
    from services.records.application import RecordsApplication

    app = open_app(harness.settings("records"))
    assert isinstance(app, RecordsApplication)
    try:
        for incident in accepted:
            entries = app.entries(_uuid(incident))
            by_service: dict[str, list[str]] = {}
            for entry in entries:
                if entry.recorded_at is not None:
                    by_service.setdefault(entry.service, []).append(entry.recorded_at.isoformat())
            for service, times in by_service.items():
                assert times == sorted(times), (incident, service)
    finally:
        app.close()


def _uuid(text: str) -> Any:
    from uuid import UUID

    return UUID(text)


# -- the pager ------------------------------------------------------------------------------------
class Pages:
    """A webhook receiver; ``kill_on_first`` SIGKILLs a process when the first page arrives."""

    def __init__(self) -> None:
        self.keys: list[str] = []
        self.kill_on_first: Served | None = None
        self.lock = threading.Lock()


@pytest.fixture
def pages() -> Iterator[tuple[Pages, int]]:
    received = Pages()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            with received.lock:
                received.keys.append(self.headers["Idempotency-Key"])
                victim, received.kill_on_first = received.kill_on_first, None
            if victim is not None:  # the sender dies before it can record the delivery
                victim.kill9()
                return
            self.send_response(204)
            self.end_headers()

        def log_message(self, *_: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield received, server.server_address[1]
    server.shutdown()


def with_webhook(harness: Harness, tmp_path: Path, port: int) -> None:
    webhook = f'\n[dispatch.notifications.webhook]\nurl = "http://127.0.0.1:{port}/pages"\n'
    harness.config_file = short_policy(tmp_path, 60, webhook)


def deliveries(harness: Harness) -> dict[str, int]:
    app = open_app(harness.settings("dispatch"))
    counts: dict[str, int] = {}
    try:
        for e in events(app):
            if isinstance(e, Delivery.Recorded):
                counts[e.page_id] = counts.get(e.page_id, 0) + 1
    finally:
        app.close()
    return counts


async def test_two_pagers_never_send_one_page_twice(
    harness: Harness, tmp_path: Path, pages: tuple[Pages, int]
) -> None:
    received, port = pages
    with_webhook(harness, tmp_path, port)
    dispatch = [serve(harness, "dispatch", "dispatch-a"), serve(harness, "dispatch", "dispatch-b")]
    try:
        for served in dispatch:
            await served.ready()
        route(harness, "dispatch", dispatch[0])
        await harness.call("POST", "dispatch", "/roster/import", {"responders": ROSTER})
        accepted: list[str] = []
        await report_stream(harness, 20, accepted)
        await eventually(lambda: dispatched(harness, accepted), 20)
        await eventually(lambda: _at_least(received.keys, 20), 20)
        await asyncio.sleep(2)  # time enough for a second sender to (wrongly) send again
    finally:
        for served in dispatch:
            served.stop()
        harness.running.pop("dispatch", None)

    assert len(received.keys) == len(set(received.keys)) == 20
    assert set(deliveries(harness)) == set(received.keys)


async def _at_least(items: list[str], n: int) -> bool:
    return len(items) >= n


async def test_a_pager_killed_after_sending_sends_the_page_again_with_the_same_id(
    harness: Harness, tmp_path: Path, pages: tuple[Pages, int]
) -> None:
    received, port = pages
    with_webhook(harness, tmp_path, port)
    dispatch = serve(harness, "dispatch")
    try:
        await dispatch.ready()
        route(harness, "dispatch", dispatch)
        await harness.call("POST", "dispatch", "/roster/import", {"responders": ROSTER})
        received.kill_on_first = dispatch
        accepted: list[str] = []
        await report_stream(harness, 1, accepted)
        await eventually(lambda: _at_least(received.keys, 1), 20)
        assert dispatch.proc is not None
        dispatch.proc.wait(10)  # killed between sending and recording

        dispatch.start()
        await dispatch.ready()
        await eventually(lambda: _at_least(received.keys, 2), 20)
        await asyncio.sleep(1)
    finally:
        dispatch.stop()
        harness.running.pop("dispatch", None)

    first, again = received.keys
    assert first == again  # the same page, recognisable by the receiver: never lost
    assert deliveries(harness) == {first: 1}  # and recorded once
