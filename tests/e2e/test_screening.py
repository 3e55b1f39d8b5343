"""Priya answers the screening questions before her first visit, on a laptop and on a phone, the
way she would: from her home page, one tap per question, a missed question asked again. Numbness
in the saddle area sends her to emergency care with no booking offered, and the clinic sees it on
its home page until a clinician takes charge; calm answers lead to booking the free screening."""

from __future__ import annotations

from typing import Any

import pytest

from telehealth.intake.triage import load_table
from tests.e2e.conftest import (
    DESKTOP,
    PHONE,
    LiveServer,
    assert_accessible,
    assert_in_viewport,
    screenshot,
    sign_in,
)

pytestmark = pytest.mark.browser

PRIYA = ("priya.shah@demo.clinic", "demo-patient-pass")
ADMIN = ("admin@demo.clinic", "demo-admin-pass")


async def answer_every_question(page: Any, yes: set[str], age: str, skip: str = "") -> None:
    """Tap Yes or No for each question (Yes for those in `yes`), leaving `skip` unanswered."""
    for key, question in load_table().questions.items():
        if key == skip:
            continue
        if question.kind == "integer":
            await page.get_by_label(question.asks).fill(age)
            continue
        group = page.get_by_role("group", name=question.asks)
        await group.get_by_label("Yes" if key in yes else "No", exact=True).check()


async def open_the_questions(browser: Any, server: LiveServer, viewport: dict[str, int]) -> Any:
    context = await browser.new_context(viewport=viewport)
    page = await context.new_page()
    await sign_in(page, server.url, *PRIYA)
    start = page.get_by_role("link", name="Answer the screening questions")
    await assert_in_viewport(start, viewport)
    await start.click()
    await page.get_by_role("heading", name="Before your free screening").wait_for()
    return context, page


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["laptop", "phone"])
async def test_saddle_numbness_sends_priya_to_emergency_care_and_the_clinic_sees_it(
    live_server: LiveServer, browser: Any, axe_source: str, viewport: dict[str, int]
) -> None:
    context, page = await open_the_questions(browser, live_server, viewport)
    await assert_accessible(page, axe_source)
    # She misses one question; it is asked again and her other answers stay.
    await answer_every_question(page, {"saddle_numbness"}, "62", skip="fever")
    await page.get_by_role("button", name="See what to do next").click()
    await page.get_by_role("alert").filter(has_text="Please answer 1 more question").wait_for()
    fever = page.get_by_role("group", name=load_table().questions["fever"].asks)
    await fever.get_by_text("Please answer this question.").wait_for()
    saddle = page.get_by_role("group", name=load_table().questions["saddle_numbness"].asks)
    assert await saddle.get_by_label("Yes", exact=True).is_checked()
    await fever.get_by_label("No", exact=True).check()
    await page.get_by_role("button", name="See what to do next").click()

    await page.get_by_role("heading", name="Please get care now").wait_for()
    await page.get_by_role("alert").filter(has_text="call 911").wait_for()
    call = page.get_by_role("link", name="Call 911")
    await assert_in_viewport(call, viewport)
    assert await call.get_attribute("href") == "tel:911"
    assert await page.locator("main a[href^='/book']").count() == 0
    await assert_accessible(page, axe_source)
    await screenshot(page, f"screening-emergency-{'phone' if viewport is PHONE else 'laptop'}")
    # Her home page keeps telling her.
    await page.goto(live_server.url + "/")
    await page.get_by_text("emergency department now").first.wait_for()
    await context.close()

    # The clinic's administrator finds it at the top of the home page and takes charge.
    staff_ctx = await browser.new_context(viewport=viewport)
    staff = await staff_ctx.new_page()
    await sign_in(staff, live_server.url, *ADMIN)
    flags = staff.get_by_role("region", name="Screening answers that need a clinician")
    await flags.get_by_text("Possible cauda equina syndrome: saddle numbness").wait_for()
    await flags.get_by_role("link", name="Open Priya Shah's screening answers").click()
    await staff.get_by_label("What was done (optional)").fill("Called her; she is on her way")
    take_charge = staff.get_by_role("button", name="I have taken charge of this")
    await assert_in_viewport(take_charge, viewport)
    await take_charge.click()
    await staff.get_by_text("Alex Morgan has taken charge of this.").wait_for()
    await staff.goto(live_server.url + "/")
    assert (
        await staff.get_by_role("region", name="Screening answers that need a clinician").count()
        == 0
    )
    await staff_ctx.close()


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["laptop", "phone"])
async def test_calm_answers_lead_priya_to_book_her_free_screening(
    live_server: LiveServer, browser: Any, viewport: dict[str, int]
) -> None:
    context, page = await open_the_questions(browser, live_server, viewport)
    await answer_every_question(page, set(), "45")
    await page.get_by_role("button", name="See what to do next").click()
    await page.get_by_role("heading", name="You can book your free screening").wait_for()
    book = page.get_by_role("link", name="Book your free screening")
    await assert_in_viewport(book, viewport)
    await book.click()
    await page.wait_for_url("**/book?type=free_screening")
    # The booking page opens on the free screening's free times, nothing left to choose first.
    await page.get_by_role("heading", name="Free screening").wait_for()
    await page.get_by_role("heading", name="2. Choose a time").wait_for()
    await context.close()
