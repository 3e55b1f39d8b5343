"""Alex, the clinic's admin, finds Maria among the people, opens her page and puts Sam on her care
team, on a laptop and a phone; Sam then finds Maria among his patients."""

from __future__ import annotations

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
SAM = ("sam.okafor@demo.clinic", "demo-therapist-pass")


async def _care_team(page: Any) -> list[str]:
    team = page.get_by_role("region", name="Care team").get_by_role("listitem")
    # Each line starts with an avatar of the initial (hidden from screen readers): skip it.
    return [(await item.inner_text()).strip().splitlines()[-1] for item in await team.all()]


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
async def test_admin_puts_a_therapist_on_a_patients_care_team(
    live_server: LiveServer, browser: Any, viewport: dict[str, int]
) -> None:
    context = await browser.new_context(viewport=viewport)
    page = await context.new_page()
    await sign_in(page, live_server.url, *ADMIN)
    await page.get_by_role("heading", name="People").wait_for()
    maria = page.get_by_role("table", name="Accounts of the clinic").get_by_role(
        "link", name="Maria Lopez"
    )
    await assert_in_viewport(maria, viewport)
    await maria.click()
    await page.get_by_role("heading", name="Maria Lopez", level=1).wait_for()
    # The demo gives Maria one therapist.
    assert await _care_team(page) == ["Dana Reyes, DPT"]

    await page.get_by_label("Add therapist").select_option(label="Sam Okafor, PT")
    assign = page.get_by_role("button", name="Assign")
    await assert_in_viewport(assign, viewport)
    # The form posts and comes back to her page.
    async with page.expect_navigation(url=page.url):
        await assign.click()
    await page.get_by_role("heading", name="Maria Lopez", level=1).wait_for()
    assert await page.get_by_role("alert").count() == 0
    assert await _care_team(page) == ["Dana Reyes, DPT", "Sam Okafor, PT"]
    await screenshot(page, f"admin-care-team-{viewport['width']}")
    await context.close()

    # Sam now has Maria among his patients.
    context = await browser.new_context(viewport=viewport)
    page = await context.new_page()
    await sign_in(page, live_server.url, *SAM)
    patients = page.get_by_role("table", name="Patients on your care team")
    await patients.wait_for()
    assert "Maria Lopez" in await patients.get_by_role("cell").all_inner_texts()
    await context.close()
