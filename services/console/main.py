"""Composition root of the console: NatsClient (operations and streams), the web app, its server."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import nats
import uvicorn
from nats.aio.client import Client as NatsClient
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from events.subjects import Subjects
from plumbing import logs
from plumbing.access import keys, trust
from plumbing.messaging import natsurl
from plumbing.settings import Settings
from services.console import (
    audit_page,
    board_page,
    dispatches_page,
    guards,
    incident_page,
    live,
    report_page,
    reports_page,
    signin,
)
from services.console.config import ConsoleSettings
from services.console.feed import Feed
from services.console.gateway import Gateway
from services.console.guards import BodyLimit
from services.console.sessions import COOKIE, SessionStore
from services.console.web import HERE, HOME, Console

log = logs.get("lantern.console")


class StaticAssets(StaticFiles):
    """Assets change with the code; a day of caching keeps a phone's second load tiny."""

    def file_response(self, *args: Any, **kwargs: Any) -> Response:
        response = super().file_response(*args, **kwargs)
        response.headers["Cache-Control"] = "public, max-age=86400"
        return response


class SecurityHeaders:
    """Every response: no sniffing, no framing, same-origin assets and scripts only."""

    def __init__(self, app: ASGIApp, form_action: str = "") -> None:
        self.app = app
        self.headers = [
            (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", b"same-origin"),
            (b"x-frame-options", b"DENY"),
            (
                b"content-security-policy",
                (
                    "default-src 'self'; img-src 'self' data:; style-src 'self'; "
                    "script-src 'self'; connect-src 'self'; frame-ancestors 'none'; "
                    f"form-action 'self' {form_action}".strip()
                ).encode(),
            ),
        ]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *self.headers]
            await send(message)

        await self.app(scope, receive, with_headers)


def app(console: Console) -> Starlette:
    async def health(_: Request) -> Response:
        return JSONResponse(
            {
                "service": "console",
                "nats_connected": console.gateway is not None and console.gateway.nc.is_connected,
                "caught_up": console.feed.ready,
                "positions": console.feed.positions,
                "sessions": len(console.sessions),
            }
        )

    async def alive(_: Request) -> Response:
        return JSONResponse({"service": "console", "alive": True})

    async def ready(_: Request) -> Response:
        """503 with the reasons while the console cannot show live, complete pages."""
        problems = []
        if console.gateway is None or not console.gateway.nc.is_connected:
            problems.append("nats is not connected")
        if not console.feed.ready:
            problems.append("still reading the event streams")
        status = 503 if problems else 200
        return JSONResponse(
            {"service": "console", "ready": not problems, "problems": problems}, status
        )

    async def home(request: Request) -> Response:
        session = console.sessions.get(request.cookies.get(COOKIE))
        if session is None or session.person is None:
            return RedirectResponse("/signin", 303)
        return RedirectResponse(HOME[session.person.role], 303)

    routes = [
        Route("/", home),
        Route("/health", health),
        Route("/healthz", alive),
        Route("/readyz", ready),
        *signin.routes,
        *report_page.routes,
        *dispatches_page.routes,
        *board_page.routes,
        *incident_page.routes,
        *reports_page.routes,
        *audit_page.routes,
        *live.routes,
        Mount("/static", StaticAssets(directory=str(HERE / "static")), name="static"),
    ]
    web = Starlette(
        routes=routes,
        middleware=[
            Middleware(SecurityHeaders, form_action=console.settings.oidc_issuer),
            Middleware(BodyLimit, limit=console.settings.base.max_request_bytes),
            Middleware(GZipMiddleware, minimum_size=500),
        ],
        exception_handlers=guards.exception_handlers(),
    )
    web.state.console = console

    return web


@dataclass
class ConsoleProcess:
    """What ``lantern serve console`` runs: the same shape as a service process."""

    settings: Settings
    console: Console
    nc: NatsClient | None = None
    tasks: list[asyncio.Task[Any]] = field(default_factory=list)

    async def run(self, stop: asyncio.Event | None = None) -> None:
        stop = stop or asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, stop.set)
        server = uvicorn.Server(
            uvicorn.Config(
                app(self.console),
                host=self.settings.http_host,
                port=self.settings.http_port,
                log_config=None,
                access_log=False,
                lifespan="off",
                timeout_graceful_shutdown=2,
            )
        )
        http_task = asyncio.create_task(server.serve())
        nats_task = asyncio.create_task(self._nats(stop))
        sweeper = asyncio.create_task(self._sweep(stop))
        log.info(
            "console started", http=f"http://{self.settings.http_host}:{self.settings.http_port}"
        )
        stopped = asyncio.create_task(stop.wait())
        await asyncio.wait([stopped, http_task], return_when=asyncio.FIRST_COMPLETED)
        stop.set()
        server.should_exit = True
        with contextlib.suppress(Exception):
            await asyncio.wait_for(asyncio.gather(http_task, nats_task, sweeper), timeout=10)
        if self.nc is not None:
            with contextlib.suppress(Exception):
                await self.nc.close()
        log.info("console stopped")

    async def _nats(self, stop: asyncio.Event) -> None:
        cs = self.console.settings
        while not stop.is_set():
            try:
                options: dict[str, Any] = {
                    "allow_reconnect": True,
                    "max_reconnect_attempts": -1,
                    "reconnect_time_wait": 1,
                    "connect_timeout": 2,
                }
                options["inbox_prefix"] = cs.inbox_prefix or natsurl.inbox_prefix(cs.nats_url)
                options.update(natsurl.tls_options())  # TLS as every Lantern connection
                self.nc = await nats.connect(cs.nats_url, **options)
                break
            except Exception as exc:  # noqa: BLE001 - NatsClient not up yet: retry
                log.warning("nats unavailable; will retry", error=repr(exc))
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=1)
        if self.nc is None:
            return
        self.console.gateway = Gateway(
            self.nc, Subjects(self.settings.prefix, self.settings.partitions)
        )
        await self.console.feed.run(self.nc, stop)

    async def _sweep(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=60)
            self.console.sessions.sweep()


def build(settings: Settings) -> ConsoleProcess:
    cs = ConsoleSettings.from_settings(settings)
    issuer = trust.issuer(settings)
    if issuer is None:  # the console signs its users' tokens: it is an issuer
        raise keys.KeyFileError(
            "the console needs the issuer's signing key (LANTERN_SIGNING_KEY, mode 0600)"
        )
    console = Console(
        settings=cs,
        issuer=issuer,
        sessions=SessionStore(
            idle=timedelta(minutes=cs.idle_minutes), lifetime=timedelta(hours=cs.max_hours)
        ),
        feed=Feed(Subjects(settings.prefix, settings.partitions)),
    )
    console.oauth = signin.oauth_registry(console)
    return ConsoleProcess(settings=settings, console=console)
