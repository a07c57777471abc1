"""Server-sent events: the live pages hear of every change they may see, once, in order.

Each event's id is the stream positions seen so far; a browser reconnecting
after a blip sends it back as ``Last-Event-ID`` and gets exactly what it
missed (``services.console.feed``).  A change carries ids and a kind only:
the page then fetches its fragment through the services (or the board's read
model), so what a person sees is always what they may see.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

from sse_starlette import EventSourceResponse, ServerSentEvent
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from services.console.feed import Change, decode_positions, encode_positions, visible_to
from services.console.sessions import COOKIE
from services.console.web import Console


async def stream(request: Request) -> Response:
    console: Console = request.app.state.console
    session_id = request.cookies.get(COOKIE)
    session = console.sessions.get(session_id)
    if session is None or session.person is None:
        return JSONResponse({"error": "sign in first", "field": "authorization"}, 401)
    person = session.person
    feed = console.feed
    seen = (
        decode_positions(request.headers.get("last-event-id"))
        or decode_positions(request.query_params.get("since"))
        or dict(feed.positions)
    )
    for name, position in feed.positions.items():
        seen.setdefault(name, position)
    queue = feed.listen()

    def event(change: Change) -> dict[str, Any] | None:
        if change.seq <= seen.get(change.feed, 0):
            return None  # already sent on this connection, or before the reconnection
        seen[change.feed] = change.seq
        if not visible_to(change, str(person.role), person.person_id, person.schools):
            return None
        return {
            "event": "change",
            "id": encode_positions(seen),
            "data": json.dumps(change.public()),
        }

    async def events() -> AsyncIterator[dict[str, Any] | ServerSentEvent]:
        try:
            # at once: the browser knows it is live, and retries after 2 s on a blip
            yield ServerSentEvent(comment="live", retry=2000)
            backlog, lost = feed.since(seen)
            if lost:
                seen.update(feed.positions)
                yield {"event": "reset", "id": encode_positions(seen), "data": "{}"}
                backlog = []
            for change in backlog:
                if (out := event(change)) is not None:
                    yield out
            while True:
                change = await queue.get()
                if console.sessions.get(session_id) is None:
                    yield {"event": "signout", "data": "{}"}
                    return
                if (out := event(change)) is not None:
                    yield out
        finally:
            feed.unlisten(queue)

    return EventSourceResponse(events(), ping=15, headers={"Cache-Control": "no-store"})


routes = [Route("/live", stream, methods=["GET"])]
