"""Dana writes James's plan of care after his evaluation, on a laptop and on a phone: from her
caseload she opens an episode, writes the plan, forgets a goal's date and is asked again with
everything she typed kept, saves it, books the plan's visits as a weekly series, and finds him on
her caseload. James reads the plan in plain
words from his home. Dana then discharges the episode with how each goal ended."""

from __future__ import annotations

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

JAMES = ("james.chen@demo.clinic", "demo-patient-pass")


async def write_the_plan(page: Any, viewport: dict[str, int]) -> None:
    """Fill the plan form as Dana types it, leaving the goal's date out the first time."""
    await page.get_by_label("ICD-10-CM codes").fill("M54.50")
    await page.get_by_label("Times a week").fill("2")
    await page.get_by_label("Weeks").fill("4")
    await page.get_by_label("Therapeutic exercise").check()
    await page.get_by_label("Myofascial release").check()
    goal = page.get_by_role("group", name="Goal 1")
    await goal.get_by_label("Goal", exact=True).fill("Sit through a two-hour film")
    await goal.get_by_label("Now").fill("30 minutes")
    await goal.get_by_label("Target").fill("2 hours")
    save = page.get_by_role("button", name="Save the plan of care")
    await save.scroll_into_view_if_needed()
    await assert_in_viewport(save, viewport)
    await save.click()


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["laptop", "phone"])
async def test_dana_writes_james_plan_and_james_reads_it(
    live_server: LiveServer, browser: Any, axe_source: str, viewport: dict[str, int]
) -> None:
    context = await browser.new_context(viewport=viewport, locale="en-US")
    page = await context.new_page()
    await sign_in(page, live_server.url, *DANA)
    caseload = page.get_by_role("navigation", name="Main").get_by_role("link", name="Caseload")
    await assert_in_viewport(caseload, viewport)
    await caseload.click()
    await page.get_by_role("heading", name="My caseload").wait_for()
    # The demo clinic's episode is there already: Maria's hip.
    await page.get_by_role("link", name="Maria Lopez: Right hip pain").wait_for()
    await assert_accessible(page, axe_source)

    await page.get_by_label("Patient").select_option(label="James Chen")
    await page.get_by_label("Problem treated").fill("Low back pain")
    await page.get_by_role("button", name="Open and write the plan").click()
    await page.get_by_role("heading", name="James Chen: Low back pain").wait_for()
    await write_the_plan(page, viewport)

    # The goal's date was missing: said in words, everything typed kept.
    problem = page.get_by_text("Give the date the goal should be reached by.")
    await problem.wait_for()
    await assert_in_viewport(page.get_by_role("alert").first, viewport)
    goal = page.get_by_role("group", name="Goal 1")
    assert await goal.get_by_label("Goal", exact=True).input_value() == (
        "Sit through a two-hour film"
    )
    assert await page.get_by_label("ICD-10-CM codes").input_value() == "M54.50"
    assert await page.get_by_label("Myofascial release").is_checked()
    await assert_accessible(page, axe_source)
    await goal.get_by_label("By").fill("2026-12-31")
    await page.get_by_role("button", name="Save the plan of care").click()

    await page.get_by_role("heading", name="Plan of care version 1", exact=False).wait_for()
    await page.get_by_text("twice a week, for 4 weeks (8 visits)").wait_for()
    await page.get_by_text("Not yet sent to the referring practitioner").wait_for()
    await assert_accessible(page, axe_source)
    await screenshot(page, f"plan-of-care-{viewport['width']}")

    # She books the plan's visits as a series: the plan's two days a week are suggested.
    await page.get_by_role("link", name="Book the plan's visits").click()
    await page.get_by_role("heading", name="James Chen: Low back pain").wait_for()
    assert await page.get_by_label("Monday").is_checked()
    assert await page.get_by_label("Thursday").is_checked()
    await page.get_by_label("Tuesday").check()  # one day too many for twice a week
    book = page.get_by_role("button", name="Book the visits")
    await book.scroll_into_view_if_needed()
    await assert_in_viewport(book, viewport)
    await book.click()
    await page.get_by_text("choose at most 2 days").wait_for()
    assert await page.get_by_label("Tuesday").is_checked()  # what she chose is kept
    await page.get_by_label("Tuesday").uncheck()
    await page.get_by_role("button", name="Book the visits").click()
    await page.get_by_role("heading", name="visits booked", exact=False).wait_for()
    await assert_accessible(page, axe_source)
    await page.get_by_role("link", name="Back to the episode").click()
    await page.get_by_text("twice a week, for 4 weeks (8 visits)").wait_for()
    await page.get_by_role("link", name="Caseload").first.click()
    await page.get_by_role("link", name="James Chen: Low back pain").wait_for()

    # James reads it from his home, in plain words.
    patient = await (await browser.new_context(viewport=viewport, locale="en-US")).new_page()
    await sign_in(patient, live_server.url, *JAMES)
    mine = patient.get_by_role("link", name="Your plan of care")
    await mine.scroll_into_view_if_needed()
    await assert_in_viewport(mine, viewport)
    await mine.click()
    await patient.get_by_text(
        "Dana Reyes, DPT plans to see you twice a week for 4 weeks"
    ).wait_for()
    await patient.get_by_text("Sit through a two-hour film").wait_for()
    await patient.get_by_text("From 30 minutes to 2 hours, by 31 December 2026").wait_for()
    await assert_accessible(patient, axe_source)
    await patient.context.close()

    # Dana discharges the episode: each goal's outcome, a summary.
    await page.get_by_role("link", name="James Chen: Low back pain").click()
    await page.get_by_role("link", name="Discharge").click()
    await page.get_by_label("Sit through a two-hour film").select_option(label="Met")
    await page.get_by_label("Summary of the course of care").fill("Sits through films again.")
    await page.get_by_label("What the patient keeps doing at home").fill("Walks daily.")
    close = page.get_by_role("button", name="Discharge and close the episode")
    await close.scroll_into_view_if_needed()
    await assert_in_viewport(close, viewport)
    await assert_accessible(page, axe_source)
    await close.click()
    await page.get_by_role("heading", name="Discharged", exact=False).wait_for()
    assert await page.get_by_role("link", name="Revise the plan").count() == 0
    await context.close()
