"""Calling the services' public operations over NatsClient request-reply, as the signed-in person.

Every operation a service declares is served on ``<prefix>.cmd.<service>.<op>``
with the same JSON body as over HTTP, and answers with a ``Lantern-Status``
header (``plumbing.interface.commands``).  The console sends the person's own
short-lived token, so the service decides, and audits, exactly as for any
other client; the console never reaches around that.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import msgspec
from nats.aio.client import Client as NatsClient
from nats.errors import Error as NatsError

from events.subjects import Subjects
from plumbing.access.auth import AUTH_HEADER, PURPOSE_HEADER
from plumbing.interface.commands import STATUS_HEADER


@dataclass(frozen=True)
class Reply:
    status: int
    body: Any

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def error(self) -> str:
        return str(self.body.get("error", "")) if isinstance(self.body, dict) else ""

    @property
    def field(self) -> str | None:
        return self.body.get("field") if isinstance(self.body, dict) else None


class Gateway:
    def __init__(self, nc: NatsClient, subjects: Subjects, timeout: float = 5.0) -> None:
        self.nc = nc
        self.subjects = subjects
        self.timeout = timeout

    async def call(
        self, service: str, operation: str, body: Any, token: str, purpose: str = ""
    ) -> Reply:
        """One operation; an unreachable service is a 503 reply, not an exception."""
        headers = {AUTH_HEADER: f"Bearer {token}"}
        if purpose:
            headers[PURPOSE_HEADER] = purpose[:200]
        payload = msgspec.json.encode(body if body is not None else {})
        try:
            msg = await self.nc.request(
                self.subjects.command(service, operation),
                payload,
                timeout=self.timeout,
                headers=headers,
            )
        except NatsError:  # a timeout, no responders, or the connection down
            return Reply(503, {"error": f"{service} is not answering; try again in a moment"})
        status = int((msg.headers or {}).get(STATUS_HEADER, "200"))
        return Reply(status, msgspec.json.decode(msg.data) if msg.data else None)
