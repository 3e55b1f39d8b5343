"""The therapist finds a diagnosis in the whole ICD-10-CM code set from the note editor."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.conftest import DESKTOP, PHONE, LiveServer, assert_in_viewport, screenshot, sign_in

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
async def test_therapist_searches_and_picks_a_billable_code(
    live_server: LiveServer, browser: Any, viewport: dict[str, int]
) -> None:
    context = await browser.new_context(viewport=viewport)
    page = await context.new_page()
    await sign_in(page, live_server.url, "dana.reyes@demo.clinic", "demo-therapist-pass")
    await page.goto(live_server.url + "/agenda")
    room = page.locator("a.join").first
    await room.wait_for()
    await page.goto(live_server.url + (await room.get_attribute("href")).split("?")[0] + "/note")

    await page.get_by_role("button", name="Add diagnosis").click()
    box = page.get_by_role("combobox", name="ICD-10-CM code")
    await assert_in_viewport(box, viewport)
    await box.fill("m54.5")
    parent = page.get_by_role("option", name="M54.5 Low back pain")
    # The server loads the code set in the background after it starts; the first search waits.
    await parent.wait_for(timeout=120_000)
    assert await parent.get_attribute("aria-disabled") == "true"
    assert "not billable" in await parent.inner_text()
    await parent.click(force=True)  # a person may click it: a category is not picked
    assert await page.get_by_role("listbox").is_visible()
    assert await box.input_value() == "m54.5"

    await box.fill("pain right hand")
    option = page.get_by_role("option", name="M79.641 Pain in right hand")
    await option.wait_for()
    await assert_in_viewport(option, viewport)
    await box.press("ArrowDown")
    await box.press("ArrowUp")
    await box.press("Enter")
    await page.get_by_text("M79.641 Pain in right hand").wait_for()
    assert await box.input_value() == "M79.641"
    assert not await page.get_by_role("listbox").is_visible()
    # Saved: the server no longer lists a missing diagnosis, and a reload shows the code's title.
    await page.get_by_text("at least one diagnosis is needed").wait_for(state="detached")
    await page.reload()
    await page.get_by_text("M79.641 Pain in right hand").wait_for()
    box = page.get_by_role("combobox", name="ICD-10-CM code")
    assert await box.input_value() == "M79.641"

    await screenshot(page, f"diagnosis-picker-{viewport['width']}")
    # The clinic's own codes come first for words it names.
    await page.get_by_role("button", name="Add diagnosis").click()
    second = page.get_by_role("combobox", name="ICD-10-CM code").nth(1)
    await second.fill("knee osteoarthritis")
    first = page.get_by_role("listbox").get_by_role("option").first
    await first.wait_for()
    assert "Clinic" in await first.inner_text()
    await context.close()
