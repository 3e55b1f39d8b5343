"""The video visit in real Chromium: pre-call check, consent, waiting room, admission, media both
ways, mute and camera state, chat, reload recovery, the end; relay-only through coturn; a stranger
kept out; axe-core on every page of the patient path; screenshots of each step."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.e2e.conftest import (
    DANA,
    DESKTOP,
    PHONE,
    LiveServer,
    admit,
    assert_accessible,
    open_patient,
    open_therapist,
    precall_and_wait,
    screenshot,
    sign_in,
    start_server,
    video_flowing,
)
from tests.services import running_coturn

pytestmark = pytest.mark.browser

JAMES = ("james.chen@demo.clinic", "demo-patient-pass")
TURN_SECRET = "e2e-turn-secret"


async def appointment_as_therapist(server: LiveServer, visit_url: str) -> dict[str, Any]:
    """The visit's appointment, read through the API as the therapist."""
    appointment_id = visit_url.rstrip("/").split("/")[-1].split("?")[0]
    async with aiohttp.ClientSession() as http:
        login = await http.post(
            f"{server.url}/api/v1/auth/login", json={"email": DANA[0], "password": DANA[1]}
        )
        token = (await login.json())["token"]
        answer = await http.get(
            f"{server.url}/api/v1/appointments/{appointment_id}",
            headers={"Authorization": f"Bearer {token}"},
        )
        body: dict[str, Any] = await answer.json()
        return body


async def appointment_status(server: LiveServer, visit_url: str) -> str:
    """The appointment's status."""
    return str((await appointment_as_therapist(server, visit_url))["status"])


async def call_fills_the_screen(page: Any, viewport: dict[str, int]) -> None:
    """The patient's call is the whole screen: the other person's video fills the viewport, no
    site header or menu shows, and every control is on screen without scrolling."""
    width, height = viewport["width"], viewport["height"]
    assert await page.locator(".site-header").is_hidden()
    assert await page.get_by_role("link", name="Sign out").is_hidden()
    remote = await page.locator("#remote-video").bounding_box()
    assert remote is not None
    assert remote["width"] >= width - 1 and remote["height"] >= height - 1, remote
    controls = page.get_by_role("toolbar", name="Call controls").get_by_role("button")
    names = []
    for i in range(await controls.count()):
        control = controls.nth(i)
        if not await control.is_visible():
            continue
        box = await control.bounding_box()
        assert box is not None
        names.append((await control.inner_text()).strip())
        assert box["x"] >= 0 and box["x"] + box["width"] <= width, (names[-1], box)
        assert box["y"] >= 0 and box["y"] + box["height"] <= height, (names[-1], box)
    assert {"Mute", "Camera off", "Messages", "Leave"} <= set(names), names
    own = await page.locator("#self-video").bounding_box()
    assert own is not None and own["y"] >= 0 and own["x"] + own["width"] <= width, own


async def test_a_whole_visit(live_server: LiveServer, browser: Any, axe_source: str) -> None:
    patient_ctx, patient, visit_url = await open_patient(browser, live_server)
    await screenshot(patient, "visit-home-patient-phone")
    await precall_and_wait(patient, axe_source, tag="phone")
    await screenshot(patient, "visit-waiting-phone")
    await assert_accessible(patient, axe_source)

    therapist_ctx, therapist = await open_therapist(browser, live_server, visit_url)
    # The waiting patient shows in the therapist's tab title, seen from any other tab.
    await therapist.wait_for_function("() => document.title.startsWith('(1) waiting · ')")
    # Dana is not ready yet: she tells the waiting room, and Maria reads it where she waits.
    await therapist.get_by_label("Running late by").select_option("10")
    await therapist.get_by_role("button", name="Tell the waiting room").click()
    await patient.get_by_text("Your therapist is running about 10 minutes late.").wait_for()
    await admit(therapist)
    await therapist.wait_for_function("() => !document.title.includes('waiting')")
    await patient.get_by_role("region", name="Video call").wait_for()
    await video_flowing(patient)
    await video_flowing(therapist)
    assert await appointment_status(live_server, visit_url) == "in_progress"
    await screenshot(patient, "visit-call-patient-phone")
    await screenshot(therapist, "visit-call-therapist-desktop")
    await assert_accessible(patient, axe_source)
    await call_fills_the_screen(patient, PHONE)
    # Turned sideways, the call still fills the screen with every control on it.
    sideways = {"width": PHONE["height"], "height": PHONE["width"]}
    await patient.set_viewport_size(sideways)
    await call_fills_the_screen(patient, sideways)
    await screenshot(patient, "visit-call-patient-phone-landscape")
    await patient.set_viewport_size(PHONE)
    # What the page says shows over the picture, on screen, then clears itself.
    await patient.get_by_role("button", name="Switch camera").click()
    said = patient.get_by_role("status").filter(has_text=re.compile("camera"))
    await said.wait_for()
    box = await said.bounding_box()
    assert box is not None and box["y"] >= 0 and box["x"] + box["width"] <= PHONE["width"], box
    await said.wait_for(state="hidden", timeout=15_000)
    # The therapist's End visit is on a 1280x800 screen, beside the note, without scrolling.
    end = await therapist.get_by_role("button", name="End visit").bounding_box()
    assert end is not None and end["y"] + end["height"] <= DESKTOP["height"], end

    # Mute and camera-off show on the other side.
    await therapist.get_by_role("button", name="Mute").click()
    await patient.wait_for_selector("#remote-state:has-text('muted')")
    await therapist.get_by_role("button", name="Camera off").click()
    await patient.wait_for_selector("#remote-state:has-text('camera off')")
    await therapist.get_by_role("button", name="Unmute").click()
    await therapist.get_by_role("button", name="Camera on").click()
    await patient.wait_for_function("() => document.getElementById('remote-state').hidden")

    # Messages: on the full-screen call they open as a sheet over it, and close back to it.
    messages = patient.get_by_role("button", name=re.compile(r"^Messages"))
    await messages.click()
    await patient.get_by_role("textbox", name="Message").fill("My hip feels better today")
    await patient.get_by_role("button", name="Send").click()
    await therapist.wait_for_selector("#chat-log:has-text('My hip feels better today')")
    await screenshot(patient, "visit-call-messages-phone")
    await assert_accessible(patient, axe_source)
    await patient.get_by_role("button", name="Close").click()
    await patient.get_by_role("textbox", name="Message").wait_for(state="hidden")
    # A message sent while the sheet is closed is counted on the button.
    await therapist.get_by_role("textbox", name="Message", exact=True).fill(
        "Great, keep up the bridges"
    )
    await therapist.get_by_role("button", name="Send").click()
    await patient.get_by_role("button", name="Messages (1)").wait_for()
    await patient.get_by_role("button", name="Messages (1)").click()
    await patient.wait_for_selector("#chat-log:has-text('keep up the bridges')")
    await patient.get_by_role("button", name="Close").click()

    # The therapist ends the visit: the patient sees the ended page, the appointment is completed.
    await therapist.get_by_role("button", name="End visit").click()
    await patient.wait_for_url(re.compile(r".*/ended$"), timeout=30_000)
    await patient.get_by_role("heading", name="Your visit has ended").wait_for()
    await screenshot(patient, "visit-ended-phone")
    await assert_accessible(patient, axe_source)
    assert await appointment_status(live_server, visit_url) == "completed"
    await therapist_ctx.close()
    await patient_ctx.close()


async def test_patient_reload_brings_the_video_back(live_server: LiveServer, browser: Any) -> None:
    patient_ctx, patient, visit_url = await open_patient(browser, live_server, DESKTOP)
    await precall_and_wait(patient)
    therapist_ctx, therapist = await open_therapist(browser, live_server, visit_url)
    await admit(therapist)
    await video_flowing(therapist)

    await patient.reload()
    # Back on the page: the check passes, Continue goes straight to the call (consent is on file).
    await patient.wait_for_selector('#camera-result[data-state="pass"]')
    await patient.get_by_role("button", name="Continue").click()
    await patient.wait_for_selector("#step-call:not([hidden])")
    await video_flowing(patient)
    await video_flowing(therapist)  # with nothing done on the therapist's side
    await call_fills_the_screen(patient, DESKTOP)  # on a laptop too
    await screenshot(patient, "visit-call-patient-desktop")
    await therapist_ctx.close()
    await patient_ctx.close()


async def test_a_stranger_cannot_join(live_server: LiveServer, browser: Any) -> None:
    patient_ctx, _, visit_url = await open_patient(browser, live_server)
    await patient_ctx.close()
    context = await browser.new_context()
    page = await context.new_page()
    await sign_in(page, live_server.url, *JAMES)
    response = await page.goto(visit_url)
    assert response is not None and response.status == 404
    appointment_id = visit_url.split("/")[-1]
    ticket = await page.evaluate(
        """async (id) => {
            const token = document.querySelector('meta[name="csrf-token"]').content;
            const r = await fetch(`/api/v1/visits/${id}/ticket`, {method: 'POST', headers: {'X-CSRF-Token': token}});
            return r.status;
        }""",
        appointment_id,
    )
    assert ticket == 404
    await context.close()


@pytest.fixture
async def turn_server(tmp_path: Path) -> AsyncIterator[LiveServer]:
    """The real server configured with a real coturn, both on loopback."""
    with running_coturn(TURN_SECRET) as turn_url:
        server, running = await start_server(
            tmp_path, {"TELEHEALTH_TURN_URLS": turn_url, "TELEHEALTH_TURN_SECRET": TURN_SECRET}
        )
        try:
            yield server
        finally:
            running.stop()


@pytest.mark.coturn
async def test_relay_only_visit_through_coturn(turn_server: LiveServer, browser: Any) -> None:
    patient_ctx, patient, visit_url = await open_patient(browser, turn_server, DESKTOP)
    await patient.goto(visit_url + "?relay=1")
    await precall_and_wait(patient)
    therapist_ctx, therapist = await open_therapist(browser, turn_server, visit_url + "?relay=1")
    await admit(therapist)
    await video_flowing(patient)
    await video_flowing(therapist)
    for page in (patient, therapist):
        diagnostics = await page.evaluate("window.visitDiagnostics()")
        assert diagnostics[0]["local"] == "relay", diagnostics
    await therapist_ctx.close()
    await patient_ctx.close()


async def visit_local_day(server: LiveServer, visit_url: str) -> str:
    """The visit's date on the therapist's (New York) calendar."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    start = datetime.fromisoformat((await appointment_as_therapist(server, visit_url))["start"])
    return start.astimezone(ZoneInfo("America/New_York")).date().isoformat()


async def test_the_agenda_shows_the_waiting_patient_live_and_admits(
    live_server: LiveServer, browser: Any, axe_source: str
) -> None:
    patient_ctx, patient, visit_url = await open_patient(browser, live_server, DESKTOP)
    day = await visit_local_day(live_server, visit_url)
    therapist_ctx = await browser.new_context(viewport=DESKTOP)
    therapist = await therapist_ctx.new_page()
    await sign_in(therapist, live_server.url, *DANA)
    await therapist.goto(f"{live_server.url}/agenda?day={day}")
    row = therapist.locator("li", has_text="Maria Lopez").first
    await row.get_by_text("booked").wait_for()
    await assert_accessible(therapist, axe_source)

    await precall_and_wait(patient)
    # No reload: the agenda learns of the waiting patient by itself.
    admit_link = therapist.get_by_role("link", name="Admit Maria Lopez")
    await admit_link.wait_for(timeout=30_000)
    await row.get_by_text("waiting in the visit room").wait_for()
    await screenshot(therapist, "agenda-patient-waiting-desktop")
    await admit_link.click()
    await therapist.wait_for_selector('#camera-result[data-state="pass"]')
    await therapist.get_by_role("button", name="Continue").click()
    # Coming from "Admit", the room lets the patient in without another click.
    await patient.get_by_role("region", name="Video call").wait_for(timeout=30_000)
    await video_flowing(patient)
    await therapist_ctx.close()
    await patient_ctx.close()


async def test_admit_from_the_agenda_goes_straight_in_after_a_recent_check(
    live_server: LiveServer, browser: Any
) -> None:
    patient_ctx, patient, visit_url = await open_patient(browser, live_server, DESKTOP)
    day = await visit_local_day(live_server, visit_url)
    # Dana checks her devices in the room early, then goes back to her agenda.
    therapist_ctx, therapist = await open_therapist(browser, live_server, visit_url)
    await therapist.goto(f"{live_server.url}/agenda?day={day}")

    await precall_and_wait(patient)
    admit_link = therapist.get_by_role("link", name="Admit Maria Lopez")
    await admit_link.wait_for(timeout=30_000)
    await admit_link.click()
    # No second check and no Continue: the patient is let in, the call is on.
    await patient.get_by_role("region", name="Video call").wait_for(timeout=30_000)
    await therapist.wait_for_selector("#step-call:not([hidden])")
    assert await therapist.locator("#step-check").is_hidden()
    await video_flowing(patient)
    await therapist_ctx.close()
    await patient_ctx.close()


async def focus_by_tab(page: Any, name: str, limit: int = 60) -> None:
    """Press Tab until the focused element's accessible text is `name` (keyboard only)."""
    for _ in range(limit):
        await page.keyboard.press("Tab")
        label = await page.evaluate(
            "() => { const e = document.activeElement; return e ? (e.getAttribute('aria-label') || e.innerText || e.value || '').trim() : ''; }"
        )
        if label == name:
            return
    raise AssertionError(f"{name!r} is not reachable with the Tab key")


async def test_the_patient_path_works_with_the_keyboard_alone(
    live_server: LiveServer, browser: Any
) -> None:
    patient_ctx, patient, _ = await open_patient(browser, live_server, DESKTOP)
    await patient.wait_for_selector('#camera-result[data-state="pass"]')
    await focus_by_tab(patient, "Play a test sound")
    await patient.keyboard.press("Enter")
    await focus_by_tab(patient, "I heard it")
    await patient.keyboard.press("Enter")
    await patient.wait_for_selector('#speaker-result[data-state="pass"]')
    await focus_by_tab(patient, "Continue")
    await patient.keyboard.press("Enter")
    await patient.get_by_role("heading", name="Consent to physical therapy by video").wait_for()
    await patient.keyboard.press("Tab")  # the checkbox follows the consent text
    await patient.keyboard.press("Space")
    await focus_by_tab(patient, "Agree and continue")
    await patient.keyboard.press("Enter")
    await patient.get_by_role("heading", name="You are in the waiting room").wait_for()
    # Focus moved to the new step's heading, so a screen reader announces where the person is.
    focused = await patient.evaluate("document.activeElement.textContent")
    assert focused == "You are in the waiting room"
    await patient_ctx.close()


async def test_a_blocked_camera_is_explained(live_server: LiveServer, chromium_path: str) -> None:
    from playwright.async_api import async_playwright

    from tests.e2e.conftest import CHROMIUM_ARGS

    # Without the flag that auto-accepts the permission prompt, headless Chromium denies it.
    args = [a for a in CHROMIUM_ARGS if a != "--use-fake-ui-for-media-stream"]
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=chromium_path, headless=True, args=args
        )
        try:
            context, page, _ = await open_patient(browser, live_server, PHONE)
            alert = page.get_by_role("alert")
            await alert.wait_for()
            text = await alert.inner_text()
            assert "blocking the camera or microphone" in text and "Allow" in text
            await page.wait_for_selector('#camera-result[data-state="fail"]')
            await screenshot(page, "visit-camera-blocked-phone")
            await context.close()
        finally:
            await browser.close()


async def _frames_and_bytes(page: Any) -> tuple[int, int]:
    figures = await page.evaluate("window.visitDiagnostics()")
    assert figures, "no peer connection"
    return int(figures[0]["framesDecoded"]), int(figures[0]["bytesReceived"])


async def _video_paused_voice_flowing(page: Any) -> None:
    """No new video frame for two seconds, while bytes (the audio) keep arriving."""
    await page.wait_for_timeout(1500)  # frames already in flight are decoded first
    frames, received = await _frames_and_bytes(page)
    await page.wait_for_timeout(2000)
    frames_later, received_later = await _frames_and_bytes(page)
    assert frames_later == frames, (frames, frames_later)
    assert received_later > received, (received, received_later)


async def _video_resumes(page: Any) -> None:
    """New video frames are decoded again within 20 s."""
    frames, _ = await _frames_and_bytes(page)
    for _ in range(40):
        await page.wait_for_timeout(500)
        if (await _frames_and_bytes(page))[0] > frames + 10:
            return
    raise AssertionError(f"no new video frames after {frames}")


async def test_audio_only_pauses_the_video_both_ways_and_keeps_the_voices(
    live_server: LiveServer, browser: Any
) -> None:
    patient_ctx, patient, visit_url = await open_patient(browser, live_server)
    await precall_and_wait(patient)
    therapist_ctx, therapist = await open_therapist(browser, live_server, visit_url)
    await admit(therapist)
    await video_flowing(patient)
    await video_flowing(therapist)

    # Maria's line is poor: she switches to audio only, and neither side sends video.
    await patient.get_by_role("button", name="Audio only").click()
    await therapist.get_by_text("Audio only: video is paused on both sides.").wait_for()
    back_on = therapist.get_by_role("button", name="Video on")
    assert await back_on.get_attribute("aria-pressed") == "true"
    await _video_paused_voice_flowing(patient)
    await _video_paused_voice_flowing(therapist)
    await screenshot(patient, "visit-audio-only-phone")

    # Dana switches video back on for both.
    await back_on.click()
    await patient.get_by_role("button", name="Audio only").wait_for()
    await _video_resumes(patient)
    await _video_resumes(therapist)
    await therapist_ctx.close()
    await patient_ctx.close()
