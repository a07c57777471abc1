"""The tracked consumer: batched, ordered, exactly-once in effect, whatever fails.

One :class:`Lane` per partition of a :class:`~plumbing.messaging.feed.Feed`,
run by the instance that holds the partition's lease.  For each batch that
arrives (as many messages as are there, up to ``batch_size``):

1. **order** - each message names its predecessor in the lane
   (``Lantern-Previous``); against the consumer's :class:`Progress`, a message
   is a duplicate (at or below it: acknowledged, nothing done), next in line
   (decided), behind a hole (held back and redelivered later; the hole is
   reported, never passed), or out of chain (parked: it claims a predecessor
   the lane has already passed);
2. **decide** - the next-in-line messages are decided in order in one worker
   hop, inside a unit of work (an identity map, so a later message sees what an
   earlier one changed); see ``failures.py`` for how each failure class is
   handled: poison, rejected and defect messages are parked and the lane moves
   on, infrastructure failures are retried without limit, a concurrency conflict
   decides again;
3. **park** - parked messages go to the consuming service's dead-letter stream
   under an id unique to this durable consumer, before anything is committed;
4. **commit** - every changed aggregate and the advanced progress, in one
   transaction; the progress is optimistic-concurrency checked, so two holders
   of one partition can never both commit the same messages;
5. **settle** - acknowledge what was decided, parked or duplicate; redeliver
   what was held back.

One log line per batch at INFO, one per message at DEBUG.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import anyio
from eventsourcing.application import AggregateNotFoundError
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError
from structlog.contextvars import bound_contextvars

from events.subjects import Subjects
from plumbing import logs
from plumbing.messaging.deadletters import DeadLetters, Parcel
from plumbing.messaging.failures import Failure, Poison, classify, describe
from plumbing.messaging.feed import Feed, Inbound, feed_filter, inbound
from plumbing.messaging.progress import Progress, progress_id, progress_name
from plumbing.messaging.puller import Puller
from plumbing.store.application import LanternApplication

log = logs.get("lantern.consumer")

BACKOFF_S = (0.2, 0.5, 1.0, 2.0, 5.0)
HOLE_REDELIVERY_S = 1.0
SAY_AT_MOST_EVERY_S = 10.0


@dataclass
class Plan:
    """What one batch will do, decided but not yet committed."""

    progress: Progress
    decided: list[Inbound] = field(default_factory=list)
    passed: list[Inbound] = field(default_factory=list)  # a kind this consumer does not read
    parked: list[Parcel] = field(default_factory=list)
    duplicates: list[Inbound] = field(default_factory=list)
    held: list[Inbound] = field(default_factory=list)
    aggregates: list[Aggregate] = field(default_factory=list)
    position: int = 0
    hole: tuple[int, int] | None = None  # (have, message's previous)

    @property
    def settled(self) -> list[Inbound]:
        return [*self.decided, *self.passed, *self.duplicates]


@dataclass
class LaneStatus:
    """What ``/readyz`` and ``/metrics`` show of one lane."""

    unit: str
    position: int = 0
    epoch: str = ""
    processed: int = 0
    parked: int = 0
    duplicates: int = 0
    redeliveries: int = 0
    batches: int = 0
    pending: int = 0  # messages in the stream not yet delivered to this consumer
    stalled: str = ""  # why the lane cannot move now ("" when it can)
    stalled_since: float = 0.0
    last_batch_at: float = 0.0

    def stall(self, why: str) -> None:
        if not self.stalled:
            self.stalled_since = time.monotonic()
        self.stalled = why

    def flowing(self) -> None:
        self.stalled, self.stalled_since = "", 0.0


def consumer_config(
    subjects: Subjects,
    consumer: str,
    name: str,
    upstream: str,
    family: str,
    partition: int,
    batch_size: int = 256,
) -> ConsumerConfig:
    """One partition's durable pull consumer: what a lane creates at start and what
    ``lantern deploy apply`` provisions ahead of it (the same, so either may come first)."""
    return ConsumerConfig(
        durable_name=f"{name}-p{partition}",
        filter_subject=feed_filter(subjects, upstream, family, partition),
        ack_policy=AckPolicy.EXPLICIT,
        deliver_policy=DeliverPolicy.ALL,
        ack_wait=5.0,  # extended with in-progress acks while a batch waits on the store
        max_deliver=-1,  # parking is this consumer's decision, by failure class
        max_ack_pending=batch_size * 2,
        description=f"{consumer}: {name} partition {partition}",
    )


class Lane:
    def __init__(
        self,
        *,
        app: LanternApplication,
        feed: Feed,
        partition: int,
        subjects: Subjects,
        dead_letters: DeadLetters,
        batch_size: int = 256,
        after_commit: Callable[[], None] | None = None,
    ) -> None:
        self.app = app
        self.feed = feed
        self.partition = partition
        self.subjects = subjects
        self.dead_letters = dead_letters
        self.batch_size = batch_size
        self.after_commit = after_commit
        self.status = LaneStatus(unit=feed.unit(partition))
        self._said_at = 0.0

    @property
    def durable(self) -> str:
        return self.feed.durable(self.partition)

    @property
    def stream(self) -> str:
        return self.subjects.stream(self.feed.upstream)

    def consumer_config(self) -> ConsumerConfig:
        feed = self.feed
        return consumer_config(
            self.subjects,
            feed.consumer,
            feed.name,
            feed.upstream,
            feed.family,
            self.partition,
            self.batch_size,
        )

    # -- running --------------------------------------------------------------------------------
    async def run(self, nc: Client, js: JetStreamContext, active: Callable[[], bool]) -> None:
        """Consume while ``active()`` (this instance holds the lease and is not stopping)."""
        await js.add_consumer(self.stream, config=self.consumer_config())
        puller = Puller(nc, stream=self.stream, durable=self.durable, batch=self.batch_size)
        await puller.start()
        log.info("lane started", unit=self.status.unit, stream=self.stream)
        polled = 0.0
        try:
            while active():
                if time.monotonic() - polled > 2.0:
                    polled = time.monotonic()
                    try:
                        info = await js.consumer_info(self.stream, self.durable)
                        self.status.pending = int(info.num_pending or 0)
                    except NotFoundError:  # deleted (with its stream): make it again, below
                        puller.conflict = puller.conflict or "the consumer does not exist"
                    except Exception:  # noqa: BLE001, S110 - a figure for /health only
                        pass
                msgs = await puller.take(wait_s=0.5)
                if msgs:
                    await self.handle(msgs, active)
                elif puller.conflict:
                    log.warning("pull conflict", unit=self.status.unit, reason=puller.conflict)
                    puller.conflict = ""
                    await js.add_consumer(self.stream, config=self.consumer_config())
        finally:
            for msg in await puller.stop():  # give them back at once, to whoever holds it next
                with contextlib.suppress(Exception):
                    await msg.nak()
            log.info("lane stopped", unit=self.status.unit)

    async def handle(self, msgs: Sequence[Msg], active: Callable[[], bool] = lambda: True) -> Plan:
        """Decide, park, commit and settle one batch (retrying infrastructure without limit)."""
        items, unreadable = self._read(msgs)
        by_seq = {_stream_seq(m): m for m in msgs}
        runs = _epoch_runs(items)
        plan = Plan(progress=Progress.start("-"))
        if unreadable:
            await self._settle_parked(unreadable, by_seq, active)
        for run in runs:
            plan = await self._handle_run(run, by_seq, active)
        return plan

    def _read(self, msgs: Sequence[Msg]) -> tuple[list[Inbound], list[Parcel]]:
        items: list[Inbound] = []
        unreadable: list[Parcel] = []
        for msg in msgs:
            seq, deliveries = _stream_seq(msg), _deliveries(msg)
            try:
                items.append(inbound(msg.subject, msg.data, msg.headers or {}, seq, deliveries))
            except Poison as exc:
                unreadable.append(
                    Parcel(
                        msg.subject,
                        msg.data,
                        dict(msg.headers or {}),
                        seq,
                        deliveries,
                        Failure.POISON,
                        exc.reason,
                    )
                )
            if deliveries > 1:
                self.status.redeliveries += 1
        return items, unreadable

    async def _handle_run(
        self, run: list[Inbound], by_seq: dict[int, Msg], active: Callable[[], bool]
    ) -> Plan:
        attempt = 0
        while True:
            try:
                plan, committed = await anyio.to_thread.run_sync(self.plan_and_commit, run)
                if not committed:  # dead letters first, so nothing is acknowledged unparked
                    await self.dead_letters.park(self.durable, self.stream, plan.parked)
                    await anyio.to_thread.run_sync(self.commit, plan)
            except IntegrityError:
                # Concurrency: another writer got there first; reload and decide again.
                attempt += 1
                await asyncio.sleep(min(0.05 * attempt, 1.0))
                continue
            except Exception as exc:
                if classify(exc) is not Failure.INFRASTRUCTURE:
                    raise
                attempt += 1
                self._say_stalled(f"infrastructure: {describe(exc)}", len(run))
                await self._keep_alive(run, by_seq)
                if not active():
                    return Plan(progress=Progress.start("-"))  # not ours any more; redelivered
                await asyncio.sleep(BACKOFF_S[min(attempt, len(BACKOFF_S)) - 1])
                continue
            break
        await self._settle(plan, by_seq)
        return plan

    def plan_and_commit(self, run: list[Inbound]) -> tuple[Plan, bool]:
        """Decide, and commit at once unless something must be parked first (one thread hop)."""
        plan = self.plan(run)
        if plan.parked:
            return plan, False
        self.commit(plan)
        return plan, True

    # -- deciding (worker thread) ----------------------------------------------------------------
    def plan(self, run: list[Inbound]) -> Plan:
        epoch = run[0].epoch
        name = progress_name(self.feed.name, self.feed.upstream, epoch, self.partition)
        try:
            progress: Progress = self.app.repository.get(progress_id(name))
        except AggregateNotFoundError:
            progress = Progress.start(name)
        plan = Plan(progress=progress, position=progress.position)
        self.status.epoch = epoch
        candidates = self._order(run, plan)
        self._decide(candidates, plan)
        if plan.position > progress.position:
            progress.advance(plan.position, processed=len(plan.decided), parked=len(plan.parked))
        plan.aggregates.append(progress)
        return plan

    def _order(self, run: list[Inbound], plan: Plan) -> list[Inbound]:
        """Sort the run into duplicates, next in line, out of chain and held back."""
        current = plan.position
        candidates: list[Inbound] = []
        for i, item in enumerate(run):
            if item.position <= current:
                plan.duplicates.append(item)
            elif item.previous == current:
                candidates.append(item)
                current = item.position
            elif item.previous < current:
                plan.parked.append(
                    self._parked(
                        item,
                        Failure.POISON,
                        f"out of chain: its predecessor {item.previous} is "
                        f"behind this lane's position {current}",
                    )
                )
            elif any(later.previous == current for later in run[i + 1 :]):
                plan.parked.append(
                    self._parked(
                        item,
                        Failure.POISON,
                        f"out of chain: claims predecessor {item.previous}, "
                        f"but {current} is followed by another message",
                    )
                )
            else:
                plan.hole = (current, item.previous)
                plan.held.extend(run[i:])
                break
        return candidates

    def _decide(self, candidates: list[Inbound], plan: Plan) -> None:
        """Decide next-in-line messages in one unit of work; set aside what must be parked."""
        excluded: dict[int, Parcel] = {}
        decoded: dict[int, Any] = {}
        for i, item in enumerate(candidates):
            try:
                if item.poison:
                    raise Poison(item.poison)
                decoded[i] = self.feed.decode(item)
            except Poison as exc:
                excluded[i] = self._parked(item, Failure.POISON, exc.reason)
        defects: dict[int, int] = {}
        while True:
            with self.app.unit_of_work() as work:
                if self.feed.prefetch is not None:
                    wanted = [m for i, m in decoded.items() if m is not None and i not in excluded]
                    self.app.prefetch(self.feed.prefetch(wanted))
                failed = None
                decided: list[Inbound] = []
                passed: list[Inbound] = []
                for i, item in enumerate(candidates):
                    if i in excluded:
                        continue
                    message = decoded[i]
                    if message is None:
                        passed.append(item)
                        continue
                    try:
                        with bound_contextvars(incident_id=item.incident_id or None):
                            changed = self.feed.decide(message, item)
                        self.app.enlist(*changed)
                        decided.append(item)
                    except Exception as exc:
                        kind = classify(exc)
                        if kind in (Failure.INFRASTRUCTURE, Failure.CONCURRENCY):
                            raise
                        defects[i] = defects.get(i, 0) + 1
                        if kind is Failure.DEFECT and defects[i] < 2:
                            failed = i  # once more from a clean slate: it may not recur
                            break
                        excluded[i] = self._parked(item, kind, describe(exc))
                        failed = i
                        break
                if failed is not None:
                    continue  # decide again without the failed message's half-made changes
                plan.decided, plan.passed = decided, passed
                plan.parked.extend(excluded[i] for i in sorted(excluded))
                plan.aggregates.extend(a for a in work.values() if a.pending_events)
                break
        if candidates:
            plan.position = candidates[-1].position

    def _parked(self, item: Inbound, kind: Failure, reason: str) -> Parcel:
        log.error(
            "message parked",
            unit=self.status.unit,
            failure=str(kind),
            reason=reason,
            position=item.position,
        )
        return _parcel(item, kind, reason)

    def commit(self, plan: Plan) -> None:
        self.app.record(*plan.aggregates)
        if self.after_commit is not None:
            self.after_commit()

    # -- settling ---------------------------------------------------------------------------------
    async def _settle(self, plan: Plan, by_seq: dict[int, Msg]) -> None:
        for seq in [*(i.stream_seq for i in plan.settled), *(p.stream_seq for p in plan.parked)]:
            msg = by_seq.get(seq)
            if msg is not None:
                await msg.ack()
        for item in plan.held:
            msg = by_seq.get(item.stream_seq)
            if msg is not None:
                await msg.nak(delay=HOLE_REDELIVERY_S)
        s = self.status
        s.position = max(s.position, plan.position)
        s.processed += len(plan.decided)
        s.parked += len(plan.parked)
        s.duplicates += len(plan.duplicates)
        s.batches += 1
        s.last_batch_at = time.monotonic()
        if plan.hole is not None:
            have, wanted = plan.hole
            self._say_stalled(
                f"hole: waiting for positions after {have} up to {wanted}", len(plan.held)
            )
        else:
            s.flowing()
        log.info(
            "batch",
            unit=s.unit,
            decided=len(plan.decided),
            passed=len(plan.passed),
            parked=len(plan.parked),
            duplicates=len(plan.duplicates),
            held=len(plan.held),
            position=plan.position,
        )

    async def _settle_parked(
        self, parcels: list[Parcel], by_seq: dict[int, Msg], active: Callable[[], bool]
    ) -> None:
        """Park messages whose headers are unreadable (no place in the lane: nothing advances)."""
        attempt = 0
        while True:
            try:
                await self.dead_letters.park(self.durable, self.stream, parcels)
                break
            except Exception as exc:
                if classify(exc) is not Failure.INFRASTRUCTURE or not active():
                    raise
                attempt += 1
                self._say_stalled(f"infrastructure: {describe(exc)}", len(parcels))
                await asyncio.sleep(BACKOFF_S[min(attempt, len(BACKOFF_S)) - 1])
        for parcel in parcels:
            log.error(
                "message parked",
                unit=self.status.unit,
                failure=str(parcel.failure),
                reason=parcel.reason,
            )
            msg = by_seq.get(parcel.stream_seq)
            if msg is not None:
                await msg.ack()
        self.status.parked += len(parcels)

    async def _keep_alive(self, run: list[Inbound], by_seq: dict[int, Msg]) -> None:
        """Tell JetStream the batch is still being worked on, so it is not redelivered."""
        for item in run:
            msg = by_seq.get(item.stream_seq)
            if msg is not None:
                with contextlib.suppress(Exception):
                    await msg.in_progress()

    def _say_stalled(self, why: str, holding: int) -> None:
        self.status.stall(why)
        now = time.monotonic()
        if now - self._said_at >= SAY_AT_MOST_EVERY_S:
            self._said_at = now
            log.error("lane stalled", unit=self.status.unit, why=why, holding=holding)


def _parcel(item: Inbound, failure: Failure, reason: str) -> Parcel:
    return Parcel(
        item.subject,
        item.data,
        dict(item.headers),
        item.stream_seq,
        item.deliveries,
        failure,
        reason,
        position=item.position,
    )


def _epoch_runs(items: list[Inbound]) -> list[list[Inbound]]:
    """Consecutive messages of one store epoch, each run in the store's order.

    A batch is in stream order, which is not always the store's: after a lease moves
    or an ack wait runs out, JetStream redelivers older messages behind newer ones.
    The chain check must see each lane in position order, or a good message that
    merely arrived early would look forged and be parked.
    """
    runs: list[list[Inbound]] = []
    for item in items:
        if runs and runs[-1][0].epoch == item.epoch:
            runs[-1].append(item)
        else:
            runs.append([item])
    return [sorted(run, key=lambda i: (i.position, i.stream_seq)) for run in runs]


def _deliveries(msg: Msg) -> int:
    try:
        return int(msg.metadata.num_delivered)
    except Exception:  # noqa: BLE001 - not a JetStream message
        return 1


def _stream_seq(msg: Msg) -> int:
    try:
        return int(msg.metadata.sequence.stream)
    except Exception:  # noqa: BLE001
        return 0
