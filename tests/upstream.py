"""Publishing onto a service's stream exactly as its relay would (for consumer specifications).

Headers, partitions and the lane chain follow ``plumbing/messaging/relay.py``:
each message carries its position, the store epoch, its partition and the
position of the previous message of its lane.  ``headers=`` overrides any of
them, so a test can forge a message, and ``raw=`` sends bytes as they are.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from uuid import UUID

import msgspec
from nats.js import JetStreamContext
from nats.js.api import PubAck

from events import headers as h
from events.codec import encode
from events.subjects import Subjects
from plumbing.messaging.relay import lane_of


@dataclass
class Upstream:
    js: JetStreamContext
    subjects: Subjects
    service: str
    epoch: str = "feedc0ffee00"
    position: int = 0
    lanes: dict[str, int] = field(default_factory=dict)
    sent: int = 0  # every publish gets its own message id, in the lane or not

    async def publish(
        self,
        family_subject: str,
        message: msgspec.Struct | None = None,
        incident: UUID | str | None = None,
        *,
        raw: bytes | None = None,
        headers: dict[str, str] | None = None,
        schema: str | None = None,
        in_lane: bool = True,
    ) -> PubAck:
        """``in_lane=False``: a message with no place in the lane (its headers will be broken)."""
        lanes = self.lanes if in_lane else dict(self.lanes)
        self.position += 1
        self.sent += 1
        partition = self.subjects.partition_of(incident)
        subject = (
            self.subjects.place(family_subject, partition)
            if ".*." in family_subject or family_subject.endswith(".*")
            else family_subject
        )
        tag = schema or ""
        if not tag and message is not None:
            tag = str(type(message).__struct_config__.tag or "")
        sent: dict[str, str] = {
            h.MSG_ID: f"{self.service}/{self.epoch}/test/{self.sent}",
            h.SOURCE: self.service,
            h.POSITION: str(self.position),
            h.EPOCH: self.epoch,
            h.PARTITION: str(partition),
            h.SCHEMA: tag or "",
            h.CORRELATION_ID: f"corr-{self.service}-test",
            h.CAUSATION_ID: f"cause-{self.service}-test",
            h.RECORDED_AT: datetime.now(UTC).isoformat(),
        }
        lane = lane_of(subject)
        if lane is not None:
            sent[h.PREVIOUS] = str(lanes.get(lane, 0))
            lanes[lane] = self.position
        if not in_lane:
            self.position -= 1
        if incident is not None:
            sent[h.INCIDENT_ID] = str(incident)
        # chained like the relay's publishes, so what a consumer parks carries this header too
        stream = self.subjects.stream(self.service)
        last = (await self.js.stream_info(stream)).state.last_seq
        sent[h.EXPECTED_LAST_SEQUENCE] = str(last)
        sent.update(headers or {})
        body = raw if raw is not None else encode(message)
        return await self.js.publish(subject, body, stream=stream, headers=sent)
