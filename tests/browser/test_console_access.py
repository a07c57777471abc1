"""Sign-in, sign-out, sessions, refusals and the offline report, in real Chromium (issue 10).

* Sign-in goes through the district's OpenID Connect provider (code flow with PKCE);
  sign-out ends the session at once, and the old cookie opens nothing afterwards.
* A forged session cookie is no session.  (Expiry is specified without a browser, in
  tests/console/test_sessions.py.)
* A person the roster and the console's config do not know is refused sign-in.
* A role opening another role's page, or a responder opening an incident they were not
  dispatched to, gets a 403 page, and compliance finds each attempt in the audit trail.
* A report typed and sent while the network is down is kept on the device and arrives
  once when the network returns.
* A report sent while intake does not answer (the console's reply is 503) is kept on the
  device too, sent again every few seconds, and arrives once when intake answers again.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import os
import signal
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import msgspec
import nats
import pytest

from events.intake import IncidentReportedV1, ReportLinkedV1
from events.subjects import INTAKE, Subjects
from tests.browser.conftest import DESKTOP, PHONE, System
from tests.browser.pages import check, sign_in_demo, sign_in_oidc

pytestmark = pytest.mark.browser


def test_sign_in_through_the_identity_provider_and_sign_out(system: System, browser: Any) -> None:
    context = browser.new_context(viewport=DESKTOP)
    try:
        page = context.new_page()
        page.goto(f"{system.url}/board")
        assert "/signin" in page.url  # not signed in: sent to sign in, nothing shown
        check(page, "signin")
        sign_in_oidc(page, system.url, "sw-casey")
        assert page.url.endswith("/dispatches")
        # authorization code with PKCE: the verifier sent with the code matches the challenge
        asked, exchanged = system.seen["authorize"][-1], system.seen["token"][-1]
        assert asked["code_challenge_method"] == "S256"
        assert asked["state"]
        assert asked["nonce"]
        digest = hashlib.sha256(exchanged["code_verifier"].encode()).digest()
        assert base64.urlsafe_b64encode(digest).rstrip(b"=").decode() == asked["code_challenge"]
        assert exchanged["grant_type"] == "authorization_code"
        cookie = next(c for c in context.cookies() if c["name"] == "lantern_session")
        assert cookie["httpOnly"]
        assert cookie["sameSite"] == "Lax"

        page.get_by_role("button", name="Sign out").click()
        page.wait_for_url("**/signin?ended=1")
        assert page.get_by_text("You are signed out.").is_visible()
        # the old cookie, replayed, opens nothing
        context.add_cookies([{"name": cookie["name"], "value": cookie["value"], "url": system.url}])
        page.goto(f"{system.url}/dispatches")
        assert "/signin" in page.url
    finally:
        context.close()


def test_a_forged_session_or_an_unknown_person_is_refused(system: System, browser: Any) -> None:
    context = browser.new_context(viewport=DESKTOP)
    try:
        context.add_cookies(
            [{"name": "lantern_session", "value": "forged-" + "x" * 40, "url": system.url}]
        )
        page = context.new_page()
        response = page.request.get(f"{system.url}/live", headers={"Accept": "application/json"})
        assert response.status == 401
        page.goto(f"{system.url}/audit")
        assert "/signin" in page.url

        # someone the IdP knows but Lantern does not: refused, and still signed out
        page.goto(f"{system.url}/signin")
        page.get_by_role("link", name="Sign in with your district account").click()
        page.locator('button[name="sub"][value="stranger"]').click()
        page.wait_for_load_state()
        assert "is not on the roster" in page.content()
        page.goto(f"{system.url}/board")
        assert "/signin" in page.url
    finally:
        context.close()


def test_other_roles_pages_and_other_responders_dispatches_are_refused_and_audited(
    system: System, browser: Any
) -> None:
    context = browser.new_context(viewport=PHONE)
    auditor = browser.new_context(viewport=DESKTOP)
    try:
        # a reporter files a report (someone else's incident for the responder below)
        page = context.new_page()
        sign_in_demo(page, system.url, "staff-17")
        page.goto(f"{system.url}/board")
        assert page.get_by_role("heading", name="Not allowed").is_visible()
        check(page, "forbidden")
        page.goto(f"{system.url}/report")
        page.select_option("#school_id", "willow-k8")
        page.fill("#student_ref", f"stu-{uuid.uuid4().hex[:6]}")
        page.get_by_label("low").check()
        page.get_by_role("button", name="Send report").click()  # no category: refused
        categories = page.locator("fieldset", has_text="What is happening?")
        categories.locator(".error").wait_for()  # beside the field it is about
        page.get_by_label("Grief or trauma").check()
        page.get_by_role("button", name="Send report").click()
        page.wait_for_url("**/report/done**")
        incident = page.locator("code").first.inner_text()
        page.get_by_role("button", name="Sign out").click()

        # a responder who covers other schools opens it, and compliance's audit page
        sign_in_demo(page, system.url, "psy-avery")
        response = page.goto(f"{system.url}/respond/{incident}")
        assert response is not None
        assert response.status == 403
        response = page.goto(f"{system.url}/audit")
        assert response is not None
        assert response.status == 403

        audit = auditor.new_page()
        sign_in_demo(audit, system.url, "privacy-officer")
        wanted = {"console:board", "show_response", "console:audit"}
        deadline = time.monotonic() + 15
        found: set[str] = set()
        while time.monotonic() < deadline and not wanted <= found:
            audit.goto(f"{system.url}/audit")
            rows = audit.locator("table.audit tbody tr.refused")
            found = {rows.nth(i).locator("td").nth(2).inner_text() for i in range(rows.count())}
            time.sleep(0.3)
        assert wanted <= found, found
    finally:
        context.close()
        auditor.close()


def test_a_report_sent_while_offline_arrives_once_when_the_network_returns(
    system: System, browser: Any
) -> None:
    student = f"stu-{uuid.uuid4().hex[:6]}"
    context = browser.new_context(viewport=PHONE, has_touch=True, is_mobile=True)
    try:
        page = context.new_page()
        sign_in_demo(page, system.url, "staff-17")
        page.goto(f"{system.url}/report")
        context.set_offline(True)
        page.select_option("#school_id", "maple-es")
        page.fill("#location", "Gym")
        page.fill("#student_ref", student)
        page.get_by_label("Self-harm").check()
        page.get_by_label("high").check()
        page.get_by_role("button", name="Send report").click()
        page.get_by_text("saved on this device").wait_for()
        page.get_by_role("button", name="Send report").click()  # a nervous second tap
        assert page.evaluate("JSON.parse(localStorage.getItem('lantern.outbox')).length") == 1
        check(page, "report-offline")

        context.set_offline(False)
        page.get_by_text("Your saved report was sent").wait_for(timeout=10_000)
        assert page.evaluate("JSON.parse(localStorage.getItem('lantern.outbox')).length") == 0
        with ThreadPoolExecutor(1) as pool:  # Playwright's loop owns this thread
            assert pool.submit(asyncio.run, reports_about(system, student)).result() == 1
    finally:
        context.close()


def service_pid(system: System, service: str) -> int:
    """The pid of the ``lantern serve SERVICE`` that this system's ``up`` started."""
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        with contextlib.suppress(OSError):
            argv = cmdline.read_bytes().split(b"\0")
            if (
                b"serve" in argv
                and service.encode() in argv
                and str(system.data_dir).encode() in argv
            ):
                return int(cmdline.parent.name)
    raise AssertionError(f"no running {service}")


def test_a_report_intake_cannot_take_is_kept_on_the_device_and_arrives_once(
    system: System, browser: Any
) -> None:
    student = f"stu-{uuid.uuid4().hex[:6]}"
    context = browser.new_context(viewport=PHONE, has_touch=True, is_mobile=True)
    intake = service_pid(system, "intake")
    try:
        page = context.new_page()
        sign_in_demo(page, system.url, "staff-17")
        page.goto(f"{system.url}/report")
        page.select_option("#school_id", "maple-es")
        page.fill("#location", "Library")
        page.fill("#student_ref", student)
        page.get_by_label("Self-harm").check()
        page.get_by_label("high").check()
        os.kill(intake, signal.SIGSTOP)  # intake stops answering; the console answers 503
        page.get_by_role("button", name="Send report").click()
        page.get_by_text("saved on this device and will be sent again").wait_for(timeout=15_000)
        assert page.evaluate("JSON.parse(localStorage.getItem('lantern.outbox')).length") == 1
        assert "/report/done" not in page.url

        os.kill(intake, signal.SIGCONT)
        page.get_by_text("Your saved report was sent").wait_for(timeout=30_000)
        assert page.evaluate("JSON.parse(localStorage.getItem('lantern.outbox')).length") == 0
        with ThreadPoolExecutor(1) as pool:  # Playwright's loop owns this thread
            assert pool.submit(asyncio.run, reports_about(system, student)).result() == 1
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(intake, signal.SIGCONT)
        context.close()


async def reports_about(system: System, student: str) -> int:
    """Reports intake published about one student: incidents and reports linked to them."""
    nc = await nats.connect(system.nats_url)
    try:
        js = nc.jetstream()
        subjects = Subjects(system.info()["prefix"])
        sub = await js.subscribe(
            subjects.stream_subjects(INTAKE), stream=subjects.stream(INTAKE), ordered_consumer=True
        )
        count, incidents = 0, set()
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            try:
                msg = await sub.next_msg(timeout=0.5)
            except nats.errors.TimeoutError:
                break
            event = msgspec.json.decode(msg.data, type=IncidentReportedV1 | ReportLinkedV1)
            if isinstance(event, IncidentReportedV1) and event.student_ref == student:
                count += 1
                incidents.add(event.incident_id)
            elif isinstance(event, ReportLinkedV1) and event.incident_id in incidents:
                count += 1
        return count
    finally:
        await nc.close()
