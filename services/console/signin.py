"""Signing in: OpenID Connect (authorization code + PKCE) with the district's IdP, and demo.

Authlib does the protocol: discovery, the ``state`` and ``nonce``, the PKCE
verifier (S256), the code exchange and the ID token's signature, issuer,
audience and nonce checks.  The console then maps the verified e-mail address
to a Lantern person (``services.console.people``) and starts a fresh session.

The demo "sign in as" page exists only with ``LANTERN_CONSOLE_DEMO=1`` (set by
``lantern up --demo``); it is labelled as such on the page.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from events.subjects import DISPATCH
from plumbing import logs
from services.console.guards import read_form
from services.console.identity import Person
from services.console.people import NotMapped, demo_people, resolve
from services.console.sessions import COOKIE, Session
from services.console.web import HOME, Console, render

log = logs.get("lantern.console.signin")
PROVIDER = "district"


def oauth_registry(console: Console) -> Any:
    """Authlib's client for the configured issuer (None: OIDC is not configured)."""
    settings = console.settings
    if not settings.oidc_issuer:
        return None
    from authlib.integrations.starlette_client import OAuth

    oauth = OAuth()
    kwargs: dict[str, Any] = {"scope": "openid email profile", "code_challenge_method": "S256"}
    if not settings.oidc_client_secret:
        kwargs["token_endpoint_auth_method"] = "none"  # noqa: S105 - a public client: PKCE alone
    oauth.register(
        PROVIDER,
        client_id=settings.oidc_client_id,
        client_secret=settings.oidc_client_secret or None,
        server_metadata_url=f"{settings.oidc_issuer}/.well-known/openid-configuration",
        client_kwargs=kwargs,
    )
    return oauth


def _anonymous(console: Console, request: Request) -> tuple[Session, bool]:
    """The visitor's session (created when absent: it carries the CSRF token and OAuth state)."""
    session = console.sessions.get(request.cookies.get(COOKIE))
    if session is not None:
        return session, False
    return console.sessions.new(), True


def local(target: str) -> bool:
    """Only a path on this console is a place to go after sign-in (no open redirect)."""
    return target.startswith("/") and not target.startswith(("//", "/\\")) and "\\" not in target


def _next(request: Request, person: Person) -> str:
    target = request.query_params.get("next") or ""
    return target if local(target) else HOME[person.role]


async def _roster(console: Console) -> list[dict[str, Any]]:
    reply = await console.service_call(DISPATCH, "list_roster", {})
    return list(reply.body) if reply.ok and isinstance(reply.body, list) else []


async def signin_page(request: Request) -> Response:
    console: Console = request.app.state.console
    session, fresh = _anonymous(console, request)
    if session.person is not None:
        return RedirectResponse(HOME[session.person.role], 303)
    people = demo_people(await _roster(console)) if console.settings.demo else []
    response = render(
        request,
        "signin.html",
        session=session,
        oidc=console.oauth is not None,
        demo=console.settings.demo,
        people=people,
        ended=request.query_params.get("ended") == "1",
        next=request.query_params.get("next", ""),
    )
    return console.cookie(response, session) if fresh else response


async def login(request: Request) -> Response:
    console: Console = request.app.state.console
    if console.oauth is None:
        return RedirectResponse("/signin", 303)
    session, _ = _anonymous(console, request)
    session.data["next"] = request.query_params.get("next", "")
    request.scope["session"] = session.data  # authlib keeps state, nonce and verifier here
    base = console.settings.public_url or str(request.base_url).rstrip("/")
    client = console.oauth.create_client(PROVIDER)
    response: Response = await client.authorize_redirect(request, f"{base}/auth/callback")
    return console.cookie(response, session)


async def callback(request: Request) -> Response:
    from authlib.integrations.base_client.errors import OAuthError

    console: Console = request.app.state.console
    session = console.sessions.get(request.cookies.get(COOKIE))
    if session is None or console.oauth is None:
        return _refused(request, "Your sign-in took too long or came from elsewhere; try again.")
    request.scope["session"] = session.data
    try:
        token = await console.oauth.create_client(PROVIDER).authorize_access_token(request)
    except OAuthError as exc:
        log.warning("sign-in refused by the protocol", error=exc.error)
        return _refused(request, "Sign-in failed; try again.")
    claims = dict(token.get("userinfo") or {})
    try:
        person = resolve(claims, await _roster(console), console.settings.people)
    except NotMapped as exc:
        log.info("sign-in of an unknown person refused")
        return _refused(request, str(exc))
    target = session.data.get("next") or ""
    fresh = console.sessions.sign_in(session, person)
    log.info("signed in", person=person.person_id, role=str(person.role), via="oidc")
    if not local(target):
        target = HOME[person.role]
    return console.cookie(RedirectResponse(target, 303), fresh)


async def demo_signin(request: Request) -> Response:
    console: Console = request.app.state.console
    session = console.sessions.get(request.cookies.get(COOKIE))
    form = await read_form(request)
    if not console.settings.demo:
        return _refused(request, "Demo sign-in is off.", 404)
    if session is None or not session.csrf_ok(str(form.get("csrf") or "")):
        return _refused(request, "This form expired; reload the page and try again.")
    wanted = str(form.get("person_id") or "")
    person = next((p for p in demo_people(await _roster(console)) if p.person_id == wanted), None)
    if person is None:
        return _refused(request, "No such demo person.")
    fresh = console.sessions.sign_in(session, person)
    log.info("signed in", person=person.person_id, role=str(person.role), via="demo")
    return console.cookie(RedirectResponse(_next(request, person), 303), fresh)


async def logout(request: Request) -> Response:
    console: Console = request.app.state.console
    session = console.sessions.get(request.cookies.get(COOKIE))
    form = await read_form(request)
    if session is not None and session.csrf_ok(str(form.get("csrf") or "")):
        console.sessions.end(session.session_id)
    response = RedirectResponse("/signin?ended=1", 303)
    response.delete_cookie(COOKIE, path="/")
    return response


def _refused(request: Request, message: str, status: int = 403) -> Response:
    return render(request, "problem.html", status, title="Not signed in", message=message)


routes = [
    Route("/signin", signin_page, methods=["GET"]),
    Route("/login", login, methods=["GET"]),
    Route("/auth/callback", callback, methods=["GET"]),
    Route("/signin/demo", demo_signin, methods=["POST"]),
    Route("/logout", logout, methods=["POST"]),
]
