"""Load the aggregates a whole batch will touch in one query, instead of one query each.

Why: a batch of 256 new reports asks 256 times "does this incident's response
exist?" and loads 256 timelines; each is a query (with its transaction) that
finds little or nothing.  Reading every event of the batch's aggregates at once
turns that into one query per few hundred aggregates.

It reads eventsourcing 9.5's events table as the library lays it out
(SQLite ``stored_events`` with hex ids; PostgreSQL ``<schema>.<app>_events``
with uuid ids, the same layout ``plumbing/integrity/chain_store.py`` reads) and
decodes each row through the application's own mapper (cipher, compressor,
upcasting), so what it returns is exactly what ``repository.get`` would.  Use
it for aggregates with few events (one per incident, per student); aggregates
kept small by snapshots (rosters, progress) are loaded the usual way.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any
from uuid import UUID

from eventsourcing.domain import Aggregate
from eventsourcing.persistence import StoredEvent

if TYPE_CHECKING:
    from plumbing.store.application import LanternApplication

CHUNK = 500


def load_many(app: LanternApplication, ids: Iterable[UUID]) -> dict[UUID, Aggregate]:
    """The aggregates among ``ids`` that exist, reconstructed from their events."""
    wanted = list(dict.fromkeys(ids))
    found: dict[UUID, list[Any]] = {}
    tables = app.tables
    if tables.postgres:
        table = f'"{tables.schema}".{app.name.lower()}_events'
    elif getattr(app.recorder, "datastore", None) is not None:
        table = "stored_events"
    else:  # the in-memory store: nothing to gain, load one by one
        return _one_by_one(app, wanted)
    for start in range(0, len(wanted), CHUNK):
        chunk = wanted[start : start + CHUNK]
        params: list[Any] = [list(chunk)] if tables.postgres else [u.hex for u in chunk]
        where = (
            "originator_id = ANY(?)"
            if tables.postgres
            else f"originator_id IN ({','.join('?' * len(chunk))})"
        )
        rows = tables.query(
            f"SELECT originator_id, originator_version, topic, state FROM {table} "  # noqa: S608
            f"WHERE {where} ORDER BY originator_id, originator_version",
            params,
        )
        for originator_id, version, topic, state in rows:
            oid = originator_id if isinstance(originator_id, UUID) else UUID(str(originator_id))
            stored = StoredEvent(
                originator_id=oid, originator_version=int(version), topic=str(topic), state=state
            )
            found.setdefault(oid, []).append(app.mapper.to_domain_event(stored))
    loaded: dict[UUID, Aggregate] = {}
    for oid, events in found.items():
        aggregate: Aggregate | None = None
        for event in events:  # eventsourcing's project_aggregate, without its per-event
            aggregate = event.mutate(aggregate)  # runtime-Protocol check (costly on 3.11)
        if aggregate is not None:
            loaded[oid] = aggregate
    return loaded


def _one_by_one(app: LanternApplication, ids: list[UUID]) -> dict[UUID, Aggregate]:
    from eventsourcing.application import AggregateNotFoundError

    loaded: dict[UUID, Aggregate] = {}
    for aggregate_id in ids:
        try:
            loaded[aggregate_id] = app.repository.get(aggregate_id)
        except AggregateNotFoundError:
            continue
    return loaded
