"""Translate :class:`Settings` into the eventsourcing library's environment.

Same application code on SQLite, PostgreSQL and memory: only these keys differ.
"""

from __future__ import annotations

import os

from psycopg.conninfo import conninfo_to_dict

from plumbing.access.auth import dev_secret_file
from plumbing.settings import Settings

DEV_CIPHER_FILE = "cipher.key"


class StoreConfigError(ValueError):
    pass


def store_env(settings: Settings) -> dict[str, str]:
    env: dict[str, str] = {}
    if settings.store == "memory":
        env["PERSISTENCE_MODULE"] = "eventsourcing.popo"
    elif settings.store == "sqlite":
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        env["PERSISTENCE_MODULE"] = "eventsourcing.sqlite"
        env["SQLITE_DBNAME"] = str(settings.data_dir / f"{settings.service}.sqlite")
        env["SQLITE_LOCK_TIMEOUT"] = "10"
    elif settings.store == "postgres":
        if not settings.postgres_dsn:
            raise StoreConfigError("store is postgres but LANTERN_POSTGRES_DSN is not set")
        parts = conninfo_to_dict(settings.postgres_dsn)
        env["PERSISTENCE_MODULE"] = "eventsourcing.postgres"
        env["POSTGRES_DBNAME"] = str(parts.get("dbname", "postgres"))
        env["POSTGRES_HOST"] = str(parts.get("host", "127.0.0.1"))
        env["POSTGRES_PORT"] = str(parts.get("port", "5432"))
        env["POSTGRES_USER"] = str(parts.get("user", "postgres"))
        env["POSTGRES_PASSWORD"] = str(parts.get("password", ""))
        env["POSTGRES_POOL_SIZE"] = "4"
        env["POSTGRES_MAX_OVERFLOW"] = "4"
        if settings.postgres_schema:
            env["POSTGRES_SCHEMA"] = settings.postgres_schema
    else:  # pragma: no cover - Literal guards this
        raise StoreConfigError(f"unknown store {settings.store!r}")
    # Recently used aggregates stay in memory and are fast-forwarded with one query (another
    # instance may have written); a batch no longer replays each incident from its first event.
    env["AGGREGATE_CACHE_MAXSIZE"] = os.environ.get("LANTERN_AGGREGATE_CACHE", "2000")
    key = cipher_key(settings)
    if key:
        env["CIPHER_TOPIC"] = "eventsourcing.cryptography:AESCipher"
        env["CIPHER_KEY"] = key
        env["COMPRESSOR_TOPIC"] = "eventsourcing.compressor:ZlibCompressor"
    elif not settings.dev_mode:
        raise StoreConfigError(
            "LANTERN_CIPHER_KEY is required outside development mode (LANTERN_DEV_MODE=0)"
        )
    return env


def cipher_key(settings: Settings) -> str:
    """The configured key; in development mode a generated one kept under the data dir.

    So dev data is encrypted at rest too, and every process of one ``lantern up``
    finds the same key.  The in-memory store (application tests) stays plain.
    """
    if settings.cipher_key or not settings.dev_mode or settings.store == "memory":
        return settings.cipher_key
    from eventsourcing.cryptography import AESCipher

    return dev_secret_file(settings.data_dir, DEV_CIPHER_FILE, AESCipher.create_key(32))
