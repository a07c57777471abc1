"""A store's epoch: which life of the store a notification id belongs to.

Why: a notification id (the ``Lantern-Position`` every message carries) only
means something within one store.  Restore a backup, or recreate the database,
and positions start again below what the streams and every consumer have
already seen; a consumer that tracks positions alone would then take every new
report for a duplicate and drop it.  So each store has an epoch id, created
with the store, carried on every message and part of every tracking name: a
new store's positions are never confused with an old one's.

An epoch records what it *follows*: the first epoch of a store follows nothing;
an epoch started by an operator after a restore or a replacement
(``lantern relay new-epoch SERVICE``) follows the epoch the stream holds, and
starts after a given position.  The relay publishes only under the current
epoch, and refuses (``/readyz`` unready, one clear log line) when the stream
holds an epoch the store does not know: that is a store regression, never to be
skipped silently.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from eventsourcing.persistence import IntegrityError, OperationalError

from plumbing.store.tables import Tables

TABLE = "lantern_epochs"


@dataclass(frozen=True)
class Epoch:
    epoch: str  # 12 hex digits
    follows: str  # the epoch this one knowingly succeeds ("" for a store's first)
    starts_after: int  # the relay publishes this epoch's positions after this one
    started_at: str
    reason: str


def _create(tables: Tables) -> None:
    tables.create(
        TABLE,
        "CREATE TABLE IF NOT EXISTS {t} (seq BIGINT PRIMARY KEY, epoch TEXT NOT NULL UNIQUE, "
        "follows TEXT NOT NULL, starts_after BIGINT NOT NULL, started_at TEXT NOT NULL, "
        "reason TEXT NOT NULL)",
    )


def _first(tables: Tables) -> None:
    """The store's first epoch, whoever gets there first (two processes may start at once)."""
    with tables.transaction() as cur:
        cur.execute(
            f"INSERT INTO {tables.name(TABLE)} VALUES (1, ?, '', 0, ?, 'store created') "  # noqa: S608
            "ON CONFLICT DO NOTHING",
            (uuid.uuid4().hex[:12], datetime.now(UTC).isoformat()),
        )


def epochs(tables: Tables) -> list[Epoch]:
    _create(tables)
    rows = tables.query(
        f"SELECT epoch, follows, starts_after, started_at, reason FROM {tables.name(TABLE)} "  # noqa: S608
        "ORDER BY seq"
    )
    return [Epoch(str(e), str(f), int(s), str(at), str(r)) for e, f, s, at, r in rows]


def current(tables: Tables) -> Epoch:
    """The store's current epoch, creating the first one for a new store."""
    for _ in range(5):
        try:
            known = epochs(tables)
            if known:
                return known[-1]
            _first(tables)
        except (IntegrityError, OperationalError):
            continue  # another process was creating the table at the same moment
    raise RuntimeError("could not establish the store's epoch")


def start(tables: Tables, *, follows: str, starts_after: int, reason: str) -> Epoch:
    """Begin a new epoch (an operator's decision after a restore or a replacement)."""
    _create(tables)
    epoch = Epoch(
        epoch=uuid.uuid4().hex[:12],
        follows=follows,
        starts_after=starts_after,
        started_at=datetime.now(UTC).isoformat(),
        reason=reason,
    )
    # One statement that writes: a read first would make SQLite upgrade a read lock to a
    # write lock, which fails at once ("database is locked") if another write came between.
    name = tables.name(TABLE)
    with tables.transaction() as cur:
        cur.execute(
            f"INSERT INTO {name} SELECT COALESCE(MAX(seq), 0) + 1, ?, ?, ?, ?, ? FROM {name}",  # noqa: S608
            (epoch.epoch, epoch.follows, epoch.starts_after, epoch.started_at, reason),
        )
    return epoch
