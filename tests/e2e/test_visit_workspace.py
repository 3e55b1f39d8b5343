"""The therapist's visit workspace in real Chromium: the movable line between the video and the
note (mouse, keyboard, remembered after a reload, hidden on a phone) and the opt-in desktop
notification when a patient arrives while the visit tab is hidden."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.conftest import (
    DANA,
    DESKTOP,
    PHONE,
    LiveServer,
    admit,
    open_patient,
    open_therapist,
    precall_and_wait,
    screenshot,
    sign_in,
    video_flowing,
)

pytestmark = pytest.mark.browser

# Headless Chromium shows no notification anyone could see, so the test stands in for the
# browser's own notification UI: the page's Notification is wrapped to record each one made, then
# handed to the real constructor. The application's code is not touched.
RECORD_NOTIFICATIONS = """
(() => {
  const Real = window.Notification;
  if (!Real) return;
  window.__notifications = [];
  function Recorded(title, options) {
    window.__notifications.push({ title, body: (options || {}).body || "" });
    return new Real(title, options);
  }
  Object.defineProperty(Recorded, "permission", { get: () => Real.permission });
  Recorded.requestPermission = (...args) => Real.requestPermission(...args);
  Recorded.prototype = Real.prototype;
  window.Notification = Recorded;
})();
"""


async def note_width(page: Any) -> float:
    box = await page.locator("#note-panel").bounding_box()
    assert box is not None
    return float(box["width"])


async def frames_decoded(page: Any) -> int:
    figures = await page.evaluate("window.visitDiagnostics()")
    assert figures, "no peer connection"
    return int(figures[0]["framesDecoded"])


async def assert_inside(page: Any, locator: Any, viewport: dict[str, int]) -> None:
    box = await locator.bounding_box()
    assert box is not None
    assert box["x"] >= 0 and box["x"] + box["width"] <= viewport["width"], box
    assert box["y"] >= 0 and box["y"] + box["height"] <= viewport["height"], box


async def test_the_line_between_video_and_note_moves_and_is_remembered(
    live_server: LiveServer, browser: Any
) -> None:
    patient_ctx, patient, visit_url = await open_patient(browser, live_server)
    await precall_and_wait(patient)
    therapist_ctx, therapist = await open_therapist(browser, live_server, visit_url)
    await admit(therapist)
    await video_flowing(therapist)

    separator = therapist.get_by_role("separator", name="Width of the video and the note")
    await separator.wait_for()
    assert await separator.get_attribute("aria-orientation") == "vertical"
    await assert_inside(therapist, separator, DESKTOP)
    await assert_inside(therapist, therapist.get_by_role("button", name="End visit"), DESKTOP)
    frames = await frames_decoded(therapist)

    # Dragged 120px to the left with the mouse: the note is about 120px wider.
    before = await note_width(therapist)
    box = await separator.bounding_box()
    assert box is not None
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    await therapist.mouse.move(x, y)
    await therapist.mouse.down()
    for step in range(1, 7):
        await therapist.mouse.move(x - 20 * step, y)
    await therapist.mouse.up()
    dragged = await note_width(therapist)
    assert abs(dragged - before - 120) <= 3, (before, dragged)

    # The keyboard: the focused separator moves by a step each way, and to its limits.
    await separator.focus()
    value = int(await separator.get_attribute("aria-valuenow") or 0)
    await therapist.keyboard.press("ArrowLeft")
    assert int(await separator.get_attribute("aria-valuenow") or 0) < value
    assert await note_width(therapist) > dragged
    await therapist.keyboard.press("ArrowRight")
    await therapist.keyboard.press("ArrowRight")
    assert int(await separator.get_attribute("aria-valuenow") or 0) > value
    assert await note_width(therapist) < dragged
    await therapist.keyboard.press("Home")
    assert await separator.get_attribute("aria-valuenow") == await separator.get_attribute(
        "aria-valuemin"
    )
    widest_note = await note_width(therapist)
    await therapist.keyboard.press("End")
    assert await separator.get_attribute("aria-valuenow") == await separator.get_attribute(
        "aria-valuemax"
    )
    # At either limit the video's controls and the note's fields keep a usable width.
    assert 18 * 18 - 1 <= await note_width(therapist) < widest_note
    await assert_inside(therapist, therapist.get_by_role("button", name="End visit"), DESKTOP)
    await assert_inside(therapist, separator, DESKTOP)
    await therapist.keyboard.press("ArrowLeft")
    kept_value = await separator.get_attribute("aria-valuenow")
    kept_width = await note_width(therapist)
    await screenshot(therapist, "visit-workspace-resized-desktop")

    # The video played on through all of it.
    assert await frames_decoded(therapist) > frames
    await video_flowing(therapist)

    # Reloaded, the page lays the columns out as they were left.
    await therapist.reload()
    await therapist.wait_for_selector('#camera-result[data-state="pass"]')
    await therapist.get_by_role("button", name="Continue").click()
    await separator.wait_for()
    assert await separator.get_attribute("aria-valuenow") == kept_value
    assert abs(await note_width(therapist) - kept_width) <= 1, kept_width
    await video_flowing(therapist)
    await therapist_ctx.close()
    await patient_ctx.close()


async def test_no_separator_on_a_phone(live_server: LiveServer, browser: Any) -> None:
    patient_ctx, patient, visit_url = await open_patient(browser, live_server)
    await precall_and_wait(patient)
    therapist_ctx, therapist = await open_therapist(browser, live_server, visit_url, PHONE)
    await admit(therapist)
    await patient.get_by_role("region", name="Video call").wait_for()
    assert await therapist.locator("#split").count() == 1
    assert await therapist.get_by_role("separator").count() == 0
    assert await therapist.locator("#split").is_hidden()
    # Nor on the patient's full-screen call.
    assert await patient.locator("#split").count() == 0
    await therapist_ctx.close()
    await patient_ctx.close()


async def therapist_in_the_room(
    browser: Any, server: LiveServer, visit_url: str, permission: str
) -> tuple[Any, Any]:
    """Dana in her visit room before Maria arrives, with the notification permission as given."""
    context = await browser.new_context(viewport=DESKTOP)
    await context.add_init_script(RECORD_NOTIFICATIONS)
    if permission == "granted":
        await context.grant_permissions(["notifications"], origin=server.url)
    page = await context.new_page()
    await sign_in(page, server.url, *DANA)
    await page.goto(visit_url)
    await page.wait_for_selector('#camera-result[data-state="pass"]')
    await page.get_by_role("button", name="Continue").click()
    await page.wait_for_selector("#step-call:not([hidden])")
    if permission == "denied":
        # Refused once the page is open, as a therapist answering the browser's prompt would.
        cdp = await context.new_cdp_session(page)
        await cdp.send(
            "Browser.setPermission",
            {"permission": {"name": "notifications"}, "setting": "denied", "origin": server.url},
        )
    return context, page


async def test_a_notification_when_a_patient_arrives_in_a_hidden_tab(
    live_server: LiveServer, browser: Any
) -> None:
    patient_ctx, patient, visit_url = await open_patient(browser, live_server)
    therapist_ctx, therapist = await therapist_in_the_room(
        browser, live_server, visit_url, "granted"
    )
    # Nothing is asked or shown on page load.
    notify = therapist.get_by_role("button", name="Notify me on this computer")
    assert await notify.get_attribute("aria-pressed") == "false"
    await notify.click()
    assert await notify.get_attribute("aria-pressed") == "true"
    await therapist.get_by_text("a notification shows when a patient arrives").wait_for()

    # Dana turns to another program. Headless Chromium keeps every page "visible" whatever is
    # done to it (checked: another tab brought to the front, a tab activated over CDP, the window
    # minimized), so the test makes the page report hidden, as a browser does, and fires the event.
    await therapist.evaluate(
        """() => {
            Object.defineProperty(document, "visibilityState", { configurable: true, get: () => "hidden" });
            Object.defineProperty(document, "hidden", { configurable: true, get: () => true });
            document.dispatchEvent(new Event("visibilitychange"));
        }"""
    )
    await precall_and_wait(patient)
    await therapist.wait_for_function("() => document.title.startsWith('(1) waiting · ')")
    await therapist.wait_for_function("() => window.__notifications.length === 1")
    made = await therapist.evaluate("window.__notifications")
    assert made == [{"title": "Waiting room", "body": "Maria is in the waiting room."}], made
    # Her first name only: no surname, nothing about the visit.
    assert "Lopez" not in str(made)

    await screenshot(therapist, "visit-notify-on-desktop")
    await therapist_ctx.close()
    await patient_ctx.close()


async def test_a_refused_notification_permission_is_said_in_words(
    live_server: LiveServer, browser: Any
) -> None:
    patient_ctx, _, visit_url = await open_patient(browser, live_server)
    therapist_ctx, therapist = await therapist_in_the_room(
        browser, live_server, visit_url, "denied"
    )
    notify = therapist.get_by_role("button", name="Notify me on this computer")
    words = therapist.get_by_text("Notifications are blocked for this site.")
    assert await words.count() == 0
    await notify.click()
    await words.wait_for()
    assert await notify.get_attribute("aria-pressed") == "false"
    await therapist_ctx.close()
    await patient_ctx.close()
