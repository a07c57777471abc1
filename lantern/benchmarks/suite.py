"""``lantern bench``: the whole suite in one run, beside the raw layers measured in that run.

Stages (each reuses the benchmark module that measures it on its own):

1. the system as ``make up`` starts it (``lantern up --demo``, on the chosen store):
   the raw layers on its NATS server and a store of the same kind
   (:mod:`lantern.benchmarks.raw`), report-to-assigned latency at each rate
   (:mod:`~lantern.benchmarks.latency`), full lifecycles sustained
   (:mod:`~lantern.benchmarks.lifecycle`);
2. backlog drain per consumer kind (:mod:`~lantern.benchmarks.drain`, chosen store);
3. timer lateness with pending deadlines (:mod:`~lantern.benchmarks.timers`, SQLite);
4. timeline queries as records' store grows (:mod:`~lantern.benchmarks.timeline`), the
   same store grown on to the large size, then records restarted on it (time to ready,
   memory) and its read model rebuilt from scratch (SQLite);
5. a history through the real pipeline, then every service restarted on it: memory per
   service (:mod:`~lantern.benchmarks.scale`, SQLite).

Sizes that differ from the issue's are recorded in ``sizes`` with the reason; every
``met`` is computed from the figures (see :mod:`lantern.benchmarks.verdicts`).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import platform
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass, fields, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from events.subjects import Subjects
from lantern import natsserver
from lantern.benchmarks import drain, latency, lifecycle, raw, scale, timeline, timers
from lantern.benchmarks.verdicts import verdicts
from plumbing.messaging.host import connect
from plumbing.messaging.streams import provision


@dataclass(frozen=True)
class Sizes:
    """How much each stage does.  FULL follows the issue where it fits in 15 minutes."""

    rates: tuple[int, ...] = (50, 100, 200, 400)
    rate_seconds: float = 10
    lifecycles: int = 500
    lifecycle_concurrency: int = 16
    drain_reports: int = 5000
    timer_pending: int = 10_000
    timer_due: int = 1000
    timer_window_s: float = 20
    timeline_sizes: tuple[int, int] = (10_000, 100_000)
    timeline_queries: int = 2000
    store_events: int = 1_000_000
    history_incidents: int = 5000
    raw_commits: int = 1000
    raw_reads: int = 20_000


FULL = Sizes()
QUICK = Sizes(
    rate_seconds=2,
    lifecycles=100,
    lifecycle_concurrency=8,
    drain_reports=1000,
    timer_pending=2000,
    timer_due=200,
    timer_window_s=5,
    timeline_sizes=(1000, 10_000),
    timeline_queries=1000,
    store_events=100_000,
    history_incidents=300,
    raw_commits=500,
    raw_reads=10_000,
)


def sized(base: Sizes, override: dict[str, Any]) -> Sizes:
    """``base`` with some sizes replaced (the tests' tiny run); unknown names are refused."""
    known = {f.name for f in fields(Sizes)}
    unknown = set(override) - known
    if unknown:
        raise ValueError(f"unknown sizes: {sorted(unknown)}")
    converted: dict[str, Any] = {
        k: tuple(v) if isinstance(v, list) else v for k, v in override.items()
    }
    return replace(base, **converted)


class Stages:
    """Numbered progress lines on stderr, with the time each stage took."""

    def __init__(self, total: int) -> None:
        self.total, self.done, self.began = total, 0, time.monotonic()
        self.seconds: dict[str, float] = {}

    @contextlib.contextmanager
    def stage(self, name: str) -> Iterator[None]:
        self.done += 1
        print(f"[{self.done}/{self.total}] {name} ...", file=sys.stderr, flush=True)
        started = time.monotonic()
        yield
        took = time.monotonic() - started
        self.seconds[name] = round(took, 1)
        print(
            f"[{self.done}/{self.total}] {name}: {took:.1f} s "
            f"(total {time.monotonic() - self.began:.0f} s)",
            file=sys.stderr,
            flush=True,
        )


def run(sizes: Sizes, store: str, quick: bool, postgres_dsn: str = drain.PG_DSN) -> dict[str, Any]:
    """Every stage, with its scratch stores (a full run writes over a gigabyte) removed after."""
    with tempfile.TemporaryDirectory(prefix="lantern-bench-", ignore_cleanup_errors=True) as tmp:
        before, tempfile.tempdir = tempfile.tempdir, tmp  # every stage's mkdtemp goes under tmp
        try:
            return all_stages(sizes, store, quick, postgres_dsn)
        finally:
            tempfile.tempdir = before


def all_stages(sizes: Sizes, store: str, quick: bool, postgres_dsn: str) -> dict[str, Any]:
    stages = Stages(5)
    began = time.monotonic()
    figures: dict[str, Any] = {}
    with stages.stage("system: raw layers, report-to-assigned curve, lifecycles"):
        figures |= system_stage(sizes, store, postgres_dsn)
    with stages.stage("drain per consumer kind"):
        figures |= drain_stage(sizes, store)
    with stages.stage(f"timers: {sizes.timer_pending:,} pending deadlines"):
        figures |= timers_stage(sizes)
    with stages.stage("timeline, then records' store grown, restarted and rebuilt"):
        figures |= records_stage(sizes)
    with stages.stage(f"history of {sizes.history_incidents:,} incidents; every service restarted"):
        figures |= history_stage(sizes)
    result = {
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {platform.python_implementation()} "
        f"{platform.python_version()}",
        "mode": "quick" if quick else "full",
        "store": store,
        "seconds_total": round(time.monotonic() - began, 1),
        "stage_seconds": stages.seconds,
        "sizes": {**asdict(sizes), **sizes_actual(figures, quick)},
        **figures,
    }
    result["targets"] = verdicts(result)
    return result


def sizes_actual(figures: dict[str, Any], quick: bool) -> dict[str, Any]:
    """What was really measured, against what the issue asks for."""
    return {
        "reduced": quick,
        "note": (
            "--quick: every stage smaller than the issue's sizes"
            if quick
            else "issue sizes, except: the pipeline history behind every service's memory and "
            "restart (history.incidents; records' memory and restart are also measured at "
            "restart.incidents), reports per rate (rate_seconds), timer window (timer_window_s)"
        ),
        "store_events_actual": figures["restart"]["events_stored"],
        "store_incidents_actual": figures["restart"]["incidents"],
    }


def system_stage(sizes: Sizes, store: str, dsn: str) -> dict[str, Any]:
    with latency.running(store, dsn) as (info, workdir):
        nats_url = str(info["nats_url"])
        with raw_store(store, dsn) as env:
            layers = raw.layers(nats_url, env, commits=sizes.raw_commits, reads=sizes.raw_reads)
        floor = layers["raw_floor_ms"]
        # lifecycles first: the curve's top rates overload the system and leave a backlog;
        # each point of the curve starts when every consumer has caught up (latency.quiet)
        lives = asyncio.run(
            lifecycle.sustained(
                info,
                latency.token_for(workdir),
                latency.token_for(workdir, "admin"),
                sizes.lifecycles,
                sizes.lifecycle_concurrency,
            )
        )
        points = latency.curve(
            info, latency.token_for(workdir), list(sizes.rates), sizes.rate_seconds, floor
        )
    headline = next((p for p in points if p["rate_per_s"] == 100), points[0])
    return {
        "raw_floor_ms": floor,
        "raw_commit_per_s": layers["raw_commit_per_s"],
        "raw_read_per_s": layers["raw_read_per_s"],
        "raw": layers,
        "report_to_assigned": {
            "rate_per_s": headline["rate_per_s"],
            "p50_ms": headline["latency_ms_p50"],
            "p95_ms": headline["latency_ms_p95"],
            "p99_ms": headline["latency_ms_p99"],
            "ratio_p50_to_floor": headline["ratio_p50_to_floor"],
            "curve": points,
        },
        "lifecycle_per_s": lives["per_s"],
        "lifecycle": lives,
    }


@contextlib.contextmanager
def raw_store(store: str, dsn: str) -> Iterator[dict[str, str] | None]:
    """Persistence keys for the raw layers: a new SQLite file (None), or a PostgreSQL schema."""
    if store != "postgres":
        yield None
        return
    import psycopg

    schema = f"bench_raw_{time.time_ns() % 10**9}"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    parts = dict(p.split("=", 1) for p in dsn.split())
    try:
        yield {
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "POSTGRES_DBNAME": parts.get("dbname", "postgres"),
            "POSTGRES_HOST": parts.get("host", "127.0.0.1"),
            "POSTGRES_PORT": parts.get("port", "5432"),
            "POSTGRES_USER": parts.get("user", "postgres"),
            "POSTGRES_PASSWORD": parts.get("password", ""),
            "POSTGRES_SCHEMA": schema,
        }
    finally:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


def drain_stage(sizes: Sizes, store: str) -> dict[str, Any]:
    measured = asyncio.run(drain.main_async(sizes.drain_reports, store))
    return {
        "drain_per_s": {
            "dispatch": measured["dispatch_drain"]["per_s"],
            "records": measured["records_drain"]["per_s"],
        },
        "drain": measured,
    }


def timers_stage(sizes: Sizes) -> dict[str, Any]:
    lead = 3 + sizes.timer_pending * 0.002  # the set-up takes about 0.5-1.5 ms a deadline here
    measured = timers.run(sizes.timer_pending, sizes.timer_due, sizes.timer_window_s, lead)
    return {"timer_lateness_p99_ms": measured["lateness_ms_p99"], "timers": measured}


def records_stage(sizes: Sizes) -> dict[str, Any]:
    """Timeline at two sizes; the store grown to ``store_events``; restart; rebuild."""
    workdir = Path(tempfile.mkdtemp(prefix="lantern-records-"))
    app = timeline.application("sqlite", "", workdir)
    try:
        rows, ids = timeline.grow(app, list(sizes.timeline_sizes), sizes.timeline_queries)
        incidents, events = rows[-1]["incidents"], rows[-1]["events"]
        if events < sizes.store_events:
            more = math.ceil((sizes.store_events - events) / (events / incidents))
            ids += [uuid.uuid4() for _ in range(more)]
            timeline.seed(app, ids, incidents, incidents + more)
            incidents += more
        events = app.recorder.max_notification_id()
    finally:
        app.close()
    restarted = asyncio.run(restart_records(workdir))
    app = timeline.application("sqlite", "", workdir)
    try:
        rebuilt = scale.rebuild_view(app, app.measures_view)
    finally:
        app.close()
    # the rebuild's floor on its own store (SQLite), whatever --store the system used
    read_floor = raw.read_per_s(sizes.raw_reads)
    ratio = rows[-1]["p99_ms"] / rows[0]["p99_ms"]
    return {
        "timeline_p99_ms": {str(r["incidents"]): r["p99_ms"] for r in rows},
        "timeline": {"store": "sqlite", "rows": rows, "p99_ratio": round(ratio, 3)},
        "restart_to_ready_s": restarted["restart_to_ready_s"],
        "restart": {
            "service": "records",
            "store": "sqlite",
            "incidents": incidents,
            "events_stored": events,
            **restarted,
        },
        "rebuild_events_per_s": rebuilt["rebuild_events_per_s"],
        "rebuild": {"store": "sqlite", **rebuilt, "raw_read_per_s": round(read_floor, 1)},
    }


async def restart_records(workdir: Path) -> dict[str, Any]:
    port = natsserver.free_port()
    server = natsserver.start(port=port, store_dir=workdir / "js", log_file=workdir / "nats.log")
    nats_url = natsserver.url_for(port)
    try:
        nc = await connect(nats_url)
        await provision(nc.jetstream(), Subjects("bench"))
        await nc.close()
        return await scale.restart_one("records", workdir, nats_url)
    finally:
        server.terminate()
        server.wait(10)


def history_stage(sizes: Sizes) -> dict[str, Any]:
    measured = asyncio.run(scale.main_async(sizes.history_incidents))
    rss = measured["rss_mb"]
    return {
        "rss_mb": rss,
        "history": {
            "store": "sqlite",
            "incidents": measured["incidents"],
            "events_stored": measured["events_stored"],
            "seconds": measured["seconds"],
            "all_services_restart_to_ready_s": measured["restart_to_ready_s"],
            "report_to_assigned_after_restart_s": measured["report_to_assigned_after_restart_s"],
            "dispatch_board_rebuild_events_per_s": measured["rebuild_events_per_s"],
        },
    }
