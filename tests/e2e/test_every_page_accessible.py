"""Every page a person reaches, signed out and as patient, therapist and admin, on a laptop and a
phone: no serious or critical axe-core finding, and nothing wider than the phone's screen.

One server and one browser walk them all; every finding is collected before the test fails, so one
run lists all of them (page, size, rule, elements)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import (
    DANA,
    DESKTOP,
    MARIA,
    PHONE,
    LiveServer,
    axe_violations,
    describe,
    sign_in,
    start_server,
    waiting_patient,
)
from tests.e2e.test_signed_note import sign_a_note

pytestmark = pytest.mark.browser

ADMIN = ("admin@demo.clinic", "demo-admin-pass")
SIZES = {"1280x800": DESKTOP, "390x844": PHONE}
UUID = r"[0-9a-f-]{36}"

# The elements wider than the screen, to name the culprit when the page overflows.
WIDEST = """() => {
  const limit = window.innerWidth;
  return [...document.querySelectorAll('body *')]
    .filter(e => e.getBoundingClientRect().right > limit + 0.5)
    .slice(0, 5)
    .map(e => `${e.tagName.toLowerCase()}${e.id ? '#' + e.id : ''}${e.className && typeof e.className === 'string' ? '.' + e.className.trim().split(/\\s+/).join('.') : ''} right=${Math.round(e.getBoundingClientRect().right)}`);
}"""

FOCUS_RING = """() => {
  const e = document.activeElement, style = getComputedStyle(e);
  return {
    visible: e.matches(':focus-visible'),
    outline: `${style.outlineWidth} ${style.outlineStyle} ${style.outlineColor}`,
    inner: style.boxShadow.startsWith('rgb(255, 255, 255) 0px 0px 0px 2px'),
  };
}"""


@pytest.fixture
async def clinic(tmp_path: Path) -> AsyncIterator[LiveServer]:
    """The demo clinic, open to self-registration so its form is a page too."""
    server, running = await start_server(tmp_path, {"TELEHEALTH_SELF_REGISTRATION": "true"})
    try:
        yield server
    finally:
        running.stop()


@dataclass
class Walk:
    """One browser page walking the clinic as one person, collecting what is wrong."""

    server: LiveServer
    page: Any
    axe_source: str
    who: str
    findings: list[str] = field(default_factory=list)
    checked: list[str] = field(default_factory=list)

    async def check(self, path: str, status: int = 200) -> None:
        """Open the page; check it at both sizes."""
        await self.page.set_viewport_size(DESKTOP)
        response = await self.page.goto(self.server.url + path)
        where = f"{self.who} {path}"
        if response is None or response.status != status:
            got = None if response is None else response.status
            self.findings.append(f"{where}: answered {got}, expected {status}")
        for size, viewport in SIZES.items():
            await self.page.set_viewport_size(viewport)
            violations = await axe_violations(self.page, self.axe_source)
            self.checked.append(f"{where} @{size}: {len(violations)} serious/critical")
            if violations:
                self.findings.append(f"{where} @{size}:\n{describe(violations)}")
            if viewport is PHONE:
                overflow = await self.page.evaluate(
                    "() => document.documentElement.scrollWidth - window.innerWidth"
                )
                if overflow > 0:
                    widest = await self.page.evaluate(WIDEST)
                    self.findings.append(f"{where} @{size}: {overflow}px too wide: {widest}")

    async def focus_ring(self, selector: str) -> None:
        """Tab to the element, as a keyboard user does: it wears the two-tone ring (dark outline,
        white ring inside it) the stylesheet's contrast test measures."""
        await self.page.set_viewport_size(DESKTOP)
        for _ in range(40):
            await self.page.keyboard.press("Tab")
            if await self.page.evaluate(f"() => document.activeElement.matches({selector!r})"):
                break
        else:
            self.findings.append(f"{self.who} {self.page.url}: Tab never reached {selector}")
            return
        ring = await self.page.evaluate(FOCUS_RING)
        if ring != {"visible": True, "outline": "3px solid rgb(27, 42, 51)", "inner": True}:
            self.findings.append(f"{self.who} {self.page.url}: {selector} focus ring is {ring}")

    async def link(self, pattern: str, last: bool = False) -> str:
        """The path of the first (or last) link on the current page matching the pattern."""
        hrefs = await self.page.eval_on_selector_all(
            "a[href]", "links => links.map(a => a.getAttribute('href'))"
        )
        for href in reversed(hrefs) if last else hrefs:
            if re.fullmatch(pattern, href):
                return str(href)
        raise AssertionError(f"{self.who}: no link like {pattern} on {self.page.url}")


async def _walk(
    server: LiveServer, browser: Any, axe_source: str, who: str, login: tuple[str, str] | None
) -> Walk:
    context = await browser.new_context(viewport=DESKTOP)
    page = await context.new_page()
    walk = Walk(server, page, axe_source, who)
    if login is not None:
        await sign_in(page, server.url, *login)
    return walk


async def _signed_out(walk: Walk) -> None:
    await walk.check("/login")
    await walk.focus_ring("input#email")
    await walk.focus_ring("button.button-primary")
    await walk.check("/register")
    await walk.check("/password/forgot")
    await walk.check("/password/forgot?sent=1")
    await walk.check("/password/reset/" + "A" * 43, status=404)
    await walk.check("/no-such-page", status=404)


async def _patient(walk: Walk) -> str:
    """Maria's pages; returns her video visit's id."""
    await walk.check("/")
    appointment = await walk.link(rf"/appointments/{UUID}")
    visit_id = appointment.rsplit("/", 1)[-1]
    later = await walk.link(rf"/appointments/{UUID}", last=True)
    await walk.check(appointment)
    await walk.check("/book")
    await walk.page.locator('input[name="type"]').first.check()
    await walk.page.get_by_role("button", name="Show free times").click()
    await walk.page.wait_for_url(re.compile(r".*/book\?.*type="))
    await walk.check(walk.page.url.removeprefix(walk.server.url))
    await walk.check(await walk.link(r"/book/confirm\?.*"))
    await walk.check("/my/exercises")
    await walk.check("/my/today")
    await walk.check("/my/measures")
    await walk.check("/my/plan")
    for measure in ("nprs", "lefs", "psfs"):
        await walk.check(f"/my/measures/{measure}")
    await walk.check(f"/visits/{visit_id}")  # the pre-call check
    await walk.check(f"/visits/{visit_id}/ended")
    await walk.check("/me/details")
    await walk.check("/me/password")
    await walk.check(f"/visits/{later.rsplit('/', 1)[-1]}")  # a visit days away: not open yet
    await walk.check("/join/" + "x" * 43, status=410)
    await walk.check("/no-such-page", status=404)
    await walk.check(f"/visits/{visit_id}/guests")
    return visit_id


async def _guest(walk: Walk, patient: Walk, visit_id: str) -> None:
    """A guest's pages: Maria invites, the guest (no account) opens the link; then revoked."""
    await patient.page.goto(f"{patient.server.url}/visits/{visit_id}/guests")
    await patient.page.get_by_label("Their name").fill("Sofia Lopez")
    await patient.page.get_by_role("button", name="Make a link").click()
    url = await patient.page.locator("#guest-link-url").input_value()
    path = "/" + url.split("/", 3)[3]
    await walk.check(path)  # the privacy notice
    await walk.page.get_by_label("I understand and will keep the visit private.").check()
    await walk.page.get_by_role("button", name="Continue").click()
    await walk.page.wait_for_url(re.compile(r".*/guest/[^/]+/visit$"))
    await walk.check(path + "/visit")  # the device check, as the patient's
    await walk.check("/guest/" + "x" * 43, status=404)
    await patient.page.goto(f"{patient.server.url}/visits/{visit_id}/guests")
    await patient.page.get_by_role("button", name="Revoke Sofia Lopez").click()
    await patient.page.wait_for_selector("text=(revoked)")
    await walk.check(path, status=410)


async def _therapist(walk: Walk, visit_id: str) -> None:
    await walk.check("/")
    await walk.check("/agenda")
    await walk.check("/agenda?view=week")
    await walk.check("/availability")
    await walk.check("/calendar/week")
    await walk.check("/series")
    await walk.check(f"/appointments/{visit_id}")
    await walk.check(f"/visits/{visit_id}/note")
    history = await walk.link(rf"/patients/{UUID}/history")
    await walk.check(history)
    home_program = await walk.link(rf"/patients/{UUID}/home-program")
    await walk.check(await walk.link(rf"/patients/{UUID}/measures"))
    await walk.check(home_program)
    await walk.check("/caseload")
    episode = await walk.link(rf"/episodes/{UUID}")
    await walk.check(episode)
    episodes = await walk.link(rf"/patients/{UUID}/episodes")
    await walk.check(episode + "/plan")
    await walk.check(episode + "/discharge")
    await walk.check(episodes)
    await walk.check(f"/visits/{visit_id}")


async def _admin(walk: Walk) -> None:
    await walk.check("/")
    await walk.focus_ring("a.button-primary")
    await walk.focus_ring("a[href^='/admin/people/']:not(.button)")
    person = await walk.link(rf"/admin/people/{UUID}")
    await walk.check(person)
    await walk.check("/admin/people/new?role=patient")
    await walk.check("/admin/people/new?role=therapist")
    await walk.check("/admin/calendar")
    await walk.check("/calendar/day")
    await walk.check("/calendar/week")
    await walk.check("/agenda")
    await walk.check("/admin/audit")
    await walk.check("/admin/messages")
    await walk.check("/admin/reports/techniques")
    await walk.check("/admin/note-templates")
    await walk.check(await walk.link(r"/admin/note-templates/[^/?#]+"))
    await walk.check("/admin/closures")
    await walk.check("/admin/visit-types")
    await walk.check(await walk.link(rf"/admin/visit-types/{UUID}"))


async def _signed_visit(walk: Walk, visit_id: str, other: Walk) -> None:
    """Once the visit has started and its note is signed: the summary both people read, the signed
    note, and the agenda with a patient waiting."""
    context, _page, _url = await waiting_patient(walk.page.context.browser, walk.server, PHONE)
    await context.close()
    await sign_a_note(walk.server, visit_id)
    await walk.check("/agenda")
    await walk.check(f"/visits/{visit_id}/note")
    await walk.check(f"/visits/{visit_id}/summary")
    await other.check(f"/visits/{visit_id}/summary")
    await other.check("/my/exercises")


async def test_every_page_is_accessible_at_both_sizes(
    clinic: LiveServer, browser: Any, axe_source: str
) -> None:
    signed_out = await _walk(clinic, browser, axe_source, "signed out", None)
    await _signed_out(signed_out)
    patient = await _walk(clinic, browser, axe_source, "patient", MARIA)
    visit_id = await _patient(patient)
    guest = await _walk(clinic, browser, axe_source, "guest", None)
    await _guest(guest, patient, visit_id)
    therapist = await _walk(clinic, browser, axe_source, "therapist", DANA)
    await _therapist(therapist, visit_id)
    admin = await _walk(clinic, browser, axe_source, "admin", ADMIN)
    await _admin(admin)
    await _signed_visit(therapist, visit_id, patient)

    walks = [signed_out, patient, guest, therapist, admin]
    checked = [line for w in walks for line in w.checked]
    findings = [line for w in walks for line in w.findings]
    print("\n".join(checked))
    assert len(checked) == 2 * 68, checked  # every page above, at both sizes
    assert not findings, "\n\n".join(findings)
