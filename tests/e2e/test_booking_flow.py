"""Maria books a follow-up video visit with Dana from her home page: she chooses a time of her own
in the slot picker (not the "Next available" one), checks it on the confirm page and books it, on a
laptop and a phone; her home page then lists it. When another patient takes the same time while
she is confirming, she is told in plain words and sent back to the times with her visit type and
place still chosen, and the taken time is no longer offered."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
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
DANA_NAME = "Dana Reyes, DPT"
# The en dash the pages write between a start and an end time.
DASH = "\u2013"
# Tomorrow's afternoon: at least 12 hours away whenever the test runs (the follow-up's notice),
# and outside Sam Okafor's hours (weekdays until 17:00 in London, noon or 1 PM in New York), so
# Dana is the only therapist who can offer its times.
DAY = "Tomorrow"
PART = "afternoon"
# The laptop reads the 12-hour clock (en-US), the phone the 24-hour one (en-GB): each page writes
# times in its reader's clock.
CASES = [(DESKTOP, "en-US"), (PHONE, "en-GB")]
CASE_IDS = ["desktop-12h", "phone-24h"]


async def _new_page(browser: Any, viewport: dict[str, int], locale: str) -> tuple[Any, Any]:
    context = await browser.new_context(viewport=viewport, locale=locale)
    return context, await context.new_page()


def _clock(when: datetime, locale: str) -> str:
    """A time of day as a page writes it for this reader: "2:00 PM" or "14:00"."""
    if locale == "en-US":
        return f"{when.hour % 12 or 12}:{when:%M} {'AM' if when.hour < 12 else 'PM'}"
    return f"{when:%H:%M}"


def _read_clock(text: str) -> datetime:
    """A time of day as the pages write it ("2:00 PM" or "14:00"), on a day of no importance."""
    return datetime.strptime(text, "%I:%M %p" if text.endswith("M") else "%H:%M")


async def _choose_follow_up_with_dana(page: Any, viewport: dict[str, int]) -> None:
    """On /book: pick the visit type, a video visit and Dana, and ask for free times."""
    await page.get_by_role("radio", name=re.compile(f"^{FOLLOW_UP}")).check()
    await page.get_by_role("radio", name="Video visit from home").check()
    await page.get_by_label("Therapist").select_option(label=DANA_NAME)
    show = page.get_by_role("button", name="Show free times")
    await assert_in_viewport(show, viewport)
    await show.click()
    await page.get_by_role("heading", name="2. Choose a time").wait_for()


def _day(page: Any) -> Any:
    """Tomorrow's times in the picker: the day's section, named by its heading."""
    return page.get_by_role("region", name=re.compile(f"^{DAY} "))


async def _open_more_times(page: Any) -> None:
    """Open the day's "N more times" (a <details>, no script needed)."""
    more = _day(page).get_by_text(re.compile(r"^\d+ more times?$"))
    await more.click()
    await _day(page).get_by_role("list", name=f"{DAY}, more {PART} times").wait_for()


async def _times_of_day(page: Any) -> list[str]:
    """Every time the picker offers tomorrow, as written on its buttons (with "more times" open)."""
    links = _day(page).get_by_role("listitem").get_by_role("link")
    return [t.strip() for t in await links.all_inner_texts()]


async def _pick_a_later_time(page: Any, viewport: dict[str, int]) -> tuple[str, str, str]:
    """Choose tomorrow's last afternoon time, behind "N more times": not the "Next available" one.
    Returns the day's heading ("Tomorrow"), its date ("Wednesday 11 March") and the time as its
    button reads ("4:45 PM")."""
    next_available = (await page.locator("a.next-slot").inner_text()).strip()
    heading = _day(page).get_by_role("heading", level=3)
    date_text = (await heading.locator(".day-date").inner_text()).strip()
    assert (await heading.inner_text()).strip() == f"{DAY} {date_text}"
    await _open_more_times(page)
    slot = _day(page).get_by_role("list", name=f"{DAY}, more {PART} times").get_by_role("link").last
    await assert_in_viewport(slot, viewport)
    hhmm = (await slot.inner_text()).strip()
    # Under the day heading, among the afternoon's times, the button names only the time.
    assert re.fullmatch(r"\d{1,2}:\d{2}( [AP]M)?", hhmm), hhmm
    assert hhmm in await _times_of_day(page)
    assert _read_clock(hhmm).hour in range(12, 17), hhmm
    assert next_available != f"{DAY}, {date_text} at {hhmm}", next_available
    await slot.click()
    await page.get_by_role("heading", name="3. Confirm your visit").wait_for()
    return DAY, date_text, hhmm


def _detail(page: Any, term: str) -> Any:
    return page.locator(f"dt:text-is('{term}') + dd")


async def _confirm_shows(page: Any, picked: tuple[str, str, str], locale: str) -> datetime:
    """The confirm page shows the visit Maria chose, in its own words; returns its date."""
    heading, date_text, hhmm = picked
    assert (await _detail(page, "Visit").inner_text()).strip() == FOLLOW_UP
    assert (await _detail(page, "Where").inner_text()).strip() == "Video visit from home"
    assert (await _detail(page, "Therapist").inner_text()).strip() == DANA_NAME
    day_line, time_line = (await _detail(page, "When").inner_text()).strip().split("\n")
    # "Tomorrow, Wednesday 11 March 2026", then "4:45 PM - 5:30 PM" with an en dash (45 minutes).
    match = re.fullmatch(f"{heading}, {date_text} (\\d{{4}})", day_line)
    assert match is not None, (day_line, picked)
    end = _clock(_read_clock(hhmm) + timedelta(minutes=45), locale)
    assert time_line == f"{hhmm} {DASH} {end}", (time_line, picked)
    return datetime.strptime(f"{date_text} {match.group(1)}", "%A %d %B %Y")


def _home_line(day: datetime, hhmm: str) -> str:
    """How the home page lists the visit: "Wed 11 Mar, 4:45 PM · Follow-up visit"."""
    return f"{day:%a %d %b}, {hhmm} · {FOLLOW_UP}"


@pytest.mark.parametrize(("viewport", "locale"), CASES, ids=CASE_IDS)
async def test_maria_books_a_visit_and_finds_it_on_her_home_page(
    live_server: LiveServer, browser: Any, viewport: dict[str, int], locale: str
) -> None:
    context, page = await _new_page(browser, viewport, locale)
    await sign_in(page, live_server.url, *MARIA)
    visits = page.get_by_role("region", name="Your visits", exact=True)
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
    assert await page.get_by_role("heading", name="2. Choose a time").count() == 0

    await _choose_follow_up_with_dana(page, viewport)
    # Her choices are summed up above the times they found; the form itself is folded away.
    chosen = page.get_by_role("region", name=FOLLOW_UP, exact=True)
    assert (await chosen.locator(".chosen-what").inner_text()).strip() == (
        f"Video visit from home · 45 min · {DANA_NAME}"
    )
    assert not await page.get_by_role("button", name="Show free times").is_visible()
    await screenshot(page, f"book-picker-{viewport['width']}")
    picked = await _pick_a_later_time(page, viewport)

    day = await _confirm_shows(page, picked, locale)
    await page.get_by_label("What would you like help with?").fill(REASON)
    confirm = page.get_by_role("button", name="Book this visit")
    await assert_in_viewport(confirm, viewport)
    await screenshot(page, f"book-confirm-chosen-{viewport['width']}")
    await confirm.click()

    await page.wait_for_url(re.compile(r".*/appointments/[0-9a-f-]{36}\?booked=1$"))
    visit_path = page.url.removeprefix(live_server.url).split("?")[0]
    assert (await page.get_by_role("status").inner_text()).strip() == "Your visit is booked."
    await page.get_by_role("heading", name=FOLLOW_UP, level=1).wait_for()
    assert (await _detail(page, "Reason").inner_text()).strip() == REASON
    assert (await _detail(page, "Therapist").inner_text()).strip() == DANA_NAME
    await screenshot(page, f"book-booked-{viewport['width']}")

    await page.get_by_role("link", name="Home", exact=True).click()
    await page.get_by_role("heading", name="Hello, Maria").wait_for()
    visits = page.get_by_role("region", name="Your visits", exact=True)
    booked = visits.get_by_role("link", name=_home_line(day, picked[2]))
    assert await booked.count() == 1, await visits.inner_text()
    assert await booked.get_attribute("href") == visit_path
    assert await visits.get_by_role("link", name=re.compile(FOLLOW_UP)).count() == before + 1
    await context.close()


@pytest.mark.parametrize(("viewport", "locale"), CASES, ids=CASE_IDS)
async def test_a_time_taken_while_maria_confirms_is_refused_in_plain_words(
    live_server: LiveServer, browser: Any, viewport: dict[str, int], locale: str
) -> None:
    context, page = await _new_page(browser, viewport, locale)
    await sign_in(page, live_server.url, *MARIA)
    visits = page.get_by_role("region", name="Your visits", exact=True)
    before = await visits.get_by_role("link", name=re.compile(FOLLOW_UP)).count()
    await visits.get_by_role("link", name="Book a visit").click()
    await _choose_follow_up_with_dana(page, viewport)
    picked = await _pick_a_later_time(page, viewport)
    day = await _confirm_shows(page, picked, locale)
    await page.get_by_label("What would you like help with?").fill(REASON)

    # James has the very same time with Dana open in his own browser and books it first.
    other, james = await _new_page(browser, DESKTOP, "en-US")
    await sign_in(james, live_server.url, *JAMES)
    await james.goto(page.url)
    assert (await _detail(james, "Therapist").inner_text()).strip() == DANA_NAME
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

    # Back at the times: what kind of visit and where are still chosen (summed up above the times,
    # and checked in the folded form), and the time James took is no longer offered.
    await page.get_by_role("heading", name="2. Choose a time").wait_for()
    chosen = page.get_by_role("region", name=FOLLOW_UP, exact=True)
    assert (await chosen.locator(".chosen-what").inner_text()).startswith("Video visit from home ·")
    await _open_more_times(page)
    offered = await _times_of_day(page)
    assert len(offered) > 1 and picked[2] not in offered, (picked, offered)
    await page.get_by_text("Change the visit, place or therapist").click()
    assert await page.get_by_role("radio", name=re.compile(f"^{FOLLOW_UP}")).is_checked()
    assert await page.get_by_role("radio", name="Video visit from home").is_checked()
    # Asking for Dana's times again: the taken time is not among them either.
    await page.get_by_label("Therapist").select_option(label=DANA_NAME)
    await page.get_by_role("button", name="Show free times").click()
    await page.get_by_role("heading", name="2. Choose a time").wait_for()
    await chosen.locator(".chosen-what", has_text=DANA_NAME).wait_for()
    await _open_more_times(page)
    offered = await _times_of_day(page)
    assert len(offered) > 1 and picked[2] not in offered, (picked, offered)

    # Nothing was booked for her: her home page lists the visits she had.
    await page.get_by_role("link", name="Home", exact=True).click()
    await page.get_by_role("heading", name="Hello, Maria").wait_for()
    assert await visits.get_by_role("link", name=_home_line(day, picked[2])).count() == 0
    assert await visits.get_by_role("link", name=re.compile(FOLLOW_UP)).count() == before
    await context.close()
