"""What every console page shares: the signed-in person, CSRF, calling operations, 403s.

A page is an async function ``(request, Visit) -> Response`` wrapped by
:func:`page`, which

1. finds the session (no session: the sign-in page, or 401 for scripts),
2. refuses a state-changing request without the session's CSRF token,
3. refuses a role the page is not for with a proper 403 page, and records
   that refusal in the audit trail through intake's ``record_refusal``
   operation (the services audit their own refusals already).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.templating import Jinja2Templates

from events.subjects import INTAKE
from plumbing import logs
from plumbing.access.auth import Issuer, Role
from services.console.config import ConsoleSettings
from services.console.feed import Feed
from services.console.gateway import Gateway, Reply
from services.console.guards import read_form
from services.console.identity import TOKEN_TTL, Person, mint
from services.console.sessions import COOKIE, Session, SessionStore

log = logs.get("lantern.console")
HERE = Path(__file__).parent
templates = Jinja2Templates(directory=str(HERE / "templates"))


def shown(value: Any) -> str:
    """A state value for people: lists joined, times to the second, mappings counted."""
    if isinstance(value, list | tuple):
        if value and all(isinstance(v, dict) for v in value):
            return f"{len(value)} recorded"
        return ", ".join(shown(v) for v in value)
    if isinstance(value, dict):
        return f"{len(value)} recorded"
    text = str(value)
    if len(text) >= 19 and text[4] == "-" and text[10] == "T":
        return text[:19].replace("T", " ")
    return text.replace("_", " ") if text.islower() else text


templates.env.filters["shown"] = shown

#: where each role lands after sign-in, and the pages in its navigation
HOME = {
    Role.REPORTER: "/report",
    Role.RESPONDER: "/dispatches",
    Role.SUPERVISOR: "/board",
    Role.COMPLIANCE: "/audit",
    Role.ADMIN: "/board",
}
NAV: dict[Role, list[tuple[str, str]]] = {
    Role.REPORTER: [("/report", "Report")],
    Role.RESPONDER: [("/dispatches", "My dispatches"), ("/report", "Report")],
    Role.SUPERVISOR: [
        ("/board", "Board"),
        ("/dispatches", "My dispatches"),
        ("/reports", "Reports"),
        ("/report", "Report"),
    ],
    Role.COMPLIANCE: [("/audit", "Audit"), ("/reports", "Reports")],
    Role.ADMIN: [
        ("/board", "Board"),
        ("/reports", "Reports"),
        ("/audit", "Audit"),
        ("/report", "Report"),
    ],
}


@dataclass
class Console:
    """Everything the pages need, built once per process (``services.console.main``)."""

    settings: ConsoleSettings
    issuer: Issuer
    sessions: SessionStore
    feed: Feed
    gateway: Gateway | None = None
    oauth: Any = None  # authlib's Starlette OAuth registry, when an issuer is configured

    def cookie(self, response: Response, session: Session) -> Response:
        response.set_cookie(
            COOKIE,
            session.session_id,
            max_age=int(self.sessions.lifetime.total_seconds()),
            httponly=True,
            samesite="lax",  # the IdP's redirect back is a top-level GET that must carry it
            secure=self.settings.secure_cookies,
            path="/",
        )
        return response

    def token_for(self, session: Session) -> str:
        """The person's Lantern token, re-minted a minute before it would expire."""
        assert session.person is not None
        now = datetime.now(UTC)
        if not session.token or session.token_expires is None or session.token_expires < now:
            session.token = mint(self.issuer, session.person)
            session.token_expires = now + TOKEN_TTL - timedelta(minutes=1)
        return session.token

    async def call(
        self, session: Session, service: str, operation: str, body: Any, purpose: str = ""
    ) -> Reply:
        if self.gateway is None:
            return Reply(503, {"error": "the console is not connected to NATS yet"})
        return await self.gateway.call(
            service, operation, body, self.token_for(session), purpose or f"console {operation}"
        )

    async def service_call(self, service: str, operation: str, body: Any) -> Reply:
        """A call as the console itself (reading the roster at sign-in): a supervisor of no
        school, the least that may list the roster."""
        if self.gateway is None:
            return Reply(503, {"error": "the console is not connected to NATS yet"})
        me = Person("lantern-console", Role.SUPERVISOR)
        return await self.gateway.call(
            service, operation, body, mint(self.issuer, me), "console sign-in"
        )


@dataclass
class Visit:
    """One request by a signed-in person."""

    request: Request
    console: Console
    session: Session

    @property
    def person(self) -> Person:
        assert self.session.person is not None
        return self.session.person

    async def call(self, service: str, operation: str, body: Any, purpose: str = "") -> Reply:
        return await self.console.call(self.session, service, operation, body, purpose)

    def render(self, template: str, status: int = 200, **context: Any) -> Response:
        return render(self.request, template, status, session=self.session, **context)

    async def refuse(self, what: str, reason: str, incident_id: str | None = None) -> Response:
        """A 403 page for something the console guards itself, recorded in the audit trail."""
        body: dict[str, Any] = {"what": what[:64], "reason": reason}
        if incident_id:
            body["incident_id"] = incident_id
        reply = await self.call(INTAKE, "record_refusal", body, f"console {what}"[:200])
        if not reply.ok:
            log.warning("refusal not recorded", what=what, status=reply.status)
        return forbidden(self, reason)


def render(
    request: Request, template: str, status: int = 200, session: Session | None = None, **ctx: Any
) -> Response:
    person = session.person if session else None
    context = {
        "person": person,
        "nav": NAV.get(person.role, []) if person else [],
        "csrf": session.csrf if session else "",
        "path": request.url.path,
        **ctx,
    }
    return templates.TemplateResponse(request, template, context, status_code=status)


def forbidden(visit: Visit, reason: str) -> Response:
    return visit.render("forbidden.html", 403, reason=reason)


def from_reply(visit: Visit, reply: Reply) -> Response:
    """A service's refusal as a page (403 audited by the service itself; 404; 503)."""
    if reply.status == 403:
        return forbidden(visit, reply.error)
    title = {404: "Not found", 503: "Not available right now"}.get(reply.status, "Refused")
    return visit.render("problem.html", reply.status, title=title, message=reply.error)


Page = Callable[[Request, Visit], Awaitable[Response]]
Endpoint = Callable[[Request], Awaitable[Response]]


def page(
    *roles: Role, what: str = ""
) -> Callable[[Page], Callable[[Request], Awaitable[Response]]]:
    """Wrap a page: sign-in, CSRF on every state change, the role guard (audited)."""

    def wrap(fn: Page) -> Endpoint:
        async def endpoint(request: Request) -> Response:
            console: Console = request.app.state.console
            session = console.sessions.get(request.cookies.get(COOKIE))
            if session is None or session.person is None:
                return signed_out(request)
            if request.method not in ("GET", "HEAD") and not await _csrf_ok(request, session):
                visit = Visit(request, console, session)
                return visit.render(
                    "problem.html",
                    403,
                    title="Form expired",
                    message="This form was not sent from your current session; reload and retry.",
                )
            visit = Visit(request, console, session)
            if roles and visit.person.role not in roles:
                return await visit.refuse(
                    f"console:{what or request.url.path}",
                    f"the {what or 'page'} is not for the {visit.person.role} role",
                )
            return await fn(request, visit)

        return endpoint

    return wrap


def wants_json(request: Request) -> bool:
    return "application/json" in request.headers.get("accept", "")


def signed_out(request: Request) -> Response:
    if wants_json(request) or request.headers.get("x-lantern-live"):
        return JSONResponse({"error": "sign in first", "field": "authorization"}, 401)
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/signin?next={quote(target, safe='')}", 303)


async def _csrf_ok(request: Request, session: Session) -> bool:
    offered = request.headers.get("x-csrf-token")
    if offered is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        form = await read_form(request)
        value = form.get("csrf")
        offered = value if isinstance(value, str) else None
    return session.csrf_ok(offered)
