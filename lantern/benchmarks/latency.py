"""Report-to-assigned latency on SQLite at fixed rates (default 100 reports/s for 60 s).

Starts the whole system as `make up` does (`lantern up --demo`: embedded
nats-server 2.15, SQLite stores, every service in its own process), then sends
reports over HTTP at a fixed rate and listens on NATS for each incident's
`dispatch.responder_assigned.v1`.  Latency = assignment event received minus
report request sent: the full path a reporter's report takes (HTTP, intake's
commit, outbox relay, JetStream, dispatch's tracked consumer and commit,
dispatch's relay, JetStream).

Beside it, in the same run: the raw floor, two SQLite commits plus two
JetStream publishes with acknowledgement and their deliveries (intake's commit,
its relay's publish, dispatch's commit, its relay's publish), so the figures
hold as ratios on a noisy machine.

    python -m lantern.benchmarks.latency [--rate 100 --rate 250] [--seconds 60]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import nats
import psycopg

from events.subjects import Subjects
from lantern import runfile
from lantern.benchmarks.common import percentile, progress, write
from lantern.benchmarks.raw import layers
from plumbing.access import trust
from plumbing.messaging import natsurl

SCHOOLS = ["maple-es", "cedar-ms", "birch-hs", "alder-hs", "willow-k8"]
CATEGORIES = ["acute_distress", "grief_trauma", "substance_use", "other", "self_harm"]
RISKS = ["low", "moderate", "high"]


async def drive(
    info: dict[str, object], rate: int, seconds: int, token: str, settle_s: float = 60
) -> dict[str, object]:
    urls = info["services"]
    assert isinstance(urls, dict)
    subjects = Subjects(str(info["prefix"]))
    sent: dict[str, float] = {}
    latencies: list[float] = []
    received_at: dict[str, float] = {}
    nc = await nats.connect(str(info["nats_url"]), **natsurl.options(str(info["nats_url"])))

    async def on_assigned(msg: object) -> None:
        data = json.loads(msg.data)  # type: ignore[attr-defined]
        received_at[data["incident_id"]] = time.perf_counter()

    await nc.subscribe(subjects.responder_assigned, cb=on_assigned)
    rng = random.Random(7)
    run = uuid.uuid4().hex[:6]
    total = rate * seconds
    pending: dict[int, float] = {}
    errors = 0
    async with httpx.AsyncClient(
        timeout=30,
        limits=httpx.Limits(max_connections=64),
        headers={"Authorization": f"Bearer {token}"},  # a reporter, as in real use
    ) as client:

        async def report(n: int) -> None:
            nonlocal errors
            started = time.perf_counter()
            body = {
                "school_id": SCHOOLS[n % len(SCHOOLS)],
                # one student per report: a second report about a student with an open
                # incident is linked to it, not assigned again
                "student_ref": f"stu-bench-{run}-{n:06d}",
                "categories": [rng.choice(CATEGORIES)],
                "risk": rng.choice(RISKS),
                "reporter_id": "staff-bench",
            }
            try:
                reply = await client.post(f"{urls['intake']}/incidents", json=body)
                reply.raise_for_status()
                sent[reply.json()["incident_id"]] = started
            except httpx.HTTPError:
                errors += 1
            pending.pop(n, None)

        began = time.perf_counter()
        tasks = []
        for n in range(total):
            due = began + n / rate
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            pending[n] = due
            tasks.append(asyncio.create_task(report(n)))
            if n % rate == 0:
                progress("reports sent", n, total, began)
        progress("reports sent", total, total, began)
        await asyncio.gather(*tasks)
        send_seconds = time.perf_counter() - began
    deadline = time.perf_counter() + settle_s
    while len(set(sent) & set(received_at)) < len(sent) and time.perf_counter() < deadline:
        await asyncio.sleep(0.2)
    await nc.close()
    for incident_id, started in sent.items():
        if incident_id in received_at:
            latencies.append((received_at[incident_id] - started) * 1000)
    return {
        "rate_per_s": rate,
        "seconds": seconds,
        "reports_sent": total,
        "reports_accepted": len(sent),
        "http_errors": errors,
        "assigned": len(latencies),
        "achieved_rate_per_s": round(total / send_seconds, 1),
        "latency_ms_p50": round(percentile(latencies, 50), 1),
        "latency_ms_p90": round(percentile(latencies, 90), 1),
        "latency_ms_p95": round(percentile(latencies, 95), 1),
        "latency_ms_p99": round(percentile(latencies, 99), 1),
        "latency_ms_max": round(max(latencies), 1) if latencies else None,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=int, action="append", help="reports/s (repeatable)")
    parser.add_argument("--seconds", type=int, default=60)
    args = parser.parse_args()
    write("latency", run(args.rate or [100, 250], args.seconds))
    return 0


@contextlib.contextmanager
def running(store: str = "sqlite", postgres_dsn: str = "") -> Iterator[tuple[dict[str, Any], Path]]:
    """The whole system as ``make up`` starts it (``lantern up --demo``); (run.json, data dir).

    On PostgreSQL, in a schema of its own, dropped afterwards.
    """
    workdir = Path(tempfile.mkdtemp(prefix="lantern-bench-"))
    argv = [sys.executable, "-m", "lantern.cli", "up", "--demo", "--data-dir", str(workdir)]
    schema = ""
    if store == "postgres":
        schema = f"bench_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(postgres_dsn, autocommit=True) as conn:
            conn.execute(f"CREATE SCHEMA {schema}")
        argv += ["--store", "postgres", "--postgres-dsn", postgres_dsn]
        argv += ["--postgres-schema", schema]
    up = subprocess.Popen(
        argv,
        stdout=subprocess.DEVNULL,
        stderr=(workdir / "up.log").open("wb"),
        env={**os.environ, "LANTERN_LOG_LEVEL": "WARNING"},
    )
    try:
        deadline = time.monotonic() + 120
        while not (workdir / "run.json").exists():
            if up.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"lantern up failed; see {workdir / 'up.log'}")
            time.sleep(0.1)
        yield runfile.read(workdir), workdir
    finally:
        up.send_signal(signal.SIGINT)
        up.wait(60)
        if schema:
            with psycopg.connect(postgres_dsn, autocommit=True) as conn:
                conn.execute(f"DROP SCHEMA {schema} CASCADE")


def token_for(workdir: Path, role: str = "reporter") -> str:
    issuer = trust.dev_issuer(workdir)  # the key pair `up --demo` made
    return issuer.issue(subject="staff-bench", role=role, ttl=timedelta(hours=1))


async def quiet(nats_url: str, timeout: float = 60) -> tuple[float, int]:
    """Wait until the durable JetStream consumers have nothing left to work on.

    Returns the seconds waited and the messages still pending or unacknowledged.
    A point of the curve then does not pay for the backlog the previous one left
    (records and follow-up run behind the crisis path). The wait ends when none
    are left, or when the count has not moved for 3 s (nothing is being worked
    off: a message held for redelivery, say), or after ``timeout``.
    """
    nc = await nats.connect(nats_url, **natsurl.options(nats_url))
    js = nc.jetstream()
    began = time.monotonic()
    last, moved = -1, time.monotonic()
    try:
        while True:
            busy = 0
            for stream in await js.streams_info():
                for consumer in await js.consumers_info(str(stream.config.name)):
                    if consumer.config.durable_name:
                        busy += (consumer.num_pending or 0) + (consumer.num_ack_pending or 0)
            if busy != last:
                last, moved = busy, time.monotonic()
            now = time.monotonic()
            if busy == 0 or now - moved > 3 or now - began > timeout:
                return now - began, busy
            await asyncio.sleep(0.25)
    finally:
        await nc.close()


def curve(
    info: dict[str, Any], token: str, rates: list[int], seconds: float, floor_ms: float
) -> list[dict[str, Any]]:
    """Report-to-assigned latency at each rate in turn, with its ratio to the raw floor."""
    points = []
    for rate in rates:
        waited, left = asyncio.run(quiet(str(info["nats_url"])))
        print(f"sending {rate} reports/s for {seconds} s", file=sys.stderr)
        figures = asyncio.run(drive(info, rate, max(1, round(seconds)), token, settle_s=30))
        figures["waited_for_quiet_s"] = round(waited, 1)
        figures["pending_at_start"] = left
        p50: Any = figures["latency_ms_p50"]
        figures["ratio_p50_to_floor"] = round(float(p50) / floor_ms, 2)
        points.append(figures)
    return points


def run(rates: list[int], seconds: int) -> dict[str, Any]:
    with running() as (info, workdir):
        raw = layers(str(info["nats_url"]))
        points = curve(info, token_for(workdir), rates, seconds, raw["raw_floor_ms"])
        return {
            "store": "sqlite",
            "nats_server": "2.15.1 (embedded, sync_interval always)",
            **raw,
            "curve": points,
            "targets": {"p99_ms_at_100_per_s": 25, "p50_to_floor": 3},
        }


if __name__ == "__main__":
    raise SystemExit(main())
