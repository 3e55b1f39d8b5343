"""Dana, a therapist, sets Monday's hours and copies them to Tuesday-Friday on a laptop and a phone:
the copy says it is not saved yet, keeps her weekend, and Save hours stores the week."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.conftest import (
    DANA,
    DESKTOP,
    PHONE,
    LiveServer,
    assert_in_viewport,
    screenshot,
    sign_in,
)

pytestmark = pytest.mark.browser

MONDAY = {"1 from": "08:00", "1 to": "12:00", "2 from": "13:00", "2 to": "16:30"}
DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


async def field(page: Any, day: str, which: str) -> Any:
    return page.get_by_label(f"{day} block {which}", exact=True)


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
async def test_dana_copies_monday_to_the_weekdays_and_saves(
    live_server: LiveServer, browser: Any, viewport: dict[str, int]
) -> None:
    context = await browser.new_context(viewport=viewport)
    page = await context.new_page()
    await sign_in(page, live_server.url, *DANA)
    await page.get_by_role("navigation", name="Main").get_by_role("link", name="My hours").click()
    await page.get_by_role("heading", name="Working hours", level=1).wait_for()

    # A clean week: Monday as she wants it, Saturday morning, everything else empty.
    for day in DAYS:
        for which in MONDAY:
            await (await field(page, day, which)).fill("")
    for which, value in MONDAY.items():
        await (await field(page, "Monday", which)).fill(value)
    await (await field(page, "Saturday", "1 from")).fill("09:00")
    await (await field(page, "Saturday", "1 to")).fill("11:00")

    copy = page.get_by_role("button", name="Copy Monday to Tuesday\u2013Friday")
    await assert_in_viewport(copy, viewport)
    await copy.click()
    status = page.get_by_role("status").filter(has_text="not saved yet")
    await status.wait_for()
    assert "Monday's hours are copied to Tuesday, Wednesday, Thursday and Friday." in (
        await status.inner_text()
    )
    for day in DAYS[1:5]:
        for which, value in MONDAY.items():
            assert await (await field(page, day, which)).input_value() == value, (day, which)
    assert await (await field(page, "Saturday", "1 from")).input_value() == "09:00"
    assert await (await field(page, "Sunday", "1 from")).input_value() == ""
    await screenshot(page, f"hours-copied-{viewport['width']}")

    save = page.get_by_role("button", name="Save hours")
    await assert_in_viewport(save, viewport)
    await save.click()
    await page.get_by_text("Your hours are saved.").wait_for()

    # Read back from the server: the week as copied.
    await page.reload()
    await page.get_by_role("heading", name="Working hours", level=1).wait_for()
    for day in DAYS[:5]:
        for which, value in MONDAY.items():
            assert await (await field(page, day, which)).input_value() == value, (day, which)
    assert await (await field(page, "Saturday", "1 to")).input_value() == "11:00"
    assert await (await field(page, "Sunday", "1 to")).input_value() == ""
    await screenshot(page, f"hours-saved-{viewport['width']}")
    await context.close()
