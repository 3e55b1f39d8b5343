"""Dana's agenda tells her the moment Maria enters the waiting room, though she is looking at
another tab or program: the server pushes the change, the agenda chimes, counts the waiting in its
title, offers "Admit" and (when she asked for it) shows a desktop notification."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.conftest import (
    DANA,
    DESKTOP,
    PHONE,
    LiveServer,
    assert_in_viewport,
    open_patient,
    precall_and_wait,
    screenshot,
    sign_in,
)
from tests.e2e.test_visit import visit_local_day
from tests.e2e.test_visit_workspace import RECORD_NOTIFICATIONS

pytestmark = pytest.mark.browser

# Headless Chromium keeps every page "visible" whatever is done to it, so the page is made to
# report hidden as a browser does for a background tab, and the event is fired. From then on the
# agenda's own poll stands still (it polls only while visible): only the push can tell it.
HIDE_THE_PAGE = """() => {
    Object.defineProperty(document, "visibilityState", { configurable: true, get: () => "hidden" });
    Object.defineProperty(document, "hidden", { configurable: true, get: () => true });
    document.dispatchEvent(new Event("visibilitychange"));
}"""


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["laptop", "phone"])
async def test_the_agenda_in_a_background_tab_hears_the_patient_arrive(
    live_server: LiveServer, browser: Any, viewport: dict[str, int]
) -> None:
    patient_ctx, patient, visit_url = await open_patient(browser, live_server, DESKTOP)
    day = await visit_local_day(live_server, visit_url)
    context = await browser.new_context(viewport=viewport)
    await context.add_init_script(RECORD_NOTIFICATIONS)
    await context.grant_permissions(["notifications"], origin=live_server.url)
    therapist = await context.new_page()
    await sign_in(therapist, live_server.url, *DANA)
    await therapist.goto(f"{live_server.url}/agenda?day={day}")
    row = therapist.locator("li", has_text="Maria Lopez").first
    await row.get_by_text("booked").wait_for()
    title = await therapist.title()
    assert not title.startswith("(")

    notify = therapist.get_by_role("button", name="Notify me on this computer")
    await assert_in_viewport(notify, viewport)
    await notify.click()
    await therapist.get_by_text("a notification shows when a patient arrives").wait_for()
    await therapist.evaluate(HIDE_THE_PAGE)

    await precall_and_wait(patient)
    admit_link = therapist.get_by_role("link", name="Admit Maria Lopez")
    await admit_link.wait_for(timeout=30_000)
    await row.get_by_text("waiting in the visit room").wait_for()
    await therapist.wait_for_function("() => document.title.startsWith('(1) waiting · ')")
    await therapist.wait_for_function("() => window.__notifications.length === 1")
    made = await therapist.evaluate("window.__notifications")
    assert made == [{"title": "Waiting room", "body": "Maria is in the waiting room."}], made
    await therapist.get_by_role("status").filter(has_text="Maria Lopez").wait_for()
    await screenshot(therapist, f"agenda-arrival-{'phone' if viewport is PHONE else 'laptop'}")
    await admit_link.scroll_into_view_if_needed()
    await assert_in_viewport(admit_link, viewport)
    await context.close()
    await patient_ctx.close()
