"""Follow-up's part of the contract: its integration events, and the commands it accepts."""

from __future__ import annotations

import msgspec

MESSAGES: dict[str, type[msgspec.Struct]] = {}
