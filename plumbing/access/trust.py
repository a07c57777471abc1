"""What a service trusts, from its settings: the JWKS, the issuers, the audience, the policy.

A service is given public keys only.  In development mode (``lantern up --demo``)
the supervisor, acting as the issuer, makes the key pair under the data dir and
hands services the JWKS path; a service never makes or reads a private key.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from plumbing.access import keys
from plumbing.access.auth import AUTH_HEADER, Issuer, TokenPolicy, Verifier
from plumbing.settings import Settings


def policy_of(settings: Settings) -> TokenPolicy:
    return TokenPolicy(
        issuers=settings.token_issuers,
        audience=settings.token_audience,
        max_break_glass=timedelta(minutes=settings.break_glass_max_minutes),
        role_claim=settings.token_role_claim,
        schools_claim=settings.token_schools_claim,
    )


def jwks_source(settings: Settings) -> str:
    """``LANTERN_JWKS`` (comma-separated for several issuers: Lantern's own and a district
    IdP's); in development mode, the JWKS ``lantern up`` wrote under the data dir."""
    if settings.jwks:
        return settings.jwks
    dev = settings.data_dir / keys.DEV_JWKS
    if settings.dev_mode and dev.exists():
        return str(dev)
    raise keys.KeyFileError(
        "LANTERN_JWKS is required (the issuer's public keys: a JWKS file or URL)"
    )


def verifier(settings: Settings) -> Verifier:
    """Refuses (so the service refuses to start) without a JWKS it can read."""
    return Verifier(keys.KeySets(jwks_source(settings).split(",")), policy_of(settings))


def signing_key_path(settings: Settings) -> Path | None:
    """An issuer's key: ``LANTERN_SIGNING_KEY``; in development mode, the one under the data dir."""
    if settings.signing_key:
        return Path(settings.signing_key)
    dev = settings.data_dir / keys.DEV_PRIVATE_KEY
    return dev if settings.dev_mode and dev.exists() else None


def issuer(settings: Settings) -> Issuer | None:
    """The issuer this process may act as (the CLI, the console), or None without a key."""
    path = signing_key_path(settings)
    if path is None:
        return None
    return Issuer(
        keys.load_private_key(path),
        issuer=settings.token_issuers[0],
        audience=settings.token_audience,
    )


def delegation_headers(settings: Settings) -> dict[str, str]:
    """Headers for a request a service makes on its own account: its delegation token.

    Why a delegation and not the caller's token: these requests have no caller
    at hand (a calendar app fetching a feed by its secret path; a renewed risk
    found at a check-in, reported later by a background worker, when the
    responder's token is long gone), and a service must not mint one.  The
    issuer provisions each such service at deploy time with a token of role
    ``service`` that names its operations (``auth.DELEGATIONS``) and nothing
    else; the owning service audits the call under the delegation, "on behalf
    of" the person it names.  Without one the request goes unauthenticated and
    is refused (401), and the caller retries.
    """
    token = settings.service_token
    return {AUTH_HEADER: f"Bearer {token}"} if token else {}


def dev_issuer(data_dir: Path) -> Issuer:
    """A throw-away deployment's issuer (benchmarks, tests, docs): its keys under ``data_dir``.

    Services started in development mode on the same data dir find the JWKS there.
    """
    private, _ = keys.dev_keys(data_dir)
    return Issuer(keys.load_private_key(private))
