"""Replies of the operators' dead-letter queries (``events.operations`` has the requests)."""

from __future__ import annotations

import msgspec


class DeadLetterRowV1(msgspec.Struct, frozen=True, kw_only=True):
    """One parked message: where it was, why it was parked, and whether it was settled."""

    stream: str
    seq: int
    consumer: str
    failure: str  # poison | rejected | defect ...
    reason: str
    deliveries: int
    original_subject: str
    original_stream: str
    original_sequence: int
    position: int | None
    schema: str
    incident_id: str | None
    bytes: int
    settled: str | None  # redriven | dismissed | null


class DeadLetterV1(DeadLetterRowV1, frozen=True, kw_only=True):
    """A parked message in full: its headers and its payload (base64, it may not be JSON)."""

    headers: dict[str, str]
    payload_base64: str


MESSAGES: dict[str, type[msgspec.Struct]] = {
    "reply.dead_letter_row.v1": DeadLetterRowV1,
    "reply.dead_letter.v1": DeadLetterV1,
}
