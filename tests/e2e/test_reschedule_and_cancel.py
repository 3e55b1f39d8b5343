"""Maria moves her later visit by picking a slot, then cancels it, on a laptop and on a phone."""

from __future__ import annotations

import re
from typing import Any

import icalendar
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


async def _no_sideways_scroll(page: Any) -> None:
    scroll, width = await page.evaluate("[document.documentElement.scrollWidth, innerWidth]")
    assert scroll <= width, (page.url, scroll, width)


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
async def test_patient_moves_then_cancels_a_visit_without_typing_a_time(
    live_server: LiveServer, browser: Any, viewport: dict[str, int]
) -> None:
    context = await browser.new_context(viewport=viewport)
    page = await context.new_page()
    await sign_in(page, live_server.url, *MARIA)
    # The demo gives Maria a visit now and a later one in four days; move the later one.
    visits = page.locator('.visit-list a[href^="/appointments/"]')
    await visits.last.click()
    await page.wait_for_url(re.compile(r".*/appointments/[0-9a-f-]{36}$"))
    visit_url = page.url

    choose = page.get_by_role("link", name="Choose a new time")
    await assert_in_viewport(choose, viewport)
    await choose.click()
    await page.wait_for_url(re.compile(r".*/reschedule$"))
    await page.get_by_role("heading", name="Choose a new time").wait_for()
    slot = page.locator("a.slot").first
    await assert_in_viewport(slot, viewport)
    await _no_sideways_scroll(page)
    await screenshot(page, f"reschedule-picker-{viewport['width']}")
    await slot.click()

    move = page.get_by_role("button", name="Move my visit")
    await move.wait_for()
    new_time = (await page.locator("dt:text-is('To') + dd").inner_text()).strip()
    old_time = (await page.locator("dt:text-is('From') + dd").inner_text()).strip()
    assert re.fullmatch(r"\w{3} \d{1,2} \w{3} at \d{1,2}:\d{2} [AP]M", new_time), new_time
    assert new_time != old_time
    await assert_in_viewport(move, viewport)
    await _no_sideways_scroll(page)
    await screenshot(page, f"reschedule-confirm-{viewport['width']}")
    await move.click()

    await page.wait_for_url(re.compile(re.escape(visit_url) + r"\?moved=1&from=\d+$"))
    # The confirmation says where the visit was and where it is now.
    banner = page.get_by_role("status").filter(has_text="Your visit has moved")
    assert (await banner.inner_text()).strip() == (
        f"Your visit has moved from {old_time} to {new_time}."
    )
    await _no_sideways_scroll(page)

    cancel = page.get_by_role("link", name="Cancel this visit")
    await assert_in_viewport(cancel, viewport)
    await cancel.click()
    confirm = page.get_by_role("button", name="Cancel my visit")
    await confirm.wait_for()
    assert new_time in await page.locator("main").inner_text()
    await assert_in_viewport(confirm, viewport)
    await _no_sideways_scroll(page)
    await screenshot(page, f"cancel-confirm-{viewport['width']}")
    await confirm.click()

    await page.wait_for_url(visit_url + "?cancelled=1")
    done = page.get_by_role("status").filter(has_text="is cancelled")
    assert (await done.inner_text()).strip() == f"Your visit on {new_time} is cancelled."
    assert await page.get_by_role("link", name="Add to my calendar").count() == 0
    withdraw = page.get_by_role("link", name="Remove from my calendar")
    await assert_in_viewport(withdraw, viewport)
    await _no_sideways_scroll(page)
    await screenshot(page, f"cancelled-visit-{viewport['width']}")
    answer = await page.request.get(live_server.url + await withdraw.get_attribute("href"))
    assert answer.ok
    cal = icalendar.Calendar.from_ical(await answer.body())
    assert str(cal["method"]) == "CANCEL"
    assert [str(e["status"]) for e in cal.walk("VEVENT")] == ["CANCELLED"]
    await context.close()
