"""The clinic's admin, on a laptop and a phone: closes the clinic for a day from the admin home,
is told in words when she picks a day already closed, reopens it; and changes a visit type's
length and late-cancellation window, seeing a wrong value refused with what she typed kept."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from tests.e2e.conftest import (
    DESKTOP,
    PHONE,
    LiveServer,
    assert_in_viewport,
    screenshot,
    sign_in,
)

pytestmark = pytest.mark.browser

ADMIN = ("admin@demo.clinic", "demo-admin-pass")


def long_date(day: date) -> str:
    return f"{day:%A} {day.day} {day:%B} {day.year}"


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
async def test_an_admin_closes_a_day_then_reopens_it(
    live_server: LiveServer, browser: Any, viewport: dict[str, int]
) -> None:
    context = await browser.new_context(viewport=viewport)
    page = await context.new_page()
    await sign_in(page, live_server.url, *ADMIN)
    link = page.get_by_role("link", name="Clinic closures")
    await assert_in_viewport(link, viewport)
    await link.click()
    await page.get_by_role("heading", name="Clinic closures", level=1).wait_for()
    # Three weeks ahead: a day to come whatever day the test runs.
    day = date.today() + timedelta(days=21)

    form = page.get_by_role("region", name="Close the clinic for a day")
    await form.get_by_label("Date").fill(day.isoformat())
    await form.get_by_label("Reason").fill("Staff training")
    close = form.get_by_role("button", name="Close this day")
    await assert_in_viewport(close, viewport)
    await close.click()
    await (
        page.get_by_role("status")
        .filter(has_text=f"The clinic is closed on {long_date(day)}.")
        .wait_for()
    )
    closed = page.get_by_role("region", name="Closed days")
    assert f"{long_date(day)} · Staff training" in await closed.inner_text()

    # The same day again: refused in words, with the date and the reason still in the form.
    form = page.get_by_role("region", name="Close the clinic for a day")
    await form.get_by_label("Date").fill(day.isoformat())
    await form.get_by_label("Reason").fill("Inventory")
    await form.get_by_role("button", name="Close this day").click()
    alert = page.get_by_role("alert")
    await alert.wait_for()
    assert (await alert.inner_text()).strip() == (
        f"The clinic is already closed on {long_date(day)} (Staff training)."
    )
    form = page.get_by_role("region", name="Close the clinic for a day")
    assert await form.get_by_label("Date").input_value() == day.isoformat()
    assert await form.get_by_label("Reason").input_value() == "Inventory"
    await screenshot(page, f"closure-refused-{viewport['width']}")

    reopen = page.get_by_role("button", name=f"Reopen {long_date(day)}")
    await assert_in_viewport(reopen, viewport)
    await reopen.click()
    await (
        page.get_by_role("status")
        .filter(has_text=f"The clinic is open again on {long_date(day)}.")
        .wait_for()
    )
    assert long_date(day) not in await page.get_by_role("region", name="Closed days").inner_text()
    await screenshot(page, f"closure-reopened-{viewport['width']}")
    await context.close()


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
async def test_an_admin_edits_a_visit_type(
    live_server: LiveServer, browser: Any, viewport: dict[str, int]
) -> None:
    context = await browser.new_context(viewport=viewport)
    page = await context.new_page()
    await sign_in(page, live_server.url, *ADMIN)
    await page.get_by_role("link", name="Visit types").click()
    await page.get_by_role("heading", name="Visit types", level=1).wait_for()
    link = page.get_by_role("link", name="Follow-up visit")
    await assert_in_viewport(link, viewport)
    await link.click()
    await page.get_by_role("heading", name="Follow-up visit", level=1).wait_for()

    # A visit of no length: refused, the field marked, her other change kept.
    await page.get_by_label("Length of the visit").fill("0")
    await page.get_by_label("Late-cancellation window").fill("720")
    save = page.get_by_role("button", name="Save visit type")
    await assert_in_viewport(save, viewport)
    await save.click()
    alert = page.get_by_role("alert")
    await alert.wait_for()
    assert (await alert.inner_text()).strip() == "Length of the visit must be positive."
    length = page.get_by_label("Length of the visit")
    assert await length.get_attribute("aria-invalid") == "true"
    assert await length.input_value() == "0"
    assert await page.get_by_label("Late-cancellation window").input_value() == "720"
    await screenshot(page, f"visit-type-refused-{viewport['width']}")

    await length.fill("50")
    await page.get_by_label("Patients may book it online").select_option(label="No")
    await page.get_by_role("button", name="Save visit type").click()
    await page.get_by_role("status").filter(has_text="Follow-up visit is saved.").wait_for()
    row = page.get_by_role("row").filter(has=page.get_by_role("link", name="Follow-up visit"))
    cells = [c.strip() for c in await row.get_by_role("cell").all_inner_texts()]
    assert cells[1] == "50 min" and cells[4] == "720 min" and cells[5] == "No, staff book it"
    await screenshot(page, f"visit-types-saved-{viewport['width']}")
    await context.close()
