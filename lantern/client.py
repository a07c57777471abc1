"""The HTTP client of the CLI, the supervisor and the scripted scenarios (httpx).

One connection pool per process, kept for its life, so a scenario's hundreds
of requests do not each open a connection.  Refusals come back as
:class:`ServiceError` with the contract's ``error`` and ``field``; a service that
cannot be reached as :class:`Unreachable`.
"""

from __future__ import annotations

import threading
from typing import Any

import httpx


class ServiceError(Exception):
    """A service refused a request: carries the contract's ``error`` and ``field``."""

    def __init__(self, status: int, error: str, field: str | None = None) -> None:
        super().__init__(error)
        self.status = status
        self.error = error
        self.field = field


class Unreachable(Exception):
    pass


_token = ""
_client: httpx.Client | None = None
_client_lock = threading.Lock()


def use_token(token: str) -> None:
    """Send this bearer token with every request that brings none (seeding, scenarios)."""
    global _token  # one identity per CLI or supervisor process
    _token = token


def _shared() -> httpx.Client:
    global _client  # one pool per process
    with _client_lock:
        if _client is None:
            _client = httpx.Client(headers={"Content-Type": "application/json"})
        return _client


def request(
    method: str,
    url: str,
    body: Any = None,
    headers: dict[str, str] | None = None,
    timeout: float = 10.0,
) -> Any:
    sent = dict(headers or {})
    if _token and not any(k.lower() == "authorization" for k in sent):
        sent["Authorization"] = f"Bearer {_token}"
    try:
        response = _shared().request(method, url, json=body, headers=sent, timeout=timeout)
    except httpx.TransportError as exc:
        raise Unreachable(f"{url}: {exc or type(exc).__name__}") from None
    if response.is_error:
        try:
            payload = response.json()
        except ValueError:
            payload = {}
        payload = payload if isinstance(payload, dict) else {}
        raise ServiceError(
            response.status_code,
            str(payload.get("error", response.reason_phrase)),
            payload.get("field"),
        )
    return response.json() if response.content else None
