"""The raw layers, measured in the same run as the system: what Lantern cannot go below.

* one eventsourcing commit of one new aggregate (one event) on the store;
* one JetStream hop: a publish awaiting its acknowledgement, then the delivery
  of that message to a pull consumer (a fetch of one message, acknowledged);
* reading and decoding notifications from the store's log.

``raw_floor_ms`` = two commits and two hops: the report's commit at intake and
its publish, the assignment's commit at dispatch and its publish.  Every
latency figure is also reported as a ratio to it, which holds on a noisy machine.
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import nats
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate
from nats.js.api import StreamConfig

from plumbing.messaging import natsurl


class Probe(Aggregate):
    def __init__(self, n: int) -> None:
        self.n = n


def sqlite_app(directory: Path, store: dict[str, str] | None = None) -> Application[Any]:
    """A bare eventsourcing application with Lantern's cipher and compressor.

    On SQLite (the default) a new file under ``directory``; ``store`` replaces the
    persistence keys, e.g. PostgreSQL's (``POSTGRES_*``, a schema of the caller's).
    """
    from eventsourcing.cryptography import AESCipher

    persistence = store or {
        "PERSISTENCE_MODULE": "eventsourcing.sqlite",
        "SQLITE_DBNAME": str(directory / f"raw-{uuid.uuid4().hex[:6]}.sqlite"),
    }
    return Application(
        env={
            **persistence,
            "CIPHER_TOPIC": "eventsourcing.cryptography:AESCipher",
            "CIPHER_KEY": AESCipher.create_key(32),
            "COMPRESSOR_TOPIC": "eventsourcing.compressor:ZlibCompressor",
        }
    )


def commit_ms(count: int = 1000, store: dict[str, str] | None = None) -> tuple[float, float]:
    """(median milliseconds per commit, commits per second) with Lantern's cipher."""
    app = sqlite_app(Path(tempfile.mkdtemp(prefix="lantern-raw-")), store)
    try:
        times = []
        began = time.perf_counter()
        for n in range(count):
            started = time.perf_counter()
            app.save(Probe(n))
            times.append(time.perf_counter() - started)
        rate = count / (time.perf_counter() - began)
        return statistics.median(times) * 1000, rate
    finally:
        app.close()


def read_per_s(count: int = 20_000, store: dict[str, str] | None = None) -> float:
    """Notifications read and decoded from the log per second (the rebuild floor)."""
    app = sqlite_app(Path(tempfile.mkdtemp(prefix="lantern-raw-")), store)
    try:
        # on a shared store (a PostgreSQL schema) read only this call's own events
        position = app.recorder.max_notification_id() or 0
        batch = [Probe(n) for n in range(count)]
        app.save(*batch)
        began = time.perf_counter()
        read = 0
        while True:
            rows = app.recorder.select_notifications(position, 1000, inclusive_of_start=False)
            for n in rows:
                app.mapper.to_domain_event(n)
            read += len(rows)
            if len(rows) < 1000:
                break
            position = rows[-1].id
        return read / (time.perf_counter() - began)
    finally:
        app.close()


async def hop_ms(nats_url: str, count: int = 300) -> dict[str, float]:
    """One JetStream hop, measured: a publish awaiting its ack, a pull consumer's fetch.

    Figures: median milliseconds of the publish (to its acknowledgement), of the
    delivery (a fetch of that one message, acknowledged), their sum; and awaited
    publishes per second.
    """
    nc = await nats.connect(nats_url, **natsurl.options(nats_url))
    js = nc.jetstream()
    name = f"RAW{uuid.uuid4().hex[:8].upper()}"
    subject = f"{name.lower()}.x"
    await js.add_stream(StreamConfig(name=name, subjects=[f"{name.lower()}.>"]))
    pull = await js.pull_subscribe(subject, durable="raw")
    try:
        publish, deliver, hop = [], [], []
        for n in range(count):
            started = time.perf_counter()
            await js.publish(subject, str(n).encode())
            published = time.perf_counter()
            (msg,) = await pull.fetch(1, timeout=5)
            await msg.ack()
            delivered = time.perf_counter()
            publish.append(published - started)
            deliver.append(delivered - published)
            hop.append(delivered - started)
        began = time.perf_counter()
        for n in range(count):
            await js.publish(subject, str(n).encode())
        rate = count / (time.perf_counter() - began)
        return {
            "publish_ms": statistics.median(publish) * 1000,
            "delivery_ms": statistics.median(deliver) * 1000,
            "hop_ms": statistics.median(hop) * 1000,
            "publish_per_s": rate,
        }
    finally:
        await pull.unsubscribe()
        await js.delete_stream(name)
        await nc.close()


def layers(
    nats_url: str, store: dict[str, str] | None = None, *, commits: int = 1000, reads: int = 20_000
) -> dict[str, float]:
    """Every raw layer once, on ``store`` (SQLite by default) and the given NATS server."""
    commit, commit_rate = commit_ms(commits, store)
    hop = asyncio.run(hop_ms(nats_url))
    return {
        "raw_commit_ms": round(commit, 3),
        "raw_commit_per_s": round(commit_rate, 1),
        "raw_publish_ms": round(hop["publish_ms"], 3),
        "raw_delivery_ms": round(hop["delivery_ms"], 3),
        "raw_hop_ms": round(hop["hop_ms"], 3),
        "raw_publish_per_s": round(hop["publish_per_s"], 1),
        "raw_read_per_s": round(read_per_s(reads, store), 1),
        "raw_floor_ms": round(2 * commit + 2 * hop["hop_ms"], 3),
    }
