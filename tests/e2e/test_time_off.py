"""Dana, a therapist, adds a morning off on her hours page, on a laptop and a phone: an end before
the start is refused in plain words and keeps what she typed; put right, the time off is listed."""

from __future__ import annotations

from datetime import date, timedelta
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

NOTE = "Dentist"


# The listed time off reads in the browser's clock: a US laptop, a British phone.
@pytest.mark.parametrize(
    ("viewport", "locale", "listed_hours"),
    [(DESKTOP, "en-US", "9:00 AM \u2013 12:00 PM"), (PHONE, "en-GB", "09:00\u201312:00")],
    ids=["desktop", "phone"],
)
async def test_dana_adds_a_morning_off_and_sees_it_listed(
    live_server: LiveServer, browser: Any, viewport: dict[str, int], locale: str, listed_hours: str
) -> None:
    context = await browser.new_context(viewport=viewport, locale=locale)
    page = await context.new_page()
    await sign_in(page, live_server.url, *DANA)
    hours = page.get_by_role("navigation", name="Main").get_by_role("link", name="My hours")
    await assert_in_viewport(hours, viewport)
    await hours.click()
    await page.get_by_role("heading", name="Working hours", level=1).wait_for()

    time_off = page.get_by_role("region", name="Time off and extra hours")
    assert "None planned." in await time_off.inner_text()
    # Ten days ahead: a date in the future, whatever day the test runs.
    day = date.today() + timedelta(days=10)

    # The end before the start: refused in words, and what she typed is still in the form.
    await time_off.get_by_label("Date").fill(day.isoformat())
    await time_off.get_by_label("Kind").select_option(label="Time off")
    await time_off.get_by_label("From").fill("12:00")
    await time_off.get_by_label("To", exact=True).fill("09:00")
    await time_off.get_by_label("Note").fill(NOTE)
    add = time_off.get_by_role("button", name="Add")
    await assert_in_viewport(add, viewport)
    await add.click()
    alert = page.get_by_role("alert")
    await alert.wait_for()
    assert (await alert.inner_text()).strip() == (
        f"Time off on {day:%a %d %b %Y}: start 12:00 must be before end 09:00"
    )
    time_off = page.get_by_role("region", name="Time off and extra hours")
    assert await time_off.get_by_label("Date").input_value() == day.isoformat()
    assert await time_off.get_by_label("Kind").input_value() == "time_off"
    assert await time_off.get_by_label("From").input_value() == "12:00"
    assert await time_off.get_by_label("To", exact=True).input_value() == "09:00"
    assert await time_off.get_by_label("Note").input_value() == NOTE
    assert "None planned." in await time_off.inner_text()
    await screenshot(page, f"time-off-refused-{viewport['width']}")

    # She puts the times the right way round and adds it.
    await time_off.get_by_label("From").fill("09:00")
    await time_off.get_by_label("To", exact=True).fill("12:00")
    add = time_off.get_by_role("button", name="Add")
    await assert_in_viewport(add, viewport)
    await add.click()
    await page.wait_for_url(f"{live_server.url}/availability?therapist_id=*")
    await page.get_by_role("heading", name="Working hours", level=1).wait_for()
    assert await page.get_by_role("alert").count() == 0
    time_off = page.get_by_role("region", name="Time off and extra hours")
    listed = [
        (await item.inner_text()).split("\n")[0].strip()
        for item in await time_off.get_by_role("listitem").all()
    ]
    assert listed == [f"{day:%a %d %b %Y} · Time off {listed_hours} · {NOTE}"], listed
    remove = time_off.get_by_role("button", name=f"Remove {day.isoformat()}")
    await assert_in_viewport(remove, viewport)
    # The form is empty again for the next entry.
    assert await time_off.get_by_label("Date").input_value() == ""
    assert await time_off.get_by_label("Note").input_value() == ""
    await screenshot(page, f"time-off-listed-{viewport['width']}")
    await context.close()
