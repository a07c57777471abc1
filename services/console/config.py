"""The console's settings: environment for the deployment, ``[console]`` for who is who.

Environment (set by ``lantern up``, or by a deployment):

* ``LANTERN_CONSOLE_OIDC_ISSUER``: the district's OpenID Connect issuer URL
  (Entra ID, Google Workspace, Okta...); its discovery document is read at sign-in.
* ``LANTERN_CONSOLE_OIDC_CLIENT_ID`` / ``LANTERN_CONSOLE_OIDC_CLIENT_SECRET``: the
  console's registration there (the secret may be empty for a public client: PKCE
  protects the code either way).
* ``LANTERN_CONSOLE_PUBLIC_URL``: where browsers reach the console (the redirect
  URI is derived from it); an ``https://`` URL makes every cookie ``Secure``.
* ``LANTERN_CONSOLE_DEMO=1``: the labelled "sign in as" page for the demo district.
* ``LANTERN_CONSOLE_SESSION_IDLE_MINUTES`` (30) and ``..._MAX_HOURS`` (10).
* ``LANTERN_CONSOLE_NATS_URL`` and ``LANTERN_CONSOLE_INBOX_PREFIX``: the console's
  own NATS user and reply-inbox prefix, when the deployment gives it one.

TOML ``[console]`` maps people who are not on the responder roster::

    [console]
    staff_domains = ["district.example"]     # any verified address here may report
    [[console.people]]
    email = "records.officer@district.example"
    person_id = "privacy-officer"
    role = "compliance"                      # reporter | compliance | admin | supervisor
    schools = []
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

import msgspec

from plumbing.config import load_file, section
from plumbing.settings import Settings

Ref = Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]
Email = Annotated[str, msgspec.Meta(min_length=3, max_length=200, pattern=r"^[^@\s]+@[^@\s]+$")]


class MappedPerson(msgspec.Struct, forbid_unknown_fields=True, kw_only=True, frozen=True):
    email: Email
    person_id: Ref
    role: Literal["reporter", "responder", "supervisor", "compliance", "admin"]
    schools: list[Ref] = []
    name: Annotated[str, msgspec.Meta(max_length=200)] = ""


class ConsoleSection(msgspec.Struct, forbid_unknown_fields=True, kw_only=True, frozen=True):
    staff_domains: list[Annotated[str, msgspec.Meta(min_length=1, max_length=200)]] = []
    people: list[MappedPerson] = []


def parse(data: dict[str, Any]) -> ConsoleSection:
    """Validate ``[console]`` (``lantern up --config`` refuses a bad one, naming the key)."""
    return section(data, "console", ConsoleSection)


@dataclass(frozen=True)
class ConsoleSettings:
    base: Settings
    oidc_issuer: str = ""
    oidc_client_id: str = "lantern-console"
    oidc_client_secret: str = ""
    public_url: str = ""
    demo: bool = False
    idle_minutes: float = 30
    max_hours: float = 10
    nats_url: str = ""
    inbox_prefix: str = ""
    people: ConsoleSection = field(default_factory=ConsoleSection)

    @property
    def secure_cookies(self) -> bool:
        return self.public_url.startswith("https://")

    @classmethod
    def from_settings(cls, base: Settings, env: dict[str, str] | None = None) -> ConsoleSettings:
        env = dict(os.environ) if env is None else env
        people = parse(load_file(base.config_file)) if base.config_file else ConsoleSection()
        return cls(
            base=base,
            oidc_issuer=env.get("LANTERN_CONSOLE_OIDC_ISSUER", "").rstrip("/"),
            oidc_client_id=env.get("LANTERN_CONSOLE_OIDC_CLIENT_ID", "lantern-console"),
            oidc_client_secret=env.get("LANTERN_CONSOLE_OIDC_CLIENT_SECRET", ""),
            public_url=env.get("LANTERN_CONSOLE_PUBLIC_URL", "").rstrip("/"),
            demo=env.get("LANTERN_CONSOLE_DEMO", "0") in ("1", "true", "yes"),
            idle_minutes=float(env.get("LANTERN_CONSOLE_SESSION_IDLE_MINUTES", "30")),
            max_hours=float(env.get("LANTERN_CONSOLE_SESSION_MAX_HOURS", "10")),
            nats_url=env.get("LANTERN_CONSOLE_NATS_URL", "") or base.nats_url,
            inbox_prefix=env.get("LANTERN_CONSOLE_INBOX_PREFIX", ""),
            people=people,
        )
