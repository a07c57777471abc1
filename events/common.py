"""Types and replies shared by every part of the contract."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec

NonEmpty = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Ref = Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]
Note = Annotated[str, msgspec.Meta(max_length=10_000)]
Reason = Annotated[str, msgspec.Meta(min_length=1, max_length=2_000)]
#: Every time in the contract: RFC 3339 with its offset (``format: date-time``; naive refused).
Time = Annotated[datetime, msgspec.Meta(tz=True)]


class ErrorV1(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """Every refusal, on every interface: what went wrong and, for bad input, where."""

    error: str
    field: str | None = None


MESSAGES: dict[str, type[msgspec.Struct]] = {"reply.error.v1": ErrorV1}
