"""Specification of console sessions: they expire, end, and never come back forged."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from plumbing.access.auth import Role
from services.console.identity import Person
from services.console.sessions import SessionStore

pytestmark = pytest.mark.domain


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def signed_in(store: SessionStore) -> str:
    session = store.sign_in(store.new(), Person("r-a", Role.RESPONDER, ("s0",)))
    return session.session_id


def test_a_session_expires_after_idling_and_after_its_lifetime() -> None:
    clock = Clock()
    store = SessionStore(idle=timedelta(minutes=30), lifetime=timedelta(hours=10), clock=clock)
    sid = signed_in(store)
    clock.now += timedelta(minutes=29)
    assert store.get(sid) is not None  # a look keeps it alive
    clock.now += timedelta(minutes=31)
    assert store.get(sid) is None
    sid = signed_in(store)
    for _ in range(21):  # busy all day, never idle: still ends after ten hours
        clock.now += timedelta(minutes=29)
        alive = store.get(sid)
    assert alive is None


def test_signing_in_gives_a_new_id_and_signing_out_ends_it() -> None:
    store = SessionStore()
    anonymous = store.new()
    sid = store.sign_in(anonymous, Person("r-a", Role.RESPONDER)).session_id
    assert sid != anonymous.session_id
    assert store.get(anonymous.session_id) is None
    store.end(sid)
    assert store.get(sid) is None


def test_a_forged_id_is_no_session_and_csrf_must_match() -> None:
    store = SessionStore()
    session = store.new()
    assert store.get("forged") is None
    assert store.get("") is None
    assert session.csrf_ok(session.csrf)
    assert not session.csrf_ok("wrong")
    assert not session.csrf_ok(None)
