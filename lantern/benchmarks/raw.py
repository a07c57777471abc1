"""The raw layers, measured in the same run as the system: what Lantern cannot go below.

* one eventsourcing commit of one new aggregate (one event) on the store;
* one JetStream hop: a publish awaiting its acknowledgement, then the delivery
  to a consumer (the time from publish to delivery);
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


def sqlite_app(directory: Path) -> Application[Any]:
    from eventsourcing.cryptography import AESCipher

    return Application(
        env={
            "PERSISTENCE_MODULE": "eventsourcing.sqlite",
            "SQLITE_DBNAME": str(directory / f"raw-{uuid.uuid4().hex[:6]}.sqlite"),
            "CIPHER_TOPIC": "eventsourcing.cryptography:AESCipher",
            "CIPHER_KEY": AESCipher.create_key(32),
            "COMPRESSOR_TOPIC": "eventsourcing.compressor:ZlibCompressor",
        }
    )


def commit_ms(count: int = 1000) -> tuple[float, float]:
    """(median milliseconds per commit, commits per second) on SQLite with Lantern's cipher."""
    app = sqlite_app(Path(tempfile.mkdtemp(prefix="lantern-raw-")))
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


def read_per_s(count: int = 20_000) -> float:
    """Notifications read and decoded from the log per second (the rebuild floor)."""
    app = sqlite_app(Path(tempfile.mkdtemp(prefix="lantern-raw-")))
    try:
        batch = [Probe(n) for n in range(count)]
        app.save(*batch)
        began = time.perf_counter()
        position, read = 0, 0
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


async def hop_ms(nats_url: str, count: int = 300) -> tuple[float, float]:
    """(median milliseconds publish -> delivery, acknowledged publishes per second)."""
    nc = await nats.connect(nats_url, **natsurl.options(nats_url))
    js = nc.jetstream()
    name = f"RAW{uuid.uuid4().hex[:8].upper()}"
    await js.add_stream(StreamConfig(name=name, subjects=[f"{name.lower()}.>"]))
    arrived: asyncio.Queue[float] = asyncio.Queue()

    async def on_message(msg: Any) -> None:
        arrived.put_nowait(time.perf_counter())
        await msg.ack()

    sub = await js.subscribe(f"{name.lower()}.x", cb=on_message, manual_ack=True)
    try:
        times = []
        for n in range(count):
            started = time.perf_counter()
            await js.publish(f"{name.lower()}.x", str(n).encode())
            times.append(await asyncio.wait_for(arrived.get(), 5) - started)
        began = time.perf_counter()
        for n in range(count):
            await js.publish(f"{name.lower()}.x", str(n).encode())
        rate = count / (time.perf_counter() - began)
        return statistics.median(times) * 1000, rate
    finally:
        await sub.unsubscribe()
        await js.delete_stream(name)
        await nc.close()


def layers(nats_url: str) -> dict[str, float]:
    commit, commits = commit_ms()
    hop, publishes = asyncio.run(hop_ms(nats_url))
    return {
        "raw_commit_ms": round(commit, 3),
        "raw_commit_per_s": round(commits, 1),
        "raw_hop_ms": round(hop, 3),
        "raw_publish_per_s": round(publishes, 1),
        "raw_read_per_s": round(read_per_s(), 1),
        "raw_floor_ms": round(2 * commit + 2 * hop, 3),
    }
