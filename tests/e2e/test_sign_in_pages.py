"""Sign-in and home pages in a real browser, at desktop and phone sizes, with axe-core checks."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.conftest import (
    DESKTOP,
    PHONE,
    LiveServer,
    axe_violations,
    describe,
    screenshot,
    sign_in,
)

pytestmark = pytest.mark.browser

DEMO = {
    "patient": ("maria.lopez@demo.clinic", "demo-patient-pass"),
    "therapist": ("dana.reyes@demo.clinic", "demo-therapist-pass"),
    "admin": ("admin@demo.clinic", "demo-admin-pass"),
}


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
async def test_login_page_is_accessible(
    live_server: LiveServer, browser: Any, axe_source: str, viewport: dict[str, int]
) -> None:
    context = await browser.new_context(viewport=viewport)
    page = await context.new_page()
    await page.goto(live_server.url + "/login")
    await screenshot(page, f"login-{viewport['width']}")
    violations = await axe_violations(page, axe_source)
    assert not violations, describe(violations)
    await context.close()


async def test_wrong_password_is_explained_on_the_form(
    live_server: LiveServer, browser: Any
) -> None:
    page = await browser.new_page()
    await page.goto(live_server.url + "/login")
    await page.get_by_label("Email address").fill("maria.lopez@demo.clinic")
    await page.get_by_label("Password").fill("wrong password")
    await page.get_by_role("button", name="Sign in").click()
    alert = page.get_by_role("alert")
    await alert.wait_for()
    assert "do not match" in (await alert.inner_text())


@pytest.mark.parametrize("role", ["patient", "therapist", "admin"])
async def test_each_role_sees_its_home_page(
    live_server: LiveServer, browser: Any, axe_source: str, role: str
) -> None:
    context = await browser.new_context(viewport=PHONE)
    page = await context.new_page()
    email, password = DEMO[role]
    await sign_in(page, live_server.url, email, password)
    body = await page.inner_text("main")
    if role == "patient":
        assert "Maria" in body and "Dana Reyes" in body  # own name and care team
    elif role == "therapist":
        assert "Maria Lopez" in body and "James Chen" in body and "Priya Shah" not in body
    else:
        assert "Priya Shah" in body and "Sam Okafor" in body
    await screenshot(page, f"home-{role}-phone")
    violations = await axe_violations(page, axe_source)
    assert not violations, describe(violations)
    await page.get_by_role("button", name="Sign out").click()
    await page.wait_for_url(live_server.url + "/login?signed_out=1")
    await context.close()
