"""An in-process read model that follows the service's own notification log.

It is rebuilt from the store at start and caught up before every query, so a
query never sees less than what has been committed by this process.  What this
process commits is folded in at once from the commit itself (no reading back
and decrypting its own writes) whenever it follows on from the view's position;
anything else (another process's writes, a gap) is read from the log by the
next catch-up.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Recording

from plumbing import logs
from plumbing.store.application import LanternApplication

log = logs.get("lantern.views")


class LocalView(ABC):
    def __init__(self, app: LanternApplication, batch: int = 1000) -> None:
        self.app = app
        self.batch = batch
        self.position = 0
        self.lock = threading.RLock()
        app.add_observer(self)

    def observe(self, recordings: Sequence[Recording[UUID]]) -> None:
        with self.lock:
            if not recordings or recordings[0].notification.id != self.position + 1:
                return  # not next in line: the next catch-up reads it from the store
            for recording in recordings:
                self.apply(recording.domain_event)
                self.position = recording.notification.id

    def catch_up(self) -> None:
        with self.lock:
            folded = 0
            while True:
                rows = self.app.domain_events_after(self.position, self.batch)
                for position, event in rows:
                    self.apply(event)
                    self.position = position
                folded += len(rows)
                if len(rows) < self.batch:
                    if folded > self.batch:
                        log.info(
                            "read model rebuilt",
                            view=type(self).__name__,
                            events=folded,
                            position=self.position,
                        )
                    return
                if folded % (self.batch * 20) == 0:  # a long rebuild shows progress
                    log.info(
                        "rebuilding read model",
                        view=type(self).__name__,
                        events=folded,
                        position=self.position,
                    )

    @abstractmethod
    def apply(self, event: Any) -> None:
        """Fold one domain event into the view."""
