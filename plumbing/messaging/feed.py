"""What a consumer follows (a :class:`Feed`) and what it knows of each message (:class:`Inbound`).

A feed is one consuming service's view of one upstream stream's subject family
(its integration events, or its audit entries), split into the deployment's
partitions.  Each partition of a feed is one durable pull consumer, one lease
and one progress record.

Everything here that reads a message raises :class:`~plumbing.messaging.failures.Poison`
for what cannot be understood (missing or malformed headers, an unknown schema
version of an event the consumer reads, a payload that does not fit the
contract, bad UTF-8, a payload over the size limit); a message of a kind the
consumer does not read at all is not poison, it is passed over (``None``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from events import headers as h
from events.codec import ContractError, decode
from events.subjects import Subjects
from plumbing.domain import Trace
from plumbing.messaging.failures import Poison

MAX_PAYLOAD_BYTES = 256 * 1024
_QUOTED = re.compile(r"'[^']*'|`[^`]*`(?= -)")


@dataclass(frozen=True)
class Inbound:
    """One delivered message, its headers checked: where it sits in its lane and why it exists."""

    subject: str
    data: bytes
    headers: Mapping[str, str]
    stream_seq: int
    deliveries: int
    position: int
    epoch: str
    partition: int
    previous: int
    schema: str
    event_id: str
    correlation_id: str
    causation_id: str
    incident_id: str
    source: str
    recorded_at: datetime | None
    #: why the message cannot be read although it has its place in the lane ("" when it can)
    poison: str = ""

    def trace(self, actor: str) -> Trace:
        return Trace(actor=actor, correlation_id=self.correlation_id, causation_id=self.event_id)


def _int(headers: Mapping[str, str], name: str, minimum: int) -> int:
    try:
        value = int(headers[name])
    except (KeyError, ValueError):
        raise Poison(f"missing or bad header {name}") from None
    if value < minimum:
        raise Poison(f"missing or bad header {name}")
    return value


def inbound(
    subject: str, data: bytes, headers: Mapping[str, str], stream_seq: int, deliveries: int
) -> Inbound:
    """Check a message's headers.

    Raises :class:`Poison` when the message has no readable place in its lane
    (position, predecessor, epoch, partition): it is parked and nothing moves.
    Anything else wrong (schema, size, times) is poison *in its place*
    (``Inbound.poison``): it is parked and the lane moves past it.
    """
    epoch = headers.get(h.EPOCH, "")
    if not re.fullmatch(r"[0-9a-f]{6,32}", epoch):
        raise Poison(f"missing or bad header {h.EPOCH}")
    position = _int(headers, h.POSITION, 1)
    previous = _int(headers, h.PREVIOUS, 0)
    partition = _int(headers, h.PARTITION, 0)
    poison = ""
    schema = headers.get(h.SCHEMA, "")
    recorded = headers.get(h.RECORDED_AT, "")
    recorded_at = None
    if len(data) > MAX_PAYLOAD_BYTES:
        poison = f"payload of {len(data)} bytes is over the {MAX_PAYLOAD_BYTES} byte limit"
    elif not re.fullmatch(r"[a-z_]+\.[a-z_.]+\.v[0-9]+", schema):
        poison = f"missing or bad header {h.SCHEMA}"
    else:
        try:
            recorded_at = datetime.fromisoformat(recorded) if recorded else None
        except ValueError:
            poison = f"missing or bad header {h.RECORDED_AT}"
    return Inbound(
        subject=subject,
        data=data,
        headers=headers,
        stream_seq=stream_seq,
        deliveries=deliveries,
        position=position,
        epoch=epoch,
        partition=partition,
        previous=previous,
        schema=schema,
        event_id=headers.get(h.MSG_ID, ""),
        correlation_id=headers.get(h.CORRELATION_ID, ""),
        causation_id=headers.get(h.CAUSATION_ID, ""),
        incident_id=headers.get(h.INCIDENT_ID, ""),
        source=headers.get(h.SOURCE, ""),
        recorded_at=recorded_at,
        poison=poison,
    )


#: Decide what to store for one upstream event: the changed (or new) aggregates.
Decide = Callable[[Any, Inbound], Sequence[Aggregate]]
#: Payload -> contract message, None for a kind this consumer does not read; raises Poison.
Decode = Callable[[Inbound], Any]
#: The ids of the aggregates a batch of messages will touch (loaded in one query).
Prefetch = Callable[[Sequence[Any]], Iterable[UUID]]


@dataclass(frozen=True)
class Feed:
    consumer: str  # the consuming service ("dispatch")
    name: str  # durable name base ("dispatch-from-intake"), also the progress name base
    upstream: str  # the service whose stream is followed ("intake")
    family: str  # "evt" (integration events) or "audit"
    decode: Decode
    decide: Decide
    prefetch: Prefetch | None = None

    def durable(self, partition: int) -> str:
        return f"{self.name}-p{partition}"

    def unit(self, partition: int) -> str:
        """The lease unit of one partition of this feed."""
        return f"{self.name}.p{partition}"

    def filter(self, subjects: Subjects, partition: int) -> str:
        return feed_filter(subjects, self.upstream, self.family, partition)


def feed_filter(subjects: Subjects, upstream: str, family: str, partition: int) -> str:
    """The subjects one partition of a feed reads from its upstream stream."""
    if family == "audit":
        return subjects.audit(upstream, partition)
    return subjects.stream_subjects(upstream, partition)


def tags_of(message_type: Any) -> frozenset[str]:
    """The contract tags a union (or one struct) decodes."""
    kinds = getattr(message_type, "__args__", None) or (message_type,)
    tags = {getattr(getattr(k, "__struct_config__", None), "tag", None) for k in kinds}
    return frozenset(t for t in tags if isinstance(t, str))


def _base(tag: str) -> str:
    return tag.rsplit(".v", 1)[0]


def contract(message_type: Any, known: Sequence[str] = ()) -> Decode:
    """Decode into ``message_type`` (a tagged union); kinds outside it are passed over.

    A *known* event name with an unknown version (``intake.incident_reported.v9``)
    is poison: the consumer reads that event and cannot read this one.  ``known``
    adds names the consumer passes over on purpose in every version.
    """
    tags = tags_of(message_type)
    names = {_base(t) for t in tags} - {_base(k) for k in known}

    def decode_one(message: Inbound) -> Any:
        if message.schema not in tags:
            if _base(message.schema) in names:
                raise Poison(f"unknown schema version {message.schema}")
            return None
        return decode_payload(message.data, message_type)

    return decode_one


def decode_payload(data: bytes, message_type: Any) -> Any:
    try:
        return decode(data, message_type)
    except ContractError as exc:
        reason = _QUOTED.sub("'…'", exc.reason)[:200]
        raise Poison(f"does not fit the contract: {exc.field or '(message)'}: {reason}") from None
    except Exception as exc:  # noqa: BLE001 - anything else a decoder raises is poison too
        raise Poison(f"undecodable payload ({type(exc).__name__})") from None
