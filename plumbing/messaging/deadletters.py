"""Dead letters: parking a message with why, and finding it again to inspect or redrive.

Each consuming service parks into its own stream ``<PREFIX>_DLQ_<SERVICE>``
(denies delete and purge: a parked crisis message is evidence), under
``Nats-Msg-Id = dlq/<durable consumer>/<stream>/<stream sequence>``.  The id is
unique per durable consumer, so two consumers of one upstream message (the
follow-up plan consumer and the care-team consumer, say) never collide.  A
publish that JetStream reports as a *duplicate* is checked: the same message
parked again by the same consumer (a batch decided twice after a conflict) is
fine; anything else is an error and the batch is not committed.

A parked message keeps its payload and headers, plus the failure class, the
reason (never a payload value), how often it was delivered and where it came
from.  ``lantern dlq list|show|redrive`` reads them; a redrive hands one back
to the consuming service, which applies it exactly once (``progress.Redriven``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from nats.js import JetStreamContext
from nats.js.errors import NotFoundError

from events import headers as h
from events.subjects import Subjects
from plumbing import logs
from plumbing.messaging.failures import Failure

log = logs.get("lantern.deadletters")


@dataclass(frozen=True)
class Parcel:
    """A message on its way to the dead-letter stream."""

    subject: str
    data: bytes
    headers: dict[str, str]
    stream_seq: int
    deliveries: int
    failure: Failure
    reason: str
    position: int = 0


class DeadLetterCollision(RuntimeError):
    """JetStream took a parked message for a duplicate of a different one."""


def kept_headers(original: dict[str, str]) -> dict[str, str]:
    """The original's headers without JetStream's publish controls.

    ``Nats-Msg-Id`` would de-duplicate the parked copy against the original, and the
    relay's ``Nats-Expected-Last-Sequence`` (or any ``Nats-Expected-*``, ``Nats-Rollup``,
    ``Nats-TTL``) would make the dead-letter stream refuse it: parking must not depend on
    the upstream stream's sequence.  What they said stays readable under ``Lantern-Was-*``.
    """
    kept: dict[str, str] = {}
    for key, value in original.items():
        if key.lower().startswith("nats-"):
            if key != h.MSG_ID:
                kept[f"Lantern-Was-{key[len('Nats-') :]}"] = value
        else:
            kept[key] = value
    return kept


def dead_letter_id(durable: str, stream: str, stream_seq: int) -> str:
    return f"dlq/{durable}/{stream}/{stream_seq}"


class DeadLetters:
    def __init__(self, js: JetStreamContext, subjects: Subjects, service: str) -> None:
        self.js = js
        self.subjects = subjects
        self.service = service
        self.stream = subjects.dlq_stream(service)

    async def park(self, durable: str, stream: str, parcels: Sequence[Parcel]) -> None:
        for parcel in parcels:
            headers = kept_headers(parcel.headers)
            headers.update(
                {
                    h.MSG_ID: dead_letter_id(durable, stream, parcel.stream_seq),
                    h.FAILURE: str(parcel.failure),
                    h.ERROR: parcel.reason[:1000],
                    h.DELIVERIES: str(parcel.deliveries),
                    h.ORIGINAL_SUBJECT: parcel.subject,
                    h.ORIGINAL_STREAM: stream,
                    h.ORIGINAL_SEQUENCE: str(parcel.stream_seq),
                    h.CONSUMER: durable,
                }
            )
            ack = await self.js.publish(
                self.subjects.dlq(self.service, durable),
                parcel.data,
                stream=self.stream,
                headers=headers,
            )
            if ack.duplicate:
                await self._same_parcel(ack.seq, durable, stream, parcel.stream_seq)

    async def _same_parcel(self, seq: int, durable: str, stream: str, stream_seq: int) -> None:
        held = await self.js.get_msg(self.stream, seq=seq)
        found = held.headers or {}
        same = (
            found.get(h.CONSUMER) == durable
            and found.get(h.ORIGINAL_STREAM) == stream
            and found.get(h.ORIGINAL_SEQUENCE) == str(stream_seq)
        )
        if not same:
            raise DeadLetterCollision(
                f"dead letter {dead_letter_id(durable, stream, stream_seq)} collides with "
                f"{self.stream} seq {seq}"
            )
        log.info("already parked", consumer=durable, seq=seq)


# -- reading them back (operators: lantern dlq) ---------------------------------------------------
@dataclass(frozen=True)
class DeadLetter:
    stream: str
    seq: int
    subject: str
    headers: dict[str, str]
    data: bytes

    def summary(self) -> dict[str, Any]:
        g = self.headers.get
        return {
            "stream": self.stream,
            "seq": self.seq,
            "consumer": g(h.CONSUMER, ""),
            "failure": g(h.FAILURE, ""),
            "reason": g(h.ERROR, ""),
            "deliveries": int(g(h.DELIVERIES, "0") or 0),
            "original_subject": g(h.ORIGINAL_SUBJECT, ""),
            "original_stream": g(h.ORIGINAL_STREAM, ""),
            "original_sequence": int(g(h.ORIGINAL_SEQUENCE, "0") or 0),
            "position": int(g(h.POSITION, "0") or 0) if (g(h.POSITION) or "").isdigit() else None,
            "schema": g(h.SCHEMA, ""),
            "incident_id": g(h.INCIDENT_ID) or None,
            "bytes": len(self.data),
        }


async def read(js: JetStreamContext, stream: str, seq: int) -> DeadLetter | None:
    try:
        msg = await js.get_msg(stream, seq=seq)
    except NotFoundError:
        return None
    return DeadLetter(stream, seq, msg.subject or "", dict(msg.headers or {}), msg.data or b"")


async def listing(js: JetStreamContext, stream: str, limit: int = 1000) -> list[DeadLetter]:
    try:
        info = await js.stream_info(stream)
    except NotFoundError:
        return []
    found: list[DeadLetter] = []
    first, last = info.state.first_seq or 1, info.state.last_seq or 0
    for seq in range(first, last + 1):
        letter = await read(js, stream, seq)
        if letter is not None:
            found.append(letter)
        if len(found) >= limit:
            break
    return found
