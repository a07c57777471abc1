"""The base eventsourcing application every service builds on.

Writing: :meth:`record` stores aggregates' pending events in one transaction,
together with the pending audit entry of the command being served, so no
command is on record without its audit entry.  After each commit listeners
are told (the relay's wake-up), so publishing latency stays low without a busy
loop.

Deciding many messages at once: inside :meth:`unit_of_work`, :meth:`get`
returns the same aggregate object for the same id (an identity map), so a
later message of a batch sees what an earlier one decided before anything is
saved; the consumer then records every changed aggregate and its progress in
one transaction (``plumbing/messaging/consumer.py``).

Reading is cached: ``AGGREGATE_CACHE_MAXSIZE`` keeps recently used aggregates
and fast-forwards them with one query for newer events (another instance may
have written), and ``snapshotting_intervals`` (per service) keeps long-lived
aggregates such as rosters from replaying from their first event.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cached_property
from typing import Any, Protocol
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, ProcessingEvent
from eventsourcing.domain import Aggregate, DomainEventProtocol
from eventsourcing.persistence import (
    IntegrityError,
    JSONTranscoder,
    Recording,
    Tracking,
    Transcoding,
)
from eventsourcing.projection import EventSourcedProjection

from plumbing import logs
from plumbing.integrity import audit
from plumbing.messaging.progress import Progress
from plumbing.store import epoch as store_epoch
from plumbing.store import transcodings
from plumbing.store.prefetch import load_many
from plumbing.store.tables import Tables

log = logs.get("lantern.store")

#: The aggregates a batch has loaded or created so far (None outside a unit of work).
_WORK: ContextVar[dict[UUID, Aggregate] | None] = ContextVar("lantern_unit_of_work", default=None)
#: What a batch's decisions may compute once and share (read-model snapshots, running sums).
_SCRATCH: ContextVar[dict[str, Any] | None] = ContextVar("lantern_batch_scratch", default=None)


class Observer(Protocol):
    def observe(self, recordings: Sequence[Recording[UUID]]) -> None: ...


def _collect(processing: ProcessingEvent[UUID], aggregates: Iterable[Aggregate | None]) -> None:
    """``ProcessingEvent.collect_events`` for aggregates only: the same result, without its
    two runtime-Protocol ``isinstance`` checks per aggregate (the costliest part of a record
    on Python 3.11, by py-spy; see the README's Performance section)."""
    for aggregate in aggregates:
        if aggregate is None:
            continue
        if not hasattr(aggregate, "collect_events"):  # a domain event given as it is
            processing.collect_events(aggregate)
            continue
        processing.events.extend(aggregate.collect_events())
        processing.aggregates[aggregate.id] = aggregate


class LanternApplication(EventSourcedProjection[UUID]):
    """Load -> decide -> record.  Subclasses set ``name`` to the service name."""

    snapshotting_intervals = {Progress: 200}

    def __init__(self, env: dict[str, str] | None = None) -> None:
        for attempt in range(3):
            try:
                super().__init__(env)
                break
            except IntegrityError:  # PostgreSQL: another instance creating the tables right now
                if attempt == 2:
                    raise
                time.sleep(0.2)
        self._listeners: list[Callable[[], None]] = []
        self._observers: list[Observer] = []
        self._listeners_lock = threading.Lock()

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        """Sets (and a service's own types, see ``extra_transcodings``) for snapshots."""
        super().register_transcodings(transcoder)
        transcodings.register(transcoder, *self.extra_transcodings())

    def extra_transcodings(self) -> list[Transcoding]:
        return []

    @cached_property
    def tables(self) -> Tables:
        """Lantern's own tables in this store's database (cursor, epoch, read models)."""
        return Tables(self)

    @cached_property
    def epoch(self) -> store_epoch.Epoch:
        """This store's current epoch, as of the first use in this process."""
        return store_epoch.current(self.tables)

    def current_epoch(self) -> store_epoch.Epoch:
        """Read again (an operator may have started a new epoch meanwhile)."""
        found = store_epoch.current(self.tables)
        self.__dict__["epoch"] = found
        return found

    # -- writing ------------------------------------------------------------------------------
    def record(self, *aggregates: Aggregate | None, tracking: Tracking | None = None) -> int:
        """Store the aggregates' pending events (and the tracking record) atomically.

        Returns the number of events stored.  The audit entry of the command being
        served (if any is pending, see ``plumbing.integrity.audit``) is stored in the
        same transaction.
        """
        processing = ProcessingEvent[UUID](tracking=tracking)
        _collect(processing, aggregates)
        entry = audit.rider() if processing.events else None
        if entry is not None:
            _collect(processing, [entry.aggregate()])
        recordings = self._record(processing)
        if entry is not None:
            entry.stored = True
        self._take_snapshots(processing)
        self._notify(recordings)
        return len(processing.events)

    # -- a unit of work (an identity map for deciding a batch) --------------------------------
    @contextmanager
    def unit_of_work(self) -> Iterator[dict[UUID, Aggregate]]:
        work: dict[UUID, Aggregate] = {}
        token, scratch = _WORK.set(work), _SCRATCH.set({})
        try:
            yield work
        finally:
            _WORK.reset(token)
            _SCRATCH.reset(scratch)

    def scratch(self) -> dict[str, Any]:
        """Shared by the decisions of one batch (a fresh dict outside a unit of work)."""
        found = _SCRATCH.get()
        return {} if found is None else found

    def work(self) -> dict[UUID, Aggregate]:
        """The current unit of work's identity map (a fresh one outside a unit of work)."""
        work = _WORK.get()
        return {} if work is None else work

    def prefetch(self, ids: Iterable[UUID]) -> None:
        """Load (in one query) the aggregates a batch will touch into its unit of work.

        Ids found absent are remembered for the batch, so asking again costs nothing.
        """
        work, scratch = _WORK.get(), self.scratch()
        if work is None:
            return
        absent: set[UUID] = scratch.setdefault("absent", set())
        wanted = [i for i in ids if i not in work and i not in absent]
        if not wanted:
            return
        loaded = load_many(self, wanted)
        work.update(loaded)
        absent.update(i for i in wanted if i not in loaded)
        for aggregate in loaded.values():
            self.loaded(aggregate)

    def get(self, aggregate_id: UUID) -> Any:
        """The aggregate (the batch's own copy inside a unit of work); raises if unknown."""
        work = _WORK.get()
        if work is not None and aggregate_id in work:
            return work[aggregate_id]
        if work is not None and aggregate_id in self.scratch().get("absent", ()):
            raise AggregateNotFoundError(aggregate_id)
        aggregate: Aggregate = self.repository.get(aggregate_id)
        if work is not None:
            work[aggregate_id] = aggregate
            self.loaded(aggregate)
        return aggregate

    def loaded(self, aggregate: Aggregate) -> None:
        """An aggregate joined the unit of work as stored, before any decision changes it.

        A hook for applications that keep a batch-wide figure up to date as the
        batch's decisions change aggregates (they note here what it was before).
        """

    def enlist(self, *aggregates: Aggregate | None) -> None:
        """New aggregates join the unit of work, so later decisions of the batch find them."""
        work = _WORK.get()
        if work is None:
            return
        enlisted: list[Aggregate] = self.scratch().setdefault("enlisted", [])
        for aggregate in aggregates:
            if aggregate is None:
                continue
            known = work.setdefault(aggregate.id, aggregate)
            if known is not aggregate:  # a load that bypassed get(): its changes would be lost
                raise RuntimeError(f"two copies of aggregate {aggregate.id} in one unit of work")
            enlisted.append(aggregate)  # in order: a batch-wide figure reads only what is new

    def exists(self, aggregate_id: UUID) -> bool:
        work = _WORK.get()
        if work is not None and aggregate_id in work:
            return True
        if work is not None and aggregate_id in self.scratch().get("absent", ()):
            return False
        return bool(self.recorder.select_events(aggregate_id, limit=1))

    # -- reading --------------------------------------------------------------------------------
    def domain_events_after(self, position: int, limit: int) -> Sequence[tuple[int, Any]]:
        """(notification id, domain event) pairs after ``position``, oldest first."""
        notifications = self.recorder.select_notifications(
            position, limit, inclusive_of_start=False
        )
        return [(n.id, self.mapper.to_domain_event(n)) for n in notifications]

    def max_position(self) -> int:
        return self.recorder.max_notification_id() or 0

    # -- wake-ups ---------------------------------------------------------------------------------
    def add_listener(self, listener: Callable[[], None]) -> None:
        with self._listeners_lock:
            self._listeners.append(listener)

    def add_observer(self, observer: Observer) -> None:
        """Read models that fold what this process just committed, without reading it back."""
        with self._listeners_lock:
            self._observers.append(observer)

    def _notify(self, recordings: list[Recording[UUID]]) -> None:
        super()._notify(recordings)
        if recordings:
            with self._listeners_lock:
                listeners, observers = list(self._listeners), list(self._observers)
            for observer in observers:
                observer.observe(recordings)
            for listener in listeners:
                listener()

    def policy(self, domain_event: DomainEventProtocol[UUID], processing_event: Any) -> None:
        """Unused: consumers call :meth:`record` with their progress instead."""

    def close(self) -> None:
        for observer in list(self._observers):  # write back what read models hold unwritten
            flush = getattr(observer, "flush", None)
            if callable(flush):
                try:
                    flush()
                except Exception as exc:  # noqa: BLE001 - folded again from the log next time
                    log.warning("read model not written back at stop", error=repr(exc))
        if "tables" in self.__dict__:
            self.tables.close()
        super().close()
