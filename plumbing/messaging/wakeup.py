"""Wake the relay when another process commits (PostgreSQL LISTEN/NOTIFY).

In-process saves wake the relay directly (see ``LanternApplication.add_listener``).
On PostgreSQL the recorder's subscription uses LISTEN/NOTIFY, so commits made
by another process holding the same store wake the relay too.  SQLite has no
such channel; there the relay's idle poll covers other writers.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from plumbing import logs
from plumbing.store.application import LanternApplication

log = logs.get("lantern.wakeup")


class ListenWaker:
    def __init__(self, app: LanternApplication, wake: Callable[[], None]) -> None:
        self.app = app
        self.wake = wake
        self._subscription: object | None = None
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="listen-waker", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                gt = self.app.recorder.max_notification_id()
                with self.app.recorder.subscribe(gt=gt) as subscription:
                    self._subscription = subscription
                    for _ in subscription:
                        self.wake()
                        if self._stopping.is_set():
                            return
            except Exception as exc:  # noqa: BLE001 - keep listening; the relay also polls
                if self._stopping.is_set():
                    return
                log.warning("listen failed; retrying", error=repr(exc))
                self._stopping.wait(1.0)

    def stop(self) -> None:
        self._stopping.set()
        subscription = self._subscription
        stop = getattr(subscription, "stop", None)
        if callable(stop):
            stop()
