"""Maria changes her password from her details, on a laptop and a phone: a wrong current password
is refused in plain words with every field emptied, the right one changes it, and after signing
out only the new password lets her back in."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.conftest import (
    DESKTOP,
    MARIA,
    PHONE,
    LiveServer,
    assert_accessible,
    assert_in_viewport,
    screenshot,
    sign_in,
)

pytestmark = pytest.mark.browser

NEW_PASSWORD = "my garden has blue roses"


async def _fill(page: Any, current: str, new: str, again: str) -> None:
    await page.get_by_label("Your current password", exact=True).fill(current)
    await page.get_by_label("New password", exact=True).fill(new)
    await page.get_by_label("New password again", exact=True).fill(again)


async def _all_in_viewport(page: Any, viewport: dict[str, int]) -> None:
    for label in ("Your current password", "New password", "New password again"):
        await assert_in_viewport(page.get_by_label(label, exact=True), viewport)
    await assert_in_viewport(page.get_by_role("button", name="Change my password"), viewport)


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
async def test_maria_changes_her_password(
    live_server: LiveServer, browser: Any, axe_source: str, viewport: dict[str, int]
) -> None:
    email, old_password = MARIA
    context = await browser.new_context(viewport=viewport)
    page = await context.new_page()
    await sign_in(page, live_server.url, email, old_password)
    await page.get_by_role("link", name="Change my details").click()
    await page.get_by_role("heading", name="Your details").wait_for()
    await page.get_by_role("link", name="Change my password").click()
    await page.get_by_role("heading", name="Change your password").wait_for()
    rules = await page.locator("#password-rules").inner_text()
    assert "at least 10 characters" in rules and "email address" in rules
    await _all_in_viewport(page, viewport)
    await assert_accessible(page, axe_source)

    # A wrong current password: refused in words, that field marked, nothing kept.
    await _fill(page, "not my password at all", NEW_PASSWORD, NEW_PASSWORD)
    await page.get_by_role("button", name="Change my password").click()
    await page.get_by_role("alert").filter(has_text="That is not your current password.").wait_for()
    current = page.get_by_label("Your current password", exact=True)
    assert await current.get_attribute("aria-invalid") == "true"
    assert await page.get_by_label("New password", exact=True).get_attribute("aria-invalid") is None
    for label in ("Your current password", "New password", "New password again"):
        assert await page.get_by_label(label, exact=True).input_value() == ""
    await _all_in_viewport(page, viewport)
    await assert_accessible(page, axe_source)
    await screenshot(page, f"password-refused-{viewport['width']}")

    # The right one: changed, and the next page says so.
    await _fill(page, old_password, NEW_PASSWORD, NEW_PASSWORD)
    await page.get_by_role("button", name="Change my password").click()
    await (
        page.get_by_role("status")
        .filter(has_text="Your password is changed. Other devices were signed out.")
        .wait_for()
    )
    await page.get_by_role("heading", name="Your details").wait_for()
    await screenshot(page, f"password-changed-{viewport['width']}")

    # Signed out, the old password is refused and the new one lets her in.
    await page.get_by_role("button", name="Sign out").click()
    await page.get_by_role("heading", name="Sign in").wait_for()
    await page.get_by_label("Email address").fill(email)
    await page.get_by_label("Password").fill(old_password)
    await page.get_by_role("button", name="Sign in").click()
    await page.get_by_role("alert").filter(has_text="do not match").wait_for()
    await sign_in(page, live_server.url, email, NEW_PASSWORD)
    assert page.url == live_server.url + "/"
    await context.close()
