"""Reading dispatch's recorded history, from the running service's store or offline.

Only the raw notification log and the mapper are used (eventsourcing's own
API), never dispatch's read models, so how the application keeps its views
does not matter here.  Only the topics a what-if needs are selected, so audit
entries and delivery records are never even decoded.

Offline, the store is opened without creating anything: no table, no key
file.  A store that is not there is refused instead of being made empty.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from eventsourcing.application import Application

from plumbing.settings import Settings
from plumbing.store.select import DEV_CIPHER_FILE, store_env
from services.dispatch.whatif import gc_pause
from services.dispatch.whatif.history import DECISION_TOPICS, TOPICS, History, fold

BATCH = 5000


class StoreUnavailable(Exception):
    """There is no dispatch store to read where the settings point."""


def read(recorder: Any, mapper: Any, *, pages: bool = True, batch: int = BATCH) -> History:
    """The whole recorded history of one dispatch store.

    ``pages=False`` leaves out the pages sent to responders: a what-if does not
    need them, only the fidelity check (which compares every event) does.
    """
    with gc_pause.paused():
        return fold(_rows(recorder, mapper, TOPICS if pages else DECISION_TOPICS, batch))


def _rows(
    recorder: Any, mapper: Any, topics: tuple[str, ...], batch: int
) -> Iterator[tuple[int, Any]]:
    position = 0
    while True:
        notifications = recorder.select_notifications(
            position, batch, topics=topics, inclusive_of_start=False
        )
        for notification in notifications:
            yield notification.id, mapper.to_domain_event(notification)
        if len(notifications) < batch:
            return
        position = notifications[-1].id


class _Reader(Application[Any]):
    """A bare application on dispatch's store: its recorder and mapper, nothing else."""

    name = "dispatch"


@contextmanager
def offline(settings: Settings, *, pages: bool = True) -> Iterator[History]:
    """Read a dispatch store directly (``lantern whatif --offline``), creating nothing."""
    if settings.store == "memory":
        raise StoreUnavailable("an in-memory store cannot be read from another process")
    if settings.store == "sqlite":
        path = settings.data_dir / f"{settings.service}.sqlite"
        if not path.exists():
            raise StoreUnavailable(f"no dispatch store at {path}")
    if (
        settings.dev_mode
        and not settings.cipher_key
        and not (settings.data_dir / DEV_CIPHER_FILE).exists()
    ):
        raise StoreUnavailable(
            f"no store key: set LANTERN_CIPHER_KEY or keep {DEV_CIPHER_FILE} in {settings.data_dir}"
        )
    env = {**store_env(settings), "CREATE_TABLE": "false"}
    reader = _Reader(env=env)
    try:
        yield read(reader.recorder, reader.mapper, pages=pages)
    finally:
        reader.close()
