"""Lantern's own tables beside the events, on the same database and connection pool.

Why beside the events and not elsewhere: the relay's cursor, the store's epoch
and the read models must be exactly as durable as the events they describe,
and must survive a restart without a rebuild.  They go through eventsourcing's
own datastore (its SQLite connection pool with one writer at a time, or its
psycopg pool), so they cost no extra connection and see the same database.

SQL is written once, with ``?`` placeholders and portable types (``BIGINT``,
``TEXT``, ``BLOB``); :class:`Tables` rewrites placeholders and ``BLOB`` for
PostgreSQL and qualifies table names with the store's schema.  The in-memory
store (application tests) gets a private in-memory SQLite database, so the
same read-model code runs there too.
"""

from __future__ import annotations

import re
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from eventsourcing.application import Application
from eventsourcing.persistence import IntegrityError

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


class Cursor:
    """A DB-API cursor with one placeholder style and rows as tuples, whatever the backend."""

    def __init__(self, raw: Any, postgres: bool) -> None:
        self.raw = getattr(raw, "sqlite_cursor", raw)  # eventsourcing wraps sqlite3's cursor
        self.postgres = postgres

    def _sql(self, statement: str) -> str:
        return statement.replace("?", "%s") if self.postgres else statement

    def execute(self, statement: str, params: Sequence[Any] = ()) -> Cursor:
        self.raw.execute(self._sql(statement), tuple(params))
        return self

    def executemany(self, statement: str, rows: Sequence[Sequence[Any]]) -> None:
        if rows:
            self.raw.executemany(self._sql(statement), [tuple(r) for r in rows])

    def fetchone(self) -> tuple[Any, ...] | None:
        row = self.raw.fetchone()
        return None if row is None else _tuple(row)

    def fetchall(self) -> list[tuple[Any, ...]]:
        return [_tuple(r) for r in self.raw.fetchall()]

    @property
    def rowcount(self) -> int:
        return int(self.raw.rowcount)


def _tuple(row: Any) -> tuple[Any, ...]:
    if isinstance(row, dict):
        return tuple(row.values())
    return tuple(row)


class Tables:
    """Create and use Lantern's tables in an application's database."""

    def __init__(self, app: Application[Any]) -> None:
        datastore = getattr(app.recorder, "datastore", None)
        kind = type(datastore).__module__ if datastore is not None else ""
        self.postgres = kind.startswith("eventsourcing.postgres")
        self.schema = str(getattr(datastore, "schema", "") or "public") if self.postgres else ""
        #: services share one PostgreSQL schema: each one's tables carry its name
        self.owner = app.name.lower() if self.postgres else ""
        self._datastore = datastore if datastore is not None and kind else None
        self._memory: sqlite3.Connection | None = None
        self._memory_lock = threading.RLock()
        self._created: set[str] = set()
        if self._datastore is None:  # eventsourcing.popo: a private in-memory database
            self._memory = sqlite3.connect(":memory:", check_same_thread=False)
            self._memory.isolation_level = None

    # -- names and types ------------------------------------------------------------------------
    def name(self, table: str) -> str:
        """The table's name as SQL: on PostgreSQL schema-qualified and prefixed with the service."""
        if not _NAME.match(table):
            raise ValueError(f"not a table name: {table!r}")
        return f'"{self.schema}".{self.owner}_{table}' if self.postgres else table

    def ddl(self, statement: str) -> str:
        return statement.replace("BLOB", "BYTEA") if self.postgres else statement

    def create(self, table: str, *statements: str) -> None:
        """Run ``CREATE ... IF NOT EXISTS`` statements once per process (``{t}`` = the name)."""
        if table in self._created:
            return
        for attempt in range(3):
            try:
                with self.transaction() as cur:
                    for statement in statements:
                        cur.execute(self.ddl(statement.format(t=self.name(table), n=table)))
                break
            except IntegrityError:  # PostgreSQL: another process created it at the same time
                if attempt == 2:
                    raise
                time.sleep(0.1)
        self._created.add(table)

    # -- transactions ---------------------------------------------------------------------------
    @contextmanager
    def transaction(self, *, write: bool = True) -> Iterator[Cursor]:
        if self._memory is not None:
            with self._memory_lock:
                raw = self._memory.cursor()
                raw.execute("BEGIN")
                try:
                    yield Cursor(raw, postgres=False)
                except BaseException:
                    raw.execute("ROLLBACK")
                    raise
                raw.execute("COMMIT" if write else "ROLLBACK")
            return
        assert self._datastore is not None
        with self._datastore.transaction(commit=write) as raw:
            yield Cursor(raw, postgres=self.postgres)

    def query(self, statement: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self.transaction(write=False) as cur:
            return cur.execute(statement, params).fetchall()

    def close(self) -> None:
        if self._memory is not None:
            self._memory.close()
