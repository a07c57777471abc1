"""What the console does with bad requests: a clear page (or JSON) and nothing changed.

Why a module of its own: the console reads browser forms, not contract JSON, so
the services' request checks do not cover it.  A body over the limit is refused
before it is read whole (413); a form that is not valid UTF-8, an unknown page or
a method a page does not take gets a page that says so (400, 404, 405), never
Starlette's plain text or a 500.  The log line names the path and the reason
only: a refused form may hold a student's name.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl

from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from plumbing import logs
from services.console.sessions import COOKIE

log = logs.get("lantern.console")

TITLES = {
    400: "This form could not be read",
    404: "Not found",
    405: "Not allowed here",
    413: "This form is too large",
}


class BodyTooLarge(Exception):
    """The request body passed the limit while it was being read."""


class BodyLimit:
    """Refuse a request body over ``limit`` bytes: at once by its Content-Length, or while read."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers", [])).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.limit:
            await too_large(scope, self.limit)(scope, receive, send)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise BodyTooLarge
            return message

        try:
            await self.app(scope, counted, send)
        except BodyTooLarge:  # a chunked body with no length: nothing was acted on yet
            await too_large(scope, self.limit)(scope, receive, send)


def too_large(scope: Scope, limit: int) -> Response:
    request = Request(scope)
    log.warning("request refused", path=request.url.path, status=413, reason="body over limit")
    return problem(request, 413, f"Send at most {limit // 1024} KB; nothing was saved.")


def problem(
    request: Request, status: int, message: str, headers: dict[str, str] | None = None
) -> Response:
    """The refusal as the console's own page, or as JSON for a script that asked for JSON."""
    title = TITLES.get(status, "Refused")
    if "application/json" in request.headers.get("accept", ""):
        body = {"error": message, "field": "body", "status": status}
        return JSONResponse(body, status, headers=headers)
    from services.console.web import render  # the templates need the console's web module

    console = getattr(request.app.state, "console", None) if "app" in request.scope else None
    session = console.sessions.get(request.cookies.get(COOKIE)) if console else None
    response = render(
        request, "problem.html", status, session=session, title=title, message=message
    )
    response.headers.update(headers or {})
    return response


async def http_refusal(request: Request, exc: Exception) -> Response:
    """404, 405 and Starlette's own 400s (a form it cannot parse) as pages."""
    assert isinstance(exc, HTTPException)
    messages: dict[int, str] = {
        404: "There is no page at this address.",
        405: f"This page does not take a {request.method} request.",
        400: "The form could not be read; reload the page and send it again.",
    }
    message = messages.get(exc.status_code, "The request was refused.")
    log.info("request refused", path=request.url.path, status=exc.status_code)
    return problem(request, exc.status_code, message, dict(exc.headers or {}))


async def unreadable_form(request: Request, exc: Exception) -> Response:
    """A form that is not UTF-8, or JSON that does not parse: refused, its content never logged."""
    reason = "not valid UTF-8" if isinstance(exc, UnicodeDecodeError) else "not valid JSON"
    log.warning("request refused", path=request.url.path, status=400, reason=reason)
    return problem(request, 400, f"The form is {reason} text; nothing was saved.")


async def read_form(request: Request) -> FormData:
    """The posted form, read strictly: a browser percent-encodes every non-ASCII byte as
    UTF-8, so a raw non-ASCII byte or an escape that is not UTF-8 is refused (400) rather
    than stored as look-alike text, which Starlette's lenient parser would do."""
    if request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        text = (await request.body()).decode("ascii")  # UnicodeDecodeError: the 400 below
        parse_qsl(text, keep_blank_values=True, encoding="utf-8", errors="strict")
    return await request.form()


def exception_handlers() -> dict[Any, Any]:
    return {
        HTTPException: http_refusal,
        UnicodeDecodeError: unreadable_form,
        json.JSONDecodeError: unreadable_form,
    }
