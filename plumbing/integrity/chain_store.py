"""Raw access to a service's stored events and its chain table, on SQLite and PostgreSQL.

Why raw: the verifier must see exactly what the database holds, bypassing the
eventsourcing mapper (a tampered row may not even decode, and a cipher would
hide nothing from a hash over the ciphertext anyway).  The chain table lives
next to the events it chains: ``lantern_chain`` in the service's SQLite file,
``<service>_chain`` in the PostgreSQL schema.

Table layouts are eventsourcing 9.5's: SQLite ``stored_events`` (notification
id = ``rowid``), PostgreSQL ``<application name>_events`` (``notification_id``).
"""

from __future__ import annotations

import sqlite3
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from contextlib import closing, nullcontext
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from plumbing.integrity.verify import ChainLink, RawRecord
from plumbing.settings import Settings


class ChainStore(ABC):
    """One store's raw events and chain rows."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._count: int | None = None

    @abstractmethod
    def records_after(self, position: int, limit: int) -> list[RawRecord]:
        """Stored events after ``position``, in position order."""

    @abstractmethod
    def links_after(self, position: int, limit: int) -> list[ChainLink]: ...

    @abstractmethod
    def head(self) -> ChainLink | None:
        """The newest chain row."""

    @abstractmethod
    def link_count(self) -> int: ...

    @abstractmethod
    def append(self, links: Sequence[ChainLink]) -> None:
        """Add chain rows; a position chained twice is refused by the primary key."""

    @abstractmethod
    def exists(self) -> bool:
        """True when the store's events table is there (a service that never ran has none)."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections."""

    def forget_count(self) -> None:
        """Count the chain rows again next time (after a failed append, say)."""
        self._count = None

    def all_records(self, batch: int = 5000) -> Iterator[RawRecord]:
        position = 0
        while True:
            rows = self.records_after(position, batch)
            yield from rows
            if len(rows) < batch:
                return
            position = rows[-1].position

    def all_links(self, batch: int = 5000) -> Iterator[ChainLink]:
        position = 0
        while True:
            rows = self.links_after(position, batch)
            yield from rows
            if len(rows) < batch:
                return
            position = rows[-1].position


class SqliteChainStore(ChainStore):
    EVENTS = "stored_events"
    CHAIN = "lantern_chain"

    def __init__(self, name: str, path: Path) -> None:
        super().__init__(name)
        self.path = path
        self._conn: sqlite3.Connection | None = None
        self._count: int | None = None
        self._exists = False  # once the events table is there, it stays

    def _connect(self) -> sqlite3.Connection:
        """One connection, the chain table created once (not on every call)."""
        if self._conn is None:
            conn = sqlite3.connect(
                self.path, timeout=10, isolation_level=None, check_same_thread=False
            )
            conn.execute(
                f"CREATE TABLE IF NOT EXISTS {self.CHAIN} (position INTEGER PRIMARY KEY, "
                "record_hash TEXT NOT NULL, chain_hash TEXT NOT NULL)"
            )
            self._conn = conn
        return self._conn

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def exists(self) -> bool:
        if self._exists:
            return True
        if not self.path.exists():
            return False
        with closing(sqlite3.connect(self.path, timeout=10)) as conn:
            row = conn.execute(
                "SELECT 1 FROM sqlite_master WHERE type='table' AND name=?", (self.EVENTS,)
            ).fetchone()
        self._exists = row is not None
        return self._exists

    def records_after(self, position: int, limit: int) -> list[RawRecord]:
        if not self.exists():
            return []
        with nullcontext(self._connect()) as conn:
            rows = conn.execute(
                "SELECT rowid, originator_id, originator_version, topic, state "  # noqa: S608
                f"FROM {self.EVENTS} WHERE rowid > ? ORDER BY rowid LIMIT ?",
                (position, limit),
            ).fetchall()
        return [_raw(row) for row in rows]

    def links_after(self, position: int, limit: int) -> list[ChainLink]:
        with nullcontext(self._connect()) as conn:
            rows = conn.execute(
                f"SELECT position, record_hash, chain_hash FROM {self.CHAIN} "  # noqa: S608
                "WHERE position > ? ORDER BY position LIMIT ?",
                (position, limit),
            ).fetchall()
        return [ChainLink(int(p), str(r), str(c)) for p, r, c in rows]

    def head(self) -> ChainLink | None:
        with nullcontext(self._connect()) as conn:
            row = conn.execute(
                f"SELECT position, record_hash, chain_hash FROM {self.CHAIN} "  # noqa: S608
                "ORDER BY position DESC LIMIT 1"
            ).fetchone()
        return None if row is None else ChainLink(int(row[0]), str(row[1]), str(row[2]))

    def link_count(self) -> int:
        """Counted once, then kept as rows are appended (not a count of every row each time)."""
        if self._count is None:
            row = self._connect().execute(f"SELECT COUNT(*) FROM {self.CHAIN}").fetchone()  # noqa: S608
            self._count = int(row[0])
        return self._count

    def append(self, links: Sequence[ChainLink]) -> None:
        with nullcontext(self._connect()) as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.executemany(
                    f"INSERT INTO {self.CHAIN} VALUES (?, ?, ?)",  # noqa: S608
                    [(link.position, link.record_hash, link.chain_hash) for link in links],
                )
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        if self._count is not None:
            self._count += len(links)


class PostgresChainStore(ChainStore):
    def __init__(self, name: str, dsn: str, schema: str) -> None:
        super().__init__(name)
        self.dsn = dsn
        self.schema = schema or "public"
        self.events = sql.Identifier(self.schema, f"{name}_events")
        self.chain = sql.Identifier(self.schema, f"{name}_chain")
        self._conn: psycopg.Connection[Any] | None = None
        self._count: int | None = None
        self._exists = False

    def _connection(self) -> psycopg.Connection[Any]:
        if self._conn is None or self._conn.closed:
            self._conn = psycopg.connect(self.dsn, autocommit=True, connect_timeout=4)
            self._conn.execute(
                sql.SQL(
                    "CREATE TABLE IF NOT EXISTS {} (position bigint PRIMARY KEY, "
                    "record_hash text NOT NULL, chain_hash text NOT NULL)"
                ).format(self.chain)
            )
        return self._conn

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def exists(self) -> bool:
        if self._exists:
            return True
        row = (
            self._connection()
            .execute("SELECT to_regclass(%s)", (f'"{self.schema}"."{self.name}_events"',))
            .fetchone()
        )
        self._exists = bool(row and row[0])
        return self._exists

    def records_after(self, position: int, limit: int) -> list[RawRecord]:
        if not self.exists():
            return []
        rows = (
            self._connection()
            .execute(
                sql.SQL(
                    "SELECT notification_id, originator_id, originator_version, topic, state "
                    "FROM {} WHERE notification_id > %s ORDER BY notification_id LIMIT %s"
                ).format(self.events),
                (position, limit),
            )
            .fetchall()
        )
        return [_raw(row) for row in rows]

    def links_after(self, position: int, limit: int) -> list[ChainLink]:
        rows = (
            self._connection()
            .execute(
                sql.SQL(
                    "SELECT position, record_hash, chain_hash FROM {} "
                    "WHERE position > %s ORDER BY position LIMIT %s"
                ).format(self.chain),
                (position, limit),
            )
            .fetchall()
        )
        return [ChainLink(int(p), str(r), str(c)) for p, r, c in rows]

    def head(self) -> ChainLink | None:
        row = (
            self._connection()
            .execute(
                sql.SQL(
                    "SELECT position, record_hash, chain_hash FROM {} "
                    "ORDER BY position DESC LIMIT 1"
                ).format(self.chain)
            )
            .fetchone()
        )
        return None if row is None else ChainLink(int(row[0]), str(row[1]), str(row[2]))

    def link_count(self) -> int:
        """Counted once, then kept as rows are appended."""
        if self._count is None:
            row = self._connection().execute(sql.SQL("SELECT COUNT(*) FROM {}").format(self.chain))
            self._count = int(row.fetchone()[0])  # type: ignore[index]
        return self._count

    def append(self, links: Sequence[ChainLink]) -> None:
        conn = self._connection()
        with conn.transaction(), conn.cursor() as cur:
            cur.executemany(
                sql.SQL("INSERT INTO {} VALUES (%s, %s, %s)").format(self.chain),
                [(link.position, link.record_hash, link.chain_hash) for link in links],
            )
        if self._count is not None:
            self._count += len(links)


def _raw(row: Sequence[Any]) -> RawRecord:
    state = row[4]
    return RawRecord(
        position=int(row[0]),
        originator_id=str(row[1]),
        originator_version=int(row[2]),
        topic=str(row[3]),
        state=bytes(state) if state is not None else b"",
    )


def chain_store_for(settings: Settings, name: str | None = None) -> ChainStore | None:
    """The chain store of a service's configured store (None for the in-memory store)."""
    name = name or settings.service
    if settings.store == "sqlite":
        return SqliteChainStore(name, settings.data_dir / f"{name}.sqlite")
    if settings.store == "postgres":
        return PostgresChainStore(name, settings.postgres_dsn, settings.postgres_schema)
    return None
