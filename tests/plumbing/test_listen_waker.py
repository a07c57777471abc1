"""On PostgreSQL the relay is woken by LISTEN/NOTIFY when another process commits."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from events.intake import AddSchoolV1
from plumbing.messaging.wakeup import ListenWaker
from plumbing.settings import Settings
from plumbing.store.select import store_env
from services.intake.application import IntakeApplication
from tests.conftest import PG_DSN
from tests.support import TRACE

pytestmark = pytest.mark.system


def test_a_commit_by_another_application_wakes_the_listener(pg_schema: str, tmp_path: Path) -> None:
    settings = Settings(
        service="intake",
        data_dir=tmp_path,
        store="postgres",
        postgres_dsn=PG_DSN,
        postgres_schema=pg_schema,
        dev_mode=True,
    )
    listener_app = IntakeApplication(env=store_env(settings))
    writer_app = IntakeApplication(env=store_env(settings))  # "another process" on the store
    woken = threading.Event()
    waker = ListenWaker(listener_app, woken.set)
    waker.start()
    try:
        assert not woken.wait(0.5)  # nothing committed yet

        writer_app.add_school(AddSchoolV1(school_id="s0", name="S0"), trace=TRACE)

        assert woken.wait(5)
    finally:
        waker.stop()
        listener_app.close()
        writer_app.close()
