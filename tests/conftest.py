"""Shared fixtures: isolation on the shared NATS and PostgreSQL servers, and service harnesses.

Every test gets its own subject/stream prefix and, for PostgreSQL, its own
schema; both are removed afterwards.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import nats
import psycopg
import pytest
from nats.js.errors import NotFoundError

from events.subjects import Subjects
from plumbing import logs
from plumbing.messaging.streams import delete_streams
from tests.nats_process import OwnNats

SYSTEM_NATS_URL = os.environ.get("LANTERN_TEST_NATS_URL", "nats://127.0.0.1:4222")
PG_DSN = os.environ.get(
    "LANTERN_TEST_POSTGRES_DSN", "host=127.0.0.1 port=5432 user=postgres dbname=test"
)

# Tests run services without configured keys: they ask for development mode, as `make up` does.
os.environ.setdefault("LANTERN_DEV_MODE", "1")

logs.configure("tests", json=True, level=os.environ.get("LANTERN_TEST_LOG_LEVEL", "WARNING"))


@pytest.fixture
def prefix() -> str:
    return f"lt{uuid.uuid4().hex[:10]}"


@pytest.fixture
def subjects(prefix: str) -> Subjects:
    return Subjects(prefix)


@pytest.fixture
def nats_url() -> str:
    return SYSTEM_NATS_URL


@pytest.fixture
async def clean_streams(nats_url: str, subjects: Subjects) -> AsyncIterator[None]:
    yield
    nc = await nats.connect(nats_url)
    try:
        await delete_streams(nc.jetstream(), subjects)
        with contextlib.suppress(NotFoundError):  # every service's chainer anchors here
            await nc.jetstream().delete_stream(subjects.integrity_stream)
    finally:
        await nc.close()


@pytest.fixture
def pg_schema() -> Iterator[str]:
    schema = f"lt_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_DSN, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    try:
        yield schema
    finally:
        with psycopg.connect(PG_DSN, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, str]:
    """Store settings for both backends: the same code must run on each."""
    if request.param == "sqlite":
        return {"store": "sqlite", "data_dir": str(tmp_path)}
    schema = request.getfixturevalue("pg_schema")
    return {
        "store": "postgres",
        "data_dir": str(tmp_path),
        "postgres_dsn": PG_DSN,
        "postgres_schema": schema,
    }


@pytest.fixture
def own_nats(tmp_path: Path) -> Iterator[OwnNats]:
    """A wheel nats-server on a free port, stopped afterwards (for outage tests)."""
    server = OwnNats(tmp_path / "nats")
    server.directory.mkdir()
    server.start()
    yield server
    server.kill()
