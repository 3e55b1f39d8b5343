"""Maria sets her emergency contact and prefers text messages, on a laptop and a phone: a contact
without its relationship is refused in words with everything she typed kept; saved, her therapist
Dana reads it beside her phone."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.conftest import (
    DANA,
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
async def test_maria_sets_an_emergency_contact_that_dana_reads(
    live_server: LiveServer, browser: Any, viewport: dict[str, int]
) -> None:
    context = await browser.new_context(viewport=viewport)
    page = await context.new_page()
    await sign_in(page, live_server.url, *MARIA)
    await page.get_by_role("link", name="Change my details").click()
    await page.get_by_role("heading", name="Your details").wait_for()

    text = page.get_by_role("radio", name="Text message")
    await assert_in_viewport(text, viewport)
    await text.check()
    contact = page.get_by_role("group", name="Emergency contact")
    await contact.get_by_label("Their name").fill("Rosa Lopez")
    await contact.get_by_label("Their phone").fill("+1 555 0177")
    save = page.get_by_role("button", name="Save my details")
    await assert_in_viewport(save, viewport)
    await save.click()
    alert = page.get_by_role("alert")
    await alert.wait_for()
    assert (await alert.inner_text()).strip() == (
        "For an emergency contact, please give who they are to you too, or leave all three empty."
    )
    contact = page.get_by_role("group", name="Emergency contact")
    relationship = contact.get_by_label("Who they are to you")
    assert await relationship.get_attribute("aria-invalid") == "true"
    assert await contact.get_by_label("Their name").input_value() == "Rosa Lopez"
    assert await contact.get_by_label("Their phone").input_value() == "+1 555 0177"
    assert await page.get_by_role("radio", name="Text message").is_checked()
    await screenshot(page, f"emergency-contact-refused-{viewport['width']}")

    await assert_in_viewport(relationship, viewport)
    await relationship.fill("daughter")
    await page.get_by_role("button", name="Save my details").click()
    await page.get_by_text("Your details are saved.").wait_for()
    contact = page.get_by_role("group", name="Emergency contact")
    assert await contact.get_by_label("Who they are to you").input_value() == "daughter"
    await screenshot(page, f"emergency-contact-saved-{viewport['width']}")
    await context.close()

    # Dana, on Maria's care team, reads it on her home page beside Maria's phone.
    context = await browser.new_context(viewport=viewport)
    page = await context.new_page()
    await sign_in(page, live_server.url, *DANA)
    row = page.get_by_role("row").filter(has_text="Maria Lopez")
    cells = await row.inner_text()
    assert "Prefers: Text message" in cells
    assert "Rosa Lopez (daughter), +1 555 0177" in cells
    await context.close()
