"""Maria changes her phone and time zone from her home page, on a laptop and a phone; a wrong
entry is refused in plain words and keeps what she typed."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.conftest import (
    DESKTOP,
    MARIA,
    PHONE,
    LiveServer,
    assert_in_viewport,
    screenshot,
    sign_in,
)

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
async def test_maria_changes_her_phone_and_time_zone(
    live_server: LiveServer, browser: Any, viewport: dict[str, int]
) -> None:
    context = await browser.new_context(viewport=viewport)
    page = await context.new_page()
    await sign_in(page, live_server.url, *MARIA)
    await page.get_by_role("link", name="Change my details").click()
    await page.get_by_role("heading", name="Your details").wait_for()

    # A name of spaces only: refused in words, and what she typed is still there.
    await page.get_by_label("Your full name").fill("   ")
    await page.get_by_label("Phone", exact=True).fill("+1 555 0100")
    await page.get_by_label("Your time zone").select_option("America/Chicago")
    await page.get_by_role("button", name="Save my details").click()
    await page.get_by_role("alert").filter(has_text="A name is required.").wait_for()
    assert await page.get_by_label("Phone", exact=True).input_value() == "+1 555 0100"
    assert await page.get_by_label("Your time zone").input_value() == "America/Chicago"

    await page.get_by_label("Your full name").fill("Maria Lopez")
    save = page.get_by_role("button", name="Save my details")
    await assert_in_viewport(save, viewport)
    await save.click()
    await page.get_by_text("Your details are saved.").wait_for()
    await screenshot(page, f"own-details-{viewport['width']}")
    await page.get_by_role("link", name="Back to home").click()
    details = await page.get_by_role("region", name="Your details").inner_text()
    assert "+1 555 0100" in details and "America/Chicago".replace("_", " ") in details
    await context.close()
