"""Priya tells the clinic how her pain is, twice, on a laptop and on a phone, from her home page:
one tap per answer, a forgotten answer asked again, and the change said in words."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.conftest import (
    DESKTOP,
    PHONE,
    LiveServer,
    assert_accessible,
    assert_in_viewport,
    sign_in,
)

pytestmark = pytest.mark.browser

PRIYA = ("priya.shah@demo.clinic", "demo-patient-pass")
PAIN = "How bad has your pain been in the last 24 hours, on average?"


async def rate_pain(page: Any, viewport: dict[str, int], pain: str | None) -> None:
    """From "How you are doing", open the pain rating, tap a number and save."""
    start = page.get_by_role("link", name="Pain rating")
    await assert_in_viewport(start, viewport)
    await start.click()
    group = page.get_by_role("group", name=PAIN)
    await group.wait_for()
    if pain is not None:
        choice = group.locator(f'input[value="{pain}"]')
        await assert_in_viewport(choice, viewport)
        await choice.check()
    save = page.get_by_role("button", name="Save my answers")
    await save.scroll_into_view_if_needed()
    await assert_in_viewport(save, viewport)
    await save.click()


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["laptop", "phone"])
async def test_priya_rates_her_pain_twice_and_reads_how_it_changed(
    live_server: LiveServer, browser: Any, axe_source: str, viewport: dict[str, int]
) -> None:
    context = await browser.new_context(viewport=viewport)
    page = await context.new_page()
    try:
        await sign_in(page, live_server.url, *PRIYA)
        link = page.get_by_role("link", name="How you are doing")
        await link.scroll_into_view_if_needed()
        await assert_in_viewport(link, viewport)
        await link.click()
        await page.get_by_role("heading", name="How you are doing").wait_for()
        await assert_accessible(page, axe_source)

        # She saves without choosing: asked again, in words.
        await rate_pain(page, viewport, None)
        await page.get_by_role("alert").filter(has_text="Please check 1 answer").wait_for()
        await page.get_by_text("Please answer this question.").wait_for()
        group = page.get_by_role("group", name=PAIN)
        await group.locator('input[value="6"]').check()
        await page.get_by_role("button", name="Save my answers").click()
        await page.get_by_role("status").filter(has_text="Your pain rating score is 6").wait_for()

        await rate_pain(page, viewport, "3")
        said = page.get_by_role("status").filter(has_text="Your pain went from 6 to 3")
        await said.wait_for()
        await assert_in_viewport(said, viewport)
        assert "3 points better" in await said.inner_text()
    finally:
        await context.close()
