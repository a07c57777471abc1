"""Who is signed in, and the one place the console mints Lantern tokens for them.

Why the console mints tokens: the services check a bearer token on every
operation (``plumbing.access.auth``).  After sign-in the console is the issuer
for its user, so every operation it forwards is authorised and audited by the
owning service under that person's own name and role, exactly as the CLI's
would be.  Minting lives in :func:`mint` alone.  The console holds an issuer's
Ed25519 private key (``LANTERN_SIGNING_KEY``; in development mode the one
``lantern up`` made): the services hold only the public keys.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from plumbing.access import auth
from plumbing.access.auth import Role

#: Tokens the console forwards live a few minutes; a session re-mints as needed.
TOKEN_TTL = timedelta(minutes=10)


@dataclass(frozen=True)
class Person:
    """A Lantern identity: the person id the services know, their role and schools."""

    person_id: str
    role: Role
    schools: tuple[str, ...] = ()
    name: str = ""
    #: where the identity came from: "roster", "people" (the console config) or "demo"
    source: str = field(default="roster", compare=False)


def mint(issuer: auth.Issuer, person: Person, ttl: timedelta = TOKEN_TTL) -> str:
    """A short-lived token for ``person`` (the console is its issuer)."""
    return issuer.issue(subject=person.person_id, role=person.role, schools=person.schools, ttl=ttl)
