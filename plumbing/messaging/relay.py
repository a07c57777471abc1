"""The outbox relay: publishes a service's notification log to JetStream, skipping nothing.

Why it is safe:

* **The store is the outbox.**  A command is acknowledged once its events are
  committed; publishing happens afterwards, from the log, so a broker outage
  never refuses a report and a crash between commit and publish loses nothing.
* **A cursor that only moves over what JetStream stored.**  The relay's
  position (``lantern_relay_cursor``, a table in the service's own database)
  advances only over messages whose acknowledgements came back, in order.
* **A chain that cannot be jumped.**  Every publish carries
  ``Nats-Expected-Last-Sequence`` = the sequence of the relay's previous
  message, so when one message of a pipelined batch is refused, every later one
  is refused too and the relay stops exactly there; it retries that message
  (with a log line at most once per interval and ``/readyz`` saying why) and
  never lets a later one pass it.
* **Holes are visible downstream.**  Each message carries its position, the
  store's epoch and ``Lantern-Previous``, the position of the previous message
  in its lane (its subject family and partition); consumers check that chain.
* **Regressions stop, loudly.**  At start (and after any refusal) the relay
  reconciles its cursor with what the stream holds: messages it published but
  had not yet recorded (a crash) are recognised by their identity and adopted;
  a tail the stream lost (an un-synced NATS crash) is published again; but a
  message the store cannot account for (a position beyond the store's newest,
  an epoch the store does not know, an identity that does not match) stops the
  relay: ``/readyz`` is unready and names it, until an operator decides
  (``lantern relay new-epoch SERVICE``).
* **Nothing twice.**  ``Nats-Msg-Id`` = the event's identity
  (``service/epoch/aggregate/version``), so JetStream drops a re-publish inside
  its duplicate window; consumers' progress covers the rest.
* **One publisher per store.**  The relay runs only while its instance holds
  the ``relay`` lease; a second relay racing it would break the sequence chain
  and fall back to reconciling, never to double publishing.

Translation happens in the worker thread that reads the log, never on the
event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import anyio
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.errors import NotFoundError

from events import headers as h
from events.codec import encode
from events.subjects import Subjects
from plumbing import logs
from plumbing.domain import rfc3339
from plumbing.envelope import Outgoing, Translator
from plumbing.messaging.failures import classify, describe
from plumbing.messaging.publisher import WRONG_LAST_SEQUENCE, Ack, Outbound, Publisher
from plumbing.store.application import LanternApplication
from plumbing.store.epoch import Epoch

log = logs.get("lantern.relay")

TABLE = "lantern_relay_cursor"
SAY_AT_MOST_EVERY_S = 10.0
RETRY_S = (0.2, 0.5, 1.0, 2.0, 5.0)


class RelayStopped(Exception):
    """The stream holds something this store cannot account for: an operator must decide."""


def event_identity(service: str, epoch: str, domain_event: Any) -> str:
    """Stable id of a stored event: the same on every re-publish, unique across epochs."""
    return f"{service}/{epoch}/{domain_event.originator_id}/{domain_event.originator_version}"


def lane_of(subject: str) -> str | None:
    """``evt.p3`` / ``audit.p1`` for partitioned subjects; None for inboxes (no consumer chain)."""
    tokens = subject.split(".")
    if len(tokens) >= 4 and tokens[1] in ("evt", "audit") and tokens[3].startswith("p"):
        return f"{tokens[1]}.{tokens[3]}"
    return None


@dataclass
class Cursor:
    epoch: str
    position: int  # every publishable event at or below this is in the stream
    stream_seq: int  # the stream sequence of the relay's last message
    lanes: dict[str, int] = field(default_factory=dict)  # lane -> position of its last message


@dataclass
class Prepared:
    """One event, translated and addressed, before it is published."""

    position: int
    outbound: Outbound
    lane: str | None


@dataclass
class RelayStatus:
    state: str = "starting"  # starting | standby | publishing | idle | stalled | stopped
    reason: str = ""
    position: int = 0
    stream_seq: int = 0
    published: int = 0
    store_position: int = 0
    since: float = field(default_factory=time.monotonic)

    def set(self, state: str, reason: str = "") -> None:
        if (state, reason) != (self.state, self.reason):
            self.since = time.monotonic()
        self.state, self.reason = state, reason

    @property
    def lag(self) -> int:
        return max(0, self.store_position - self.position)


class OutboxRelay:
    def __init__(
        self,
        *,
        app: LanternApplication,
        service: str,
        subjects: Subjects,
        translate: Translator,
        batch_size: int = 512,
        idle_poll_s: float = 0.5,
        ack_timeout_s: float = 10.0,
    ) -> None:
        self.app = app
        self.service = service
        self.subjects = subjects
        self.stream = subjects.stream(service)
        self.translate = translate
        self.batch_size = batch_size
        self.idle_poll_s = idle_poll_s
        self.ack_timeout_s = ack_timeout_s
        self.status = RelayStatus()
        self._wake = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._said: dict[str, float] = {}
        self._failures = 0  # consecutive failures, for back-off
        self._shown_at = 0.0

    # -- wake-up ---------------------------------------------------------------------------------
    def attach(self, loop: asyncio.AbstractEventLoop) -> None:
        """Be woken right after each commit (called from any thread)."""
        self._loop = loop
        self.app.add_listener(self.wake)

    def wake(self) -> None:
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._wake.set)

    # -- the cursor table (worker thread) --------------------------------------------------------
    def _create_table(self) -> None:
        self.app.tables.create(
            TABLE,
            "CREATE TABLE IF NOT EXISTS {t} (stream TEXT PRIMARY KEY, epoch TEXT NOT NULL, "
            "position BIGINT NOT NULL, stream_seq BIGINT NOT NULL, lanes TEXT NOT NULL)",
        )

    def load_cursor(self) -> Cursor | None:
        self._create_table()
        rows = self.app.tables.query(
            f"SELECT epoch, position, stream_seq, lanes FROM {self.app.tables.name(TABLE)} "  # noqa: S608
            "WHERE stream = ?",
            (self.stream,),
        )
        if not rows:
            return None
        e, p, s, lanes = rows[0]
        return Cursor(str(e), int(p), int(s), {k: int(v) for k, v in json.loads(lanes).items()})

    def save_cursor(self, cursor: Cursor) -> None:
        self._create_table()
        t = self.app.tables.name(TABLE)
        lanes = json.dumps(cursor.lanes, sort_keys=True)
        with self.app.tables.transaction() as cur:
            cur.execute(
                f"UPDATE {t} SET epoch = ?, position = ?, stream_seq = ?, lanes = ? "  # noqa: S608
                "WHERE stream = ?",
                (cursor.epoch, cursor.position, cursor.stream_seq, lanes, self.stream),
            )
            if cur.rowcount == 0:
                cur.execute(
                    f"INSERT INTO {t} VALUES (?, ?, ?, ?, ?)",  # noqa: S608
                    (self.stream, cursor.epoch, cursor.position, cursor.stream_seq, lanes),
                )

    # -- reading and translating (worker thread) -------------------------------------------------
    def prepare(self, cursor: Cursor, limit: int) -> tuple[list[Prepared], int]:
        """The next publishable events after the cursor, addressed; and the last position read."""
        rows = self.app.domain_events_after(cursor.position, limit)
        prepared: list[Prepared] = []
        for position, event in rows:
            outgoing = self.translate(event)
            if outgoing is not None:
                prepared.append(self._address(position, event, outgoing, cursor.epoch))
        return prepared, (rows[-1][0] if rows else cursor.position)

    def _address(self, position: int, event: Any, outgoing: Outgoing, epoch: str) -> Prepared:
        partition = self.subjects.partition_of(outgoing.incident_id)
        subject = outgoing.subject
        tokens = subject.split(".")
        if len(tokens) >= 4 and tokens[1] in ("evt", "audit") and tokens[3] == "*":
            subject = self.subjects.place(subject, partition)
        headers = {
            h.MSG_ID: event_identity(self.service, epoch, event),
            h.SOURCE: self.service,
            h.POSITION: str(position),
            h.EPOCH: epoch,
            h.PARTITION: str(partition),
            h.SCHEMA: str(type(outgoing.message).__struct_config__.tag or ""),
            h.CORRELATION_ID: str(getattr(event, "correlation_id", "")),
            h.CAUSATION_ID: str(getattr(event, "causation_id", "")),
            h.RECORDED_AT: rfc3339(event.timestamp),
        }
        if outgoing.incident_id:
            headers[h.INCIDENT_ID] = outgoing.incident_id
        return Prepared(
            position, Outbound(subject, encode(outgoing.message), headers), lane_of(subject)
        )

    def lanes_before(self, position: int, epoch: Epoch) -> dict[str, int]:
        """Each lane's last position at or below ``position`` (after a stream lost its tail).

        Reads the log backwards in pages until every lane this store uses is found.
        """
        wanted = {f"{f}.p{p}" for f in ("evt", "audit") for p in range(self.subjects.partitions)}
        found: dict[str, int] = {}
        top = position
        while top > epoch.starts_after and wanted - set(found):
            start = max(epoch.starts_after, top - 1000)
            rows = self.app.domain_events_after(start, top - start)
            for pos, event in reversed(rows):
                outgoing = self.translate(event)
                if outgoing is None:
                    continue
                lane = self._address(pos, event, outgoing, epoch.epoch).lane
                if lane is not None and lane not in found:
                    found[lane] = pos
            top = start
        return found

    def identity_at(self, position: int, epoch: str) -> str | None:
        rows = self.app.domain_events_after(position - 1, 1)
        if not rows or rows[0][0] != position:
            return None
        return event_identity(self.service, epoch, rows[0][1])

    # -- reconciling with the stream -------------------------------------------------------------
    async def reconcile(self, js: JetStreamContext) -> Cursor:
        epoch: Epoch = await anyio.to_thread.run_sync(self.app.current_epoch)
        cursor = await anyio.to_thread.run_sync(self.load_cursor)
        if cursor is None:
            cursor = Cursor(epoch.epoch, epoch.starts_after, 0, {})
        elif cursor.epoch != epoch.epoch:  # an operator began a new epoch
            log.warning("relay begins a new store epoch", epoch=epoch.epoch, follows=epoch.follows)
            cursor = Cursor(epoch.epoch, epoch.starts_after, cursor.stream_seq, {})
        store_max = await anyio.to_thread.run_sync(self.app.max_position)
        self.status.store_position = store_max
        last = (await js.stream_info(self.stream)).state.last_seq or 0
        if last > cursor.stream_seq:
            cursor = await self._adopt(js, cursor, epoch, last, store_max)
        elif last < cursor.stream_seq:
            cursor = await self._rewind(js, cursor, epoch, last)
        elif last:
            await self._check_known(js, last, cursor, epoch, store_max)
        await anyio.to_thread.run_sync(self.save_cursor, cursor)
        return cursor

    async def _adopt(
        self, js: JetStreamContext, cursor: Cursor, epoch: Epoch, last: int, store_max: int
    ) -> Cursor:
        """Messages after the cursor: ours (published, not yet recorded) or a regression."""
        for seq in range(cursor.stream_seq + 1, last + 1):
            try:
                msg = await js.get_msg(self.stream, seq=seq)
            except NotFoundError:
                continue
            headers = msg.headers or {}
            msg_epoch, position = headers.get(h.EPOCH, ""), int(headers.get(h.POSITION, "0") or 0)
            if not msg_epoch and not cursor.stream_seq and cursor.position == 0:
                cursor.position, cursor.stream_seq = position, seq  # a stream from before epochs
                continue
            if msg_epoch and msg_epoch in (epoch.follows,) and msg_epoch != cursor.epoch:
                cursor.stream_seq = seq  # the epoch this one knowingly follows
                continue
            if msg_epoch != cursor.epoch:
                raise RelayStopped(
                    f"stream {self.stream} holds epoch {msg_epoch or '(none)'} at seq {seq}; "
                    f"this store is epoch {cursor.epoch}: the store was recreated or replaced"
                )
            if position > store_max:
                raise RelayStopped(
                    f"store regression: stream {self.stream} holds position {position} (seq {seq}) "
                    f"beyond this store's newest, {store_max}"
                )
            expected = await anyio.to_thread.run_sync(self.identity_at, position, cursor.epoch)
            if headers.get(h.MSG_ID) != expected:
                raise RelayStopped(
                    f"stream {self.stream} seq {seq} claims position {position}, but this "
                    "store's event there has another identity: a message this relay did not write"
                )
            cursor.position, cursor.stream_seq = max(cursor.position, position), seq
            lane = lane_of(msg.subject or "")
            if lane is not None:
                cursor.lanes[lane] = max(cursor.lanes.get(lane, 0), position)
        log.info("relay adopted messages it had published", up_to_seq=last)
        return cursor

    async def _rewind(
        self, js: JetStreamContext, cursor: Cursor, epoch: Epoch, last: int
    ) -> Cursor:
        """The stream lost its tail (or was recreated): publish again from what it still holds."""
        position, seq = epoch.starts_after, last
        while seq > 0:
            with contextlib.suppress(NotFoundError):
                msg = await js.get_msg(self.stream, seq=seq)
                if (msg.headers or {}).get(h.EPOCH) == cursor.epoch:
                    position = int((msg.headers or {}).get(h.POSITION, "0") or 0)
                    break
            seq -= 1
        lanes = await anyio.to_thread.run_sync(self.lanes_before, position, epoch)
        log.warning(
            "stream lost messages the relay had published; publishing them again",
            stream=self.stream,
            from_position=position,
            had_seq=cursor.stream_seq,
            stream_seq=last,
        )
        return Cursor(cursor.epoch, position, last, lanes)

    async def _check_known(
        self, js: JetStreamContext, last: int, cursor: Cursor, epoch: Epoch, store_max: int
    ) -> None:
        msg = await js.get_msg(self.stream, seq=last)
        headers = msg.headers or {}
        msg_epoch, position = headers.get(h.EPOCH, ""), int(headers.get(h.POSITION, "0") or 0)
        if msg_epoch == cursor.epoch and position > store_max:
            raise RelayStopped(
                f"store regression: stream {self.stream} holds position {position} beyond "
                f"this store's newest, {store_max} (restored from a backup?)"
            )
        if msg_epoch and msg_epoch not in (cursor.epoch, epoch.follows):
            raise RelayStopped(
                f"stream {self.stream} holds epoch {msg_epoch}; this store is epoch {cursor.epoch}"
            )

    # -- publishing ------------------------------------------------------------------------------
    async def run(self, nc: Client, js: JetStreamContext, active: Callable[[], bool]) -> None:
        """Publish while ``active()``; stops (and reports why) on a regression."""
        publisher = Publisher(nc)
        await publisher.start()
        try:
            while active():
                try:
                    cursor = await self.reconcile(js)
                except RelayStopped as stopped:
                    self._stopped(str(stopped))
                    await self._pause(active, 5.0)
                    continue
                except Exception as exc:  # noqa: BLE001 - store or NATS away: stall, named
                    self._stall(f"{classify(exc)}: cannot reconcile: {describe(exc)}")
                    await self._pause(active, 2.0)
                    continue
                if self.status.state in ("starting", "stopped"):
                    self.status.set("publishing")
                    log.info(
                        "relay resumed",
                        stream=self.stream,
                        position=cursor.position,
                        stream_seq=cursor.stream_seq,
                        epoch=cursor.epoch,
                    )
                self.status.position, self.status.stream_seq = cursor.position, cursor.stream_seq
                await self._publish_loop(publisher, cursor, active)
        finally:
            await publisher.close()

    async def _publish_loop(
        self, publisher: Publisher, cursor: Cursor, active: Callable[[], bool]
    ) -> None:
        while active():
            try:
                prepared, read_upto = await anyio.to_thread.run_sync(
                    self.prepare, cursor, self.batch_size
                )
            except Exception as exc:  # noqa: BLE001 - any read failure stalls, named
                self._stall(f"{classify(exc)}: cannot read the store: {describe(exc)}")
                await self._backoff(active)
                continue
            if not prepared:
                cursor.position = read_upto  # only private events: nothing to publish
                self.status.position = cursor.position
                if await self._idle(active):
                    continue
                return
            self.chain_headers(cursor, prepared)
            acks = await publisher.publish(
                [p.outbound for p in prepared], timeout_s=self.ack_timeout_s
            )
            stored, failure = self._stored_prefix(prepared, acks, cursor.stream_seq)
            if stored:
                self._advance(cursor, prepared[:stored], read_upto if not failure else None)
                await anyio.to_thread.run_sync(self.save_cursor, cursor)
                self.status.published += stored
            if failure is None:
                self._failures = 0
                self.status.set("publishing")
                self._show_backlog(read_upto)
                continue
            position, ack = failure
            if ack.error_code == WRONG_LAST_SEQUENCE or ack.duplicate:
                log.warning(
                    "stream moved under the relay; reconciling",
                    position=position,
                    error=ack.error or "duplicate",
                )
                return  # run() reconciles and resumes
            # Refused (or unanswered): stay at this message; what follows waits behind it.
            self._stall(f"publish of position {position} refused: {ack.error}")
            await self._backoff(active)

    def _show_backlog(self, read_upto: int) -> None:
        """A long catch-up (a backlog, a lost stream published again) shows its progress."""
        now = time.monotonic()
        if now - self._shown_at < 5.0:
            return
        self._shown_at = now
        store = self.status.store_position
        if store - read_upto > self.batch_size:
            log.info("relay catching up", stream=self.stream, position=read_upto, store=store)

    def _stored_prefix(
        self, prepared: list[Prepared], acks: list[Ack], last_seq: int
    ) -> tuple[int, tuple[int, Ack] | None]:
        """How many leading messages are in the stream, and the first that is not (if any)."""
        expected = last_seq
        for i, (item, ack) in enumerate(zip(prepared, acks, strict=True)):
            expected += 1
            if not ack.stored or ack.duplicate or ack.seq != expected:
                return i, (item.position, ack)
        return len(prepared), None

    def _advance(self, cursor: Cursor, stored: list[Prepared], read_upto: int | None) -> None:
        for item in stored:
            cursor.stream_seq += 1
            if item.lane is not None:
                cursor.lanes[item.lane] = item.position
        cursor.position = read_upto if read_upto is not None else stored[-1].position
        self.status.position, self.status.stream_seq = cursor.position, cursor.stream_seq

    def chain_headers(self, cursor: Cursor, prepared: list[Prepared]) -> None:
        """Fill in each message's predecessor in its lane and the expected stream sequence."""
        lanes = dict(cursor.lanes)
        seq = cursor.stream_seq
        for item in prepared:
            headers = dict(item.outbound.headers)
            headers[h.EXPECTED_LAST_SEQUENCE] = str(seq)
            seq += 1
            if item.lane is not None:
                headers[h.PREVIOUS] = str(lanes.get(item.lane, 0))
                lanes[item.lane] = item.position
            item.outbound = Outbound(item.outbound.subject, item.outbound.payload, headers)

    async def _idle(self, active: Callable[[], bool]) -> bool:
        self.status.set("idle")
        self._wake.clear()
        self.status.store_position = await anyio.to_thread.run_sync(self.app.max_position)
        if self.status.store_position > self.status.position:
            return True
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout=self.idle_poll_s)
        return active()

    async def _backoff(self, active: Callable[[], bool]) -> None:
        self._failures += 1
        await self._pause(active, RETRY_S[min(self._failures, len(RETRY_S)) - 1])

    async def _pause(self, active: Callable[[], bool], seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while active() and time.monotonic() < deadline:
            await asyncio.sleep(min(0.2, seconds))

    def _stall(self, why: str) -> None:
        self.status.set("stalled", why)
        self._say(why, "relay stalled")

    def _stopped(self, why: str) -> None:
        self.status.set("stopped", why)
        self._say(why, "relay stopped: an operator must decide (lantern relay new-epoch)")

    def _say(self, why: str, what: str) -> None:
        now = time.monotonic()
        if now - self._said.get(why, 0.0) >= SAY_AT_MOST_EVERY_S:
            self._said[why] = now
            log.error(what, stream=self.stream, why=why)
