"""The relay's envelope: an integration event on its way out, translated from a domain event.

It sits below the store, the audit trail and the relay, so each of them can
name it without importing the others (the audit trail translates its own
entries; the relay publishes whatever a translator returns).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import msgspec


@dataclass(frozen=True)
class Outgoing:
    """An integration event to publish, translated from one domain event."""

    subject: str
    message: msgspec.Struct
    incident_id: str | None = None


#: Domain event -> integration event (None: the event stays private to its service).
Translator = Callable[[Any], Outgoing | None]
