"""Read models (projections) kept in the store, caught up from the service's own log.

Why in the store and not rebuilt into memory at every start: a read model that
grows with history (every dispatch ever, every plan, every incident's measures)
would hold hundreds of megabytes and take minutes to rebuild after a restart.
Here a projection keeps its documents in tables beside the events, with the
position up to which they are folded; at start it resumes from there.

* A :class:`Projection` folds domain events into one or more
  :class:`DocumentTable`\\ s: dict-like tables of JSON documents (encrypted with
  the store's cipher, since they hold what the events hold), with a few indexed
  columns for lookups and ordering.
* Recently used documents stay in memory; changes are written back, with the
  projection's position, in one transaction (every second or thousand changes,
  and at stop).  A crash loses only unwritten changes, which are folded again
  from the log after the restart.
* What this process commits is folded in at once from the commit itself
  (:meth:`Projection.observe`); anything else (another instance's writes) is
  read from the log by :meth:`Projection.catch_up`, which every query calls first.
* Two instances may fold the same projection: the position is written only if
  it is still the one this instance read (optimistic concurrency); the loser
  drops its unwritten changes and reads the winner's.
"""

from __future__ import annotations

import threading
import time
from abc import ABC, abstractmethod
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, Generic, TypeVar
from uuid import UUID

import msgspec
from eventsourcing.persistence import Recording

from plumbing import logs
from plumbing.store.application import LanternApplication
from plumbing.store.tables import Cursor

log = logs.get("lantern.projections")

V = TypeVar("V")
POSITIONS = "lantern_projections"
FLUSH_EVERY_S = 1.0
FLUSH_AFTER = 2000
HOLD_AT_MOST = 10_000  # events observed ahead of a gap, held until the gap fills
_DELETED = object()


class DocumentTable(Generic[V]):
    """A projection's table of documents by key (dict-like), with indexed columns."""

    def __init__(
        self,
        owner: Projection,
        name: str,
        kind: Any = Any,
        indexes: dict[str, Callable[[V], str | None]] | None = None,
        cache: int = 5000,
    ) -> None:
        self.owner = owner
        self.table = f"view_{owner.name}_{name}"
        self.kind = kind
        self.indexes = dict(indexes or {})
        self.cache_size = cache
        self._cache: OrderedDict[str, V] = OrderedDict()
        self._dirty: dict[str, Any] = {}  # key -> value or _DELETED
        # indexed value -> keys of unwritten documents that had it (a superset: checked again)
        self._dirty_index: dict[str, dict[str | None, set[str]]] = {c: {} for c in self.indexes}
        self._encoder = msgspec.json.Encoder()
        self._decoder = msgspec.json.Decoder(kind)
        tables = owner.app.tables
        columns = "".join(f", {c} TEXT" for c in self.indexes)
        statements = [f"CREATE TABLE IF NOT EXISTS {{t}} (key TEXT PRIMARY KEY{columns}, doc BLOB)"]
        statements += [f"CREATE INDEX IF NOT EXISTS {{n}}_{c} ON {{t}} ({c})" for c in self.indexes]
        tables.create(self.table, *statements)

    # -- encoding ------------------------------------------------------------------------------
    def _seal(self, value: V) -> bytes:
        raw = self._encoder.encode(value)
        cipher = self.owner.app.mapper.cipher
        return bytes(cipher.encrypt(raw)) if cipher is not None else raw

    def _open(self, blob: bytes) -> V:
        cipher = self.owner.app.mapper.cipher
        raw = cipher.decrypt(bytes(blob)) if cipher is not None else bytes(blob)
        value: V = self._decoder.decode(raw)
        return value

    # -- dict-like (inside the projection's lock) -------------------------------------------------
    def get(self, key: str, default: V | None = None) -> V | None:
        if key in self._dirty:
            found = self._dirty[key]
            return default if found is _DELETED else found
        if key in self._cache:
            self._cache.move_to_end(key)
            return self._cache[key]
        rows = self.owner.app.tables.query(
            f"SELECT doc FROM {self._name()} WHERE key = ?",  # noqa: S608
            (key,),
        )
        if not rows:
            return default
        value = self._open(rows[0][0])
        self._remember(key, value)
        return value

    def __getitem__(self, key: str) -> V:
        found = self.get(key)
        if found is None:
            raise KeyError(key)
        return found

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self.get(key) is not None

    def __setitem__(self, key: str, value: V) -> None:
        self._dirty[key] = value
        for column, index in self.indexes.items():
            self._dirty_index[column].setdefault(index(value), set()).add(key)
        self._remember(key, value)
        self.owner.changed()

    def touch(self, key: str) -> None:
        """A document read with :meth:`get` was changed in place: write it back."""
        value = self.get(key)
        if value is not None:
            self[key] = value

    def pop(self, key: str, default: V | None = None) -> V | None:
        found = self.get(key, default)
        self._dirty[key] = _DELETED
        self._cache.pop(key, None)
        self.owner.changed()
        return found

    def delete(self, key: str) -> None:
        """Remove a document without reading it first (absent ones cost nothing more)."""
        self._dirty[key] = _DELETED
        self._cache.pop(key, None)
        self.owner.changed()

    def _remember(self, key: str, value: V) -> None:
        self._cache[key] = value
        self._cache.move_to_end(key)
        while len(self._cache) > self.cache_size:
            oldest = next(iter(self._cache))
            if oldest in self._dirty:  # never evict what is not written yet
                break
            self._cache.popitem(last=False)

    # -- queries (merged with what is not written yet) --------------------------------------------
    def _name(self) -> str:
        return self.owner.app.tables.name(self.table)

    def items(self) -> Iterator[tuple[str, V]]:
        yield from self._select("", ())

    def values(self) -> Iterator[V]:
        for _, value in self.items():
            yield value

    def where(self, **equal: str) -> list[V]:
        """Documents whose indexed columns equal these values."""
        return [v for _, v in self.items_where(**equal)]

    def items_where(self, **equal: str) -> list[tuple[str, V]]:
        clause = " AND ".join(f"{column} = ?" for column in equal)
        wanted = list(equal.items())

        def keep(value: V) -> bool:
            return all(self.indexes[c](value) == v for c, v in wanted)

        column, value = wanted[0]
        unwritten = self._dirty_index[column].get(value, set())
        return self._select(f"WHERE {clause}", tuple(equal.values()), keep, unwritten)

    def count_by(self, column: str, where: str, values: Sequence[str]) -> dict[str, int]:
        """Rows per value of ``column`` among rows whose ``where`` column is one of ``values``.

        Counted by the database on the indexed columns, without opening a document;
        only what is written back counts, so flush the projection first.
        """
        marks = ", ".join("?" for _ in values)
        rows = self.owner.app.tables.query(
            f"SELECT {column}, COUNT(*) FROM {self._name()} "  # noqa: S608
            f"WHERE {where} IN ({marks}) GROUP BY {column}",
            tuple(values),
        )
        return {str(value): int(count) for value, count in rows}

    def below(self, column: str, limit_value: str, limit: int) -> list[tuple[str, V]]:
        """Documents whose ``column`` is at or below a value, in that column's order."""
        index = self.indexes[column]

        def keep(value: V) -> bool:
            found = index(value)
            return found is not None and found <= limit_value

        rows = self._select(
            f"WHERE {column} <= ? ORDER BY {column} LIMIT {int(limit)}", (limit_value,), keep
        )
        return sorted(rows, key=lambda kv: index(kv[1]) or "")[:limit]

    def _select(
        self,
        tail: str,
        params: Sequence[Any],
        keep: Callable[[V], bool] | None = None,
        unwritten: Iterable[str] | None = None,
    ) -> list[tuple[str, V]]:
        """Rows the query finds, merged with unwritten documents that ``keep`` accepts.

        ``unwritten``: the only unwritten keys that could match (from the dirty
        index), so a query costs what it finds, not what is waiting to be written.
        """
        rows = self.owner.app.tables.query(
            f"SELECT key, doc FROM {self._name()} {tail}",  # noqa: S608
            params,
        )
        found: dict[str, V] = {}
        for key, blob in rows:
            if key in self._dirty:
                continue
            cached = self._cache.get(key)
            found[key] = cached if cached is not None else self._open(blob)
        candidates = self._dirty if unwritten is None else unwritten
        for key in candidates:
            value = self._dirty.get(key, _DELETED)
            if value is not _DELETED and (keep is None or keep(value)):
                found[key] = value
        return list(found.items())

    # -- writing back ------------------------------------------------------------------------------
    def write(self, cur: Cursor) -> None:
        name = self._name()
        columns = ["key", *self.indexes, "doc"]
        marks = ", ".join("?" for _ in columns)
        updates = ", ".join(f"{c} = excluded.{c}" for c in columns[1:])
        upsert = (
            f"INSERT INTO {name} ({', '.join(columns)}) VALUES ({marks}) "  # noqa: S608
            f"ON CONFLICT (key) DO UPDATE SET {updates}"
        )
        rows, deleted = [], []
        for key, value in self._dirty.items():
            if value is _DELETED:
                deleted.append((key,))
            else:
                indexed = [index(value) for index in self.indexes.values()]
                rows.append((key, *indexed, self._seal(value)))
        cur.executemany(upsert, rows)
        cur.executemany(f"DELETE FROM {name} WHERE key = ?", deleted)  # noqa: S608

    def written(self) -> None:
        self._dirty.clear()
        for index in self._dirty_index.values():
            index.clear()

    def forget(self) -> None:
        self.written()
        self._cache.clear()

    @property
    def pending(self) -> int:
        return len(self._dirty)


class Projection(ABC):
    """Folds the service's own events into document tables, resuming from its stored position."""

    #: the projection's name in the store (tables ``view_<name>_*``, its position row)
    name: str = ""

    def __init__(self, app: LanternApplication, page: int = 1000) -> None:
        self.app = app
        self.page = page
        self.lock = threading.RLock()
        self.position: int | None = None  # folded up to here (None: not read yet)
        self.stored: int = 0  # the position written in the store with the documents
        self.tables: list[DocumentTable[Any]] = []
        self._changes = 0
        self._held: dict[int, list[Recording[UUID]]] = {}  # observed ahead of a gap, by first id
        self._flushed_at = time.monotonic()
        app.tables.create(
            POSITIONS,
            "CREATE TABLE IF NOT EXISTS {t} (name TEXT PRIMARY KEY, position BIGINT NOT NULL)",
        )
        app.add_observer(self)

    def table(
        self,
        name: str,
        kind: Any = Any,
        indexes: dict[str, Callable[[Any], str | None]] | None = None,
        cache: int = 5000,
    ) -> DocumentTable[Any]:
        found: DocumentTable[Any] = DocumentTable(self, name, kind, indexes, cache)
        self.tables.append(found)
        return found

    @abstractmethod
    def apply(self, event: Any) -> None:
        """Fold one domain event (inside the lock)."""

    def reset(self) -> None:  # noqa: B027 - optional: most projections keep nothing else
        """Forget derived in-memory state (the tables' documents are reloaded on demand)."""

    def changed(self) -> None:
        self._changes += 1

    # -- following the log -------------------------------------------------------------------------
    def _stored_position(self) -> int:
        rows = self.app.tables.query(
            f"SELECT position FROM {self.app.tables.name(POSITIONS)} WHERE name = ?",  # noqa: S608
            (self.name,),
        )
        return int(rows[0][0]) if rows else 0

    def catch_up(self) -> None:
        with self.lock:
            stored = self._stored_position()
            if self.position is None or stored > self.stored:
                # First use, or another instance wrote ahead of us: take what it wrote.
                self._forget()
                self.position = self.stored = stored
            folded, began = 0, time.monotonic()
            while True:
                rows = self.app.domain_events_after(self.position, self.page)
                for position, event in rows:
                    self.apply(event)
                    self.position = position
                folded += len(rows)
                if self._changes >= FLUSH_AFTER:
                    self.flush()
                if len(rows) < self.page:
                    self._held.clear()  # read from the store instead
                    break
                if folded % (self.page * 20) == 0:
                    log.info(
                        "catching up", projection=self.name, events=folded, position=self.position
                    )
            if folded > self.page:
                log.info(
                    "caught up",
                    projection=self.name,
                    events=folded,
                    seconds=round(time.monotonic() - began, 1),
                )
            if time.monotonic() - self._flushed_at >= FLUSH_EVERY_S:
                self.flush()

    def observe(self, recordings: Sequence[Recording[UUID]]) -> None:
        """Fold what was just recorded, in position order, without reading it back.

        Commits of two threads can be observed out of order: a later one is held
        (bounded) until the one before it arrives; a gap that never fills is read
        from the store by the next catch-up, which drops whatever was held.
        """
        with self.lock:
            if self.position is None or not recordings:
                return
            first = recordings[0].notification.id
            if first > self.position + 1:
                if sum(len(r) for r in self._held.values()) < HOLD_AT_MOST:
                    self._held[first] = list(recordings)
                return
            self._fold(recordings)
            while self._held:
                waiting = self._held.pop(min(self._held))
                self._fold(waiting)

    def _fold(self, recordings: Sequence[Recording[UUID]]) -> None:
        for recording in recordings:
            if recording.notification.id == self.position + 1:  # type: ignore[operator]
                self.apply(recording.domain_event)
                self.position = recording.notification.id
            elif recording.notification.id > self.position + 1:  # type: ignore[operator]
                self._held.clear()  # a gap: the next catch-up reads on from the store
                return

    def flush(self) -> None:
        """Write back changed documents with the position, if nobody wrote ahead meanwhile."""
        with self.lock:
            self._flushed_at = time.monotonic()
            if self.position is None or (self._changes == 0 and self.position == self.stored):
                return
            positions = self.app.tables.name(POSITIONS)
            with self.app.tables.transaction() as cur:
                cur.execute(
                    f"UPDATE {positions} SET position = ? WHERE name = ? AND position = ?",  # noqa: S608
                    (self.position, self.name, self.stored),
                )
                if cur.rowcount == 0:
                    exists = cur.execute(
                        f"SELECT position FROM {positions} WHERE name = ?",  # noqa: S608
                        (self.name,),
                    ).fetchone()
                    if exists is not None:  # another instance wrote ahead: take theirs
                        log.info("projection written by another instance", projection=self.name)
                        self._forget()
                        return
                    cur.execute(
                        f"INSERT INTO {positions} VALUES (?, ?)",  # noqa: S608
                        (self.name, self.position),
                    )
                for table in self.tables:
                    table.write(cur)
            for table in self.tables:
                table.written()
            self.stored, self._changes = self.position, 0

    def _forget(self) -> None:
        for table in self.tables:
            table.forget()
        self.reset()
        self._held.clear()
        self.position, self._changes = None, 0
