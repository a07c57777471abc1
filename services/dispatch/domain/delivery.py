"""The outcome of delivering one page through one outside channel (webhook, e-mail)."""

from __future__ import annotations

from datetime import datetime
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate

from plumbing.domain import Trace, TracedCreated


def delivery_id_for(page_id: str, channel: str) -> UUID:
    return uuid5(NAMESPACE_URL, f"lantern:dispatch:delivery:{page_id}:{channel}")


class Delivery(Aggregate):
    class Recorded(TracedCreated):
        page_id: str
        incident_id: UUID
        dispatch_id: UUID
        responder_id: str
        kind: str
        channel: str
        outcome: str  # delivered | failed | skipped
        detail: str
        attempts: int
        at: datetime

    def __init__(
        self,
        page_id: str,
        incident_id: UUID,
        dispatch_id: UUID,
        responder_id: str,
        kind: str,
        channel: str,
        outcome: str,
        detail: str,
        attempts: int,
        at: datetime,
    ) -> None:
        self.outcome = outcome

    @classmethod
    def record(
        cls,
        *,
        page_id: str,
        incident_id: UUID,
        dispatch_id: UUID,
        responder_id: str,
        kind: str,
        channel: str,
        outcome: str,
        detail: str,
        attempts: int,
        at: datetime,
        trace: Trace,
    ) -> Delivery:
        return cls._create(
            cls.Recorded,
            id=delivery_id_for(page_id, channel),
            page_id=page_id,
            incident_id=incident_id,
            dispatch_id=dispatch_id,
            responder_id=responder_id,
            kind=kind,
            channel=channel,
            outcome=outcome,
            detail=detail,
            attempts=attempts,
            at=at,
            **trace.fields(),
        )
