"""Settings of one service process, from arguments and ``LANTERN_*`` environment variables.

The store is chosen by configuration only; the application code never knows
which one it runs on:

* ``sqlite`` (default): one file per service under the data directory;
* ``postgres``: ``LANTERN_POSTGRES_DSN`` (and optionally ``LANTERN_POSTGRES_SCHEMA``);
* ``memory``: for application tests.

``LANTERN_NATS_URL`` may list several servers, comma-separated (the nodes of a
cluster, each with the service's user): a client learns the other nodes from
the cluster itself, but without credentials, so a service given one node could
not reconnect as itself while that node is down (:func:`nats_servers`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

StoreKind = Literal["sqlite", "postgres", "memory"]
DEFAULT_MAX_REQUEST_BYTES = 1_048_576


def asked_for_dev_mode(env: dict[str, str] | os._Environ[str]) -> bool:
    """Development mode is never the default: ``LANTERN_DEV_MODE`` must say so."""
    return env.get("LANTERN_DEV_MODE", "0").lower() in ("1", "true", "yes")


@dataclass(frozen=True)
class Settings:
    service: str
    data_dir: Path = Path(".lantern")
    nats_url: str = "nats://127.0.0.1:4222"
    prefix: str = "lantern"
    http_host: str = "127.0.0.1"
    http_port: int = 0
    store: StoreKind = "sqlite"
    postgres_dsn: str = ""
    postgres_schema: str = ""
    cipher_key: str = ""
    #: the public keys identity tokens are verified with: a JWKS file path or URL (never a
    #: private key: services cannot sign); development mode makes one under the data dir
    jwks: str = ""
    token_issuers: tuple[str, ...] = ("lantern",)  # accepted ``iss``; an issuer signs as the first
    #: issuers only (the CLI, the console): the Ed25519 private key (PEM, mode 0600)
    signing_key: str = ""
    token_audience: str = "lantern"  # noqa: S105 - the ``aud`` every token must carry
    #: where a district IdP puts the role and the schools (claim names)
    token_role_claim: str = "role"  # noqa: S105 - a claim name
    token_schools_claim: str = "schools"  # noqa: S105 - a claim name
    #: this service's delegation token (``lantern token --service NAME``), for the few
    #: requests it makes on its own account (``plumbing.access.auth.DELEGATIONS``)
    service_token: str = field(default="", repr=False)  # a credential: never in a repr
    break_glass_max_minutes: int = 60  # the policy's cap on a break-the-glass grant
    #: development mode (generated keys under the data dir, the public integrity key, no
    #: secret-file checks): only when asked for, ``LANTERN_DEV_MODE=1`` or ``up --dev/--demo``
    dev_mode: bool = False
    config_file: str = ""  # TOML with each service's section (policy, protocol, channels)
    partitions: int = 4  # incidents per partition; the same for every service of a deployment
    #: identical reads by one identity within this many seconds make one audit entry with a
    #: count (``plumbing.integrity.repeats``); 0 records every read on its own
    audit_repeat_window_s: float = 60.0
    #: the largest request body (HTTP and NATS) a service reads; a larger one is refused (413)
    #: before it is read whole.  The default is NATS's own default ``max_payload``.
    max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES

    @classmethod
    def from_env(cls, service: str, **overrides: object) -> Settings:
        env = os.environ
        values: dict[str, object] = {
            "service": service,
            "data_dir": Path(env.get("LANTERN_DATA_DIR", ".lantern")),
            "nats_url": env.get("LANTERN_NATS_URL", "nats://127.0.0.1:4222"),
            # in a container: 0.0.0.0, so the orchestrator's readiness probe reaches /readyz
            "http_host": env.get("LANTERN_HTTP_HOST", "127.0.0.1"),
            "prefix": env.get("LANTERN_PREFIX", "lantern"),
            "store": env.get(
                "LANTERN_STORE", "postgres" if env.get("LANTERN_POSTGRES_DSN") else "sqlite"
            ),
            "postgres_dsn": env.get("LANTERN_POSTGRES_DSN", ""),
            "postgres_schema": env.get("LANTERN_POSTGRES_SCHEMA", ""),
            "cipher_key": env.get("LANTERN_CIPHER_KEY", ""),
            "jwks": env.get("LANTERN_JWKS", ""),
            "token_issuers": tuple(
                i.strip() for i in env.get("LANTERN_TOKEN_ISSUERS", "lantern").split(",") if i
            ),
            "signing_key": env.get("LANTERN_SIGNING_KEY", ""),
            "token_audience": env.get("LANTERN_TOKEN_AUDIENCE", "lantern"),
            "token_role_claim": env.get("LANTERN_TOKEN_ROLE_CLAIM", "role"),
            "token_schools_claim": env.get("LANTERN_TOKEN_SCHOOLS_CLAIM", "schools"),
            "service_token": env.get("LANTERN_SERVICE_TOKEN", ""),
            "break_glass_max_minutes": int(env.get("LANTERN_BREAK_GLASS_MAX_MINUTES", "60")),
            "dev_mode": asked_for_dev_mode(env),
            "config_file": env.get("LANTERN_CONFIG", ""),
            "partitions": int(env.get("LANTERN_PARTITIONS", "4")),
            "audit_repeat_window_s": float(env.get("LANTERN_AUDIT_REPEAT_WINDOW_S", "60")),
            "max_request_bytes": int(
                env.get("LANTERN_MAX_REQUEST_BYTES", str(DEFAULT_MAX_REQUEST_BYTES))
            ),
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)  # type: ignore[arg-type]


def nats_servers(url: str) -> list[str]:
    """``"nats://u:p@a:4222,nats://u:p@b:4222"`` -> each server, for a NATS client's pool."""
    return [part.strip() for part in url.split(",") if part.strip()]
