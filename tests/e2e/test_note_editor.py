"""The visit note editor in real Chromium, from both places it is mounted (its own page, and beside
the video in the visit room), on a laptop and a phone: every section, a sided diagnosis, every
technique a daily note can take, a home program, "Saved", signed without a reload, an addendum;
then what the patient sees. Also the save-while-signing race, and two tabs on one note."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Route, expect

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
    waiting_patient,
)

pytestmark = pytest.mark.browser
# Waits for what a person sees are upper bounds, generous for a loaded machine; none measures speed.
expect.set_options(timeout=60_000)

CATALOG = Path(__file__).resolve().parents[2] / "telehealth" / "catalog" / "data"
VIEWPORTS = [pytest.param(DESKTOP, id="laptop"), pytest.param(PHONE, id="phone")]
# A daily note takes every technique but the evaluations (those belong to evaluation notes).
EVALUATION_CPTS = {"97161", "97162", "97163", "97164"}
DIAGNOSIS = ("M16.11", "right")
HOME_EXERCISES = ("bridge", "clamshell")


def _catalog(name: str) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = json.loads((CATALOG / f"{name}.json").read_text())[name]
    return entries


TECHNIQUES = {t["id"]: t for t in _catalog("techniques")}
EXERCISES = {e["id"]: e for e in _catalog("exercises")}
CONDITION = next(
    c for c in _catalog("conditions") if any(k["code"] == DIAGNOSIS[0] for k in c["codes"])
)


@dataclass(frozen=True)
class Editor:
    """The editor as mounted on one page: the page and the element it lives in."""

    page: Any
    panel: Any

    @property
    def state(self) -> Any:
        """The save state ("Saved", "Unsaved changes…", ...)."""
        return self.panel.locator(".save-state")

    async def saved(self) -> None:
        """Wait until the editor says the server holds what is shown."""
        await expect(self.state).to_have_text("Saved")

    def group(self, name: str) -> Any:
        """A fieldset of the editor by its legend."""
        return self.panel.get_by_role("group", name=name, exact=True)

    def line(self, group: str, index: int) -> Any:
        """The index-th row of a group (technique line, exercise row, diagnosis)."""
        return self.group(group).locator(":scope > .line").nth(index)


# --- filling the note, as a therapist does ---------------------------------------------------------


async def fill_sections(editor: Editor, tag: str) -> None:
    """Subjective, objective, assessment, plan, pain and the message for the patient."""
    panel = editor.panel
    await panel.get_by_label("Subjective", exact=True).fill(
        f"Right hip pain when climbing stairs ({tag})."
    )
    await panel.get_by_label("Objective", exact=True).fill(
        "Hip flexion 95 degrees, painful at end range."
    )
    await panel.get_by_label("Assessment", exact=True).fill(
        "Findings fit early hip osteoarthritis."
    )
    await panel.get_by_label("Plan", exact=True).fill("Twice a week for four weeks.")
    await panel.get_by_label("Pain at start (0\u201310)").fill("6")
    await panel.get_by_label("Pain at end (0\u201310)").fill("3")
    await panel.get_by_label("Message for the patient").fill("Keep walking a little every day.")


async def add_diagnosis(editor: Editor) -> None:
    """One diagnosis with its side."""
    code, side = DIAGNOSIS
    await editor.panel.get_by_role("button", name="Add diagnosis").click()
    row = editor.line("Diagnoses", 0)
    box = row.get_by_role("combobox", name="ICD-10-CM code")
    await box.fill(code)
    await row.get_by_role("option", name=re.compile("^" + re.escape(code) + r"\b")).first.click()
    await row.get_by_label("Side", exact=True).select_option(value=side)


async def add_exercise_row(editor: Editor, row_group: Any, index: int, exercise_id: str) -> Any:
    """Add an exercise row inside a group and choose the exercise; returns the row."""
    await row_group.get_by_role("button", name="Add exercise").click()
    row = row_group.locator(":scope > .line").nth(index)
    await row.get_by_label("Exercise", exact=True).select_option(
        label=EXERCISES[exercise_id]["name"]
    )
    return row


async def _exercise(editor: Editor, line: Any) -> None:
    group = line.get_by_role("group", name="Exercises performed (required)")
    row = await add_exercise_row(editor, group, 0, "bird-dog")
    await row.get_by_label("Sets", exact=True).fill("3")
    await row.get_by_label("Reps", exact=True).fill("12")


async def _neuromuscular(editor: Editor, line: Any) -> None:
    await line.get_by_label("Focus (required)").select_option("balance")
    group = line.get_by_role("group", name="Exercises performed", exact=True)
    row = await add_exercise_row(editor, group, 0, "dead-bug")
    await row.get_by_label("Reps", exact=True).fill("8")


async def _activities(editor: Editor, line: Any) -> None:
    await line.get_by_label("Functional activities (required)").fill("sit to stand\nstairs")


async def _self_care(editor: Editor, line: Any) -> None:
    await line.get_by_label("Topics covered (required)").fill("sleeping position")


async def _manual(editor: Editor, line: Any) -> None:
    await line.get_by_label("Technique used (required)").fill("soft tissue massage of the hip")


async def _joint(editor: Editor, line: Any) -> None:
    await line.get_by_label("Joint or segment (required)").select_option("hip")
    await line.get_by_label("Maitland grade (required)").select_option("III")
    await line.get_by_label("Direction or technique").fill("posterior glide")


async def _myofascial(editor: Editor, line: Any) -> None:
    muscles = line.get_by_role("group", name="Muscles treated (required)")
    await muscles.get_by_label("piriformis").check()
    await muscles.get_by_label("gluteus medius").check()


async def _iastm(editor: Editor, line: Any) -> None:
    await line.get_by_label("Instrument (required)").select_option("stainless steel edge tool")
    await line.get_by_label("Area treated (required)").fill("lateral thigh")


async def _group(editor: Editor, line: Any) -> None:
    await line.get_by_label("Patients in the group (required)").fill("3")


# What the signed view says of the parameters filled in above, one phrase each.
SIGNED_PARAMETERS = (
    "Bird dog, 3 sets of 12 repetitions",
    "Focus: balance",
    "Dead bug,",
    "of 8 repetitions",
    "Functional activities: sit to stand, stairs",
    "Topics covered: sleeping position",
    "Technique used: soft tissue massage of the hip",
    "Joint or segment: hip",
    "Maitland grade: III",
    "Direction or technique: posterior glide",
    "Muscles treated: piriformis, gluteus medius",
    "Instrument: stainless steel edge tool",
    "Area treated: lateral thigh",
    "Patients in the group: 3",
)

FILL: dict[str, Callable[[Editor, Any], Awaitable[None]]] = {
    "therapeutic-exercise": _exercise,
    "neuromuscular-reeducation": _neuromuscular,
    "therapeutic-activities": _activities,
    "self-care-training": _self_care,
    "manual-therapy": _manual,
    "joint-mobilization": _joint,
    "myofascial-release": _myofascial,
    "iastm": _iastm,
    "group-therapy": _group,
}


def test_every_technique_a_daily_note_takes_is_filled() -> None:
    daily = {t for t, entry in TECHNIQUES.items() if entry["cpt"] not in EVALUATION_CPTS}
    assert set(FILL) == daily


async def add_technique(editor: Editor, index: int, technique_id: str, by_keyboard: bool) -> None:
    """Add a technique line (button or Alt+T), choose it, set minutes and its parameters."""
    technique = TECHNIQUES[technique_id]
    if by_keyboard:
        await editor.panel.get_by_label("Plan", exact=True).focus()
        await editor.page.keyboard.press("Alt+T")
        # The shortcut puts the keyboard on the new line's technique picker.
        await expect(
            editor.line("Techniques performed", index).get_by_label("Technique", exact=True)
        ).to_be_focused()
    else:
        await editor.panel.get_by_role("button", name="Add technique").click()
    line = editor.line("Techniques performed", index)
    await line.get_by_label("Technique", exact=True).select_option(
        label=f"{technique['cpt']} {technique['name']}"
    )
    # The closed picker may cut a long name; the choice is spelled out in full under it.
    await expect(line.locator(".picked")).to_have_text(f"{technique['cpt']} {technique['name']}")
    await line.get_by_label("Region", exact=True).select_option(label="Hip")
    await line.get_by_label("Minutes", exact=True).fill("8")
    await FILL[technique_id](editor, line)


async def fill_note(editor: Editor, tag: str) -> None:
    """Every section, a sided diagnosis, every technique, a home program."""
    await fill_sections(editor, tag)
    # A video visit: the patient took it at work, not at home (place of service 02, not 10).
    await editor.panel.get_by_label("Where the patient was").select_option(value="other")
    await add_diagnosis(editor)
    for index, technique_id in enumerate(FILL):
        await add_technique(editor, index, technique_id, by_keyboard=index % 3 == 1)
    home = editor.group("Home exercise program")
    for index, exercise_id in enumerate(HOME_EXERCISES):
        row = await add_exercise_row(editor, home, index, exercise_id)
        await row.get_by_label("Sets", exact=True).fill("2")
        await row.get_by_label("Note for the patient").fill(f"Slowly, {exercise_id}")


async def assert_fits(page: Any, name: str) -> None:
    """No horizontal scrolling; the Sign button is inside the viewport once scrolled to."""
    scroll = await page.evaluate("[document.documentElement.scrollWidth, innerWidth]")
    assert scroll[0] <= scroll[1], f"{name}: page scrolls sideways ({scroll[0]} > {scroll[1]})"
    sign = page.get_by_role("button", name="Sign note")
    await sign.scroll_into_view_if_needed()
    box = await sign.bounding_box()
    size = page.viewport_size
    assert box is not None
    assert box["x"] >= 0 and box["y"] >= 0, box
    assert box["x"] + box["width"] <= size["width"], (box, size)
    assert box["y"] + box["height"] <= size["height"], (box, size)


async def sign_and_addend(editor: Editor, tag: str) -> None:
    """Sign without reloading, check the signed view, add an addendum."""
    panel = editor.panel
    await editor.saved()
    await expect(panel.get_by_text("Ready to sign.")).to_be_visible()
    await panel.get_by_role("button", name="Sign note").click()
    await shows_signed(panel)
    await expect(panel.get_by_text("Save the note before signing it.")).to_have_count(0)
    signed = panel.get_by_role("heading", name="Signed note").locator("xpath=..")
    await expect(signed).to_contain_text(DIAGNOSIS[0])
    await expect(panel.get_by_role("region", name="Billing")).to_contain_text("place of service 02")
    for technique_id in FILL:
        await expect(signed).to_contain_text(TECHNIQUES[technique_id]["name"])
    for phrase in SIGNED_PARAMETERS:
        await expect(signed).to_contain_text(phrase)
    await panel.get_by_label("Reason", exact=True).fill("Late entry")
    await panel.get_by_label("Addendum", exact=True).fill(
        f"Patient called back: less pain ({tag})."
    )
    await panel.get_by_role("button", name="Add addendum").click()
    await expect(panel.get_by_text(f"Patient called back: less pain ({tag}).")).to_be_visible()


async def shows_signed(panel: Any) -> None:
    """The editor shows the signed note with its verified signature."""
    await expect(panel.get_by_role("region", name="Signed note")).to_be_visible()
    await expect(panel.get_by_text("✓ Verified", exact=True)).to_be_visible()


async def patient_sees(page: Any, base_url: str, appointment_id: str) -> None:
    """The patient's summary and exercises show the signed note in plain words."""
    await page.goto(f"{base_url}/visits/{appointment_id}/summary")
    found = page.get_by_role("region", name="What we found")
    await expect(found).to_contain_text(CONDITION["plain_name"])
    await expect(found).to_contain_text("right side")
    done = page.get_by_role("region", name="What we did")
    for technique_id in FILL:
        await expect(done).to_contain_text(TECHNIQUES[technique_id]["plain_name"])
    home = page.get_by_role("region", name="Your home exercises")
    for exercise_id in HOME_EXERCISES:
        await expect(
            home.get_by_role("heading", name=EXERCISES[exercise_id]["name"])
        ).to_be_visible()
    await expect(page.get_by_text(DIAGNOSIS[0])).to_have_count(0)  # no codes for the patient
    await page.goto(f"{base_url}/my/exercises")
    for exercise_id in HOME_EXERCISES:
        heading = page.get_by_role("heading", name=EXERCISES[exercise_id]["name"])
        await expect(heading).to_be_visible()
        await expect(page.get_by_text(f"Slowly, {exercise_id}")).to_be_visible()


def accept_dialogs(page: Any) -> None:
    """Answer the "Sign this note?" confirmation with OK."""
    page.on("dialog", lambda dialog: asyncio.ensure_future(dialog.accept()))


async def note_page(
    browser: Any, server: LiveServer, appointment_id: str, viewport: dict[str, int]
) -> tuple[Any, Editor]:
    """Dana opens the visit's note page; returns her context and the editor."""
    context = await browser.new_context(viewport=viewport)
    page = await context.new_page()
    accept_dialogs(page)
    await sign_in(page, server.url, *DANA)
    await page.goto(f"{server.url}/visits/{appointment_id}/note")
    editor = Editor(page, page.locator("[data-note-panel]"))
    await editor.panel.get_by_label("Subjective", exact=True).wait_for()
    return context, editor


async def another_tab(context: Any, server: LiveServer, appointment_id: str) -> Editor:
    """The same note in a second tab of the same browser."""
    page = await context.new_page()
    accept_dialogs(page)
    await page.goto(f"{server.url}/visits/{appointment_id}/note")
    editor = Editor(page, page.locator("[data-note-panel]"))
    await editor.panel.get_by_label("Subjective", exact=True).wait_for()
    return editor


def size_name(viewport: dict[str, int]) -> str:
    """phone or laptop, for screenshot names."""
    return "phone" if viewport == PHONE else "laptop"


# --- the two mounts --------------------------------------------------------------------------------


@pytest.mark.parametrize("viewport", VIEWPORTS)
async def test_the_note_page_signs_a_full_note(
    live_server: LiveServer, browser: Any, viewport: dict[str, int]
) -> None:
    patient_ctx, patient, appointment_id = await waiting_patient(browser, live_server, viewport)

    therapist_ctx, editor = await note_page(browser, live_server, appointment_id, viewport)
    await expect(editor.panel.get_by_text("Alt+T")).to_be_visible()  # the shortcuts are shown
    await fill_note(editor, "page")
    await editor.saved()
    await assert_fits(editor.page, "note page")
    await screenshot(editor.page, f"note-page-filled-{size_name(viewport)}")
    await sign_and_addend(editor, "page")
    await assert_no_sideways_scroll(editor.page)
    await screenshot(editor.page, f"note-page-signed-{size_name(viewport)}")

    await patient_sees(patient, live_server.url, appointment_id)
    await screenshot(patient, f"note-summary-patient-{size_name(viewport)}")
    await therapist_ctx.close()
    await patient_ctx.close()


@pytest.mark.parametrize("viewport", VIEWPORTS)
async def test_the_panel_beside_the_video_signs_a_full_note(
    live_server: LiveServer, browser: Any, viewport: dict[str, int]
) -> None:
    patient_ctx, patient, visit_url = await open_patient(browser, live_server, viewport)
    appointment_id = visit_url.rstrip("/").split("/")[-1].split("?")[0]
    await precall_and_wait(patient)
    therapist_ctx, therapist = await open_therapist(browser, live_server, visit_url, viewport)
    await admit(therapist)
    await video_flowing(therapist)

    # Two pages encoding and decoding video on a shared 2-core machine answer input slowly; the
    # wait is an upper bound for each step, not a measure of anything.
    therapist.set_default_timeout(120_000)
    editor = Editor(therapist, therapist.locator("#note-panel-body"))
    await editor.panel.get_by_label("Subjective", exact=True).wait_for()
    await fill_note(editor, "visit room")
    await editor.saved()
    await assert_fits(therapist, "visit room")
    await screenshot(therapist, f"note-visit-room-filled-{size_name(viewport)}")
    await sign_and_addend(editor, "visit room")
    # Still in the call: signing happened beside the running video.
    await expect(therapist.locator("#step-call")).to_be_visible()
    await screenshot(therapist, f"note-visit-room-signed-{size_name(viewport)}")

    summary = await patient_ctx.new_page()
    await patient_sees(summary, live_server.url, appointment_id)
    await therapist_ctx.close()
    await patient_ctx.close()


async def assert_no_sideways_scroll(page: Any) -> None:
    """document.documentElement.scrollWidth fits the viewport."""
    scroll = await page.evaluate("[document.documentElement.scrollWidth, innerWidth]")
    assert scroll[0] <= scroll[1], scroll


# --- the race that broke signing, and two tabs --------------------------------------------------------


async def signable(editor: Editor) -> None:
    """The least a note needs before it may be signed, with one technique that has parameters."""
    await fill_sections(editor, "short")
    await add_diagnosis(editor)
    await add_technique(editor, 0, "therapeutic-exercise", by_keyboard=False)


@pytest.mark.parametrize("viewport", VIEWPORTS)
async def test_signing_while_an_autosave_is_on_its_way(
    live_server: LiveServer, browser: Any, viewport: dict[str, int]
) -> None:
    patient_ctx, _patient, appointment_id = await waiting_patient(browser, live_server, viewport)
    therapist_ctx, editor = await note_page(browser, live_server, appointment_id, viewport)
    await signable(editor)
    await editor.saved()

    # Hold the next autosave on the network, as a slow connection would, while the therapist
    # types again and signs with the keyboard.
    held: asyncio.Future[Route] = asyncio.get_running_loop().create_future()

    async def hold(route: Route) -> None:
        # Only the first save is held; every request after it goes through.
        if route.request.method == "PUT" and not held.done():
            held.set_result(route)
        else:
            await route.continue_()

    pattern = re.compile(rf".*/api/v1/appointments/{appointment_id}/note$")
    await editor.page.route(pattern, hold)
    plan = editor.panel.get_by_label("Plan", exact=True)
    await plan.fill("Twice a week for four weeks. Review in two weeks.")
    await expect(editor.state).to_have_text("Saving…")
    first = await held
    await plan.press("End")
    await plan.press_sequentially(" Walk daily.")
    await plan.press("Control+Enter")
    await first.continue_()
    await editor.page.unroute(pattern)
    # The change typed during the held save is saved too, then the note is signed.
    await shows_signed(editor.panel)
    signed = editor.panel.get_by_role("heading", name="Signed note").locator("xpath=..")
    await expect(signed).to_contain_text("Review in two weeks. Walk daily.")
    await expect(editor.panel.get_by_text("Save the note before signing it.")).to_have_count(0)
    await therapist_ctx.close()
    await patient_ctx.close()


@pytest.mark.parametrize("viewport", VIEWPORTS)
async def test_two_tabs_on_one_note(
    live_server: LiveServer, browser: Any, viewport: dict[str, int]
) -> None:
    patient_ctx, _patient, appointment_id = await waiting_patient(browser, live_server, viewport)
    therapist_ctx, first = await note_page(browser, live_server, appointment_id, viewport)
    await signable(first)
    await first.saved()
    second = await another_tab(therapist_ctx, live_server, appointment_id)
    await expect(second.panel.get_by_label("Plan", exact=True)).to_have_value(
        "Twice a week for four weeks."
    )

    # The first tab saves a change; the second, still on the older version, saves its own.
    await first.panel.get_by_label("Objective", exact=True).fill("Hip flexion 100 degrees.")
    await first.saved()
    await second.panel.get_by_label("Plan", exact=True).fill("Three times a week.")
    conflict = second.panel.get_by_role("alert").filter(has_text="changed in another window")
    await expect(conflict).to_be_visible()
    await second.panel.get_by_role("button", name="Keep my version").click()
    await second.saved()

    # The first tab, with nothing unsaved, signs: it follows the second tab's version first.
    await first.panel.get_by_role("button", name="Sign note").click()
    await expect(first.state).to_contain_text("changed in another window")
    await expect(first.panel.get_by_label("Plan", exact=True)).to_have_value("Three times a week.")
    await first.panel.get_by_role("button", name="Sign note").click()
    await shows_signed(first.panel)
    signed = first.panel.get_by_role("heading", name="Signed note").locator("xpath=..")
    await expect(signed).to_contain_text("Three times a week.")

    # The second tab learns the note is signed on its next change and shows the signed note.
    await second.panel.get_by_label("Subjective", exact=True).fill("One more thought.")
    await shows_signed(second.panel)
    await therapist_ctx.close()
    await patient_ctx.close()


@pytest.mark.parametrize("viewport", VIEWPORTS)
async def test_signing_after_the_connection_drops_and_comes_back(
    live_server: LiveServer, browser: Any, viewport: dict[str, int]
) -> None:
    patient_ctx, _patient, appointment_id = await waiting_patient(browser, live_server, viewport)
    therapist_ctx, editor = await note_page(browser, live_server, appointment_id, viewport)
    await signable(editor)
    await editor.saved()

    # The connection drops while the therapist goes on writing, and she tries to sign.
    await therapist_ctx.set_offline(True)
    plan = editor.panel.get_by_label("Plan", exact=True)
    await plan.fill("Twice a week for four weeks. Typed while offline.")
    await expect(editor.state).to_have_text("Offline — will retry")
    await editor.panel.get_by_role("button", name="Sign note").click()
    await expect(editor.state).to_contain_text("Offline — not signed")
    await expect(editor.panel.get_by_role("region", name="Signed note")).to_have_count(0)

    # Back online: what was typed offline is saved on its own, then the note signs.
    await therapist_ctx.set_offline(False)
    await editor.saved()
    await editor.panel.get_by_role("button", name="Sign note").click()
    await shows_signed(editor.panel)
    signed = editor.panel.get_by_role("heading", name="Signed note").locator("xpath=..")
    await expect(signed).to_contain_text("Typed while offline.")
    await therapist_ctx.close()
    await patient_ctx.close()
