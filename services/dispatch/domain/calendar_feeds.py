"""Who has a calendar feed, under which secret: issued, replaced and revoked as events.

The secret itself is never stored, only its SHA-256: the store (and its
backups) cannot give a feed URL away.  Issuing a new feed replaces the old
one; revoking leaves none.  Pure: the secret and its hash come from outside.
"""

from __future__ import annotations

from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate

from plumbing.domain import NotFound, Trace, TracedCreated, TracedEvent

FEEDS_ID: UUID = uuid5(NAMESPACE_URL, "lantern:dispatch:calendar-feeds")


class CalendarFeeds(Aggregate):
    class Opened(TracedCreated):
        pass

    class FeedIssued(TracedEvent):
        responder_id: str
        secret_sha256: str

        def apply(self, aggregate: CalendarFeeds) -> None:
            aggregate.feeds[self.responder_id] = self.secret_sha256

    class FeedRevoked(TracedEvent):
        responder_id: str

        def apply(self, aggregate: CalendarFeeds) -> None:
            aggregate.feeds.pop(self.responder_id, None)

    def __init__(self) -> None:
        self.feeds: dict[str, str] = {}  # responder -> sha256 of the feed's secret

    @classmethod
    def open(cls, trace: Trace) -> CalendarFeeds:
        return cls._create(cls.Opened, id=FEEDS_ID, **trace.fields())

    def issue(self, responder_id: str, secret_sha256: str, trace: Trace) -> None:
        """A new secret for the responder's feed; any earlier URL stops working."""
        self.trigger_event(
            self.FeedIssued,
            responder_id=responder_id,
            secret_sha256=secret_sha256,
            **trace.fields(),
        )

    def revoke(self, responder_id: str, trace: Trace) -> None:
        if responder_id not in self.feeds:
            raise NotFound(f"{responder_id} has no calendar feed", "responder_id")
        self.trigger_event(self.FeedRevoked, responder_id=responder_id, **trace.fields())
