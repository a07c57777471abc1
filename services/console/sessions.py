"""Server-side sessions: a random id in an HttpOnly cookie, everything else in memory.

Why server-side: ending a session (logout, expiry) must take effect at once,
and nothing about a person should sit in the browser.  A cookie value that the
store does not hold (forged, expired, ended, or from before a restart) is no
session: the request is treated as signed out.  The cost is that a restart of
the console signs everyone out, and several console instances need sticky
routing; both are acceptable for a district's console (README).

Each session also holds its CSRF token: every form posts it back, and every
state-changing request without the right one is refused (403).
"""

from __future__ import annotations

import hmac
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from services.console.identity import Person

COOKIE = "lantern_session"


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class Session:
    session_id: str
    created: datetime
    last_seen: datetime
    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    person: Person | None = None
    #: scratch space for the sign-in round trip (OAuth state, nonce, PKCE verifier)
    data: dict[str, Any] = field(default_factory=dict)
    token: str = ""
    token_expires: datetime | None = None

    def csrf_ok(self, offered: str | None) -> bool:
        """Constant-time; bytes, because compare_digest refuses non-ASCII text (a 500, once)."""
        given = str(offered or "").encode("utf-8", "surrogateescape")
        return bool(offered) and hmac.compare_digest(self.csrf.encode(), given)


@dataclass
class SessionStore:
    idle: timedelta = timedelta(minutes=30)
    lifetime: timedelta = timedelta(hours=10)
    clock: Callable[[], datetime] = utcnow
    _sessions: dict[str, Session] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def new(self) -> Session:
        now = self.clock()
        session = Session(secrets.token_urlsafe(32), now, now)
        with self._lock:
            self._sessions[session.session_id] = session
        return session

    def get(self, session_id: str | None) -> Session | None:
        """The live session for a cookie value, or None (unknown, expired: then dropped)."""
        if not session_id:
            return None
        now = self.clock()
        with self._lock:
            session = self._sessions.get(session_id)
            if session is None:
                return None
            if now - session.last_seen > self.idle or now - session.created > self.lifetime:
                del self._sessions[session_id]
                return None
            session.last_seen = now
            return session

    def sign_in(self, session: Session, person: Person) -> Session:
        """A fresh id on sign-in (no fixation), keeping nothing of the anonymous one."""
        self.end(session.session_id)
        fresh = self.new()
        fresh.person = person
        return fresh

    def end(self, session_id: str) -> None:
        with self._lock:
            self._sessions.pop(session_id, None)

    def sweep(self) -> int:
        """Drop expired sessions (called now and then); how many went."""
        now = self.clock()
        with self._lock:
            gone = [
                k
                for k, s in self._sessions.items()
                if now - s.last_seen > self.idle or now - s.created > self.lifetime
            ]
            for k in gone:
                del self._sessions[k]
        return len(gone)

    def __len__(self) -> int:
        return len(self._sessions)
