"""Runs one service process: its application, its HTTP API and its NATS side.

The HTTP API starts first and never depends on NATS, so reports are accepted
while the broker is down.  SIGTERM and SIGINT stop everything cleanly.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from plumbing import logs, redaction
from plumbing.integrity.chainer import Chainer
from plumbing.interface import pipeline_metrics
from plumbing.interface.health import readiness
from plumbing.interface.http import refused, reply
from plumbing.interface.metrics import Metrics
from plumbing.messaging.host import MessagingHost
from plumbing.messaging.wakeup import ListenWaker
from plumbing.settings import Settings
from plumbing.store.application import LanternApplication
from plumbing.timers import Ticker

log = logs.get("lantern.host")


@dataclass
class ServiceProcess:
    settings: Settings
    app: LanternApplication
    routes: list[BaseRoute]
    messaging: MessagingHost
    #: Work that runs beside HTTP and NATS until stop (renewed-risk reports...).
    background: list[Callable[[asyncio.Event], Coroutine[Any, Any, None]]] = field(
        default_factory=list
    )
    #: Deadline tickers (run as lease-held singletons of the messaging host), for /readyz.
    tickers: list[Ticker] = field(default_factory=list)
    #: this process's Prometheus registry and ``/metrics`` (``plumbing.interface.metrics``)
    metrics: Metrics | None = None

    def __post_init__(self) -> None:
        if self.metrics is None:
            self.metrics = Metrics(self.settings.service)
        stored = self.metrics.gauge(
            "events_stored", "Position of the newest event in this service's store"
        )
        recorder = self.app.recorder
        self.metrics.on_scrape(lambda: stored.set(recorder.max_notification_id() or 0))
        pipeline_metrics.register(self.metrics, self.messaging, self.tickers)

    def asgi(self) -> Any:
        async def alive(_: Request) -> Response:
            return reply({"service": self.settings.service, "alive": True})

        async def ready(_: Request) -> Response:
            found = await readiness(self.app, self.messaging, self.tickers)
            return reply(found.body(self.settings.service), 200 if found.ready else 503)

        async def health(_: Request) -> Response:
            relay = self.messaging.relay
            return reply(
                {
                    "service": self.settings.service,
                    "nats_connected": self.messaging.connected,
                    "relay_position": relay.status.position if relay else None,
                    "published": relay.status.published if relay else None,
                }
            )

        assert self.metrics is not None
        routes = [
            Route("/healthz", alive),
            Route("/readyz", ready),
            Route("/health", health),
            *self.routes,
            *self.metrics.routes(),
        ]
        # 404 (no such path) and 405 (a method the path does not take) as ErrorV1 too
        app = Starlette(routes=routes, exception_handlers={HTTPException: refused})
        return self.metrics.middleware(app, routes)

    async def run(self, stop: asyncio.Event | None = None) -> None:
        stop = stop or asyncio.Event()
        chainer = Chainer.for_settings(self.settings)  # tamper evidence for every store
        if chainer is not None:  # one chainer per store: a singleton under a lease
            self.messaging.singletons.setdefault("chainer", chainer.run)
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, stop.set)
        waker: ListenWaker | None = None
        if self.messaging.relay is not None:
            self.messaging.relay.attach(loop)
            if self.settings.store == "postgres":
                waker = ListenWaker(self.app, self.messaging.relay.wake)
                waker.start()
        server = uvicorn.Server(
            uvicorn.Config(
                self.asgi(),
                host=self.settings.http_host,
                port=self.settings.http_port,
                log_config=None,
                access_log=False,
                lifespan="off",
            )
        )
        http_task = asyncio.create_task(server.serve())
        nats_task = asyncio.create_task(self.messaging.run(stop))
        others = [asyncio.create_task(work(stop)) for work in self.background]

        log.info(
            "service started",
            http=f"http://{self.settings.http_host}:{self.settings.http_port}",
            nats=redaction.redact(self.settings.nats_url),
            store=self.settings.store,
        )
        stopped = asyncio.create_task(stop.wait())
        await asyncio.wait([stopped, http_task], return_when=asyncio.FIRST_COMPLETED)
        stop.set()
        chain_holder = self.messaging.may_run_singleton("chainer")  # asked before leases go
        server.should_exit = True
        with contextlib.suppress(Exception):
            await asyncio.wait_for(asyncio.gather(http_task, nats_task, *others), timeout=10)
        if waker is not None:
            waker.stop()
        if chainer is not None:  # everything has stopped writing: anchor the last of it
            await chainer.finish(holder=chain_holder)
        self.app.close()
        log.info("service stopped")
