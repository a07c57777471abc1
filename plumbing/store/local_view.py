"""An in-process read model that follows the service's own notification log.

It is rebuilt from the store at start and caught up before every query, so a
query never sees less than what has been committed by this process.  Use it
for small, hot views (lists, loads); anything large belongs in a persisted
projection.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from typing import Any

from plumbing import logs
from plumbing.store.application import LanternApplication

log = logs.get("lantern.views")


class LocalView(ABC):
    def __init__(self, app: LanternApplication, batch: int = 1000) -> None:
        self.app = app
        self.batch = batch
        self.position = 0
        self.lock = threading.RLock()

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
