"""Durable timers as a due-timer read model plus a ticker.

Deadlines are facts in the aggregates' events (an acknowledgement deadline, a
check-in due time).  A :class:`DueTimers` view folds those events into a heap
of pending timers: it is rebuilt from the store at start, so a deadline that
passed while the service was down fires on the first tick.

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
import contextlib
import heapq
from abc import abstractmethod
from collections import deque
from collections.abc import Callable, Hashable
from datetime import UTC, datetime
from typing import Any

import anyio
from eventsourcing.persistence import IntegrityError

from plumbing import logs
from plumbing.store.local_view import LocalView

log = logs.get("lantern.timers")

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    return datetime.now(UTC)


class DueTimers(LocalView):
    """Pending timers by key; subclasses schedule and cancel them from domain events."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._heap: list[tuple[datetime, int, Hashable]] = []
        self._due: dict[Hashable, datetime] = {}
        self._counter = 0

    @abstractmethod
    def apply(self, event: Any) -> None:
        """Call :meth:`schedule` / :meth:`cancel` for the event's timers."""

    def schedule(self, key: Hashable, due_at: datetime) -> None:
        self._due[key] = due_at
        self._counter += 1
        heapq.heappush(self._heap, (due_at, self._counter, key))

    def cancel(self, key: Hashable) -> None:
        self._due.pop(key, None)

    def pending(self) -> int:
        with self.lock:
            return len(self._due)

    def is_pending(self, key: Hashable, due_at: datetime) -> bool:
        with self.lock:
            return self._due.get(key) == due_at

    def due(self, now: datetime) -> list[tuple[Hashable, datetime]]:
        """Timers whose time has come, oldest first (they stay pending until cancelled)."""
        with self.lock:
            self._drop_stale_heads()
            ready = []
            for due_at, _, key in sorted(self._heap):
                if due_at > now:
                    break
                if self._due.get(key) == due_at:
                    ready.append((key, due_at))
            return ready

    def _drop_stale_heads(self) -> None:
        while self._heap and self._due.get(self._heap[0][2]) != self._heap[0][0]:
            heapq.heappop(self._heap)


#: Fire one timer; returns False when the timer turned out to be stale (nothing to do).
Fire = Callable[[Hashable, datetime, datetime], bool]


class Ticker:
    def __init__(
        self,
        timers: DueTimers,
        fire: Fire,
        *,
        clock: Clock = system_clock,
        interval_s: float = 0.1,
        name: str = "ticker",
    ) -> None:
        self.timers = timers
        self.fire = fire
        self.clock = clock
        self.interval_s = interval_s
        self.name = name
        self.fired = 0
        #: the latest firings' lateness (bounded: a service runs for months)
        self.lateness_s: deque[float] = deque(maxlen=100_000)

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self.tick()
            except Exception as exc:
                log.exception("tick failed", ticker=self.name, error=repr(exc))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self.interval_s)

    async def tick(self) -> int:
        """Fire every due timer once; returns how many fired with an effect."""
        return await anyio.to_thread.run_sync(self._fire_due)

    def _fire_due(self) -> int:
        """One worker-thread pass, so a burst of deadlines costs no thread hop each."""
        self.timers.catch_up()
        effective = 0
        for key, due_at in self.timers.due(self.clock()):
            try:
                changed = self.fire(key, due_at, self.clock())
            except IntegrityError:
                log.info("timer raced another writer; will re-check", ticker=self.name)
                continue
            if changed:
                effective += 1
                self.fired += 1
                self.lateness_s.append((self.clock() - due_at).total_seconds())
            else:
                with self.timers.lock:
                    if self.timers.is_pending(key, due_at):
                        self.timers.cancel(key)
        return effective
