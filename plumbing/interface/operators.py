"""Operators' operations every service serves: dead letters and store epochs.

Administrators only.  They run like every operation (HTTP and NATS, validated,
authorised and audited in one place); the NATS lookups they need (the
service's dead-letter stream, the last message of its own stream) are made on
the service's event loop from the worker thread.

**Redrive exactly once.**  A redrive decides the parked message (or the fixed
payload an operator supplies) with the consumer's own decoder and decider, and
records the effects together with a :class:`~plumbing.messaging.progress.Settled`
marker for that dead letter, in one transaction.  The marker's id is derived
from the dead letter, so a second redrive (or two at once) finds it and
changes nothing.  A dismissal records the marker without effects.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any, TypeVar

import anyio.from_thread
import msgspec
from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import IntegrityError

from events import headers as h
from events.operations import (
    DeadLetterSettledV1,
    DismissDeadLetterV1,
    EpochStartedV1,
    ListDeadLettersV1,
    RedriveDeadLetterV1,
    ShowDeadLetterV1,
    StartEpochV1,
)
from plumbing.access.rules import admin
from plumbing.domain import Conflict, Invalid, NotFound
from plumbing.messaging import deadletters
from plumbing.messaging.failures import Poison
from plumbing.messaging.feed import Feed, Inbound, inbound
from plumbing.messaging.host import MessagingHost
from plumbing.messaging.progress import Settled, redrive_id
from plumbing.store import epoch as store_epoch

if TYPE_CHECKING:
    from plumbing.interface.commands import Context, Operation

T = TypeVar("T")


def _on_loop(call: Callable[[], Coroutine[Any, Any, T]]) -> T:
    return anyio.from_thread.run(call)


def _letter(host: MessagingHost, seq: int) -> deadletters.DeadLetter:
    dl = host.dead_letters
    if dl is None:
        raise Conflict("not connected to NATS; try again", "seq")
    found = _on_loop(lambda: deadletters.read(dl.js, dl.stream, seq))
    if found is None:
        raise NotFound(f"no dead letter {seq} in {dl.stream}", "seq")
    return found


def _feed_of(host: MessagingHost, letter: deadletters.DeadLetter) -> Feed:
    durable = letter.headers.get(h.CONSUMER, "")
    name = durable.rsplit("-p", 1)[0]
    for feed in host.feeds:
        if feed.name == name:
            return feed
    raise Invalid(f"this service has no consumer {durable!r}", "seq")


def _arrival(letter: deadletters.DeadLetter, payload: bytes) -> Inbound:
    """The parked message as a consumer sees it (lenient: its headers may be what was broken)."""
    headers = dict(letter.headers)
    headers.setdefault(h.POSITION, "1")
    headers.setdefault(h.PREVIOUS, "0")
    headers.setdefault(h.PARTITION, "0")
    headers.setdefault(h.EPOCH, "000000000000")
    tag = msgspec.json.decode(payload, type=_Tag).type if payload.startswith(b"{") else ""
    if tag:
        headers[h.SCHEMA] = tag
    subject = headers.get(h.ORIGINAL_SUBJECT, letter.subject)
    try:
        return inbound(subject, payload, headers, 0, 1)
    except Poison as exc:
        raise Invalid(f"the message still cannot be read: {exc.reason}", "payload") from None


class _Tag(msgspec.Struct):
    type: str = ""


def _settled(host: MessagingHost, stream: str, seq: int) -> Settled | None:
    try:
        found: Settled = host.app.repository.get(redrive_id(stream, seq))
    except AggregateNotFoundError:
        return None
    return found


def operations(host: MessagingHost) -> list[Operation[Any]]:
    from plumbing.interface.commands import Operation, Result

    app = host.app

    def listing(q: ListDeadLettersV1, _: Context) -> list[dict[str, Any]]:
        dl = host.dead_letters
        if dl is None:
            raise Conflict("not connected to NATS; try again")
        letters = _on_loop(lambda: deadletters.listing(dl.js, dl.stream, q.limit))
        rows = []
        for letter in letters:
            settled = _settled(host, letter.stream, letter.seq)
            if q.unsettled and settled is not None:
                continue
            rows.append({**letter.summary(), "settled": settled.action if settled else None})
        return rows

    def show(q: ShowDeadLetterV1, _: Context) -> dict[str, Any]:
        letter = _letter(host, q.seq)
        settled = _settled(host, letter.stream, letter.seq)
        return {
            **letter.summary(),
            "settled": settled.action if settled else None,
            "headers": letter.headers,
            "payload_base64": base64.b64encode(letter.data).decode(),
        }

    def settle(
        seq: int, action: str, reason: str, ctx: Context, payload: dict[str, Any] | None
    ) -> Result:
        letter = _letter(host, seq)
        feed = _feed_of(host, letter)
        actor = ctx.identity.subject if ctx.identity else ctx.trace.actor
        if _settled(host, letter.stream, letter.seq) is not None:
            raise Conflict(f"dead letter {seq} is already settled", "seq")
        changed = []
        with app.unit_of_work() as work:
            if action == "redriven":
                data = msgspec.json.encode(payload) if payload is not None else letter.data
                arrival = _arrival(letter, data)
                try:
                    message = feed.decode(arrival)
                except Poison as exc:
                    reason = f"the message still cannot be read: {exc.reason}"
                    raise Invalid(reason, "payload") from None
                if message is None:
                    raise Invalid(f"{feed.name} does not read {arrival.schema}", "payload")
                app.enlist(*feed.decide(message, arrival))
                changed = [a for a in work.values() if a.pending_events]
            marker = Settled.record(letter.stream, letter.seq, feed.name, action, actor, reason)
            try:
                app.record(*changed, marker)
            except IntegrityError:
                raise Conflict(f"dead letter {seq} is already settled", "seq") from None
        if host.after_commit is not None:
            host.after_commit()
        settled = DeadLetterSettledV1(
            seq=seq, stream=letter.stream, action=action, changed=len(changed)
        )
        return Result(settled, 201)

    def redrive(c: RedriveDeadLetterV1, ctx: Context) -> Result:
        return settle(c.seq, "redriven", c.reason, ctx, c.payload)

    def dismiss(c: DismissDeadLetterV1, ctx: Context) -> Result:
        return settle(c.seq, "dismissed", c.reason, ctx, None)

    ops: list[Operation[Any]] = []
    if host.feeds:
        ops += [
            Operation(
                "list_dead_letters",
                ListDeadLettersV1,
                "GET",
                "/dlq",
                listing,
                summary="Parked messages of this service's consumers",
                access=admin(),
            ),
            Operation(
                "show_dead_letter",
                ShowDeadLetterV1,
                "GET",
                "/dlq/{seq:int}",
                show,
                summary="One parked message: why, from where, headers and payload",
                access=admin(),
            ),
            Operation(
                "redrive_dead_letter",
                RedriveDeadLetterV1,
                "POST",
                "/dlq/{seq:int}/redrive",
                redrive,
                summary="Apply a parked message now, exactly once (optionally a fixed payload)",
                returns=DeadLetterSettledV1,
                access=admin(),
            ),
            Operation(
                "dismiss_dead_letter",
                DismissDeadLetterV1,
                "POST",
                "/dlq/{seq:int}/dismiss",
                dismiss,
                summary="Settle a parked message without applying it",
                returns=DeadLetterSettledV1,
                access=admin(),
            ),
        ]
    if host.relay is not None:
        ops.append(
            Operation(
                "start_epoch",
                StartEpochV1,
                "POST",
                "/relay/epoch",
                lambda c, _: _start_epoch(host, c),
                summary="After a store regression: publish as a new epoch of this store",
                returns=EpochStartedV1,
                access=admin(),
            )
        )
    return ops


def _start_epoch(host: MessagingHost, c: StartEpochV1) -> Any:
    from plumbing.interface.commands import Result

    relay = host.relay
    assert relay is not None
    js = host.dead_letters.js if host.dead_letters is not None else None
    if js is None:
        raise Conflict("not connected to NATS; try again")

    async def last_epoch() -> str:
        info = await js.stream_info(relay.stream)
        if not info.state.last_seq:
            return ""
        msg = await js.get_msg(relay.stream, seq=info.state.last_seq)
        return str((msg.headers or {}).get(h.EPOCH, ""))

    held = _on_loop(last_epoch)
    current = host.app.current_epoch()
    cursor = relay.load_cursor()
    confirmed = cursor.position if cursor is not None and cursor.epoch == current.epoch else 0
    started = store_epoch.start(
        host.app.tables,
        follows=held or current.epoch,
        starts_after=max(confirmed, current.starts_after),
        reason=c.reason,
    )
    host.app.current_epoch()
    body = EpochStartedV1(
        epoch=started.epoch, follows=started.follows, starts_after=started.starts_after
    )
    return Result(body, 201)
