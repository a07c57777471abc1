"""Backlog drain: how fast a consumer works off a queue, beside the raw store commit rate.

1. N reports are stored at intake (application calls, no HTTP) and intake's
   relay publishes them while dispatch is stopped: a queue of N reports;
2. dispatch starts; its drain rate is the number of reports it decided, over
   the time from its first batch to its last, and its CPU per message;
3. records starts on every stream now holding intake's and dispatch's events
   (reports, assignments, pages, audit entries); its drain rate likewise.

Measured in the same run, on the same store type: the eventsourcing commit of
one new aggregate (one event) per transaction, the raw floor a
one-message-per-transaction consumer could not beat.

    python -m lantern.benchmarks.drain [--reports 10000] [--store sqlite|postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from eventsourcing.application import Application
from eventsourcing.domain import Aggregate

from events.dispatch import AddResponderV1
from events.intake import AddSchoolV1, ReportIncidentV1
from events.subjects import Subjects
from events.vocabulary import Category, ResponderRole, RiskLevel
from lantern import natsserver
from lantern.benchmarks.common import Meter, progress, write
from lantern.services import builder
from plumbing.access import keys
from plumbing.domain import Trace
from plumbing.interface.process import ServiceProcess
from plumbing.messaging.host import connect
from plumbing.messaging.streams import provision
from plumbing.settings import Settings
from plumbing.store.select import store_env

TRACE = Trace(actor="bench", correlation_id="bench", causation_id="bench")
PG_DSN = os.environ.get("LANTERN_BENCH_POSTGRES_DSN", "host=127.0.0.1 user=postgres dbname=test")


class Probe(Aggregate):
    def __init__(self, n: int) -> None:
        self.n = n


def raw_commit_per_s(settings: Settings, count: int = 2000) -> float:
    """eventsourcing: one new aggregate (one event) saved per transaction (same cipher)."""
    env = store_env(settings)
    if settings.store == "sqlite":
        env["SQLITE_DBNAME"] = str(settings.data_dir / "raw.sqlite")
    app: Application[Any] = Application(env={**env, "POSTGRES_SCHEMA": settings.postgres_schema})
    try:
        began = time.perf_counter()
        for n in range(count):
            app.save(Probe(n))
        return count / (time.perf_counter() - began)
    finally:
        app.close()


def settings_for(service: str, workdir: Path, nats_url: str, store: str, schema: str) -> Settings:
    return Settings(
        service=service,
        data_dir=workdir,
        nats_url=nats_url,
        prefix="bench",
        store=store,  # type: ignore[arg-type]
        postgres_dsn=PG_DSN if store == "postgres" else "",
        postgres_schema=schema,
        jwks=str(keys.dev_keys(workdir)[1]),  # a throw-away benchmark deployment
        dev_mode=True,
    )


def fill_intake(settings: Settings, reports: int) -> None:
    process = builder("intake")(settings)
    app: Any = process.app
    app.add_school(AddSchoolV1(school_id="s0", name="S0"), trace=TRACE)
    began = time.monotonic()
    for n in range(reports):
        app.report_incident(
            ReportIncidentV1(
                school_id="s0",
                student_ref=f"stu-{n:06d}",
                categories=[Category.ACUTE_DISTRESS],
                risk=RiskLevel.MODERATE,
                reporter_id="staff-bench",
            ),
            at=_now(),
            trace=TRACE,
        )
        if n % 500 == 0:
            progress("reports stored", n, reports, began)
    progress("reports stored", reports, reports, began)
    app.close()


def _now() -> Any:
    from datetime import UTC, datetime

    return datetime.now(UTC)


def seed_roster(settings: Settings) -> None:
    process = builder("dispatch")(settings)
    app: Any = process.app
    app.enroll_responders(
        [
            AddResponderV1(
                responder_id=f"co-{i}", name=f"C{i}", role=ResponderRole.COUNSELOR, schools=["s0"]
            )
            for i in range(20)
        ],
        trace=TRACE,
    )
    app.close()


async def run_until(process: ServiceProcess, done: Callable[[], bool], timeout: float) -> None:
    stop = asyncio.Event()
    task = asyncio.create_task(process.run(stop))
    deadline = time.monotonic() + timeout
    try:
        while not done() and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)


def caught_up(process: ServiceProcess) -> bool:
    relay = process.messaging.relay
    return relay is not None and relay.status.state == "idle" and relay.status.lag == 0


async def consumable(nats_url: str, subjects: Subjects, service: str) -> int:
    """Messages of a stream that records follows (its events and audit entries, not inboxes)."""
    nc = await connect(nats_url)
    try:
        js = nc.jetstream()
        total = 0
        for family in ("evt", "audit"):
            info = await js.stream_info(
                subjects.stream(service), subjects_filter=f"{subjects.prefix}.{family}.{service}.>"
            )
            total += sum((info.state.subjects or {}).values())
        return total
    finally:
        await nc.close()


async def drain(process: ServiceProcess, expected: int, label: str) -> dict[str, Any]:
    """Run a consumer until it decided ``expected`` messages; rate from first to last batch."""
    lanes = process.messaging.lanes
    meter = Meter()
    began = time.monotonic()

    def decided() -> int:
        return sum(lane.status.processed + lane.status.parked for lane in lanes.values())

    first: float | None = None
    shown = 0.0
    stop = asyncio.Event()
    task = asyncio.create_task(process.run(stop))
    try:
        while decided() < expected and time.monotonic() - began < 600:
            if first is None and decided() > 0:
                first = time.monotonic()
                meter.start()
            await asyncio.sleep(0.02)
            if time.monotonic() - shown > 1.0:
                shown = time.monotonic()
                progress(label, decided(), expected, began)
        last = time.monotonic()
        meter.stop()
        progress(label, decided(), expected, began)
    finally:
        stop.set()
        await asyncio.wait_for(task, 60)
    elapsed = last - (first or began)
    count = decided()
    return {
        "messages": count,
        "seconds": round(elapsed, 2),
        "per_s": round(count / elapsed, 1) if elapsed > 0 else None,
        "cpu_ms_per_message": round(meter.cpu_s * 1000 / count, 3) if count else None,
        "batches": sum(lane.status.batches for lane in lanes.values()),
    }


async def main_async(reports: int, store: str) -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix="lantern-drain-"))
    port = natsserver.free_port()
    server = natsserver.start(
        port=port, store_dir=workdir / "nats" / "js", log_file=workdir / "nats.log"
    )
    nats_url = natsserver.url_for(port)
    schema = f"bench_{uuid.uuid4().hex[:8]}" if store == "postgres" else ""
    if schema:
        import psycopg

        with psycopg.connect(PG_DSN, autocommit=True) as conn:
            conn.execute(f"CREATE SCHEMA {schema}")
    try:
        subjects = Subjects("bench")
        nc = await connect(nats_url)
        await provision(nc.jetstream(), subjects)
        await nc.close()
        intake = settings_for("intake", workdir, nats_url, store, schema)
        dispatch = settings_for("dispatch", workdir, nats_url, store, schema)
        records = settings_for("records", workdir, nats_url, store, schema)
        raw = raw_commit_per_s(settings_for("raw", workdir, nats_url, store, schema))
        print(f"raw commit: {raw:.0f}/s", file=sys.stderr, flush=True)
        fill_intake(intake, reports)
        seed_roster(dispatch)
        publishing = builder("intake")(intake)
        await run_until(publishing, lambda: caught_up(publishing), 300)
        dispatched = await drain(builder("dispatch")(dispatch), reports, "dispatch draining")
        # dispatch's relay publishes its events when it runs: run it until its stream holds them
        publishing_dispatch = builder("dispatch")(dispatch)
        await run_until(publishing_dispatch, lambda: caught_up(publishing_dispatch), 300)
        total = sum([await consumable(nats_url, subjects, s) for s in ("intake", "dispatch")])
        recorded = await drain(builder("records")(records), total, "records draining")
        return {
            "store": store,
            "reports": reports,
            "raw_commit_per_s": round(raw, 1),
            "dispatch_drain": dispatched,
            "records_drain": {**recorded, "streams_held": total},
            "targets": {"dispatch_per_s": 1500, "records_per_s": 3000},
        }
    finally:
        server.terminate()
        with contextlib.suppress(Exception):
            server.wait(10)
        if schema:
            import psycopg

            with psycopg.connect(PG_DSN, autocommit=True) as conn:
                conn.execute(f"DROP SCHEMA {schema} CASCADE")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reports", type=int, default=10_000)
    parser.add_argument("--store", choices=["sqlite", "postgres"], default="sqlite")
    args = parser.parse_args()
    from plumbing import logs

    logs.configure("bench", json=True, level="WARNING")
    figures = asyncio.run(main_async(args.reports, args.store))
    write(f"drain_{args.store}", figures)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
