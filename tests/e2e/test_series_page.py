"""Dana, a therapist, books Maria's weekly visits for two weeks from the series page, on a laptop
and a phone: the preview lists each date as free before anything is booked, then the free dates
are booked and listed."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

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

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def long_date(day: Any) -> str:
    return f"{day:%A} {day.day} {day:%B} {day.year}"


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
async def test_dana_previews_and_books_a_weekly_series(
    live_server: LiveServer, browser: Any, viewport: dict[str, int]
) -> None:
    # The demo keeps Dana's round-the-clock hours in a zone where it was midday when it loaded:
    # Maria's present hour is inside them on any day, whenever the test runs.
    local = datetime.now(ZoneInfo("America/New_York"))
    first = local.date() + timedelta(days=7)  # clear of the demo's own visits (days 0-4)
    at = f"{local.hour:02d}:00"
    context = await browser.new_context(viewport=viewport, locale="en-GB")
    page = await context.new_page()
    await sign_in(page, live_server.url, *DANA)
    link = page.get_by_role("link", name="Book a weekly series for a patient")
    await assert_in_viewport(link, viewport)
    await link.click()
    await page.get_by_role("heading", name="Book a weekly series", level=1).wait_for()

    await page.get_by_label("Patient", exact=True).select_option(label="Maria Lopez")
    await page.get_by_label("Visit type").select_option(value="follow_up")
    await page.get_by_label(WEEKDAYS[first.weekday()]).check()
    await page.get_by_label("Time (the patient's time zone)").fill(at)
    await page.get_by_label("First day").fill(first.isoformat())
    await page.get_by_label("For how many weeks").fill("2")
    show = page.get_by_role("button", name="Show the dates")
    await assert_in_viewport(show, viewport)
    await show.click()
    dates = page.get_by_role("region", name="The dates")
    await dates.wait_for()
    said = await dates.inner_text()
    assert "2 of 2 can be booked. Nothing is booked yet." in said, said
    for week in (0, 7):
        assert f"{long_date(first + timedelta(days=week))} at {at}: free" in said
    # The form keeps what she chose, for the booking.
    assert await page.get_by_label(WEEKDAYS[first.weekday()]).is_checked()
    assert await page.get_by_label("First day").input_value() == first.isoformat()
    await screenshot(page, f"series-preview-{viewport['width']}")

    book = page.get_by_role("button", name="Book the free dates")
    await assert_in_viewport(book, viewport)
    await book.click()
    booked = page.get_by_role("region", name="Booked: 2 visits")
    await booked.wait_for()
    listed = await booked.inner_text()
    assert f"{long_date(first)} at {at}" in listed
    assert f"{long_date(first + timedelta(days=7))} at {at}" in listed
    assert await page.get_by_role("alert").count() == 0
    await screenshot(page, f"series-booked-{viewport['width']}")
    await context.close()
