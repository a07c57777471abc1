"""Who is asking: identities with roles, carried by standard JWTs (RFC 7519) signed with Ed25519.

Why signed tokens and not a user database: every service must check every
request on its own (HTTP and NATS alike) without calling another service, and a
district already has an identity provider that can issue tokens.  Why
asymmetric: only an *issuer* holds a private key (``lantern token``, the
console's sign-in, or the district's IdP); a service holds public keys only (a
JWKS, ``plumbing.access.keys``), so no service, however compromised, can create
an identity.

A token's claims (what a district IdP must put in the tokens it issues for
Lantern, see the README's security section):

* ``iss``: one of the configured issuers (``LANTERN_TOKEN_ISSUERS``);
* ``aud``: the Lantern audience (``LANTERN_TOKEN_AUDIENCE``, default ``lantern``);
* ``sub``: the person (the staff id the roster and incidents use);
* ``role``: ``reporter | responder | supervisor | compliance | admin`` (a string,
  or a list whose first Lantern role counts: an IdP's app roles);
* ``schools``: a supervisor's or responder's schools (list of school ids);
* ``exp``, ``nbf``, ``iat``: verified with :data:`LEEWAY` of clock skew;
* ``bg`` (break-the-glass only): ``{"reason", "until", "audit_id"}``, emergency
  access beyond the role, never beyond ``exp`` nor the policy's maximum;
* ``ops`` (delegations only, with ``role: service``): the operations a service
  may call on its own account (``DELEGATIONS``); nothing else.

The same header carries the token on every interface: ``Authorization: Bearer
<token>`` on HTTP and on NATS request-reply (NATS headers), and the CLI sends
it for you (see ``lantern/cli_auth.py``).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from plumbing.access import keys

AUTH_HEADER = "Authorization"
PURPOSE_HEADER = "X-Lantern-Purpose"
INTERFACE_HEADER = "X-Lantern-Interface"  # the CLI says "cli"; HTTP and NATS are known anyway
DEFAULT_ISSUER = "lantern"
DEFAULT_AUDIENCE = "lantern"
#: The longest a break-the-glass grant may last, unless the policy says less.
MAX_BREAK_GLASS = timedelta(hours=1)
#: Clock skew tolerated between an issuer and a service.
LEEWAY = timedelta(seconds=30)
#: How many verified tokens a service remembers (their signatures are not checked again).
VERIFIED_CACHE = 4096
#: What each service may do on its own account, and nothing more: a delegation
#: token the issuer provisions at deploy time (``lantern token --service NAME``).
DELEGATIONS: dict[str, tuple[str, ...]] = {
    # follow-up reports renewed risk found at a check-in as a new incident
    "followup": ("report_incident",),
    # dispatch's calendar feed lists a responder's open check-ins
    "dispatch": ("list_plans",),
}


class Role(StrEnum):
    REPORTER = "reporter"  # any staff member: reports, reads only what they reported
    RESPONDER = "responder"  # trained responder: incidents they were dispatched to
    SUPERVISOR = "supervisor"  # crisis supervisor: incidents of their schools
    COMPLIANCE = "compliance"  # records/privacy officer: reads, audit, records; no operations
    ADMIN = "admin"  # district administrator: roster, schools, configuration
    SERVICE = "service"  # a delegation: exactly the operations its token names (``ops``)


_ROLE_NAMES = frozenset(str(r) for r in Role)
#: The roles people have (a service's delegation is not one of them).
PEOPLE = frozenset(r for r in Role if r is not Role.SERVICE)


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
    #: the audit entry that recorded the grant (break-the-glass tokens only)
    break_glass_audit_id: str = ""
    #: a delegation's operations (role ``service`` only)
    operations: tuple[str, ...] = ()
    issuer: str = ""
    claims: Mapping[str, object] = field(default_factory=dict, compare=False, repr=False)

    @property
    def is_grant(self) -> bool:
        """A break-the-glass token (active or not): it may not ask for another."""
        return bool(self.break_glass_reason)

    def break_glass_active(self, now: datetime) -> bool:
        return bool(self.break_glass_reason) and (
            self.break_glass_until is not None and now < self.break_glass_until
        )


@dataclass(frozen=True)
class Grant:
    """A break-the-glass grant as decided by the service that recorded it."""

    reason: str
    until: datetime
    audit_id: str


class Issuer:
    """Holds a private key and signs tokens: the CLI, the console, the test harness.

    A district IdP is an issuer too, outside Lantern; services cannot tell them apart
    except by ``iss``.
    """

    def __init__(
        self,
        private_key: Ed25519PrivateKey,
        *,
        issuer: str = DEFAULT_ISSUER,
        audience: str = DEFAULT_AUDIENCE,
    ) -> None:
        self.private_key = private_key
        self.kid = keys.kid_of(private_key.public_key())
        self.issuer = issuer
        self.audience = audience

    def issue(
        self,
        *,
        subject: str,
        role: Role | str,
        schools: tuple[str, ...] | list[str] = (),
        ttl: timedelta = timedelta(hours=8),
        now: datetime | None = None,
        grant: Grant | None = None,
        operations: tuple[str, ...] = (),
    ) -> str:
        """A signed token; a grant's token ends when the grant does."""
        now = now or datetime.now(UTC)
        expires = now + ttl
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "aud": self.audience,
            "sub": subject,
            "role": str(Role(role)),
            "schools": list(schools),
            "iat": int(now.timestamp()),
            "nbf": int(now.timestamp()),
            "jti": str(uuid.uuid4()),
        }
        if grant is not None:
            expires = min(expires, grant.until)
            claims["bg"] = {
                "reason": grant.reason,
                "until": int(grant.until.timestamp()),
                "audit_id": grant.audit_id,
            }
        if operations:
            claims["ops"] = list(operations)
        claims["exp"] = int(expires.timestamp())
        return jwt.encode(
            claims, self.private_key, algorithm=keys.ALGORITHM, headers={"kid": self.kid}
        )

    def delegation(self, service: str, ttl: timedelta, now: datetime | None = None) -> str:
        """The token a service uses on its own account: its ``DELEGATIONS`` and nothing more."""
        if service not in DELEGATIONS:
            raise ValueError(f"service {service!r} has no delegation")
        return self.issue(
            subject=f"service:{service}",
            role=Role.SERVICE,
            ttl=ttl,
            now=now,
            operations=DELEGATIONS[service],
        )

    def break_glass(self, caller: Identity, grant: Grant, now: datetime | None = None) -> str:
        """The grant's token: the caller's identity plus the grant, ending when it does."""
        now = now or datetime.now(UTC)
        return self.issue(
            subject=caller.subject,
            role=caller.role,
            schools=caller.schools,
            ttl=grant.until - now,
            now=now,
            grant=grant,
        )


@dataclass(frozen=True)
class TokenPolicy:
    """What a service accepts: whose tokens, for which audience, grants how long."""

    issuers: tuple[str, ...] = (DEFAULT_ISSUER,)
    audience: str = DEFAULT_AUDIENCE
    max_break_glass: timedelta = MAX_BREAK_GLASS
    #: where a district IdP puts the role and the schools, when not in ``role``/``schools``
    role_claim: str = "role"
    schools_claim: str = "schools"


class Verifier:
    """Checks tokens with public keys only (a service, the CLI reading its own token)."""

    def __init__(
        self, keyset: keys.KeySet | keys.KeySets, policy: TokenPolicy | None = None
    ) -> None:
        self.keyset = keyset
        self.policy = policy or TokenPolicy()
        #: token -> (kid, key, claims) of tokens whose signature, iss and aud were checked
        self._verified: dict[str, tuple[str, jwt.PyJWK, dict[str, Any]]] = {}

    def verify(self, token: str, now: datetime | None = None) -> Identity:
        """The identity a token carries, or :class:`AuthError` (signature, iss, aud, exp, nbf).

        A token seen before with a key still trusted is not checked again
        (the same string, so the same signature): a client sends one token for
        many requests, and a signature check costs a few hundred microseconds.
        Time (``exp``, ``nbf``) and the policy are checked on every use.
        """
        now = now or datetime.now(UTC)
        seen = self._verified.get(token)
        if seen is not None and self.keyset.key(seen[0]) is seen[1]:
            claims = seen[2]
        else:
            claims = self._check_signature(token)
        try:
            _check_time(claims, now)
        except jwt.ExpiredSignatureError:
            raise AuthError("token expired") from None
        except jwt.ImmatureSignatureError:
            raise AuthError("token not yet valid") from None
        except jwt.PyJWTError:
            raise AuthError("malformed token") from None
        return self._identity(claims)

    def _check_signature(self, token: str) -> dict[str, Any]:
        try:
            kid = str(jwt.get_unverified_header(token).get("kid") or "")
        except jwt.PyJWTError:
            raise AuthError("malformed token") from None
        key = self.keyset.key(kid) if kid else None
        if key is None:
            raise AuthError("token signed by an unknown key")
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=[key.algorithm_name],  # the key's, never the header's
                audience=self.policy.audience,
                issuer=list(self.policy.issuers),
                options={
                    "require": ["exp", "iat", "iss", "aud", "sub"],
                    "verify_exp": False,  # against the caller's ``now``: _check_time
                    "verify_nbf": False,
                    "verify_iat": False,
                },
            )
        except jwt.InvalidAudienceError:
            raise AuthError("token is for another audience") from None
        except jwt.InvalidIssuerError:
            raise AuthError("token from an issuer this district does not trust") from None
        except jwt.InvalidSignatureError:
            raise AuthError("invalid token signature") from None
        except jwt.PyJWTError:
            raise AuthError("malformed token") from None
        if len(self._verified) >= VERIFIED_CACHE:
            self._verified.pop(next(iter(self._verified)), None)  # the oldest
        self._verified[token] = (kid, key, claims)
        return claims

    def _identity(self, claims: dict[str, Any]) -> Identity:
        policy = self.policy
        try:
            # an IdP's claim names where configured; Lantern's own issuers' otherwise
            role = _role(claims.get(policy.role_claim, claims.get("role")))
            subject = str(claims["sub"])
            expires = datetime.fromtimestamp(int(claims["exp"]), UTC)
            issued = datetime.fromtimestamp(int(claims["iat"]), UTC)
            listed = claims.get(policy.schools_claim, claims.get("schools"))
            schools = tuple(str(s) for s in listed or [])
            operations = tuple(str(o) for o in claims.get("ops") or [])
            bg = claims.get("bg") or {}
            until = datetime.fromtimestamp(int(bg["until"]), UTC) if bg else None
            reason = str(bg.get("reason", "")) if bg else ""
        except (ValueError, KeyError, TypeError, AttributeError):
            raise AuthError("malformed token claims") from None
        if (role is Role.SERVICE) != bool(operations):
            raise AuthError("a delegation names its operations, and only a delegation does")
        beyond = until is not None and (
            not reason or until > expires or until - issued > policy.max_break_glass
        )
        if beyond:
            raise AuthError("break-the-glass grant beyond the district's policy")
        return Identity(
            subject=subject,
            role=role,
            schools=schools,
            expires_at=expires,
            break_glass_reason=reason,
            break_glass_until=until,
            break_glass_audit_id=str(bg.get("audit_id", "")) if bg else "",
            operations=operations,
            issuer=str(claims.get("iss", "")),
            claims=claims,
        )


def _check_time(claims: dict[str, Any], now: datetime) -> None:
    """``exp`` and ``nbf`` against ``now``, with :data:`LEEWAY` of clock skew."""
    at = now.timestamp()
    skew = LEEWAY.total_seconds()
    try:
        if at >= float(claims["exp"]) + skew:
            raise jwt.ExpiredSignatureError
        if "nbf" in claims and at < float(claims["nbf"]) - skew:
            raise jwt.ImmatureSignatureError
    except (TypeError, ValueError, KeyError):
        raise jwt.DecodeError from None


def _role(value: object) -> Role:
    """A role claim: a string, or a list whose first Lantern role counts (an IdP's app roles)."""
    values = value if isinstance(value, list) else [value]
    for candidate in values:
        if isinstance(candidate, str) and candidate in _ROLE_NAMES:
            return Role(candidate)
    raise ValueError("no Lantern role in the token")


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


def dev_secret_file(data_dir: Path, name: str, make: str) -> str:
    """Read ``data_dir/name``, creating it (mode 0600, race-free) with ``make`` if absent.

    Development mode only (the store's cipher key): a fresh clone works with no
    setup, and every process of one ``lantern up`` finds the same value.
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
