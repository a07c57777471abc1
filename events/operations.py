"""Operators' part of the contract: dead letters and store epochs.

Served by every consuming service, ``<prefix>.cmd.<service>.<name>`` and HTTP,
administrators only.  A parked
message is identified by its sequence in the service's dead-letter stream
(``<PREFIX>_DLQ_<SERVICE>``).
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec

from events.common import Reason

#: a JetStream stream sequence (NATS refuses one past 64 bits; msgspec bounds stop at 2^63 - 1)
Seq = Annotated[int, msgspec.Meta(ge=1, le=2**63 - 1)]


class ListDeadLettersV1(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The service's parked messages, oldest first, with whether each was settled."""

    limit: Annotated[int, msgspec.Meta(ge=1, le=1000)] = 100
    unsettled: bool = False  # only those neither redriven nor dismissed


class ShowDeadLetterV1(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One parked message: why, from where, its headers and its payload."""

    seq: Seq


class RedriveDeadLetterV1(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Apply a parked message now, exactly once; ``payload`` replaces a broken one."""

    seq: Seq
    payload: dict[str, Any] | None = None  # the fixed message (a JSON object), if it needs one
    reason: Reason = "redriven by an operator"


class DismissDeadLetterV1(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Settle a parked message without applying it (it needs nothing, or was handled by hand)."""

    seq: Seq
    reason: Reason


class DeadLetterSettledV1(msgspec.Struct, frozen=True, kw_only=True):
    seq: int
    stream: str
    action: str  # redriven | dismissed
    changed: int  # aggregates the redrive changed (0 when dismissed)


class StartEpochV1(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """An operator's decision after a store regression: publish as a new epoch of this store.

    The new epoch follows the epoch the stream holds; the relay publishes again
    every event after what it had confirmed in this store (consumers treat the
    new epoch's positions as new, and their own idempotency drops what they
    already applied).
    """

    reason: Reason


class EpochStartedV1(msgspec.Struct, frozen=True, kw_only=True):
    epoch: str
    follows: str
    starts_after: int


MESSAGES: dict[str, type[msgspec.Struct]] = {
    "query.list_dead_letters.v1": ListDeadLettersV1,
    "query.show_dead_letter.v1": ShowDeadLetterV1,
    "command.redrive_dead_letter.v1": RedriveDeadLetterV1,
    "command.dismiss_dead_letter.v1": DismissDeadLetterV1,
    "reply.dead_letter_settled.v1": DeadLetterSettledV1,
    "command.start_epoch.v1": StartEpochV1,
    "reply.epoch_started.v1": EpochStartedV1,
}
