"""How far one consumer has come through one lane of an upstream: its fenced cursor.

Why an aggregate and not eventsourcing's tracking row: tracking is a high-water
mark that accepts any higher position, so two holders of one partition (a
lease that lapsed under a paused process) could both commit a batch starting
at the same place.  Progress is loaded with the batch and saved with its
decisions in one transaction; its version is checked optimistically, so of two
batches that started at the same place exactly one commits and the other sees
the winner's position and acknowledges its messages as already done.

A progress is named ``<consumer>@<upstream>:<epoch>:p<partition>`` (see
:func:`progress_name`), so a new store epoch starts a new progress and its
positions are never taken for old ones.  Settled dead letters are recorded
one by one (:class:`Settled`), apart from the lane, so a redrive's effect is
applied exactly once whenever it happens.
"""

from __future__ import annotations

from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate


def progress_name(consumer: str, upstream: str, epoch: str, partition: int) -> str:
    return f"{consumer}@{upstream}:{epoch}:p{partition}"


def progress_id(name: str) -> UUID:
    return uuid5(NAMESPACE_URL, f"lantern:progress:{name}")


class Progress(Aggregate):
    class Started(Aggregate.Created):
        name: str

    class Advanced(Aggregate.Event):
        position: int
        processed: int
        parked: int

        def apply(self, aggregate: Progress) -> None:
            aggregate.position = self.position
            aggregate.processed += self.processed
            aggregate.parked += self.parked

    def __init__(self, name: str) -> None:
        self.name = name
        self.position = 0
        self.processed = 0
        self.parked = 0

    @classmethod
    def start(cls, name: str) -> Progress:
        return cls._create(cls.Started, id=progress_id(name), name=name)

    def advance(self, position: int, processed: int, parked: int) -> None:
        if position <= self.position:
            raise ValueError(f"progress {self.name} cannot go back to {position}")
        self.trigger_event(self.Advanced, position=position, processed=processed, parked=parked)


def redrive_id(dlq_stream: str, dlq_seq: int) -> UUID:
    return uuid5(NAMESPACE_URL, f"lantern:redrive:{dlq_stream}:{dlq_seq}")


class Settled(Aggregate):
    """A parked message was settled by an operator: redriven (applied) or dismissed.

    Created once per dead letter, in the same transaction as a redrive's effects,
    so a redrive is applied exactly once however often it is asked for.
    """

    class Recorded(Aggregate.Created):
        dlq_stream: str
        dlq_seq: int
        consumer: str
        action: str  # redriven | dismissed
        by: str
        reason: str

    def __init__(
        self, dlq_stream: str, dlq_seq: int, consumer: str, action: str, by: str, reason: str
    ) -> None:
        self.dlq_stream = dlq_stream
        self.dlq_seq = dlq_seq
        self.action = action

    @classmethod
    def record(
        cls, dlq_stream: str, dlq_seq: int, consumer: str, action: str, by: str, reason: str
    ) -> Settled:
        return cls._create(
            cls.Recorded,
            id=redrive_id(dlq_stream, dlq_seq),
            dlq_stream=dlq_stream,
            dlq_seq=dlq_seq,
            consumer=consumer,
            action=action,
            by=by,
            reason=reason,
        )
