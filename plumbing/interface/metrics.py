"""Prometheus metrics of one service process: one registry, one ``/metrics`` endpoint.

Each :class:`ServiceProcess` owns a :class:`Metrics` (its own
``CollectorRegistry``, so the services a test runs side by side in one
process never mix their figures).  Any code that is handed it registers what
it measures with the four calls below; nothing else needs to know Prometheus:

* :meth:`Metrics.counter` and :meth:`Metrics.gauge` for values the code updates
  as things happen (``.inc()``, ``.set()``);
* :meth:`Metrics.histogram` for durations;
* :meth:`Metrics.on_scrape` for values read from a read model when scraped
  (a gauge of dispatches by state, say), so no bookkeeping runs per request.

Names are prefixed ``lantern_``.  Each service serves its own ``/metrics``
(Prometheus' ``job``/``instance`` labels tell them apart; ``lantern_service_info``
names the service).  Every HTTP request is counted by operation and status here
(``lantern_http_requests_total``), and each store's newest event position is
exported as ``lantern_events_stored``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from plumbing import logs

log = logs.get("lantern.metrics")
PREFIX = "lantern_"
#: Seconds: from sub-second acknowledgements to the longest acknowledgement deadline (1 h).
TIME_BUCKETS = (1, 5, 15, 30, 60, 120, 300, 600, 900, 1800, 3600)


class Metrics:
    """The metrics of one service (see the module docstring for how to add one)."""

    def __init__(self, service: str) -> None:
        self.service = service
        self.registry = CollectorRegistry(auto_describe=True)
        self._refreshers: list[Callable[[], None]] = []
        self._lock = threading.Lock()
        self.gauge("service_info", "Which Lantern service this is", ("service",)).labels(
            service
        ).set(1)
        self.http_requests = self.counter(
            "http_requests_total",
            "HTTP requests answered, by operation and status",
            ("operation", "method", "status"),
        )

    # -- registering -----------------------------------------------------------------------------
    def _name(self, name: str) -> str:
        return name if name.startswith(PREFIX) else PREFIX + name

    def counter(self, name: str, doc: str, labels: Sequence[str] = ()) -> Counter:
        """A value that only goes up (``_total`` is added to the name by Prometheus' rules)."""
        return Counter(self._name(name).removesuffix("_total"), doc, labels, registry=self.registry)

    def gauge(self, name: str, doc: str, labels: Sequence[str] = ()) -> Gauge:
        """A value that goes up and down; set it as things happen, or from :meth:`on_scrape`."""
        return Gauge(self._name(name), doc, labels, registry=self.registry)

    def histogram(
        self,
        name: str,
        doc: str,
        labels: Sequence[str] = (),
        buckets: Iterable[float] = TIME_BUCKETS,
    ) -> Histogram:
        return Histogram(
            self._name(name),
            doc,
            labels,
            buckets=tuple(buckets),
            registry=self.registry,
        )

    def on_scrape(self, refresh: Callable[[], None]) -> None:
        """Run ``refresh`` (in a worker thread) before each scrape, to set gauges from a read model.

        A refresher that fails is logged and skipped: one broken figure must not
        hide every other one.
        """
        self._refreshers.append(refresh)

    # -- serving ----------------------------------------------------------------------------------
    def render(self) -> bytes:
        with self._lock:
            for refresh in self._refreshers:
                try:
                    refresh()
                except Exception as exc:  # noqa: BLE001 - reported, the rest still scraped
                    log.warning("metric refresh failed", error=repr(exc))
            return generate_latest(self.registry)

    def routes(self) -> list[BaseRoute]:
        async def endpoint(_: Request) -> Response:
            import anyio

            body = await anyio.to_thread.run_sync(self.render)
            return Response(body, media_type=CONTENT_TYPE_LATEST)

        return [Route("/metrics", endpoint, methods=["GET"], name="metrics")]

    def middleware(self, app: ASGIApp, routes: Sequence[BaseRoute]) -> ASGIApp:
        """Count every HTTP request by the operation that served it (``other`` when none did)."""
        names: dict[Any, str] = {
            getattr(r, "endpoint", None): r.name for r in routes if isinstance(r, Route)
        }
        counter = self.http_requests

        async def counted(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != "http":
                await app(scope, receive, send)
                return
            status = 500

            async def watch(message: Message) -> None:
                nonlocal status
                if message["type"] == "http.response.start":
                    status = int(message["status"])
                await send(message)

            try:
                await app(scope, receive, watch)
            finally:
                operation = names.get(scope.get("endpoint"), "other")
                counter.labels(operation, scope.get("method", ""), str(status)).inc()

        return counted
