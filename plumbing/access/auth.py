"""Who is asking: identities with roles, carried by HMAC-signed bearer tokens.

Why signed tokens and not a user database: every service must check every
request on its own (HTTP and NATS alike) without calling another service, and a
district already has an identity provider that can mint tokens.  A token is
``v1.<claims>.<signature>``: base64url JSON claims, HMAC-SHA256 over them with
the district secret (``LANTERN_AUTH_SECRET``).  Any service holding the secret
verifies it locally, in microseconds.

Claims: ``sub`` (the person), ``role``, ``schools`` (a supervisor's or
responder's schools), ``iat``/``exp`` and, for break-the-glass, ``bg`` =
``{"reason", "until"}``: emergency access beyond the role that expires on its
own and is flagged for review in the audit trail.

The same header carries the token on every interface: ``Authorization: Bearer
<token>`` on HTTP and on NATS request-reply (NATS headers), and the CLI sends
it for you (see ``lantern/cli_auth.py``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path

AUTH_HEADER = "Authorization"
PURPOSE_HEADER = "X-Lantern-Purpose"
INTERFACE_HEADER = "X-Lantern-Interface"  # the CLI says "cli"; HTTP and NATS are known anyway
DEV_SECRET_FILE = "auth.secret"  # noqa: S105 - a file name, not a secret
#: The longest a break-the-glass grant may last, whatever is asked for.
MAX_BREAK_GLASS = timedelta(hours=1)


class Role(StrEnum):
    REPORTER = "reporter"  # any staff member: reports, reads only what they reported
    RESPONDER = "responder"  # trained responder: incidents they were dispatched to
    SUPERVISOR = "supervisor"  # crisis supervisor: incidents of their schools
    COMPLIANCE = "compliance"  # records/privacy officer: reads, audit, records; no operations
    ADMIN = "admin"  # district administrator: roster, schools, configuration


class AuthError(Exception):
    """The request carries no valid identity (401)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Identity:
    subject: str
    role: Role
    schools: tuple[str, ...] = ()
    expires_at: datetime | None = None
    break_glass_reason: str = ""
    break_glass_until: datetime | None = None
    claims: Mapping[str, object] = field(default_factory=dict, compare=False, repr=False)

    def break_glass_active(self, now: datetime) -> bool:
        return bool(self.break_glass_reason) and (
            self.break_glass_until is not None and now < self.break_glass_until
        )


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _sign(secret: bytes, payload: str) -> str:
    return _b64(hmac.new(secret, payload.encode(), hashlib.sha256).digest())


def issue(
    secret: bytes,
    *,
    subject: str,
    role: Role | str,
    schools: tuple[str, ...] | list[str] = (),
    ttl: timedelta = timedelta(hours=8),
    now: datetime | None = None,
    break_glass_reason: str = "",
    break_glass_for: timedelta | None = None,
) -> str:
    """A signed token; a break-the-glass grant never outlives the token or one hour."""
    now = now or datetime.now(UTC)
    claims: dict[str, object] = {
        "sub": subject,
        "role": str(Role(role)),
        "schools": list(schools),
        "iat": int(now.timestamp()),
        "exp": int((now + ttl).timestamp()),
    }
    if break_glass_reason:
        span = min(break_glass_for or MAX_BREAK_GLASS, MAX_BREAK_GLASS, ttl)
        claims["bg"] = {"reason": break_glass_reason, "until": int((now + span).timestamp())}
    payload = _b64(json.dumps(claims, separators=(",", ":"), sort_keys=True).encode())
    return f"v1.{payload}.{_sign(secret, payload)}"


def verify(secret: bytes, token: str, now: datetime | None = None) -> Identity:
    """The identity a token carries, or :class:`AuthError` (bad signature, expired, malformed)."""
    now = now or datetime.now(UTC)
    try:
        version, payload, signature = token.split(".")
    except ValueError:
        raise AuthError("malformed token") from None
    if version != "v1" or not hmac.compare_digest(signature, _sign(secret, payload)):
        raise AuthError("invalid token signature")
    try:
        claims = json.loads(_unb64(payload))
        expires = datetime.fromtimestamp(int(claims["exp"]), UTC)
        role = Role(claims["role"])
        subject = str(claims["sub"])
    except (ValueError, KeyError, TypeError):
        raise AuthError("malformed token claims") from None
    if now >= expires:
        raise AuthError("token expired")
    bg = claims.get("bg") or {}
    return Identity(
        subject=subject,
        role=role,
        schools=tuple(str(s) for s in claims.get("schools", [])),
        expires_at=expires,
        break_glass_reason=str(bg.get("reason", "")),
        break_glass_until=datetime.fromtimestamp(int(bg["until"]), UTC) if bg else None,
        claims=claims,
    )


def bearer(headers: Mapping[str, str]) -> str:
    """The token of an ``Authorization: Bearer`` header (any case), or ''."""
    for key, value in headers.items():
        if key.lower() == AUTH_HEADER.lower():
            scheme, _, token = value.partition(" ")
            return token.strip() if scheme.lower() == "bearer" else ""
    return ""


def header(headers: Mapping[str, str], name: str) -> str:
    lowered = name.lower()
    return next((v for k, v in headers.items() if k.lower() == lowered), "")


# -- the district secret ----------------------------------------------------------------------
class SecretMissing(ValueError):
    pass


def dev_secret_file(data_dir: Path, name: str, make: str) -> str:
    """Read ``data_dir/name``, creating it (mode 0600, race-free) with ``make`` if absent.

    Development mode only: a fresh clone works with no setup, and every process
    of one ``lantern up`` (and the CLI) finds the same value.
    """
    path = data_dir / name
    data_dir.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(make)
    return make


def auth_secret(configured: str, *, dev_mode: bool, data_dir: Path) -> bytes:
    """The district secret: configured, or (development mode only) one kept under the data dir."""
    if configured:
        return configured.encode()
    if not dev_mode:
        raise SecretMissing(
            "LANTERN_AUTH_SECRET is required outside development mode (LANTERN_DEV_MODE=0)"
        )
    return dev_secret_file(data_dir, DEV_SECRET_FILE, secrets.token_urlsafe(32)).encode()
