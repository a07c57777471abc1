"""The services of a system test in a thread of their own, so synchronous code can drive them.

Hypothesis (and schemathesis, which builds on it) runs its examples in plain
functions; the stack runs in an event loop on another thread, started once for
a whole module.  Real NATS, SQLite stores, the test harness underneath.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
import uuid
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

import httpx
import nats
from nats.aio.client import Client
from nats.js.errors import NotFoundError

from events.subjects import DISPATCH, FOLLOWUP, INTAKE, RECORDS, Subjects
from plumbing.messaging.streams import delete_streams
from plumbing.settings import DEFAULT_MAX_REQUEST_BYTES
from tests.conftest import SYSTEM_NATS_URL
from tests.harness import Harness

T = TypeVar("T")
SERVICES = (INTAKE, DISPATCH, FOLLOWUP, RECORDS)


class ThreadedStack:
    """Intake, dispatch, follow-up and records, with an administrator's HTTP client."""

    def __init__(self, data_dir: Path, max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES) -> None:
        self.subjects = Subjects(f"lt{uuid.uuid4().hex[:10]}")
        store = {"store": "sqlite", "data_dir": str(data_dir)}
        self.harness = Harness(
            self.subjects, SYSTEM_NATS_URL, store, max_request_bytes=max_request_bytes
        )
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.nc: Client | None = None
        self.http = httpx.Client(timeout=10, headers=self.harness.headers())
        #: each service's OpenAPI document, as it serves it
        self.documents: dict[str, dict[str, Any]] = {}

    def run(self, coroutine: Coroutine[Any, Any, T], timeout: float = 60) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def url(self, service: str) -> str:
        return self.harness.running[service].url

    def start(self) -> None:
        async def start() -> None:
            for service in SERVICES:
                await self.harness.start(service)
            self.nc = await nats.connect(SYSTEM_NATS_URL)

        self.run(start())
        for service in SERVICES:
            self.documents[service] = self.http.get(f"{self.url(service)}/openapi.json").json()

    def stop(self) -> None:
        async def stop() -> None:
            await self.harness.stop_all()
            if self.nc is None:
                return
            js = self.nc.jetstream()
            await delete_streams(js, self.subjects)
            with contextlib.suppress(NotFoundError):
                await js.delete_stream(self.subjects.integrity_stream)
            await self.nc.close()

        self.http.close()
        try:
            self.run(stop())
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(timeout=10)

    def counts(self) -> tuple[int, ...]:
        """Each service's store position, and every message in the prefix's streams."""

        async def count() -> tuple[int, ...]:
            stored = [
                running.process.app.recorder.max_notification_id() or 0
                for running in self.harness.running.values()
            ]
            assert self.nc is not None
            streams = await self.nc.jetstream().streams_info()
            prefix = f"{self.subjects.prefix}.".lower()
            published = sum(
                info.state.messages
                for info in streams
                if all(s.lower().startswith(prefix) for s in info.config.subjects or ["-"])
            )
            return (*stored, published)

        return self.run(count())

    def settled(self) -> tuple[int, ...]:
        """The counts once start-up writes have been stored and published (a second apart)."""
        last, deadline = self.counts(), time.monotonic() + 60
        while time.monotonic() < deadline:
            time.sleep(1)
            now = self.counts()
            if now == last:
                return now
            last = now
        raise AssertionError(f"the stack kept writing after start-up: {last}")
