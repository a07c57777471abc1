"""The console's view of the event streams: one ordered consumer per service stream.

Why one feed per console process (not one consumer per browser): the board's
read model (``services.console.board``) is built once from every stream, from
the first message, and each browser's live connection is served from it.  The
ordered consumers are ephemeral: nothing is left on the server when the console
goes, and after a restart it simply reads the streams again.

Resume: every change the browsers get is identified by the stream sequences
seen so far (``intake=12,dispatch=40,followup=3``, the SSE event id).  A
recent window of changes is kept in memory; a browser that comes back with a
``Last-Event-ID`` gets exactly what it missed, and one that has been away
longer than the window is told to ``reset`` (reload its view), so nothing is
missed and nothing is shown twice.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import msgspec
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from nats.js.errors import NotFoundError

from events import dispatch as d
from events import followup as f
from events import intake as i
from events.audit import AuditRecordedV1
from events.subjects import SERVICES, Subjects
from plumbing import logs
from services.console.board import Board

log = logs.get("lantern.console.feed")

Message = i.IntakeEvent | d.DispatchEvent | f.FollowupEvent | AuditRecordedV1
_decoder = msgspec.json.Decoder(Message)
#: how many recent changes a browser can resume across (about an hour of a busy district)
WINDOW = 20_000


@dataclass(frozen=True)
class Change:
    """One event that a live page may care about (no student data: ids and a kind)."""

    feed: str
    seq: int
    kind: str
    incident_id: str | None
    school_id: str | None
    people: frozenset[str]

    def public(self) -> dict[str, Any]:
        return {"feed": self.feed, "seq": self.seq, "kind": self.kind, "incident": self.incident_id}


Positions = dict[str, int]


def encode_positions(positions: Positions) -> str:
    return ",".join(f"{k}={v}" for k, v in sorted(positions.items()))


def decode_positions(text: str | None) -> Positions | None:
    """``intake=12,dispatch=40`` -> positions; None when absent or malformed."""
    if not text:
        return None
    out: Positions = {}
    for part in text.split(","):
        name, _, value = part.partition("=")
        if name not in SERVICES or not value.isdigit():
            return None
        out[name] = int(value)
    return out


def people_of(event: Any) -> frozenset[str]:
    names = (
        getattr(event, attr, None)
        for attr in ("responder_id", "to_responder_id", "recipient_id", "owner_id")
    )
    return frozenset(n for n in names if n)


@dataclass
class Feed:
    subjects: Subjects
    board: Board = field(default_factory=Board)
    positions: Positions = field(default_factory=lambda: dict.fromkeys(SERVICES, 0))
    window: deque[Change] = field(default_factory=lambda: deque(maxlen=WINDOW))
    #: per stream, the newest sequence that fell out of the window
    forgotten: Positions = field(default_factory=lambda: dict.fromkeys(SERVICES, 0))
    listeners: set[asyncio.Queue[Change]] = field(default_factory=set)
    caught_up: set[str] = field(default_factory=set)

    @property
    def ready(self) -> bool:
        return self.caught_up >= set(SERVICES)

    # -- taking events in ---------------------------------------------------------------------
    def take(self, feed: str, seq: int, data: bytes, pending: int = 0) -> Change | None:
        """Fold one stream message into the board and tell the listeners."""
        if seq <= self.positions[feed]:
            return None  # an ordered consumer that restarted re-delivers nothing new
        self.positions[feed] = seq
        if pending == 0:
            self.caught_up.add(feed)
        try:
            event = _decoder.decode(data)
        except msgspec.DecodeError:
            return None  # not a message the console reads (a newer type, say)
        if isinstance(event, AuditRecordedV1):
            return None
        # whoever held the incident before hears of it too (an escalation away from them)
        before = self.board.responders_of(str(getattr(event, "incident_id", "")))
        incident = self.board.apply(event)
        if incident is None:
            return None
        school = getattr(event, "school_id", None) or self.board.school_of(incident)
        people = people_of(event) | before | self.board.responders_of(incident)
        kind = event.__struct_config__.tag
        change = Change(feed, seq, str(kind), incident, school, people)
        if len(self.window) == self.window.maxlen:
            old = self.window[0]
            self.forgotten[old.feed] = max(self.forgotten[old.feed], old.seq)
        self.window.append(change)
        for queue in list(self.listeners):
            queue.put_nowait(change)
        return change

    # -- giving changes out --------------------------------------------------------------------
    def listen(self) -> asyncio.Queue[Change]:
        queue: asyncio.Queue[Change] = asyncio.Queue()
        self.listeners.add(queue)
        return queue

    def unlisten(self, queue: asyncio.Queue[Change]) -> None:
        self.listeners.discard(queue)

    def resume_id(self) -> str:
        """Where a page rendered now stands (its live connection starts after this)."""
        return encode_positions(self.positions)

    def since(self, seen: Positions) -> tuple[list[Change], bool]:
        """Changes after ``seen``, and whether some were forgotten (the page must reset)."""
        lost = any(seen.get(k, 0) < v for k, v in self.forgotten.items())
        return [c for c in self.window if c.seq > seen.get(c.feed, 0)], lost

    # -- following the streams -------------------------------------------------------------------
    async def run(self, nc: NatsClient, stop: asyncio.Event) -> None:
        """Follow every service stream until stop (waiting for a stream not yet created)."""
        tasks = [asyncio.create_task(self._follow(nc, s, stop)) for s in SERVICES]
        try:
            await stop.wait()
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task

    async def _follow(self, nc: NatsClient, service: str, stop: asyncio.Event) -> None:
        js = nc.jetstream()
        stream = self.subjects.stream(service)

        async def on_message(msg: Msg) -> None:
            meta = msg.metadata
            self.take(service, meta.sequence.stream, msg.data, meta.num_pending)

        while not stop.is_set():
            try:
                info = await js.stream_info(stream)
                if info.state.last_seq <= self.positions[service]:
                    self.caught_up.add(service)
                # The whole stream (events, inboxes, audit): one filter works on every server.
                sub = await js.subscribe(
                    "",
                    stream=stream,
                    ordered_consumer=True,
                    cb=on_message,
                    config=_start_after(self.positions[service]),
                )
            except NotFoundError:
                await _sleep(stop, 1.0)  # streams are created by the services / provisioning
                continue
            except Exception as exc:  # noqa: BLE001 - NatsClient away: keep trying
                log.warning("cannot follow stream yet", stream=stream, error=repr(exc))
                await _sleep(stop, 1.0)
                continue
            try:
                await stop.wait()
            finally:
                with contextlib.suppress(Exception):
                    await sub.unsubscribe()


def _start_after(position: int) -> Any:
    from nats.js.api import ConsumerConfig, DeliverPolicy

    if position == 0:
        return ConsumerConfig(deliver_policy=DeliverPolicy.ALL)
    return ConsumerConfig(
        deliver_policy=DeliverPolicy.BY_START_SEQUENCE, opt_start_seq=position + 1
    )


async def _sleep(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)


def visible_to(change: Change, role: str, person_id: str, schools: Iterable[str]) -> bool:
    """Whether a signed-in person's live page hears of this change at all."""
    if role in ("admin",):
        return True
    if role == "supervisor":
        return change.school_id is None or change.school_id in set(schools)
    if role == "responder":
        return person_id in change.people
    return False
