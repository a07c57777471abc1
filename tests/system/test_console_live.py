"""Live updates of the console, without a browser: server-sent events over real NATS.

Given intake, dispatch and the console on a real nats-server, and an administrator
signed in to the console (demo sign-in),
* a change reaches the live stream and the board within a second, with 50 incidents open;
* a browser that drops off and comes back with its ``Last-Event-ID`` gets exactly the
  changes it missed: nothing missed, nothing twice;
* a form posted without the session's CSRF token is refused, and nothing is stored;
* without a session, the live stream answers 401.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from events.subjects import Subjects
from tests.harness import Harness, eventually

pytestmark = pytest.mark.system


@pytest.fixture
async def console(
    subjects: Subjects,
    nats_url: str,
    store: dict[str, str],
    clean_streams: None,
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[tuple[Harness, httpx.AsyncClient]]:
    monkeypatch.setenv("LANTERN_CONSOLE_DEMO", "1")
    harness = Harness(subjects, nats_url, store)
    for service in ("intake", "dispatch", "console"):
        await harness.start(service)
    await harness.seed()
    url = harness.running["console"].url
    async with httpx.AsyncClient(base_url=url, timeout=10) as client:
        page = (await client.get("/signin")).text
        csrf = re.search(r'name="csrf" value="([^"]+)"', page)
        assert csrf is not None
        signed = await client.post(
            "/signin/demo", data={"csrf": csrf.group(1), "person_id": "dev-admin"}
        )
        assert signed.status_code == 303
        yield harness, client
    await harness.stop_all()


async def changes(
    client: httpx.AsyncClient, headers: dict[str, str], until: Any, timeout: float = 5.0
) -> list[dict[str, Any]]:
    """Read the live stream until ``until(events)`` holds; each event with its id."""
    events: list[dict[str, Any]] = []
    current: dict[str, Any] = {}
    deadline = time.monotonic() + timeout
    async with client.stream("GET", "/live", headers=headers) as response:
        assert response.status_code == 200
        async for line in response.aiter_lines():
            if line.startswith(("event:", "id:", "data:")):
                key, _, value = line.partition(":")
                current[key] = value.strip()
            elif not line and "data" in current:
                if current.get("event") == "change":
                    events.append({"id": current["id"], **json.loads(current["data"])})
                current = {}
                if until(events):
                    return events
            assert time.monotonic() < deadline, f"stream stalled with {events}"
    return events


def reported(events: list[dict[str, Any]], incident: str) -> bool:
    return any(e["incident"] == incident and e["kind"].endswith("assigned.v1") for e in events)


async def test_a_reconnecting_page_gets_what_it_missed_once(
    console: tuple[Harness, httpx.AsyncClient],
) -> None:
    harness, client = console
    health = (await client.get("/health")).json()
    await eventually(lambda: _ready(client))
    since = ",".join(f"{k}={v}" for k, v in health["positions"].items())
    # connected: the first report arrives
    _, first = await harness.report(student_ref="stu-1")
    seen = await changes(
        client, {"Last-Event-ID": since}, lambda es: reported(es, first["incident_id"])
    )
    # dropped off; meanwhile a second report
    _, second = await harness.report(student_ref="stu-2")
    # back with the last id: exactly what was missed, none of what was seen
    again = await changes(
        client, {"Last-Event-ID": seen[-1]["id"]}, lambda es: reported(es, second["incident_id"])
    )
    assert first["incident_id"] not in {e["incident"] for e in again if "reported" in e["kind"]}
    pieces = [(e["feed"], e["seq"]) for e in seen + again]
    assert len(pieces) == len(set(pieces))  # nothing twice
    # nothing missed: the two pieces are exactly what one unbroken connection got
    last = pieces[-1]
    whole = await changes(
        client, {"Last-Event-ID": since}, lambda es: (es[-1]["feed"], es[-1]["seq"]) == last
    )
    assert [(e["feed"], e["seq"]) for e in whole] == pieces


async def test_with_50_open_incidents_the_board_shows_a_change_within_a_second(
    console: tuple[Harness, httpx.AsyncClient],
) -> None:
    harness, client = console
    ids = [(await harness.report(student_ref=f"stu-{n}"))[1]["incident_id"] for n in range(50)]

    async def all_assigned() -> bool:
        board = (await client.get("/board/live")).text
        return board.count('data-state="assigned"') == 50

    await eventually(all_assigned, timeout=30)
    _, response = await harness.call("GET", "dispatch", f"/incidents/{ids[-1]}/response")
    dispatch = response["current"]
    health = (await client.get("/health")).json()
    since = ",".join(f"{k}={v}" for k, v in health["positions"].items())
    started = time.monotonic()
    status, _ = await harness.call(
        "POST", "dispatch", f"/dispatches/{dispatch['dispatch_id']}/ack", {"responder_id": "r-a"}
    )
    assert status == 200
    await changes(
        client,
        {"Last-Event-ID": since},
        lambda es: any(e["kind"].endswith("acknowledged.v1") for e in es),
        timeout=1.0,
    )
    board = (await client.get("/board/live")).text
    elapsed = time.monotonic() - started
    assert f'data-incident="{ids[-1]}" data-state="acknowledged"' in board
    assert elapsed < 1.0, elapsed


async def test_a_form_without_the_sessions_csrf_token_is_refused(
    console: tuple[Harness, httpx.AsyncClient],
) -> None:
    _, client = console
    body = {"school_id": "s0", "student_ref": "stu-x", "categories": "other", "risk": "low"}
    refused = await client.post("/report", data={**body, "csrf": "not-the-token"})
    assert refused.status_code == 403
    assert "Form expired" in refused.text
    anonymous = httpx.AsyncClient(base_url=str(client.base_url))
    async with anonymous:
        assert (await anonymous.get("/live")).status_code == 401


async def _ready(client: httpx.AsyncClient) -> bool:
    return (await client.get("/readyz")).status_code == 200


async def test_a_supervisor_reassigns_a_plan_with_a_reason(
    console: tuple[Harness, httpx.AsyncClient],
) -> None:
    harness, client = console
    await harness.start("followup")
    _, accepted = await harness.report(student_ref="stu-plan")
    incident = accepted["incident_id"]

    async def dispatched() -> str | None:
        status, body = await harness.call("GET", "dispatch", f"/incidents/{incident}/response")
        return (body.get("current") or {}).get("dispatch_id") if status == 200 else None

    dispatch_id = await eventually(dispatched)
    for step, body in (("ack", {}), ("status", {"state": "resolved"})):
        status, _ = await harness.call(
            "POST", "dispatch", f"/dispatches/{dispatch_id}/{step}", {**body, "responder_id": "r-a"}
        )
        assert status == 200

    async def plan() -> str | None:
        _, plans = await harness.call("GET", "followup", f"/plans?incident_id={incident}")
        return plans[0]["plan_id"] if plans else None

    plan_id = await eventually(plan)
    page = (await client.get("/board")).text
    csrf = re.search(r'name="csrf" value="([^"]+)"', page)
    assert csrf is not None
    moved = await client.post(
        "/board/reassign",
        data={"csrf": csrf.group(1), "plan_id": plan_id, "owner_id": "r-b", "reason": "on leave"},
    )
    assert moved.status_code == 303
    _, shown = await harness.call("GET", "followup", f"/plans/{plan_id}")
    assert shown["owner_id"] == "r-b"


async def test_without_demo_mode_there_is_no_sign_in_as(
    subjects: Subjects, nats_url: str, tmp_path: Any, clean_streams: None
) -> None:
    harness = Harness(subjects, nats_url, {"store": "sqlite", "data_dir": str(tmp_path)})
    await harness.start("console")
    try:
        async with httpx.AsyncClient(base_url=harness.running["console"].url) as client:
            page = await client.get("/signin")
            assert "Demo district" not in page.text
            assert 'name="person_id"' not in page.text
            refused = await client.post(
                "/signin/demo", data={"csrf": "anything", "person_id": "dev-admin"}
            )
            assert refused.status_code == 404
            assert "lantern_session" not in refused.cookies
    finally:
        await harness.stop_all()


async def test_an_expired_session_opens_nothing(
    subjects: Subjects,
    nats_url: str,
    tmp_path: Any,
    clean_streams: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LANTERN_CONSOLE_DEMO", "1")
    monkeypatch.setenv("LANTERN_CONSOLE_SESSION_IDLE_MINUTES", "0.02")  # 1.2 s idle
    harness = Harness(subjects, nats_url, {"store": "sqlite", "data_dir": str(tmp_path)})
    for service in ("dispatch", "console"):
        await harness.start(service)
    try:
        async with httpx.AsyncClient(base_url=harness.running["console"].url) as client:
            page = (await client.get("/signin")).text
            csrf = re.search(r'name="csrf" value="([^"]+)"', page)
            assert csrf is not None
            await client.post(
                "/signin/demo", data={"csrf": csrf.group(1), "person_id": "dev-admin"}
            )
            assert (await client.get("/board")).status_code == 200
            await asyncio.sleep(1.5)
            expired = await client.get("/board")
            assert expired.status_code == 303
            assert expired.headers["location"].startswith("/signin")
            assert (await client.get("/live")).status_code == 401
    finally:
        await harness.stop_all()


async def test_the_console_can_use_a_reply_inbox_prefix_of_its_own(
    subjects: Subjects,
    nats_url: str,
    tmp_path: Any,
    clean_streams: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Per-user inbox isolation (deploy/nats): replies reach `_INBOX_console.>` only."""
    monkeypatch.setenv("LANTERN_CONSOLE_DEMO", "1")
    monkeypatch.setenv("LANTERN_CONSOLE_INBOX_PREFIX", "_INBOX_console")
    harness = Harness(subjects, nats_url, {"store": "sqlite", "data_dir": str(tmp_path)})
    for service in ("intake", "dispatch", "console"):
        await harness.start(service)
    await harness.seed()
    try:
        async with httpx.AsyncClient(base_url=harness.running["console"].url) as client:

            async def roster_listed() -> bool:  # the roster came back over NATS
                return 'value="r-a"' in (await client.get("/signin")).text

            await eventually(roster_listed)
        process: Any = harness.running["console"].process
        assert process.nc._inbox_prefix == b"_INBOX_console"
    finally:
        await harness.stop_all()


async def test_an_incident_nobody_can_take_is_shown_loudly_on_the_board(
    console: tuple[Harness, httpx.AsyncClient],
) -> None:
    harness, client = console
    await harness.call("POST", "intake", "/schools", {"school_id": "s9", "name": "Nobody's"})
    _, accepted = await harness.report(school_id="s9", student_ref="stu-alone")

    async def alarmed() -> bool:
        board = (await client.get("/board/live")).text
        return "Nobody holds 1 incident" in board and accepted["incident_id"] in board

    await eventually(alarmed)
    board = (await client.get("/board/live")).text
    assert board.index("Nobody holds") < board.index("Waiting for acknowledgement")
    assert 'role="alert"' in board


async def test_a_hostile_request_gets_a_clear_page_and_changes_nothing(
    console: tuple[Harness, httpx.AsyncClient], caplog: pytest.LogCaptureFixture
) -> None:
    """Given a signed-in session with its CSRF token, when a form is oversized, not UTF-8,
    not JSON, or sent with a method or to a path the console does not take, then each gets
    the console's own page (or JSON when asked) with a reason, no report is stored, and the
    synthetic name in the body reaches no log."""
    harness, client = console
    csrf = re.search(r'name="csrf" value="([^"]+)"', (await client.get("/report")).text)
    assert csrf is not None
    name = "Synthetic Hostile-Name"
    form = {"content-type": "application/x-www-form-urlencoded", "x-csrf-token": csrf.group(1)}
    base = f"school_id=s0&student_ref=stu-hostile&categories=other&risk=low&note={name}"

    big = await client.post("/report", content=base.encode() + b"x" * 2_000_000, headers=form)
    not_utf8 = await client.post("/report", content=base.encode() + b"\xff\xfe", headers=form)
    not_json = await client.post(
        "/report",
        content=b'{"note": "' + name.encode() + b'"',
        headers={**form, "content-type": "application/json"},
    )
    wrong_method = await client.put("/report", headers=form)
    nowhere = await client.get("/no-such-page")
    as_json = await client.get("/no-such-page", headers={"accept": "application/json"})

    assert (big.status_code, "too large" in big.text) == (413, True)
    assert (not_utf8.status_code, "not valid UTF-8" in not_utf8.text) == (400, True)
    assert (not_json.status_code, "not valid JSON" in not_json.text) == (400, True)
    assert (wrong_method.status_code, "does not take a PUT" in wrong_method.text) == (405, True)
    assert "GET" in wrong_method.headers["allow"]
    assert (nowhere.status_code, "Not found" in nowhere.text) == (404, True)
    assert (as_json.status_code, as_json.json()["field"]) == (404, "body")
    for page in (big, not_utf8, not_json, wrong_method, nowhere):
        assert page.headers["content-type"].startswith("text/html"), page.text
        assert "Back to Lantern" in page.text
    compliance = harness.token("comp-1", "compliance")
    never_seen, _ = await harness.call("GET", "intake", "/students/stu-hostile", token=compliance)
    assert never_seen == 404  # no report about this student was stored
    assert name not in caplog.text
