"""Repeated reads of one record by one identity, recorded as one audit entry with a count.

A dashboard that polls ``status`` every second used to write an audit entry per
poll (540 polls, about 1,100 records).  Now:

* the first read opens a window of ``window_s`` seconds and is recorded at once,
  as every read was before: no access goes unrecorded, even for an instant;
* identical reads inside the window (same identity and role, operation,
  record, purpose, interface and outcome) are only counted;
* when the window closes, one ``AuditEntry.RepeatedReads`` entry records them:
  ``count``, the first repeat's time (``at``) and the last one's (``last_at``).
  It is published as ``audit.recorded.v1`` with those fields, so the audit
  history, its exports and the record of disclosures (34 CFR 99.32) show every
  read, with how many times and until when.

Windows close on time (:meth:`RepeatWindows.run` checks every second) and when
the service stops.  Limit: a service killed outright loses the count of its
open windows, at most ``window_s`` seconds of repeats, never a first read.
Commands, refusals, errors and break-the-glass reads are never coalesced.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from uuid import uuid4

from plumbing import logs
from plumbing.domain import Trace
from plumbing.integrity.audit import Entry

log = logs.get("lantern.audit")
Key = tuple[str | int | None, ...]


def key_of(entry: Entry) -> Key:
    return (
        entry.actor,
        entry.role,
        entry.action,
        entry.interface,
        entry.purpose,
        entry.incident_id,
        entry.student_ref,
        entry.school_id,
        entry.outcome,
        entry.status,
    )


@dataclass
class _Window:
    closes: float  # monotonic
    first: Entry  # the read that opened it (recorded at once)
    count: int = 0
    first_at: datetime | None = None
    last_at: datetime | None = None
    trace: Trace | None = None

    def summary(self) -> Entry | None:
        if not self.count or self.first_at is None:
            return None
        return replace(
            self.first,
            audit_id=uuid4(),
            at=self.first_at,
            last_at=self.last_at,
            count=self.count,
            trace=self.trace or self.first.trace,
            stored=False,
        )


class RepeatWindows:
    def __init__(
        self,
        window_s: float,
        store: Callable[[Entry], None],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.window_s = window_s
        self.store = store
        self.clock = clock
        self._windows: dict[Key, _Window] = {}
        self._unsaved: list[Entry] = []  # summaries a failed write left behind, retried
        self._lock = threading.Lock()

    def admit(self, entry: Entry) -> bool:
        """True: record this read now (it opens a window); False: it was counted."""
        if self.window_s <= 0:
            return True
        now = self.clock()
        key = key_of(entry)
        with self._lock:
            window = self._windows.get(key)
            if window is not None and now < window.closes:
                window.count += 1
                window.first_at = window.first_at or entry.at
                window.last_at = entry.at
                window.trace = window.trace or entry.trace
                return False
            closed = window.summary() if window is not None else None
            self._windows[key] = _Window(closes=now + self.window_s, first=entry)
        if closed is not None:
            self.store(closed)
        return True

    def flush(self, everything: bool = False) -> int:
        """Record the windows that closed (all of them when stopping); returns entries written."""
        now = self.clock()
        with self._lock:
            done = [k for k, w in self._windows.items() if everything or now >= w.closes]
            summaries = [s for k in done if (s := self._windows.pop(k).summary()) is not None]
            summaries = [*self._unsaved, *summaries]
            self._unsaved = []
        for written, summary in enumerate(summaries):
            try:
                self.store(summary)
            except Exception:
                with self._lock:
                    self._unsaved.extend(summaries[written:])
                raise
        return len(summaries)

    async def run(self, stop: asyncio.Event) -> None:
        """Close windows on time until ``stop``, then record every open one."""
        try:
            while not stop.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=1.0)
                try:
                    await asyncio.to_thread(self.flush)
                except Exception as exc:  # noqa: BLE001 - retried on the next tick
                    log.warning("repeated reads not recorded yet", error=repr(exc))
        finally:
            await asyncio.to_thread(self.flush, True)
