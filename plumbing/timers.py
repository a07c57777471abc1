"""Durable timers as a due-timer read model plus a ticker.

Deadlines are facts in the aggregates' events (an acknowledgement deadline, a
check-in due time).  A :class:`DueTimers` projection folds those events into a
table of pending timers in the store, so a deadline that passed while the
service was down fires on the first tick after the restart, without a rebuild.

The :class:`Ticker` asks the application to *fire* each due timer.  Firing is
a normal command (load -> decide -> record): the aggregate checks that the
deadline is still pending, so a stale timer (acknowledged meanwhile) changes
nothing, and optimistic concurrency makes two instances, or an acknowledgement
racing the tick, settle on exactly one outcome.  Nothing fires twice.

Why not JetStream message schedules: they need nats-server 2.12+ (the system
server here is 2.9), a schedule cannot be cancelled by an acknowledgement
without a second mechanism, and the deadline would live in the broker instead
of in the event history that replays and audits read.
"""

from __future__ import annotations

import asyncio
import json
import time
from abc import abstractmethod
from collections import OrderedDict, deque
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import anyio

from plumbing import logs
from plumbing.messaging.failures import Failure, classify, describe
from plumbing.store.projections import Projection

log = logs.get("lantern.timers")

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    return datetime.now(UTC)


def _sortable(at: datetime) -> str:
    """A due time as text that sorts like time (UTC, fixed width)."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")


class DueTimers(Projection):
    """Pending timers by key, kept in the store; subclasses schedule and cancel them from events.

    A timer is a document ``{"due", "at", "owner", "kind"}`` under its key (the key
    as JSON text); the ticker asks for those due, in due order, with one indexed
    query, however many are pending.
    """

    name = "timers"

    #: owners whose every timer this instance saw scheduled (bounded; the rest are queried)
    KNOWN_OWNERS = 50_000

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.timers = self.table(
            "pending",
            indexes={"due": lambda d: d["due"], "owner": lambda d: d["owner"]},
        )
        self._known: OrderedDict[str, dict[str, str]] = OrderedDict()  # owner -> key -> kind

    def reset(self) -> None:
        self._known.clear()

    def born(self, owner: str) -> None:
        """The owner's first event was folded: every timer it will have is scheduled here.

        Cancelling its timers then needs no query of the table (the common case: a
        response opened and assigned within one batch).
        """
        self._known[owner] = {}
        if len(self._known) > self.KNOWN_OWNERS:
            self._known.popitem(last=False)

    @abstractmethod
    def apply(self, event: Any) -> None:
        """Call :meth:`schedule` / :meth:`cancel` for the event's timers."""

    @abstractmethod
    def key_of(self, parts: list[str | None]) -> Hashable:
        """A key back from its stored parts (strings; the subclass knows their types)."""

    @staticmethod
    def text_of(key: Hashable) -> str:
        parts = key if isinstance(key, tuple) else (key,)
        return json.dumps([None if p is None else str(p) for p in parts])

    def schedule(self, key: Hashable, due_at: datetime, owner: str = "", kind: str = "") -> None:
        text = self.text_of(key)
        if owner in self._known:
            self._known[owner][text] = kind
        self.timers[text] = {
            "due": _sortable(due_at),
            "at": due_at.isoformat(),
            "owner": owner,
            "kind": kind,
        }

    def cancel(self, key: Hashable) -> None:
        self.timers.delete(self.text_of(key))

    def cancel_owned(self, owner: str, kind: str | None = None) -> None:
        known = self._known.get(owner)
        if known is not None:
            for text, its_kind in list(known.items()):
                if kind is None or its_kind == kind:
                    self.timers.delete(text)
                    del known[text]
            return
        for text, doc in list(self.timers.items_where(owner=owner)):
            if kind is None or doc["kind"] == kind:
                self.timers.delete(text)

    def pending(self) -> int:
        self.catch_up()
        with self.lock:
            return sum(1 for _ in self.timers.items())

    def is_pending(self, key: Hashable, due_at: datetime) -> bool:
        with self.lock:
            found = self.timers.get(self.text_of(key))
            return found is not None and found["due"] == _sortable(due_at)

    def due(self, now: datetime, limit: int = 1000) -> list[tuple[Hashable, datetime]]:
        """Timers whose time has come, oldest first (they stay pending until cancelled)."""
        with self.lock:
            rows = self.timers.below("due", _sortable(now), limit)
            return [
                (self.key_of(json.loads(text)), datetime.fromisoformat(doc["at"]))
                for text, doc in rows
            ]


#: Fire one timer; returns False when the timer turned out to be stale (nothing to do).
Fire = Callable[[Hashable, datetime, datetime], bool]


@dataclass(frozen=True)
class Quarantined:
    """A timer whose firing failed again and again: set aside so the others keep firing."""

    key: str
    due_at: str
    failures: int
    reason: str


class Ticker:
    """Fires due timers; one failing timer never stops the others.

    Failure classes as for messages (``plumbing/messaging/failures.py``): a
    concurrency conflict means another writer acted first (checked again next
    tick); an infrastructure failure ends the tick (retried next tick, logged at
    most once per interval); anything else counts against that timer alone, and
    after ``max_failures`` the timer is quarantined with its error: logged, shown
    in ``/readyz``, and tried again after a restart.
    """

    def __init__(
        self,
        timers: DueTimers,
        fire: Fire,
        *,
        clock: Clock = system_clock,
        interval_s: float = 0.1,
        name: str = "ticker",
        max_failures: int = 3,
    ) -> None:
        self.timers = timers
        self.fire = fire
        self.clock = clock
        self.interval_s = interval_s
        self.name = name
        self.max_failures = max_failures
        self.fired = 0
        self.failures: dict[Hashable, int] = {}
        self.quarantine: dict[Hashable, Quarantined] = {}
        self.stalled = ""  # an infrastructure failure of the last tick ("" when none)
        #: the latest firings' lateness (bounded: a service runs for months)
        self.lateness_s: deque[float] = deque(maxlen=100_000)
        self._said_at = 0.0

    async def run(self, active: Callable[[], bool]) -> None:
        """Tick while ``active()`` (this instance holds the ticker's lease)."""
        while active():
            try:
                await self.tick()
                self.stalled = ""
            except Exception as exc:  # noqa: BLE001 - infrastructure: next tick tries again
                self.stalled = describe(exc)
                now = time.monotonic()
                if now - self._said_at >= 10.0:
                    self._said_at = now
                    log.error("tick failed; retrying", ticker=self.name, error=self.stalled)
            await asyncio.sleep(self.interval_s)

    async def tick(self) -> int:
        """Fire every due timer once; returns how many fired with an effect."""
        return await anyio.to_thread.run_sync(self._fire_due)

    def _fire_due(self) -> int:
        """One worker-thread pass, so a burst of deadlines costs no thread hop each."""
        self.timers.catch_up()
        effective = 0
        for key, due_at in self.timers.due(self.clock()):
            if key in self.quarantine:
                continue
            try:
                changed = self.fire(key, due_at, self.clock())
            except Exception as exc:
                kind = classify(exc)
                if kind is Failure.CONCURRENCY:
                    log.info("timer raced another writer; will re-check", ticker=self.name)
                    continue
                if kind is Failure.INFRASTRUCTURE:
                    raise
                self._failed(key, due_at, exc)
                continue
            self.failures.pop(key, None)
            if changed:
                effective += 1
                self.fired += 1
                self.lateness_s.append((self.clock() - due_at).total_seconds())
            else:
                with self.timers.lock:
                    if self.timers.is_pending(key, due_at):
                        self.timers.cancel(key)
        return effective

    def _failed(self, key: Hashable, due_at: datetime, exc: Exception) -> None:
        count = self.failures.get(key, 0) + 1
        self.failures[key] = count
        reason = describe(exc)
        if count < self.max_failures:
            log.warning(
                "timer failed; will retry",
                ticker=self.name,
                timer=str(key),
                failures=count,
                error=reason,
            )
            return
        self.quarantine[key] = Quarantined(str(key), due_at.isoformat(), count, reason)
        log.error(
            "timer quarantined; the others keep firing",
            ticker=self.name,
            timer=str(key),
            failures=count,
            error=reason,
        )
