"""Dispatch's read models, each answering one question.

* :class:`DispatchBoard`: every dispatch and its state ("who is busy?", "what is open?").
* :class:`DispatchTimers`: which deadlines are pending (the due-timer read model).

Both are folded from the service's own events and rebuilt at start.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable
from typing import Any
from uuid import UUID

from plumbing.domain import rfc3339
from plumbing.store.local_view import LocalView
from plumbing.timers import DueTimers
from services.dispatch.domain.response import IncidentResponse
from services.dispatch.domain.roster import Responder, Roster, RosterState

ACTIVE_STATES = frozenset({"assigned", "acknowledged", "en_route", "with_student", "stabilized"})
R = IncidentResponse


class DispatchBoard(LocalView):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.dispatches: dict[str, dict[str, Any]] = {}
        self.incident_of: dict[UUID, str] = {}
        self.school_of: dict[UUID, str] = {}
        self._active: Counter[str] = Counter()  # open dispatches per responder, kept as we go
        self._roster = RosterState()  # as of the last catch-up (roster changes are rare)

    def apply(self, event: Any) -> None:
        if isinstance(
            event, Roster.ResponderEnrolled | Roster.AvailabilityChanged | Roster.OverrideAdded
        ):
            event.apply(self._roster)  # type: ignore[arg-type]  # same shape as Roster
        elif isinstance(event, R.Opened):
            self.incident_of[event.originator_id] = str(event.incident_id)
            self.school_of[event.originator_id] = event.school_id
        elif isinstance(event, R.ResponderAssigned):
            self._add(
                event,
                event.dispatch_id,
                event.responder_id,
                "initial",
                event.rule,
                event.reason,
                event.candidates,
                rfc3339(event.ack_deadline),
            )
        elif isinstance(event, R.Escalated):
            if event.from_dispatch_id is not None:
                self._move(event.from_dispatch_id, "escalated", only=("assigned", "acknowledged"))
            if event.dispatch_id is not None and event.to_responder_id is not None:
                self._add(
                    event,
                    event.dispatch_id,
                    event.to_responder_id,
                    event.step,
                    event.rule,
                    event.detail,
                    event.candidates,
                    rfc3339(event.ack_deadline) if event.ack_deadline else None,
                )
        elif isinstance(event, R.Acknowledged):
            self._move(event.dispatch_id, "acknowledged", acknowledged_at=rfc3339(event.at))
            for other in event.stood_down:
                self._move(other, "stood_down")
        elif isinstance(event, R.Declined):
            self._move(event.dispatch_id, "declined")
        elif isinstance(event, R.StatusReported):
            self._move(event.dispatch_id, event.status)
        elif isinstance(event, R.Cancelled):
            for dispatch_id in event.stood_down:
                self._move(dispatch_id, "cancelled")

    def _add(
        self,
        event: Any,
        dispatch_id: UUID,
        responder_id: str,
        step: str,
        rule: str,
        reason: str,
        candidates: list[dict[str, Any]],
        ack_deadline: str | None,
    ) -> None:
        self.dispatches[str(dispatch_id)] = {
            "dispatch_id": str(dispatch_id),
            "incident_id": self.incident_of[event.originator_id],
            "school_id": self.school_of.get(event.originator_id),
            "responder_id": responder_id,
            "state": "assigned",
            "step": step,
            "assigned_at": rfc3339(event.at),
            "ack_deadline": ack_deadline,
            "rule": rule,
            "reason": reason,
            "candidates": candidates,
        }
        self._active[responder_id] += 1

    def _move(
        self, dispatch_id: UUID, state: str, only: tuple[str, ...] = (), **extra: Any
    ) -> None:
        row = self.dispatches.get(str(dispatch_id))
        if row is not None and (not only or row["state"] in only):
            was_active, now_active = row["state"] in ACTIVE_STATES, state in ACTIVE_STATES
            self._active[row["responder_id"]] += int(now_active) - int(was_active)
            row["state"] = state
            row.update(extra)

    def responders(self) -> list[Responder]:
        self.catch_up()
        with self.lock:
            return list(self._roster.responders.values())

    def row(self, dispatch_id: UUID) -> dict[str, Any] | None:
        with self.lock:
            found = self.dispatches.get(str(dispatch_id))
            return dict(found) if found is not None else None

    def loads(self) -> Counter[str]:
        self.catch_up()
        with self.lock:
            return +self._active  # a copy without the zeros


class DispatchTimers(DueTimers):
    """Pending deadlines, keyed (response id, dispatch id or None, kind: ack|on_scene|hold)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.keys: dict[UUID, set[Hashable]] = {}

    def _schedule(self, response_id: UUID, key: Hashable, due: Any) -> None:
        self.keys.setdefault(response_id, set()).add(key)
        self.schedule(key, due)

    def _cancel_all(self, response_id: UUID, kind: str | None = None) -> None:
        for key in list(self.keys.get(response_id, ())):
            if kind is None or key[2] == kind:  # type: ignore[index]
                self.cancel(key)
                self.keys[response_id].discard(key)

    def apply(self, event: Any) -> None:
        rid = event.originator_id
        if isinstance(event, R.PagingHeld):
            self._schedule(rid, (rid, None, "hold"), event.until)
        elif isinstance(event, R.ResponderAssigned):
            self._cancel_all(rid, "hold")
            self._schedule(rid, (rid, event.dispatch_id, "ack"), event.ack_deadline)
        elif isinstance(event, R.Escalated):
            self._cancel_all(rid)
            if event.dispatch_id is not None and event.ack_deadline is not None:
                self._schedule(rid, (rid, event.dispatch_id, "ack"), event.ack_deadline)
        elif isinstance(event, R.Acknowledged):
            self._cancel_all(rid)  # an acknowledgement stops every pending step at once
            if event.on_scene_deadline is not None:
                self._schedule(rid, (rid, event.dispatch_id, "on_scene"), event.on_scene_deadline)
        elif isinstance(event, R.Declined):
            self._cancel_all(rid, "ack")
        elif isinstance(event, R.StatusReported):
            if event.status != "en_route":
                self._cancel_all(rid, "on_scene")
        elif isinstance(event, R.Cancelled | R.Closed):
            self._cancel_all(rid)
