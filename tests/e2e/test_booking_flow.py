"""Maria books a follow-up video visit with Dana from her home page, through the slot picker and
the confirm page, on a laptop and a phone; her home page then lists it. When another patient takes
the same time while she is confirming, she is told in plain words and sent back to the times with
her visit type and place still chosen."""

from __future__ import annotations

import re
from datetime import datetime
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

JAMES = ("james.chen@demo.clinic", "demo-patient-pass")
REASON = "My left knee is stiff after the stairs."
# The visit type Maria books, as the booking page and her home page name it.
FOLLOW_UP = "Follow-up visit"
SLOT_TIME = re.compile(r"^(\d{2}:\d{2})")
# The en dash the pages write between a start and an end time.
DASH = "\u2013"


async def _new_page(browser: Any, viewport: dict[str, int]) -> tuple[Any, Any]:
    # en-US, so the home page's times read "2:00 PM" (the clinic's default), as asserted below.
    context = await browser.new_context(viewport=viewport, locale="en-US")
    return context, await context.new_page()


async def _choose_follow_up_with_dana(page: Any, viewport: dict[str, int]) -> None:
    """On /book: pick the visit type, a video visit and Dana, and ask for free times."""
    await page.get_by_role("radio", name=re.compile(f"^{FOLLOW_UP}")).check()
    await page.get_by_role("radio", name="Video visit from home").check()
    await page.get_by_label("Therapist").select_option(label="Dana Reyes, DPT")
    show = page.get_by_role("button", name="Show free times")
    await assert_in_viewport(show, viewport)
    await show.click()
    await page.get_by_role("heading", name="2. Choose a time").wait_for()


def _times(page: Any) -> Any:
    """The slot buttons of the picker ("14:00 Dana Reyes, DPT")."""
    return page.get_by_role("region", name="2. Choose a time").get_by_role("link", name=SLOT_TIME)


def _offered(page: Any, day: str, hhmm: str) -> Any:
    """Dana's time at hhmm under the day heading, if the picker offers it."""
    under_day = page.locator("h3.day-title", has_text=re.compile(f"^{day}$")).locator(
        "xpath=following-sibling::ul[1]"
    )
    return under_day.get_by_role("link", name=re.compile(f"^{hhmm} Dana Reyes, DPT$"))


async def _pick_first_time(page: Any, viewport: dict[str, int]) -> tuple[str, str]:
    """Click the first free time; returns its day heading ("Tuesday 10 March") and "HH:MM"."""
    slot = _times(page).first
    await assert_in_viewport(slot, viewport)
    label = (await slot.inner_text()).strip()
    match = SLOT_TIME.match(label)
    assert match is not None and label.endswith("Dana Reyes, DPT"), label
    # The day a slot belongs to is the nearest day heading above it.
    day = (
        await slot.evaluate(
            "a => { let e = a.closest('ul').previousElementSibling;"
            " while (e && e.tagName !== 'H3') e = e.previousElementSibling; return e.textContent; }"
        )
    ).strip()
    assert await _offered(page, day, match.group(1)).count() == 1
    await slot.click()
    await page.get_by_role("heading", name="3. Confirm your visit").wait_for()
    return day, match.group(1)


def _detail(page: Any, term: str) -> Any:
    return page.locator(f"dt:text-is('{term}') + dd")


def _home_line(when_text: str) -> str:
    """How the home page writes the visit the confirm page showed ("Tuesday 10 March 2026, 14:00
    to 14:45"): "Tue 10 Mar, 2:00 PM · Follow-up visit"."""
    when = datetime.strptime(when_text.split(f" {DASH} ")[0], "%A %d %B %Y, %H:%M")
    clock = f"{when.hour % 12 or 12}:{when:%M} {'AM' if when.hour < 12 else 'PM'}"
    return f"{when:%a %d %b}, {clock} · {FOLLOW_UP}"


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
async def test_maria_books_a_visit_and_finds_it_on_her_home_page(
    live_server: LiveServer, browser: Any, viewport: dict[str, int]
) -> None:
    context, page = await _new_page(browser, viewport)
    await sign_in(page, live_server.url, *MARIA)
    visits = page.get_by_role("region", name="Your visits")
    before = await visits.get_by_role("link", name=re.compile(FOLLOW_UP)).count()
    book = visits.get_by_role("link", name="Book a visit")
    await assert_in_viewport(book, viewport)
    await book.click()
    await page.get_by_role("heading", name="Book a visit", exact=True).wait_for()

    # Asking for times without saying what kind of visit: the browser stops her at the question
    # (it moves to the visit types instead of sending the form) and the page stays as it was.
    await page.get_by_role("button", name="Show free times").click()
    await page.wait_for_function("() => document.activeElement?.name === 'type'")
    first_type = page.get_by_role("radio", name=re.compile(f"^{FOLLOW_UP}"))
    assert await first_type.evaluate("r => r.validity.valueMissing")
    assert page.url == live_server.url + "/book"

    await _choose_follow_up_with_dana(page, viewport)
    # Her choices are still shown above the times they found.
    assert await first_type.is_checked()
    therapist = page.get_by_label("Therapist")
    assert await therapist.evaluate("s => s.selectedOptions[0].text") == "Dana Reyes, DPT"
    await screenshot(page, f"book-picker-{viewport['width']}")
    day, hhmm = await _pick_first_time(page, viewport)

    assert (await _detail(page, "Visit").inner_text()).strip() == FOLLOW_UP
    assert (await _detail(page, "Where").inner_text()).strip() == "Video visit from home"
    assert (await _detail(page, "Therapist").inner_text()).strip() == "Dana Reyes, DPT"
    when = (await _detail(page, "When").inner_text()).strip()
    assert when.startswith(f"{day} ") and f", {hhmm} {DASH} " in when, (when, day, hhmm)
    await page.get_by_label("What would you like help with?").fill(REASON)
    confirm = page.get_by_role("button", name="Book this visit")
    await assert_in_viewport(confirm, viewport)
    await screenshot(page, f"book-confirm-{viewport['width']}")
    await confirm.click()

    await page.wait_for_url(re.compile(r".*/appointments/[0-9a-f-]{36}\?booked=1$"))
    visit_path = page.url.removeprefix(live_server.url).split("?")[0]
    assert (await page.get_by_role("status").inner_text()).strip() == "Your visit is booked."
    await page.get_by_role("heading", name=FOLLOW_UP, level=1).wait_for()
    assert (await _detail(page, "Reason").inner_text()).strip() == REASON
    assert (await _detail(page, "Therapist").inner_text()).strip() == "Dana Reyes, DPT"
    await screenshot(page, f"book-booked-{viewport['width']}")

    await page.get_by_role("link", name="Home", exact=True).click()
    await page.get_by_role("heading", name="Hello, Maria").wait_for()
    visits = page.get_by_role("region", name="Your visits")
    booked = visits.get_by_role("link", name=_home_line(when))
    assert await booked.get_attribute("href") == visit_path
    assert await visits.get_by_role("link", name=re.compile(FOLLOW_UP)).count() == before + 1
    await context.close()


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
async def test_a_time_taken_while_maria_confirms_is_refused_in_plain_words(
    live_server: LiveServer, browser: Any, viewport: dict[str, int]
) -> None:
    context, page = await _new_page(browser, viewport)
    await sign_in(page, live_server.url, *MARIA)
    visits = page.get_by_role("region", name="Your visits")
    before = await visits.get_by_role("link", name=re.compile(FOLLOW_UP)).count()
    await visits.get_by_role("link", name="Book a visit").click()
    await _choose_follow_up_with_dana(page, viewport)
    day, hhmm = await _pick_first_time(page, viewport)
    when = (await _detail(page, "When").inner_text()).strip()
    await page.get_by_label("What would you like help with?").fill(REASON)

    # James picks the very same time with Dana and books it first, from his own browser.
    other, james = await _new_page(browser, DESKTOP)
    await sign_in(james, live_server.url, *JAMES)
    await james.goto(page.url)
    await james.get_by_role("button", name="Book this visit").click()
    await james.get_by_role("status").filter(has_text="Your visit is booked.").wait_for()
    await other.close()

    await page.get_by_role("button", name="Book this visit").click()
    await page.get_by_role("heading", name="That time could not be booked").wait_for()
    alert = (await page.get_by_role("alert").inner_text()).strip()
    assert alert == "That time was taken in the meantime. Please choose another time.", alert
    back = page.get_by_role("link", name="Choose another time")
    await assert_in_viewport(back, viewport)
    await screenshot(page, f"book-taken-{viewport['width']}")
    await back.click()

    # Back at the times: what kind of visit and where are still chosen, and the time James took
    # is no longer offered.
    await page.get_by_role("heading", name="2. Choose a time").wait_for()
    assert await page.get_by_role("radio", name=re.compile(f"^{FOLLOW_UP}")).is_checked()
    assert await page.get_by_role("radio", name="Video visit from home").is_checked()
    assert await _times(page).count() > 0
    assert await _offered(page, day, hhmm).count() == 0

    # Nothing was booked for her: her home page lists the visits she had.
    await page.get_by_role("link", name="Home", exact=True).click()
    await page.get_by_role("heading", name="Hello, Maria").wait_for()
    assert await visits.get_by_role("link", name=_home_line(when)).count() == 0
    assert await visits.get_by_role("link", name=re.compile(FOLLOW_UP)).count() == before
    await context.close()
