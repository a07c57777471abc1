"""Driving the console like a person: sign in, look, and check each page as we go."""

from __future__ import annotations

from typing import Any

from tests.browser.conftest import DESKTOP, PHONE, SHOTS

SERIOUS = ("serious", "critical")


def sign_in_demo(page: Any, url: str, person_id: str) -> None:
    page.goto(f"{url}/signin")
    page.locator(f'form:has(input[name=person_id][value="{person_id}"]) button').click()
    page.wait_for_url(lambda u: "/signin" not in u)


def sign_in_oidc(page: Any, url: str, sub: str) -> None:
    """Through the test identity provider's own authorization page."""
    page.goto(f"{url}/signin")
    page.get_by_role("link", name="Sign in with your district account").click()
    page.locator(f'button[name="sub"][value="{sub}"]').click()
    page.wait_for_url(lambda u: u.startswith(url) and "/auth/callback" not in u)


def accessible(page: Any) -> list[str]:
    """axe-core in the page: the serious and critical violations (none expected)."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    return [
        f"{v['id']}: {v['help']} ({len(v['nodes'])} nodes)"
        for v in results.response["violations"]
        if v.get("impact") in SERIOUS
    ]


def check(page: Any, name: str) -> None:
    """No serious accessibility violation, at phone and at desktop width; save both shots."""
    size = page.viewport_size
    for label, viewport in (("phone", PHONE), ("desktop", DESKTOP)):
        page.set_viewport_size(viewport)
        found = accessible(page)
        assert not found, f"{name} at {label} width: {found}"
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / f"{name}-{label}.png"), full_page=label == "phone")
    page.set_viewport_size(size)
