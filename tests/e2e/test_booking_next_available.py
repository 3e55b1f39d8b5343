"""Maria books a follow-up through "Next available" on a laptop and on a phone, with the
cancellation policy in view before she chooses and again before she commits."""

from __future__ import annotations

import re
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

POLICY = "You can move or cancel online until 24 hours before the visit."
# A week of one therapist's free times (Sam Okafor: weekdays 09:00-12:00 and 13:00-17:00, about
# 110 follow-up starts) must fit in under three phone screens. The flat list this page had before
# measured about 5,000 px for the same week on the phone (some 6 screens), so it fails this bound.
MAX_PHONE_SCREENS = 3


async def _no_sideways_scroll(page: Any) -> None:
    scroll, width = await page.evaluate("[document.documentElement.scrollWidth, innerWidth]")
    assert scroll <= width, (page.url, scroll, width)


async def _in_first_screen(locator: Any, viewport: dict[str, int]) -> None:
    """The control is on the first screen as the page opens: seen without scrolling."""
    box = await locator.bounding_box()
    assert box is not None
    assert box["y"] >= 0 and box["y"] + box["height"] <= viewport["height"], box


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
async def test_patient_books_the_next_available_time_with_the_policy_in_view(
    live_server: LiveServer, browser: Any, viewport: dict[str, int]
) -> None:
    context = await browser.new_context(viewport=viewport, locale="en-US")
    page = await context.new_page()
    await sign_in(page, live_server.url, *MARIA)
    await page.get_by_role("link", name="Book a visit").first.click()
    await page.get_by_role("heading", name="1. What kind of visit?").wait_for()

    # The visits patients come for, first visit first; the clinician's own are not offered.
    names = await page.locator('input[name="type"] + span').all_inner_texts()
    assert [n.split(" ·")[0] for n in names] == [
        "Initial evaluation",
        "Follow-up visit",
        "Free screening",
    ]
    follow_up = page.get_by_role("radio", name=re.compile(r"^Follow-up visit"))
    await assert_in_viewport(follow_up, viewport)
    await follow_up.check()
    policy = page.locator(".type-choice").filter(has_text="Follow-up visit").locator(".policy")
    assert POLICY in await policy.inner_text()
    assert await policy.is_visible()
    await page.get_by_label("Video visit from home").check()
    await page.get_by_label("Therapist").select_option(label="Sam Okafor, PT")
    show = page.get_by_role("button", name="Show free times")
    await assert_in_viewport(show, viewport)
    await screenshot(page, f"book-choose-{viewport['width']}")
    await show.click()

    await page.get_by_role("heading", name="2. Choose a time").wait_for()
    await screenshot(page, f"book-times-{viewport['width']}")
    await _no_sideways_scroll(page)
    height = await page.evaluate("document.documentElement.scrollHeight")
    if viewport == PHONE:
        assert height < MAX_PHONE_SCREENS * PHONE["height"], height
    # Days by part of day, in the 12-hour clock of her en-US browser.
    assert await page.locator(".slot-day").count() >= 4
    assert await page.locator(".part-title", has_text="Morning").count() >= 4
    first_time = await page.locator(".slot-list a.slot").first.inner_text()
    assert re.fullmatch(r"\d{1,2}:\d{2} [AP]M", first_time.strip()), first_time
    # "Next available" is on the first screen, the chosen type's policy right under it.
    next_available = page.locator("a.next-slot")
    await _in_first_screen(next_available, viewport)
    chosen_policy = page.locator(".policy-box").filter(has_text="Before you choose")
    assert POLICY in await chosen_policy.inner_text()
    await chosen_policy.scroll_into_view_if_needed()
    assert await chosen_policy.is_visible()
    await assert_in_viewport(next_available, viewport)
    offered = (await next_available.inner_text()).strip()
    assert re.fullmatch(
        r"(Today|Tomorrow|\w+ \d{1,2} \w+)(, \w+ \d{1,2} \w+)? at \d{1,2}:\d{2} [AP]M", offered
    ), offered

    # "More times" opens without script (the CSP allows none inline) and shows the rest of a day.
    more = page.locator("details.more-times").first
    hidden_before = await more.locator("a.slot").first.is_visible()
    await more.locator("summary").click()
    assert not hidden_before and await more.locator("a.slot").first.is_visible()
    await more.locator("summary").click()

    await next_available.click()
    await page.get_by_role("heading", name="3. Confirm your visit").wait_for()
    when = await page.locator("dt:text-is('When') + dd").inner_text()
    assert offered.split(" at ")[-1] in when, (offered, when)
    assert POLICY in await page.locator(".policy-box").inner_text()
    book = page.get_by_role("button", name="Book this visit")
    await assert_in_viewport(book, viewport)
    await _no_sideways_scroll(page)
    await screenshot(page, f"book-confirm-{viewport['width']}")
    await book.click()

    await page.wait_for_url(re.compile(r".*/appointments/[0-9a-f-]{36}\?booked=1$"))
    await page.get_by_role("status").filter(has_text="Your visit is booked.").wait_for()
    await context.close()
