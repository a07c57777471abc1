"""The catalogue of community resources a referral can go to (the latest record wins)."""

from __future__ import annotations

from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate

from plumbing.domain import NotFound, Trace, TracedCreated, TracedEvent

CATALOGUE_ID: UUID = uuid5(NAMESPACE_URL, "lantern:followup:resources")


class ResourceCatalogue(Aggregate):
    class Opened(TracedCreated):
        pass

    class ResourceListed(TracedEvent):
        resource: dict[str, Any]

        def apply(self, aggregate: ResourceCatalogue) -> None:
            aggregate.resources[self.resource["resource_id"]] = dict(self.resource)

    def __init__(self) -> None:
        self.resources: dict[str, dict[str, Any]] = {}

    @classmethod
    def open(cls, trace: Trace) -> ResourceCatalogue:
        return cls._create(cls.Opened, id=CATALOGUE_ID, **trace.fields())

    def list_resource(self, resource: dict[str, Any], trace: Trace) -> None:
        if self.resources.get(resource["resource_id"]) == resource:
            return
        self.trigger_event(self.ResourceListed, resource=dict(resource), **trace.fields())

    def ensure_listed(self, resource_id: str) -> None:
        if resource_id not in self.resources:
            raise NotFound(f"no resource {resource_id!r} in the catalogue", field="resource_id")
