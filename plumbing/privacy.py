"""Per-student data keys, so one student's PII can be made unreadable for good (crypto-shredding).

Two layers protect student data at rest:

1. the whole store is encrypted with eventsourcing's AES-GCM cipher
   (``LANTERN_CIPHER_KEY``, see ``plumbing.store.select``): nothing in a database file
   is readable without the service's key;
2. the identifying fields and free-text notes are *also* sealed with a data
   key of their own student (:class:`Sealer`), before they enter a domain event.

Why the second layer: events are never edited or deleted (the history and its
hash chain must stay verifiable), yet a retention decision may require that a
student's PII be destroyed.  Deleting the student's data key does that: the
events stay, byte for byte, but their sealed fields cannot be opened again, and
readers show ``[shredded]``.  The deletion is recorded as a
``StudentDataShredded`` event (who, why, when; never what).

The keys live apart from the event store, in a small table of their own
(``<service>-keys.sqlite`` with ``secure_delete`` on, or ``<schema>.lantern_student_keys``
on PostgreSQL), each wrapped with the service's store key.  Backups keep a
shredded key until they expire: the retention of backups bounds how long a
shredded student can still be recovered by whoever holds both backup and key.

Sealing is deterministic per student (the nonce is derived from the key and the
text), so recording the same details twice still compares equal and changes
nothing; it reveals only that two sealed values of one student are equal.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import sqlite3
import threading
import time
from abc import ABC, abstractmethod
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from eventsourcing.domain import Aggregate

from plumbing.domain import Trace, TracedCreated, TracedEvent
from plumbing.settings import Settings

PREFIX = "pii:v1:"
SHREDDED = "[shredded]"


# -- the key store ----------------------------------------------------------------------------
class KeyTable(ABC):
    """student_ref -> wrapped data key; deleting a row is the shredding."""

    @abstractmethod
    def get(self, student_ref: str) -> bytes | None: ...

    @abstractmethod
    def put_if_absent(self, student_ref: str, wrapped: bytes) -> bytes: ...

    @abstractmethod
    def delete(self, student_ref: str) -> bool: ...


class MemoryKeys(KeyTable):
    def __init__(self) -> None:
        self.rows: dict[str, bytes] = {}
        self.lock = threading.Lock()

    def get(self, student_ref: str) -> bytes | None:
        return self.rows.get(student_ref)

    def put_if_absent(self, student_ref: str, wrapped: bytes) -> bytes:
        with self.lock:
            return self.rows.setdefault(student_ref, wrapped)

    def delete(self, student_ref: str) -> bool:
        with self.lock:
            return self.rows.pop(student_ref, None) is not None


class SqliteKeys(KeyTable):
    """A file of its own: ``secure_delete`` overwrites a deleted key, no WAL keeps a copy."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.lock = threading.Lock()
        self._db: sqlite3.Connection | None = None
        with self._connect() as db:
            db.execute(
                "CREATE TABLE IF NOT EXISTS student_keys "
                "(student_ref TEXT PRIMARY KEY, wrapped BLOB NOT NULL)"
            )

    def _connect(self) -> sqlite3.Connection:
        """One connection for the process (opened once: not one per seal)."""
        if self._db is None:
            if not self.path.exists():  # owner-only from the start: it holds the students' keys
                self.path.parent.mkdir(parents=True, exist_ok=True)
                os.close(os.open(self.path, os.O_WRONLY | os.O_CREAT, 0o600))
            db = sqlite3.connect(self.path, timeout=10, check_same_thread=False)
            db.execute("PRAGMA journal_mode=DELETE")
            db.execute("PRAGMA secure_delete=ON")
            self._db = db
        return self._db

    def get(self, student_ref: str) -> bytes | None:
        with self.lock, self._connect() as db:
            row = db.execute(
                "SELECT wrapped FROM student_keys WHERE student_ref = ?", (student_ref,)
            ).fetchone()
        return bytes(row[0]) if row else None

    def put_if_absent(self, student_ref: str, wrapped: bytes) -> bytes:
        with self.lock, self._connect() as db:
            db.execute(
                "INSERT OR IGNORE INTO student_keys (student_ref, wrapped) VALUES (?, ?)",
                (student_ref, wrapped),
            )
            row = db.execute(
                "SELECT wrapped FROM student_keys WHERE student_ref = ?", (student_ref,)
            ).fetchone()
        return bytes(row[0])

    def delete(self, student_ref: str) -> bool:
        with self.lock, self._connect() as db:
            deleted = db.execute("DELETE FROM student_keys WHERE student_ref = ?", (student_ref,))
            return deleted.rowcount > 0


class PostgresKeys(KeyTable):
    def __init__(self, dsn: str, schema: str, service: str) -> None:
        import psycopg

        self.psycopg = psycopg
        self.dsn = dsn
        self.table = f"{schema or 'public'}.lantern_{service}_student_keys"
        self.lock = threading.Lock()
        self._db: Any = None
        with self._use() as db:
            db.execute(
                f"CREATE TABLE IF NOT EXISTS {self.table} "
                "(student_ref TEXT PRIMARY KEY, wrapped BYTEA NOT NULL)"
            )

    @contextmanager
    def _use(self) -> Iterator[Any]:
        """One connection for the process, opened again after a failure (not one per seal)."""
        with self.lock:
            if self._db is None or self._db.closed:
                self._db = self.psycopg.connect(self.dsn, autocommit=True)
            try:
                yield self._db
            except self.psycopg.OperationalError:
                self._db.close()
                raise

    def get(self, student_ref: str) -> bytes | None:
        with self._use() as db:
            row = db.execute(
                f"SELECT wrapped FROM {self.table} WHERE student_ref = %s",  # noqa: S608
                (student_ref,),
            ).fetchone()
        return bytes(row[0]) if row else None

    def put_if_absent(self, student_ref: str, wrapped: bytes) -> bytes:
        with self._use() as db:
            db.execute(
                f"INSERT INTO {self.table} (student_ref, wrapped) VALUES (%s, %s) "  # noqa: S608
                "ON CONFLICT (student_ref) DO NOTHING",
                (student_ref, wrapped),
            )
            row = db.execute(
                f"SELECT wrapped FROM {self.table} WHERE student_ref = %s",  # noqa: S608
                (student_ref,),
            ).fetchone()
        assert row is not None
        return bytes(row[0])

    def delete(self, student_ref: str) -> bool:
        with self._use() as db:
            deleted = db.execute(
                f"DELETE FROM {self.table} WHERE student_ref = %s",  # noqa: S608
                (student_ref,),
            )
            count = int(deleted.rowcount)
            db.execute(f"VACUUM {self.table}")
        return count > 0


def key_table(settings: Settings) -> KeyTable:
    if settings.store == "sqlite":
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        return SqliteKeys(settings.data_dir / f"{settings.service}-keys.sqlite")
    if settings.store == "postgres":
        return PostgresKeys(settings.postgres_dsn, settings.postgres_schema, settings.service)
    return MemoryKeys()


# -- sealing --------------------------------------------------------------------------------
class Sealer:
    """Seals and opens one student's sensitive text with that student's data key."""

    #: Unwrapped keys are kept this long: a shredding in another instance of the service
    #: takes effect here within this time (in this instance, at once).
    KEY_CACHE_S = 60.0

    def __init__(self, keys: KeyTable, master_key: str = "") -> None:
        self.keys = keys
        self.master = AESGCM(base64.b64decode(master_key)) if master_key else None
        self._cache: OrderedDict[str, tuple[float, bytes]] = OrderedDict()
        self._cache_lock = threading.Lock()

    def _wrap(self, key: bytes, student_ref: str) -> bytes:
        if self.master is None:
            return key
        nonce = os.urandom(12)
        return nonce + self.master.encrypt(nonce, key, student_ref.encode())

    def _unwrap(self, wrapped: bytes, student_ref: str) -> bytes:
        if self.master is None:
            return wrapped
        return self.master.decrypt(wrapped[:12], wrapped[12:], student_ref.encode())

    def _key(self, student_ref: str, create: bool) -> bytes | None:
        now = time.monotonic()
        with self._cache_lock:
            cached = self._cache.get(student_ref)
            if cached is not None and now - cached[0] < self.KEY_CACHE_S:
                self._cache.move_to_end(student_ref)
                return cached[1]
        wrapped = self.keys.get(student_ref)
        if wrapped is None and create:
            wrapped = self.keys.put_if_absent(
                student_ref, self._wrap(AESGCM.generate_key(256), student_ref)
            )
        if wrapped is None:
            return None
        key = self._unwrap(wrapped, student_ref)
        with self._cache_lock:
            self._cache[student_ref] = (now, key)
            while len(self._cache) > 10_000:
                self._cache.popitem(last=False)
        return key

    def seal(self, student_ref: str, text: str) -> str:
        """Sealed text (empty stays empty: there is nothing to protect)."""
        if not text:
            return text
        key = self._key(student_ref, create=True)
        assert key is not None
        nonce = hmac.new(key, text.encode(), hashlib.sha256).digest()[:12]
        sealed = AESGCM(key).encrypt(nonce, text.encode(), student_ref.encode())
        return PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode()

    def open(self, student_ref: str, value: str) -> str:
        """The text, or ``[shredded]`` once the student's key is gone (plain text passes)."""
        if not value.startswith(PREFIX):
            return value
        key = self._key(student_ref, create=False)
        if key is None:
            return SHREDDED
        raw = base64.urlsafe_b64decode(value[len(PREFIX) :])
        try:
            return AESGCM(key).decrypt(raw[:12], raw[12:], student_ref.encode()).decode()
        except InvalidTag:
            return SHREDDED  # sealed under an earlier key, shredded since

    def seal_all(self, student_ref: str, values: dict[str, Any]) -> dict[str, Any]:
        return {
            k: self.seal(student_ref, v) if isinstance(v, str) else v for k, v in values.items()
        }

    def shred(self, student_ref: str) -> bool:
        with self._cache_lock:
            self._cache.pop(student_ref, None)
        return self.keys.delete(student_ref)


def sealer(settings: Settings, master_key: str) -> Sealer:
    return Sealer(key_table(settings), master_key)


# -- the record of a shredding ----------------------------------------------------------------
def shred_record_id(student_ref: str) -> UUID:
    return uuid5(NAMESPACE_URL, f"lantern:privacy:student:{student_ref}")


class StudentPrivacy(Aggregate):
    """What was decided about one student's data (who, why, when; never the data)."""

    class Started(TracedCreated):
        student_ref: str

    class StudentDataShredded(TracedEvent):
        student_ref: str
        reason: str
        by: str
        at: datetime

        def apply(self, aggregate: StudentPrivacy) -> None:
            aggregate.shreddings += 1

    def __init__(self, student_ref: str) -> None:
        self.student_ref = student_ref
        self.shreddings = 0

    @classmethod
    def start(cls, student_ref: str, trace: Trace) -> StudentPrivacy:
        return cls._create(
            cls.Started, id=shred_record_id(student_ref), student_ref=student_ref, **trace.fields()
        )

    def shredded(self, reason: str, by: str, at: datetime, trace: Trace) -> None:
        self.trigger_event(
            self.StudentDataShredded,
            student_ref=self.student_ref,
            reason=reason,
            by=by,
            at=at,
            **trace.fields(),
        )


def shred_student(
    app: Any, sealer: Sealer, student_ref: str, *, reason: str, by: str, at: datetime, trace: Trace
) -> dict[str, Any]:
    """Record the decision, then destroy the key (a retry after a crash repeats both safely)."""
    from eventsourcing.application import AggregateNotFoundError

    record: StudentPrivacy
    try:
        record = app.repository.get(shred_record_id(student_ref))
    except AggregateNotFoundError:
        record = StudentPrivacy.start(student_ref, trace)
    record.shredded(reason, by, at, trace)
    app.record(record)
    key_deleted = sealer.shred(student_ref)
    return {"student_ref": student_ref, "shredded": True, "key_deleted": key_deleted}
