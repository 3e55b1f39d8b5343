"""A signed note in real Chromium, on a laptop and a phone: everything documented is shown in
words (diagnosis name, code and side; technique parameters; "1 unit"; modifiers and place of
service), a plain Verified mark with the hashes folded away, and a PDF that downloads."""

from __future__ import annotations

import io
import re
from typing import Any

import aiohttp
import pytest
from pypdf import PdfReader

from tests.e2e.conftest import (
    DESKTOP,
    MARIA,
    PHONE,
    LiveServer,
    assert_in_viewport,
    axe_violations,
    describe,
    screenshot,
    sign_in,
    waiting_patient,
)
from tests.unit.notes.samples import daily_note

pytestmark = pytest.mark.browser

DANA = ("dana.reyes@demo.clinic", "demo-therapist-pass")


async def _ok(response: aiohttp.ClientResponse) -> Any:
    body = await response.json()
    assert response.status in (200, 201), body
    return body


async def sign_a_note(server: LiveServer, visit_id: str) -> str:
    """Dana writes and signs the note of the demo video visit (its patient is waiting, so the
    visit has started) through the API; its id."""
    async with aiohttp.ClientSession() as http:
        login = await _ok(
            await http.post(
                f"{server.url}/api/v1/auth/login", json={"email": DANA[0], "password": DANA[1]}
            )
        )
        headers = {"Authorization": f"Bearer {login['token']}"}
        note_url = f"{server.url}/api/v1/appointments/{visit_id}/note"
        opened = await _ok(await http.post(note_url, json={}, headers=headers))
        saved = await _ok(
            await http.put(
                note_url,
                json={"version": opened["version"], "content": daily_note()},
                headers=headers,
            )
        )
        await _ok(
            await http.post(note_url + "/sign", json={"version": saved["version"]}, headers=headers)
        )
        return visit_id


@pytest.mark.parametrize(("viewport", "tag"), [(DESKTOP, "laptop"), (PHONE, "phone")])
async def test_a_signed_note_shows_what_was_documented_and_downloads_as_pdf(
    browser: Any, live_server: LiveServer, axe_source: str, viewport: dict[str, int], tag: str
) -> None:
    patient_ctx, _patient, visit_id = await waiting_patient(browser, live_server, viewport)
    visit = await sign_a_note(live_server, visit_id)
    await patient_ctx.close()
    context = await browser.new_context(viewport=viewport, accept_downloads=True)
    try:
        page = await context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        await sign_in(page, live_server.url, *DANA)
        await page.goto(f"{live_server.url}/visits/{visit}/note")
        signature = page.get_by_role("region", name="Signature")
        await signature.get_by_text("Signed by Dana Reyes").wait_for()
        await signature.get_by_text("Verified", exact=False).wait_for()
        assert await signature.get_by_role("status").inner_text() == "✓ Verified"

        # Hashes stay folded until the reader opens the details.
        content_hash = signature.get_by_text(re.compile(r"Content SHA-256 [0-9a-f]{64}"))
        assert not await content_hash.is_visible()
        await signature.get_by_text("Signature details").click()
        await content_hash.wait_for(state="visible")

        note = page.get_by_role("region", name="Signed note")
        diagnosis = note.locator(".signed-diagnoses li").first
        assert await diagnosis.inner_text() == (
            "Primary osteoarthritis of the hip — M16.11 Unilateral primary osteoarthritis, right hip"
            " · Side: right"
        )
        for words in (
            "Joint mobilization (CPT 97140) — hip, right — 10 min, 1 unit",
            "Maitland grade: III",
            "Joint or segment: hip",
            "Muscles treated: piriformis, gluteus medius",
            "Instrument: stainless steel edge tool",
            "Area treated: lumbar paraspinals",
            "Therapeutic exercise (CPT 97110) — hip, right — 23 min, 2 units",
        ):
            await note.get_by_text(words).first.wait_for(state="visible")
        program = note.locator(".signed-home-program li").last
        assert await program.inner_text() == (
            "Piriformis stretch: 1 set of 3 repetitions, hold each for 30 seconds, 2 times a day, "
            "every day — Use the chair version at work."
        )

        billing = page.get_by_role("region", name="Billing")
        rows = billing.locator("tbody tr")
        assert await rows.count() == 2
        cells = [(await c.inner_text()).strip() for c in await rows.nth(1).locator("td").all()]
        # The phone layout drops the header row, so each cell names itself there.
        named = tag == "phone"
        assert cells == [
            "97140 Manual therapy techniques",
            "23 min",
            "1 unit",
            "Modifiers 95, GP" if named else "95, GP",
            "Place of service 10" if named else "10",
        ]
        await billing.get_by_text(
            re.compile(r"Total 3 units .* modifiers 95, GP · place of service 10")
        ).wait_for()
        assert "1 units" not in await page.locator("main").inner_text()

        link = signature.get_by_role("link", name="Download PDF")
        await assert_in_viewport(link, viewport)
        await screenshot(page, f"signed-note-{tag}")
        violations = await axe_violations(page, axe_source)
        assert not violations, describe(violations)

        async with page.expect_download() as info:
            await link.click()
        download = await info.value
        assert download.suggested_filename == f"visit-note-{visit}.pdf"
        path = await download.path()
        data = path.read_bytes()
        assert data.startswith(b"%PDF-")
        text = "".join("".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages).split())
        for words in ("Patient: Maria Lopez", "Maitland grade: III", "Verified"):
            assert "".join(words.split()) in text, words
        assert not errors
    finally:
        await context.close()

    # Maria, from her home page, reads what was done and her exercises.
    context = await browser.new_context(viewport=viewport)
    try:
        page = await context.new_page()
        await sign_in(page, live_server.url, *MARIA)
        # The newest first (the demo's visit of last week has its signed note too).
        read = page.get_by_role("link", name=re.compile(r"^Read the summary")).first
        await assert_in_viewport(read, viewport)
        await read.click()
        await page.wait_for_url(f"{live_server.url}/visits/{visit}/summary")
        await page.get_by_role("heading", name="Your home exercises").wait_for()
        await page.get_by_text("Piriformis stretch").first.wait_for()
        violations = await axe_violations(page, axe_source)
        assert not violations, describe(violations)
    finally:
        await context.close()
