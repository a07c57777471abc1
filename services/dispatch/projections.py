"""Dispatch's read models, each answering one question, kept in the store.

* :class:`DispatchBoard`: every dispatch and its state ("who is busy?", "what is
  open?"), and the roster as the board needs it for choosing.
* :class:`DispatchTimers`: which deadlines are pending (the due-timer read model).

Both are projections (``plumbing/store/projections.py``): folded from the
service's own events into tables beside them, resumed after a restart.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable
from typing import Any
from uuid import UUID

from plumbing.domain import rfc3339
from plumbing.store.projections import Projection
from plumbing.timers import DueTimers
from services.dispatch.domain.response import IncidentResponse
from services.dispatch.domain.roster import Responder, Roster, RosterState

ACTIVE_STATES = frozenset({"assigned", "acknowledged", "en_route", "with_student", "stabilized"})
R = IncidentResponse


class DispatchBoard(Projection):
    name = "board"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.dispatches = self.table(
            "dispatches",
            indexes={
                "incident_id": lambda d: d["incident_id"],
                "responder_id": lambda d: d["responder_id"],
                "state": lambda d: d["state"],
            },
        )
        self.responses = self.table("responses")  # response id -> incident and school
        self.roster = self.table("roster", cache=100_000)  # responder id -> record
        self._roster: RosterState | None = None  # the roster folded, read once from the table
        self._active: Counter[str] | None = None  # open dispatches per responder, kept as we go

    def reset(self) -> None:
        self._roster = None
        self._active = None

    def _active_counts(self) -> Counter[str]:
        """Counted once by the database (on indexed columns), then kept as events are folded."""
        if self._active is None:
            self.flush()
            self._active = Counter(
                self.dispatches.count_by("responder_id", "state", sorted(ACTIVE_STATES))
            )
        return self._active

    def _roster_state(self) -> RosterState:
        if self._roster is None:
            state = RosterState()
            for record in self.roster.values():
                state.responders[record["responder_id"]] = Responder.from_record(record)
            self._roster = state
        return self._roster

    def apply(self, event: Any) -> None:
        if isinstance(
            event, Roster.ResponderEnrolled | Roster.AvailabilityChanged | Roster.OverrideAdded
        ):
            state = self._roster_state()
            event.apply(state)  # type: ignore[arg-type]  # same shape as Roster
            rid = (
                event.responder["responder_id"]
                if isinstance(event, Roster.ResponderEnrolled)
                else event.responder_id
            )
            self.roster[rid] = state.responders[rid].as_record()
        elif isinstance(event, R.Opened):
            self.responses[str(event.originator_id)] = {
                "incident_id": str(event.incident_id),
                "school_id": event.school_id,
            }
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
        elif isinstance(event, R.Declined):  # the reason is kept here: v2 events do not carry it
            self._move(event.dispatch_id, "declined", declined_reason=event.reason)
        elif isinstance(event, R.StatusReported):
            if event.handed_off_to:  # kept here: v2 events do not carry it
                self._move(event.dispatch_id, event.status, handed_off_to=event.handed_off_to)
            else:
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
        response = self.responses[str(event.originator_id)]
        self.dispatches[str(dispatch_id)] = {
            "dispatch_id": str(dispatch_id),
            "incident_id": response["incident_id"],
            "school_id": response["school_id"],
            "responder_id": responder_id,
            "state": "assigned",
            "step": step,
            "assigned_at": rfc3339(event.at),
            "ack_deadline": ack_deadline,
            "rule": rule,
            "reason": reason,
            "candidates": candidates,
        }
        if self._active is not None:
            self._active[responder_id] += 1

    def _move(
        self, dispatch_id: UUID, state: str, only: tuple[str, ...] = (), **extra: Any
    ) -> None:
        row = self.dispatches.get(str(dispatch_id))
        if row is not None and (not only or row["state"] in only):
            if self._active is not None:
                was, now = row["state"] in ACTIVE_STATES, state in ACTIVE_STATES
                self._active[row["responder_id"]] += int(now) - int(was)
            row["state"] = state
            row.update(extra)
            self.dispatches[str(dispatch_id)] = row

    # -- queries ----------------------------------------------------------------------------
    def responders(self) -> list[Responder]:
        self.catch_up()
        with self.lock:
            return list(self._roster_state().responders.values())

    def row(self, dispatch_id: UUID) -> dict[str, Any] | None:
        with self.lock:
            found = self.dispatches.get(str(dispatch_id))
            return dict(found) if found is not None else None

    def loads(self) -> Counter[str]:
        """Open dispatches per responder (only the open ones are read)."""
        self.catch_up()
        with self.lock:
            return +self._active_counts()  # a copy without the zeros

    def of_incident(self, incident_id: UUID) -> list[dict[str, Any]]:
        self.catch_up()
        with self.lock:
            return [dict(r) for r in self.dispatches.where(incident_id=str(incident_id))]

    def select(self, responder: str | None, state: str | None) -> list[dict[str, Any]]:
        self.catch_up()
        with self.lock:
            if responder is not None and state is not None:
                rows = [
                    r for r in self.dispatches.where(responder_id=responder) if r["state"] == state
                ]
            elif responder is not None:
                rows = self.dispatches.where(responder_id=responder)
            elif state is not None:
                rows = self.dispatches.where(state=state)
            else:
                rows = list(self.dispatches.values())
            return sorted((dict(r) for r in rows), key=lambda r: r["assigned_at"])


class DispatchTimers(DueTimers):
    """Pending deadlines, keyed (response id, dispatch id or None, kind: ack|on_scene|hold)."""

    name = "deadlines"

    def key_of(self, parts: list[str | None]) -> Hashable:
        response, dispatch, kind = parts
        return (UUID(str(response)), UUID(dispatch) if dispatch else None, kind)

    def _schedule(self, response_id: UUID, key: tuple[Any, ...], due: Any) -> None:
        self.schedule(key, due, owner=str(response_id), kind=str(key[2]))

    def _cancel_all(self, response_id: UUID, kind: str | None = None) -> None:
        self.cancel_owned(str(response_id), kind)

    def apply(self, event: Any) -> None:
        rid = event.originator_id
        if isinstance(event, R.Opened):
            self.born(str(rid))
        elif isinstance(event, R.PagingHeld):
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
