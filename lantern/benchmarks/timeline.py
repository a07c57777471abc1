"""Benchmark: timeline query latency with 10,000 and with 100,000 incidents stored.

The requirement: p99 at 100,000 incidents within 1.5x of p99 at 10,000,
because a timeline query loads one incident's own events by primary key and
so does not grow with the store.

Seeding writes straight through the records application in batches (the
same ``absorb`` + ``record`` a consumer uses, minus NATS), eight published
events per incident across intake, dispatch and follow-up.  Queries go
through ``RecordsApplication.timeline``, the code behind
``GET /incidents/{id}/timeline`` and ``lantern timeline``.

    python -m lantern.benchmarks.timeline [--sizes 10000 100000] [--queries 2000]
        [--store sqlite|postgres] [--dsn DSN] [--out bench/results/timeline.json]
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import msgspec
import psycopg

from events import headers as h
from events.dispatch import (
    DispatchAcknowledgedV1,
    DispatchStatusChangedV1,
    ResponderAssignedV1,
    ResponderPagedV1,
)
from events.followup import PlanOpenedV1
from events.intake import IncidentReportedV1
from events.records import ShowTimelineV1
from events.vocabulary import Category, RiskLevel
from lantern.benchmarks.common import progress
from plumbing.settings import Settings
from plumbing.store.select import store_env
from services.records.application import RecordsApplication

T0 = datetime(2026, 9, 1, 8, 0, tzinfo=UTC)
BATCH = 500  # incidents per record() call


def story(n: int, incident: UUID) -> Iterator[tuple[str, msgspec.Struct, dict[str, str]]]:
    """Eight published events about one synthetic incident, with their headers."""
    start = T0 + timedelta(minutes=n)
    dispatch_id = uuid4()
    school = f"s{n % 50}"
    student = f"stu-{n}"
    responder = f"r-{n % 200}"

    def at(s: float) -> datetime:
        return start + timedelta(seconds=s)

    events: list[tuple[str, msgspec.Struct, float]] = [
        (
            "intake",
            IncidentReportedV1(
                incident_id=incident,
                school_id=school,
                student_ref=student,
                categories=[Category.ACUTE_DISTRESS],
                risk=RiskLevel.MODERATE,
                reported_at=at(0),
            ),
            0,
        ),
        (
            "dispatch",
            ResponderAssignedV1(
                incident_id=incident,
                dispatch_id=dispatch_id,
                responder_id=responder,
                school_id=school,
                risk=RiskLevel.MODERATE,
                assigned_at=at(0.2),
                rule="on_call",
            ),
            0.2,
        ),
        (
            "dispatch",
            ResponderPagedV1(
                dispatch_id=dispatch_id,
                incident_id=incident,
                responder_id=responder,
                kind="page",
                school_id=school,
                risk=RiskLevel.MODERATE,
                ack_deadline=at(300),
            ),
            0.3,
        ),
        (
            "dispatch",
            DispatchAcknowledgedV1(
                incident_id=incident, dispatch_id=dispatch_id, responder_id=responder, at=at(60)
            ),
            60,
        ),
    ]
    for i, status in enumerate(("en_route", "with_student", "stabilized")):
        events.append(
            (
                "dispatch",
                DispatchStatusChangedV1(
                    incident_id=incident,
                    dispatch_id=dispatch_id,
                    responder_id=responder,
                    school_id=school,
                    student_ref=student,
                    risk=RiskLevel.MODERATE,
                    status=status,
                    at=at(120 + 300 * i),
                ),
                120 + 300 * i,
            )
        )
    events.append(
        (
            "followup",
            PlanOpenedV1(
                plan_id=uuid4(),
                incident_id=incident,
                school_id=school,
                student_ref=student,
                risk=RiskLevel.MODERATE,
                owner_id=responder,
                protocol_version=1,
                checkins=3,
                opened_at=at(721),
            ),
            721,
        )
    )
    for version, (service, message, offset) in enumerate(events, start=1):
        yield (
            service,
            message,
            {
                h.MSG_ID: f"{service}/{incident}/{version}",
                h.SOURCE: service,
                h.POSITION: str(n * 10 + version),
                h.RECORDED_AT: at(offset + 0.01).isoformat(),
                h.CAUSATION_ID: f"http:{n}-{version}",
                h.CORRELATION_ID: f"corr-{n}",
            },
        )


def seed(app: RecordsApplication, ids: list[UUID], first: int, last: int) -> float:
    """Store incidents ``first``..``last - 1``; returns seconds taken."""
    began = time.perf_counter()
    started = time.monotonic()
    for batch_start in range(first, last, BATCH):
        batch_end = min(last, batch_start + BATCH)
        messages = [m for n in range(batch_start, batch_end) for m in story(n, ids[n])]
        app.record(*app.absorb(messages))
        progress(f"seeding to {last:,} incidents", batch_end - first, last - first, started)
    return time.perf_counter() - began


def measure(app: RecordsApplication, ids: list[UUID], queries: int) -> dict[str, Any]:
    """Latency of timeline queries for random stored incidents (after a warm-up)."""
    rng = random.Random(7)
    for incident in rng.sample(ids, min(200, len(ids))):
        app.timeline(ShowTimelineV1(incident_id=incident))
    samples = []
    started = time.monotonic()
    for i in range(queries):
        incident = ids[rng.randrange(len(ids))]
        began = time.perf_counter()
        body = app.timeline(ShowTimelineV1(incident_id=incident))
        samples.append((time.perf_counter() - began) * 1000)
        assert len(body["entries"]) == 8
        if i % 200 == 0 or i == queries - 1:
            progress("timeline queries", i + 1, queries, started)
    samples.sort()
    return {
        "queries": queries,
        "p50_ms": round(statistics.median(samples), 3),
        "p90_ms": round(samples[int(0.90 * (len(samples) - 1))], 3),
        "p99_ms": round(samples[int(0.99 * (len(samples) - 1))], 3),
        "max_ms": round(samples[-1], 3),
    }


def application(
    store: str, dsn: str, workdir: Path, drop: list[str] | None = None
) -> RecordsApplication:
    """Records' application on a fresh store; a PostgreSQL schema made is appended to ``drop``."""
    if store == "postgres":
        schema = f"bench_{uuid4().hex[:8]}"
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f"CREATE SCHEMA {schema}")
        if drop is not None:
            drop.append(schema)
        settings = Settings(
            service="records",
            store="postgres",
            postgres_dsn=dsn,
            postgres_schema=schema,
            dev_mode=True,  # a throw-away benchmark store: its key under the work dir
        )
    else:
        settings = Settings(service="records", store="sqlite", data_dir=workdir, dev_mode=True)
    return RecordsApplication(env=store_env(settings))


def grow(
    app: RecordsApplication, sizes: list[int], queries: int, ids: list[UUID] | None = None
) -> tuple[list[dict[str, Any]], list[UUID]]:
    """Seed up to each size in turn and measure timeline queries there; (rows, incident ids)."""
    sizes = sorted(sizes)
    ids = ids or [uuid4() for _ in range(sizes[-1])]
    results: list[dict[str, Any]] = []
    stored = 0
    for size in sizes:
        print(f"seeding up to {size:,} incidents", file=sys.stderr)
        seconds = seed(app, ids, stored, size)
        stored = size
        figures = measure(app, ids[:size], queries)
        results.append(
            {
                "incidents": size,
                "events": app.recorder.max_notification_id(),
                "seed_s": round(seconds, 1),
                **figures,
            }
        )
        print(json.dumps(results[-1]), file=sys.stderr, flush=True)
    return results, ids


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    p.add_argument("--queries", type=int, default=2000)
    p.add_argument("--store", choices=["sqlite", "postgres"], default="sqlite")
    p.add_argument("--dsn", default="host=127.0.0.1 port=5432 user=postgres dbname=test")
    p.add_argument("--out", default="bench/results/timeline.json")
    args = p.parse_args()
    with tempfile.TemporaryDirectory(prefix="lantern-bench-") as tmp:
        app = application(args.store, args.dsn, Path(tmp))
        try:
            results, _ = grow(app, args.sizes, args.queries)
        finally:
            app.close()
    ratio = results[-1]["p99_ms"] / results[0]["p99_ms"]
    report = {
        "benchmark": "timeline query latency vs store size",
        "store": args.store,
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.system()} {platform.machine()}, Python {platform.python_version()}",
        "results": results,
        "p99_ratio_largest_to_smallest": round(ratio, 3),
        "requirement": "p99 ratio <= 1.5",
        "passed": ratio <= 1.5,
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(
        f"p99 {results[0]['p99_ms']} ms at {results[0]['incidents']:,}; "
        f"{results[-1]['p99_ms']} ms at {results[-1]['incidents']:,}; ratio {ratio:.2f} "
        f"({'within' if ratio <= 1.5 else 'OVER'} 1.5x) -> {out}"
    )


if __name__ == "__main__":
    main()
