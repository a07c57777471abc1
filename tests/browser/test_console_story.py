"""The console end to end, in real Chromium against a real `lantern up --demo` (issue 10).

Given a responder (sw-casey, who speaks Vietnamese, on call at Birch Valley) signed in
through the district's OpenID Connect provider with their page open, and the supervisor's
board open,
1. a teacher signs in on a 360 px phone and files a report;
2. the responder's page shows the new page live, without a reload, and they acknowledge;
3. the board shows the acknowledgement within a second, and the incident page's replay
   shows the state before and after it;
4. the compliance officer's audit page lists the reads made along the way.
Every page visited passes axe-core with no serious or critical violation, and is saved
as a screenshot at phone and desktop width (.lantern/screenshots/; docs/console/ with
LANTERN_UPDATE_SHOTS=1).
"""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import DESKTOP, PHONE, System
from tests.browser.pages import check, sign_in_demo, sign_in_oidc
from tests.lantern_cli import lantern

pytestmark = pytest.mark.browser


def test_report_page_acknowledge_board_replay_and_audit(system: System, browser: Any) -> None:
    url = system.url
    student = f"stu-{uuid.uuid4().hex[:6]}"
    responder = browser.new_context(viewport=PHONE, has_touch=True, is_mobile=True)
    supervisor = browser.new_context(viewport=DESKTOP)
    reporter = browser.new_context(viewport=PHONE, has_touch=True, is_mobile=True)
    compliance = browser.new_context(viewport=DESKTOP, accept_downloads=True)
    try:
        # Given the responder, signed in through the IdP, with their dispatches open
        mine = responder.new_page()
        sign_in_oidc(mine, url, "sw-casey")
        assert mine.url.endswith("/dispatches")
        mine.evaluate("window.__sameDocument = true")
        mine.evaluate("navigator.vibrate = (p) => { window.__vibrated = p; return true; }")
        mine.wait_for_selector("body[data-live=open]", state="attached")
        # and the supervisor's board open
        board = supervisor.new_page()
        sign_in_demo(board, url, "sup-rowan")
        assert board.url.endswith("/board")
        board.wait_for_selector("body[data-live=open]", state="attached")

        # 1. A teacher files a report on a 360 px phone
        form = reporter.new_page()
        sign_in_oidc(form, url, "t.lee")
        assert form.url.endswith("/report")
        assert form.viewport_size["width"] == 360
        check(form, "report")
        # the immediate-danger choice shows the emergency instructions at once
        form.select_option("#immediate_danger", "weapon")
        assert form.get_by_text("Call 911 now.").is_visible()
        form.select_option("#immediate_danger", "")
        assert not form.get_by_text("Call 911 now.").is_visible()
        # the screener shows the level it suggests as it is answered
        form.get_by_text("Screener (optional, C-SSRS)").click()
        for question, answer in (("q1", "yes"), ("q2", "yes"), ("q3", "yes")):
            form.locator(f'[data-q="{question}"] input[value="{answer}"]').check()
        for question in ("q4", "q5", "q6"):
            form.locator(f'[data-q="{question}"] input[value="no"]').check()
        assert "suggests: moderate" in form.locator("#suggestion").inner_text()
        form.select_option("#school_id", "birch-hs")
        form.fill("#location", "Library, 2nd floor")
        form.fill("#student_ref", student)
        form.get_by_label("Acute distress").check()
        form.select_option("#language", "vi")
        form.get_by_label("moderate").check()
        started = time.monotonic()
        form.get_by_role("button", name="Send report").click()
        form.wait_for_url("**/report/done**")
        assert form.get_by_role("heading", name="Report received").is_visible()
        check(form, "report-received")
        incident = form.locator("code").first.inner_text()

        # 2. The responder's page shows it live, without a reload, and they acknowledge
        card = mine.locator("[data-state=assigned][data-dispatch]")
        card.wait_for(timeout=5_000)
        paged_after = time.monotonic() - started
        assert mine.evaluate("window.__sameDocument") is True  # no reload happened
        assert "Acknowledge within" in card.inner_text()
        assert mine.evaluate("window.__vibrated") == [200, 100, 200]  # the phone buzzes
        check(mine, "dispatches")
        board.locator(f'tr[data-incident="{incident}"][data-state="assigned"]').wait_for()
        clicked = time.monotonic()
        card.get_by_role("button", name="Acknowledge: I have it").click()

        # 3. The board reflects it within a second
        board.locator(f'tr[data-incident="{incident}"][data-state="acknowledged"]').wait_for(
            timeout=1_000
        )
        board_after = time.monotonic() - clicked
        check(board, "board")
        mine.wait_for_url("**/dispatches")
        mine.get_by_role("link", name="Student details").first.click()
        assert student in mine.content()
        check(mine, "student-details")

        # ... and the incident page's replay shows the state before and after the acknowledgement
        page = supervisor.new_page()
        page.goto(f"{url}/incidents/{incident}")
        check(page, "incident")
        steps = page.locator("ol.timeline li")
        summaries = [steps.nth(i).inner_text() for i in range(steps.count())]
        ack = next(i for i, s in enumerate(summaries, 1) if "acknowledged" in s.lower())
        page.fill("#step", str(ack - 1))
        page.locator("#step").dispatch_event("change")
        page.wait_for_selector(f"text=Step {ack - 1} of")
        assert page.locator('[data-key="dispatch.state"]').inner_text() == "assigned"
        page.fill("#step", str(ack))
        page.locator("#step").dispatch_event("change")
        page.wait_for_selector(f"text=Step {ack} of")
        assert page.locator('[data-key="dispatch.state"]').inner_text() == "acknowledged"
        page.get_by_role("link", name="◀ Earlier").click()
        page.wait_for_selector(f"text=Step {ack - 1} of")
        # a correction that takes effect at the report: "as known then" beside "as true then"
        reported_at = page.locator("p.muted time").get_attribute("datetime")
        corrected = lantern(
            system.data_dir,
            "correct",
            incident,
            "--as",
            "sup-rowan",
            "--field",
            "location",
            "--value",
            "Gym",
            "--reason",
            "the teacher named the wrong room",
            "--effective-at",
            str(reported_at),
        )
        assert corrected.returncode == 0, corrected.stderr
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            page.goto(f"{url}/incidents/{incident}?step={ack}")
            if page.get_by_role("heading", name="As true then (with later corrections)").count():
                break
            time.sleep(0.3)
        assert page.locator('[data-key="incident.location"]').inner_text() == "Library, 2nd floor"
        assert page.locator('[data-true="incident.location"]').inner_text() == "Gym"
        check(page, "incident-corrected")

        # 4. Compliance sees the reads made along the way
        audit = compliance.new_page()
        sign_in_oidc(audit, url, "records.officer")
        assert audit.url.endswith("/audit")

        def reads() -> set[tuple[str, str]]:
            audit.goto(f"{url}/audit?student_ref={student}&kind=read")
            rows = audit.locator("table.audit tbody tr")
            return {
                (
                    rows.nth(i).locator("td").nth(1).inner_text(),
                    rows.nth(i).locator("td").nth(2).inner_text(),
                )
                for i in range(rows.count())
            }

        wanted = {
            ("sw-casey (responder)", "show_incident"),
            ("sup-rowan (supervisor)", "show_incident"),
        }
        deadline = time.monotonic() + 15
        while not wanted <= (seen := reads()) and time.monotonic() < deadline:
            time.sleep(0.5)
        assert wanted <= seen, seen
        check(audit, "audit")
        anchors = audit.locator("section", has_text="Chains").locator("tbody tr")
        assert "position" in anchors.filter(has_text="intake").inner_text()
        with audit.expect_download() as exported:
            audit.get_by_role("link", name="Export CSV").click()
        lines = Path(exported.value.path()).read_text().splitlines()
        assert lines[0].startswith("at,service,actor,role,action")
        assert any(student in line and "show_incident" in line for line in lines[1:])
        audit.goto(f"{url}/audit?student={student}")
        check(audit, "disclosures")
        print(f"\npaged after {paged_after:.2f} s; board updated {board_after:.2f} s after the tap")
    finally:
        for context in (responder, supervisor, reporter, compliance):
            context.close()


def test_reports_chart_the_response_times_and_download_as_csv(system: System, browser: Any) -> None:
    """After the story above: Birch Valley has an acknowledged incident to report on."""
    context = browser.new_context(viewport=DESKTOP, accept_downloads=True)
    try:
        page = context.new_page()
        sign_in_demo(page, system.url, "sup-rowan")
        month = time.strftime("%Y-%m", time.gmtime())
        page.goto(f"{system.url}/reports?period={month}")
        assert page.locator("#period").input_value() == month
        assert page.locator("table tbody th", has_text="birch-hs").count() == 1
        page.goto(f"{system.url}/reports")
        chart = page.locator("svg.chart").first
        assert "Median response times by school" in chart.inner_html()
        assert page.locator("table tbody th", has_text="birch-hs").count() == 1
        check(page, "reports")
        with page.expect_download() as download:
            page.get_by_role("link", name="Download CSV").click()
        text = Path(download.value.path()).read_text().splitlines()
        assert text[0].startswith("school_id,period,incidents")
        assert any(line.startswith("birch-hs,all,") for line in text[1:])
    finally:
        context.close()
