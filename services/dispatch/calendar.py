"""Each responder's iCalendar feed (RFC 5545): their on-call shifts and upcoming check-ins.

A responder (or an administrator) asks for a feed with ``issue_calendar_feed``
and gets a secret path, ``/calendar/<secret>.ics``, to subscribe to from any
calendar app.  The secret is the only credential a calendar app can carry, so:
it is long and random, only its SHA-256 is stored, issuing again replaces it,
and ``revoke_calendar_feed`` ends it; a revoked or unknown secret is a 404 that
says nothing about who it was.

The feed holds times, never student details: on-call intervals computed with
the dispatcher's own rule (``domain.oncall``) for the next :data:`HORIZON` (none
for a responder on call round the clock: the calendar says so instead), and
the responder's open check-ins, asked of follow-up over NATS (``list_plans``).
A calendar app carries no Lantern token, and dispatch cannot mint one, so the
request carries dispatch's delegation token (issued at deploy time for
``list_plans`` only, ``plumbing.access.trust.delegation_headers``): follow-up
audits the read as dispatch's, "on behalf of" the responder.  When
follow-up does not answer, the feed is a 503 rather than a calendar with the
check-ins silently missing; calendar apps keep their last copy.  Generated with
the ``icalendar`` library.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import secrets
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import anyio
import nats
from eventsourcing.application import AggregateNotFoundError
from icalendar import Calendar, Event
from nats.aio.client import Client
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from events.codec import decode, encode
from events.dispatch import IssueCalendarFeedV1, RevokeCalendarFeedV1
from events.followup import ListPlansV1
from events.replies.dispatch import CalendarFeedV1
from events.subjects import FOLLOWUP, Subjects
from plumbing import logs
from plumbing.access import auth
from plumbing.access.auth import Role
from plumbing.access.rules import COMMAND, Access, Resource
from plumbing.domain import NotFound, Trace
from plumbing.interface.commands import STATUS_HEADER, Context, Operation, Result
from plumbing.interface.requests import utcnow
from plumbing.messaging import natsurl
from plumbing.settings import nats_servers
from plumbing.store.projections import Projection
from services.dispatch.application import DispatchApplication
from services.dispatch.domain.calendar_feeds import FEEDS_ID, CalendarFeeds
from services.dispatch.domain.oncall import on_call_intervals

log = logs.get("lantern.calendar")
#: How far ahead a feed shows on-call shifts (check-ins: all open ones).
HORIZON = timedelta(days=28)
CHECKIN_MINUTES = 30
OPEN_CHECKINS = ("scheduled", "due", "overdue")
PRODID = "-//Lantern//on-call and follow-up check-ins//EN"
#: How long to wait for follow-up before answering 503.
FOLLOWUP_TIMEOUT_S = 3.0


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class _Feeds(Projection):
    """secret digest -> responder, folded from the feeds' events (kept in the store)."""

    name = "calendar_feeds"

    def __init__(self, app: DispatchApplication) -> None:
        super().__init__(app)
        self.by_digest = self.table("by_digest")  # digest -> {"responder_id"}
        self.of = self.table("of")  # responder id -> {"digest"}

    def apply(self, event: Any) -> None:
        if isinstance(event, CalendarFeeds.FeedIssued):
            old = self.of.pop(event.responder_id)
            if old is not None:
                self.by_digest.pop(old["digest"])
            self.by_digest[event.secret_sha256] = {"responder_id": event.responder_id}
            self.of[event.responder_id] = {"digest": event.secret_sha256}
        elif isinstance(event, CalendarFeeds.FeedRevoked):
            old = self.of.pop(event.responder_id)
            if old is not None:
                self.by_digest.pop(old["digest"])

    def responder(self, secret: str) -> str | None:
        self.catch_up()
        with self.lock:
            found = self.by_digest.get(digest(secret))
            return None if found is None else str(found["responder_id"])


class CalendarFeedService:
    def __init__(
        self,
        app: DispatchApplication,
        subjects: Subjects,
        nats_url: str,
        delegation: Mapping[str, str],
    ) -> None:
        self.app = app
        self.subjects = subjects
        self.nats_url = nats_url
        #: headers carrying dispatch's delegation token (list_plans only)
        self.delegation = dict(delegation)
        self.feeds = _Feeds(app)
        self._nc: Client | None = None
        self._connecting = asyncio.Lock()

    # -- issuing and revoking (operations, guarded and audited like every other) -------------
    def _aggregate(self, trace: Trace) -> CalendarFeeds:
        try:
            feeds: CalendarFeeds = self.app.repository.get(FEEDS_ID)
        except AggregateNotFoundError:  # the first feed ever
            return CalendarFeeds.open(trace)
        return feeds

    def issue(self, c: IssueCalendarFeedV1, ctx: Context) -> Result:
        known = {r.responder_id for r in self.app.board.responders()}
        if c.responder_id not in known:
            raise NotFound(f"no responder {c.responder_id}", "responder_id")
        secret = secrets.token_urlsafe(32)
        feeds = self._aggregate(ctx.trace)
        feeds.issue(c.responder_id, digest(secret), ctx.trace)
        self.app.record(feeds)
        reply = CalendarFeedV1(
            responder_id=c.responder_id, active=True, path=f"/calendar/{secret}.ics"
        )
        return Result(reply, 201)

    def revoke(self, c: RevokeCalendarFeedV1, ctx: Context) -> CalendarFeedV1:
        feeds = self._aggregate(ctx.trace)
        feeds.revoke(c.responder_id, ctx.trace)
        self.app.record(feeds)
        return CalendarFeedV1(responder_id=c.responder_id, active=False)

    def _responder_schools(self, c: RevokeCalendarFeedV1) -> Resource:
        """A supervisor revokes the feeds of responders at their schools only."""
        found = next(
            (r for r in self.app.board.responders() if r.responder_id == c.responder_id), None
        )
        schools = frozenset(found.schools) if found else frozenset[str]()
        return Resource(responder_schools=((c.responder_id, schools),))

    def operations(self) -> list[Operation[Any]]:
        yourself = frozenset({Role.RESPONDER, Role.ADMIN})
        return [
            Operation(
                "issue_calendar_feed",
                IssueCalendarFeedV1,
                "POST",
                "/calendar/feeds/{responder_id}",
                self.issue,
                summary="A secret iCalendar URL of your on-call shifts and check-ins "
                "(replaces any earlier one)",
                actor_field="responder_id",
                access=Access(COMMAND, yourself, False, None, "responder_id", False),
            ),
            Operation(
                "revoke_calendar_feed",
                RevokeCalendarFeedV1,
                "POST",
                "/calendar/feeds/{responder_id}/revoke",
                self.revoke,
                summary="Your calendar URL stops working",
                actor_field="responder_id",
                access=Access(
                    COMMAND,
                    yourself | {Role.SUPERVISOR},
                    False,
                    self._responder_schools,
                    "responder_id",
                    False,
                    others=frozenset({Role.ADMIN, Role.SUPERVISOR}),
                ),
            ),
        ]

    # -- serving -------------------------------------------------------------------------------
    #: the feed route in the OpenAPI document (it is not an operation: no bearer token)
    PATHS: Mapping[str, Any] = {
        "/calendar/{secret}.ics": {
            "get": {
                "operationId": "calendar_feed",
                "summary": "A responder's iCalendar feed (RFC 5545): on-call shifts, check-ins",
                "description": "The secret path from `issue_calendar_feed` is the credential.",
                "security": [],
                "tags": ["dispatch"],
                "parameters": [
                    {"name": "secret", "in": "path", "required": True, "schema": {"type": "string"}}
                ],
                "responses": {
                    "200": {
                        "description": "The calendar",
                        "content": {"text/calendar": {"schema": {"type": "string"}}},
                    },
                    "404": {"description": "No such feed (never issued, replaced or revoked)"},
                    "503": {"description": "Follow-up did not answer; try again later"},
                },
            }
        }
    }

    def routes(self) -> list[BaseRoute]:
        return [Route("/calendar/{secret}.ics", self.serve, methods=["GET"], name="calendar")]

    async def serve(self, request: Request) -> Response:
        secret = str(request.path_params["secret"])
        responder_id = await anyio.to_thread.run_sync(self.feeds.responder, secret)
        if responder_id is None:
            return Response("no such calendar\n", status_code=404, media_type="text/plain")
        try:
            checkins = await self._checkins(responder_id)
        except Exception as exc:  # noqa: BLE001 - the app keeps its last copy and retries
            log.warning("calendar feed without follow-up", error=repr(exc))
            return Response(
                "follow-up did not answer; try again shortly\n",
                status_code=503,
                media_type="text/plain",
                headers={"Retry-After": "60"},
            )
        body = await anyio.to_thread.run_sync(self._ical, responder_id, checkins, utcnow())
        return Response(
            body,
            media_type="text/calendar; charset=utf-8",
            headers={"Cache-Control": "private, max-age=300"},
        )

    def _ical(self, responder_id: str, checkins: list[dict[str, Any]], now: datetime) -> bytes:
        responder = next(r for r in self.app.board.responders() if r.responder_id == responder_id)
        calendar = Calendar()
        calendar.add("prodid", PRODID)
        calendar.add("version", "2.0")
        calendar.add("calscale", "GREGORIAN")
        calendar.add("method", "PUBLISH")
        calendar.add("x-wr-calname", f"Lantern: {responder.name}")
        round_the_clock = responder.shifts is None
        calendar.add(
            "x-wr-caldesc",
            "On call round the clock; follow-up check-ins. No student details."
            if round_the_clock
            else "On-call shifts and follow-up check-ins. No student details.",
        )
        calendar.add("refresh-interval", timedelta(minutes=15), parameters={"VALUE": "DURATION"})
        calendar.add("x-published-ttl", "PT15M")
        start = now.replace(minute=0, second=0, microsecond=0)
        shown = [] if round_the_clock else on_call_intervals(responder, start, start + HORIZON)
        for begin, end in shown:
            event = Event()
            event.add("uid", f"oncall-{responder_id}-{begin:%Y%m%dT%H%M%SZ}@lantern")
            event.add("dtstamp", now)
            event.add("dtstart", begin)
            event.add("dtend", end)
            event.add("summary", "On call (Lantern)")
            event.add("categories", ["on-call"])
            event.add("transp", "OPAQUE")
            calendar.add_component(event)
        for checkin in checkins:
            due = datetime.fromisoformat(checkin["due_at"])
            event = Event()
            event.add("uid", f"checkin-{checkin['checkin_id']}@lantern")
            event.add("dtstamp", now)
            event.add("dtstart", due)
            event.add("dtend", due + timedelta(minutes=CHECKIN_MINUTES))
            event.add("summary", f"Follow-up check-in, {checkin['slot']} (Lantern)")
            event.add(
                "description",
                f"Check-in {checkin['checkin_id']} ({checkin['state']}). Open Lantern to view.",
            )
            event.add("categories", ["check-in"])
            event.add("status", "CONFIRMED")
            calendar.add_component(event)
        ical: bytes = calendar.to_ical()
        return ical

    async def _checkins(self, responder_id: str) -> list[dict[str, Any]]:
        """The responder's open check-ins, from follow-up (``list_plans``, under the delegation)."""
        nc = await self._connection()
        headers = {**self.delegation, auth.PURPOSE_HEADER: "calendar feed"}
        reply = await nc.request(
            self.subjects.command(FOLLOWUP, "list_plans"),
            encode(ListPlansV1(owner_id=responder_id)),
            timeout=FOLLOWUP_TIMEOUT_S,
            headers=headers,
        )
        status = (reply.headers or {}).get(STATUS_HEADER, "0")
        if status != "200":
            raise RuntimeError(f"follow-up answered {status}")
        plans = decode(reply.data, list[dict[str, Any]])
        return [
            c
            for plan in plans
            for c in plan["checkins"]
            if c["state"] in OPEN_CHECKINS and plan["owner_id"] == responder_id
        ]

    async def _connection(self) -> Client:
        async with self._connecting:
            if self._nc is None or self._nc.is_closed:
                self._nc = await nats.connect(
                    nats_servers(self.nats_url),
                    connect_timeout=2,
                    max_reconnect_attempts=-1,
                    **natsurl.options(self.nats_url),
                )
            return self._nc

    async def run(self, stop: asyncio.Event) -> None:
        """Background work: close the NATS connection when the service stops."""
        await stop.wait()
        if self._nc is not None and not self._nc.is_closed:
            with contextlib.suppress(Exception):
                await self._nc.close()
