"""The failure classes of message processing, each handled its own way.

+----------------+-------------------------------------------+----------------------------------+
| class          | examples                                  | handling                         |
+================+===========================================+==================================+
| infrastructure | store unreachable or locked, pool timeout,| retried without limit, capped    |
|                | NATS timeout or disconnect                | back-off, never parked; /readyz  |
|                |                                           | unready, one log line a interval |
| concurrency    | optimistic-concurrency conflict on an     | reload and decide again in the   |
|                | aggregate or on the consumer's progress   | worker; never parked             |
| poison         | not decodable for any reason: bad UTF-8,  | parked at once (dead-letter      |
|                | garbage, missing/bad headers, an unknown  | stream), the lane moves on       |
|                | schema version, over the size limit       |                                  |
| rejected       | the domain refuses the command a message  | parked with the domain's reason  |
|                | asks for (``DomainError``)                | (see each decider for where a    |
|                |                                           | rejection event is the answer)   |
| defect         | any other exception (a bug)               | tried again once, then parked    |
|                |                                           | with the error class and message;|
|                |                                           | redrive after the fix            |
+----------------+-------------------------------------------+----------------------------------+

Nothing is skipped silently: every park is a log line (ERROR), a dead letter
with its class and reason (``lantern dlq list``), and a count in ``/readyz``.
"""

from __future__ import annotations

import sqlite3
import traceback
from enum import StrEnum

import psycopg
from eventsourcing.persistence import (
    DatabaseError,
    DataError,
    IntegrityError,
    InterfaceError,
    InternalError,
    OperationalError,
    PersistenceError,
    ProgrammingError,
)
from nats import errors as nats_errors
from psycopg_pool import PoolTimeout

from plumbing.domain import DomainError


class Failure(StrEnum):
    INFRASTRUCTURE = "infrastructure"
    CONCURRENCY = "concurrency"
    POISON = "poison"
    REJECTED = "rejected"
    DEFECT = "defect"


class Poison(Exception):
    """A message that cannot be understood; ``reason`` never quotes the payload."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


_INFRASTRUCTURE: tuple[type[BaseException], ...] = (
    OperationalError,
    InterfaceError,
    InternalError,
    PoolTimeout,
    psycopg.OperationalError,
    psycopg.InterfaceError,
    sqlite3.OperationalError,
    TimeoutError,
    ConnectionError,
    nats_errors.Error,
)


def classify(exc: BaseException) -> Failure:
    if isinstance(exc, Poison):
        return Failure.POISON
    if isinstance(exc, DomainError):
        return Failure.REJECTED
    if isinstance(exc, IntegrityError):
        return Failure.CONCURRENCY
    if isinstance(exc, _INFRASTRUCTURE):
        return Failure.INFRASTRUCTURE
    if isinstance(exc, DatabaseError | PersistenceError) and not isinstance(
        exc, DataError | ProgrammingError
    ):
        return Failure.INFRASTRUCTURE
    return Failure.DEFECT


def describe(exc: BaseException) -> str:
    """A reason for a log line or a dead letter that never quotes a payload value.

    Poison and domain reasons are our own words; infrastructure errors say what
    failed to connect; a defect is named by its class and where it was raised
    (its message might echo a value from the message, so it is left out).
    """
    if isinstance(exc, Poison):
        return exc.reason
    if isinstance(exc, DomainError):
        return f"{type(exc).__name__}: {exc.message}" + (f" ({exc.field})" if exc.field else "")
    if classify(exc) is Failure.DEFECT:
        frame = traceback.extract_tb(exc.__traceback__)[-1] if exc.__traceback__ else None
        where = f" at {frame.filename.rsplit('/', 2)[-1]}:{frame.lineno}" if frame else ""
        return f"{type(exc).__name__}{where}"
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {text[:300]}"
