"""A small HTTP client for the services' JSON APIs (stdlib only, so the CLI starts fast)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any


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


def use_token(token: str) -> None:
    """Send this bearer token with every request that brings none (seeding, scenarios)."""
    global _token  # one identity per CLI or supervisor process
    _token = token


def request(
    method: str,
    url: str,
    body: Any = None,
    headers: dict[str, str] | None = None,
    timeout: float = 10.0,
) -> Any:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method)  # noqa: S310 - our own service
    req.add_header("Content-Type", "application/json")
    for key, value in (headers or {}).items():
        req.add_header(key, value)
    if _token and not req.has_header("Authorization"):
        req.add_header("Authorization", f"Bearer {_token}")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as response:  # noqa: S310
            return json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        try:
            payload = json.loads(exc.read() or b"{}")
        except ValueError:
            payload = {}
        raise ServiceError(
            exc.code, str(payload.get("error", exc.reason)), payload.get("field")
        ) from None
    except (urllib.error.URLError, ConnectionError, TimeoutError) as exc:
        raise Unreachable(f"{url}: {getattr(exc, 'reason', exc)}") from None
