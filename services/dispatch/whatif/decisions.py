"""The what-if's policy, snapshotted once; the decision steps are dispatch's own.

A replay takes exactly the steps dispatch takes, from
``services.dispatch.domain.decisions`` (with the roster as it was known at each
decision and the replayed loads); what is here is only what a replay adds.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from services.dispatch.domain.policy import Policy


@dataclass(frozen=True)
class PinnedOnce(Policy):
    """The what-if policy, snapshotted once: a replay pins the same policy thousands of times."""

    def snapshot(self) -> dict[str, Any]:
        cached: dict[str, Any] | None = self.__dict__.get("_snapshot")
        if cached is None:
            cached = super().snapshot()
            object.__setattr__(self, "_snapshot", cached)
        return cached


def pinned_once(policy: Policy) -> PinnedOnce:
    return PinnedOnce(**{f.name: getattr(policy, f.name) for f in fields(Policy)})
