"""Who was dispatched to which incident, as every service needs to know for access rules.

"Responders see only incidents they were dispatched to": dispatch knows that
from its board, but intake and follow-up must answer it too, without calling
dispatch (a request path must not depend on another service being up).  So
each of them consumes dispatch's ``ResponderAssignedV1`` and
``DispatchEscalatedV1`` into a small :class:`CareTeam` aggregate per incident,
in its own store, exactly once (a feed of its own, ``<service>-care-team``).
Membership is never withdrawn: a responder who was once dispatched keeps
read access to that incident's record (they took part in it, and may have to
account for it).
"""

from __future__ import annotations

import contextlib
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.domain import Aggregate

from events.dispatch import DispatchEscalatedV1, ResponderAssignedV1
from events.subjects import DISPATCH
from plumbing.domain import Trace, TracedCreated, TracedEvent
from plumbing.messaging.feed import Feed, Inbound, contract
from plumbing.store.application import LanternApplication

CareTeamEvent = ResponderAssignedV1 | DispatchEscalatedV1


def care_team_id(incident_id: UUID | str) -> UUID:
    return uuid5(NAMESPACE_URL, f"lantern:care-team:{incident_id}")


class CareTeam(Aggregate):
    class Formed(TracedCreated):
        incident_id: UUID

    class MemberDispatched(TracedEvent):
        responder_id: str

        def apply(self, aggregate: CareTeam) -> None:
            aggregate.members.add(self.responder_id)

    def __init__(self, incident_id: UUID) -> None:
        self.incident_id = incident_id
        self.members: set[str] = set()

    @classmethod
    def form(cls, incident_id: UUID, trace: Trace) -> CareTeam:
        return cls._create(
            cls.Formed, id=care_team_id(incident_id), incident_id=incident_id, **trace.fields()
        )

    def dispatched(self, responder_id: str, trace: Trace) -> None:
        if responder_id not in self.members:
            self.trigger_event(self.MemberDispatched, responder_id=responder_id, **trace.fields())


def members(app: LanternApplication, incident_id: UUID | str) -> frozenset[str]:
    """The responders ever dispatched to the incident (empty when none yet)."""
    team: Any = None
    with contextlib.suppress(AggregateNotFoundError):
        team = app.repository.get(care_team_id(incident_id))
    return frozenset(team.members) if isinstance(team, CareTeam) else frozenset()


def decider(app: LanternApplication) -> Any:
    def decide(event: Any, message: Inbound) -> list[Aggregate]:
        if isinstance(event, ResponderAssignedV1):
            incident_id, responder = event.incident_id, event.responder_id
        elif isinstance(event, DispatchEscalatedV1) and event.to_responder_id:
            incident_id, responder = event.incident_id, event.to_responder_id
        else:
            return []
        trace = message.trace(f"service:{app.name}")
        team: CareTeam
        try:
            team = app.get(care_team_id(incident_id))
        except AggregateNotFoundError:
            team = CareTeam.form(incident_id, trace)
        team.dispatched(responder, trace)
        return [team]

    return decide


def feed(app: LanternApplication, service: str) -> Feed:
    """The feed that keeps ``service``'s care teams up to date."""
    return Feed(
        consumer=service,
        name=f"{service}-care-team",
        upstream=DISPATCH,
        family="evt",
        decode=contract(CareTeamEvent),
        decide=decider(app),
        prefetch=lambda events: [care_team_id(e.incident_id) for e in events],
    )
