"""Staff calendars in the browser, on a laptop and a phone: the admin opens the day grid, picks
Sam's last free time of a day, and the booking form shows that therapist, date and time; an hour
visit there is refused in plain words with every value kept; a free screening then fits and is
on the grid. Dana opens a patient's chart from her home page."""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

import pytest

from tests.e2e.conftest import (
    DANA,
    DESKTOP,
    PHONE,
    LiveServer,
    assert_accessible,
    assert_in_viewport,
    screenshot,
    sign_in,
)

pytestmark = pytest.mark.browser

ADMIN = ("admin@demo.clinic", "demo-admin-pass")
SAM = "Sam Okafor, PT"


def _quiet_weekday() -> date:
    """A weekday three weeks on: inside the booking horizon, past the demo's visits."""
    day = date.today() + timedelta(days=21)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
async def test_admin_books_a_free_time_from_the_day_grid(
    live_server: LiveServer, browser: Any, axe_source: str, viewport: dict[str, int]
) -> None:
    tag = f"staff-grid-{viewport['width']}"
    context = await browser.new_context(viewport=viewport, locale="en-US")
    page = await context.new_page()
    await sign_in(page, live_server.url, *ADMIN)
    calendar = page.get_by_role("navigation", name="Main").get_by_role("link", name="Calendar")
    await assert_in_viewport(calendar, viewport)
    await calendar.click()
    await page.wait_for_url(re.compile(r".*/calendar/day$"))
    day = _quiet_weekday()
    await page.goto(f"{live_server.url}/calendar/day?day={day.isoformat()}")
    await page.get_by_role("heading", name=re.compile(day.strftime("%A %d %B %Y"))).wait_for()
    await assert_accessible(page, axe_source)
    await screenshot(page, f"{tag}-day")

    free = page.locator(f'a.grid-free[data-book^="{SAM} on"]:visible').last
    await assert_in_viewport(free, viewport)
    href = await free.get_attribute("href")
    label = await free.get_attribute("data-book")
    assert href is not None
    picked = dict(re.findall(r"(therapist_id|day|time)=([^&#]+)", href))
    assert picked["day"] == day.isoformat()
    await free.click()
    await page.wait_for_url(re.compile(r".*/admin/calendar\?.*"))

    assert await page.get_by_label("Therapist", exact=True).input_value() == picked["therapist_id"]
    assert await page.get_by_label("Date", exact=True).input_value() == picked["day"]
    assert await page.get_by_label(re.compile("^Time")).input_value() == picked["time"]
    patient = page.get_by_label("Patient", exact=True)
    choice = (await patient.locator("option").nth(1).get_attribute("value")) or ""
    await patient.select_option(choice)
    patient_name = (await patient.locator("option:checked").inner_text()).strip()
    # The last free half hour of the day: an hour-long evaluation does not fit.
    await page.get_by_label("Visit type").select_option("initial_evaluation")
    await page.get_by_label(re.compile("^Reason")).fill("Shoulder stiffness")
    book = page.get_by_role("button", name="Book")
    await assert_in_viewport(book, viewport)
    await book.click()
    alert = page.get_by_role("alert")
    await alert.wait_for()
    said = await alert.inner_text()
    assert re.fullmatch(r"[A-Z].*\. Please choose another time\.", said.strip()), said
    assert await page.get_by_label("Therapist", exact=True).input_value() == picked["therapist_id"]
    assert await patient.input_value() == choice
    assert await page.get_by_label("Visit type").input_value() == "initial_evaluation"
    assert await page.get_by_label("Date", exact=True).input_value() == picked["day"]
    assert await page.get_by_label(re.compile("^Time")).input_value() == picked["time"]
    assert await page.get_by_label(re.compile("^Reason")).input_value() == "Shoulder stiffness"
    await screenshot(page, f"{tag}-refused")

    await page.get_by_label("Visit type").select_option("free_screening")
    await page.get_by_role("button", name="Book").click()
    await page.wait_for_url(re.compile(r".*/appointments/[0-9a-f-]{36}\?booked=1$"))
    await page.goto(f"{live_server.url}/calendar/day?day={day.isoformat()}")
    visit = page.locator("a.grid-visit:visible").filter(has_text=patient_name)
    await visit.wait_for()
    await assert_in_viewport(visit, viewport)
    # The time is no longer offered.
    assert await page.locator(f'a.grid-free[data-book="{label}"]').count() == 0
    await screenshot(page, f"{tag}-booked")
    await context.close()


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
async def test_dana_opens_a_patients_chart_from_her_home(
    live_server: LiveServer, browser: Any, axe_source: str, viewport: dict[str, int]
) -> None:
    context = await browser.new_context(viewport=viewport, locale="en-US")
    page = await context.new_page()
    await sign_in(page, live_server.url, *DANA)
    maria = page.get_by_role("link", name="Maria Lopez")
    await assert_in_viewport(maria, viewport)
    await maria.click()
    await page.wait_for_url(re.compile(r".*/patients/[0-9a-f-]{36}/history$"))
    await page.get_by_role("heading", name="Maria Lopez", level=1).wait_for()
    await page.get_by_role("heading", name="Upcoming visits").wait_for()
    await assert_accessible(page, axe_source)
    calendar = page.get_by_role("navigation", name="Main").get_by_role("link", name="Calendar")
    await assert_in_viewport(calendar, viewport)
    await calendar.click()
    await page.wait_for_url(re.compile(r".*/calendar/week$"))
    await page.get_by_role("heading", name=re.compile("Your week")).wait_for()
    await assert_accessible(page, axe_source)
    await screenshot(page, f"staff-week-{viewport['width']}")
    await context.close()
