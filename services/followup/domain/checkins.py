"""A check-in's life: scheduled, due, overdue, then completed, missed or rescheduled.

Coming due and becoming overdue are driven by timers; the guards here make a
late or repeated timer change nothing, so a notification is recorded once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from plumbing.domain import Conflict

SCHEDULED, DUE, OVERDUE = "scheduled", "due", "overdue"
COMPLETED, NO_SHOW, RESCHEDULED = "completed", "no_show", "rescheduled"
OPEN = frozenset({SCHEDULED, DUE, OVERDUE})


@dataclass
class Checkin:
    checkin_id: UUID
    slot: str  # the protocol step it serves ("24h", "7d", "reentry"...); kept on reschedule
    due_at: datetime
    overdue_at: datetime
    mode: str
    state: str = SCHEDULED
    replaces: UUID | None = None

    @property
    def is_open(self) -> bool:
        return self.state in OPEN

    def ensure_open(self, action: str) -> None:
        """Refuse to act on a check-in that is already settled, naming its state."""
        if not self.is_open:
            raise Conflict(
                f"cannot {action} check-in {self.checkin_id}: it is already {self.state}",
                field="checkin_id",
            )

    def ensure_reschedulable(self) -> None:
        """A missed check-in may be rescheduled; completed or rescheduled ones may not."""
        if not (self.is_open or self.state == NO_SHOW):
            raise Conflict(
                f"cannot reschedule check-in {self.checkin_id}: it is already {self.state}",
                field="checkin_id",
            )

    def comes_due(self, due_at: datetime, now: datetime) -> bool:
        """Whether a due timer for ``due_at`` still has an effect at ``now``."""
        return self.state == SCHEDULED and self.due_at == due_at and now >= due_at

    def becomes_overdue(self, overdue_at: datetime, now: datetime) -> bool:
        return (
            self.state in (SCHEDULED, DUE) and self.overdue_at == overdue_at and now >= overdue_at
        )
