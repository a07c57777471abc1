"""Specifications of the console's pure helpers: the report form and the SVG charts."""

from __future__ import annotations

import pytest

from services.console import charts
from services.console.report_page import command_from, field_of

pytestmark = pytest.mark.domain


def test_the_form_becomes_a_report_with_the_screener_when_it_was_answered() -> None:
    form = {
        "school_id": "s0",
        "student_ref": " stu-1 ",
        "categories": ["self_harm"],
        "idempotency_key": "k-1",
        "q1": "yes",
        "q2": "no",
        "q3": "yes",  # skipped when q2 is no
        "q6": "no",
        "q6_past_3_months": "yes",  # asked only when q6 is yes
    }
    body = command_from(form, "t-1")
    assert body["student_ref"] == "stu-1"
    assert body["reporter_id"] == "t-1"
    assert body["screener"] == {"q1": True, "q2": False, "q6": False}
    assert "risk" not in body  # the screener's suggestion stands unless one is chosen
    assert "screener" not in command_from(
        {**form, "q1": "", "q2": "", "q3": "", "q6": "", "q6_past_3_months": ""}, "t"
    )


def test_an_error_names_the_form_field() -> None:
    assert field_of("categories[0]") == "categories"
    assert field_of("screener.q1") == "screener"
    assert field_of(None) == ""


def test_charts_are_escaped_svg_with_a_title_and_a_value_per_bar() -> None:
    svg = charts.bars("Times <by school>", [("s<0>", [30.0, None])], ["assign", "ack"])
    assert svg.startswith("<svg")
    assert "<title" in svg
    assert "Times &lt;by school&gt;" in svg
    assert "s&lt;0&gt;" in svg
    assert "30 s" in svg
    assert "no data" in svg
    assert charts.duration(5400) == "90.0 min"
    assert charts.percent(0.5) == "50%"


def test_cookies_are_secure_when_the_console_is_served_over_tls() -> None:
    from plumbing.settings import Settings
    from services.console.config import ConsoleSettings

    base = Settings(service="console")
    tls = ConsoleSettings.from_settings(base, {"LANTERN_CONSOLE_PUBLIC_URL": "https://c.example/"})
    plain = ConsoleSettings.from_settings(base, {})
    assert tls.secure_cookies
    assert tls.public_url == "https://c.example"
    assert not plain.secure_cookies


def test_after_sign_in_only_a_path_on_the_console_is_followed() -> None:
    from services.console.signin import local

    assert local("/board?x=1")
    for elsewhere in ("https://evil.example", "//evil.example", "/\\evil.example", "board"):
        assert not local(elsewhere), elsewhere
