"""Copy forward in real Chromium: the therapist starts a new note from the patient's last signed
note with one button, and sees that it was copied (laptop and phone)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest

from tests.e2e.conftest import DESKTOP, PHONE, LiveServer, screenshot, sign_in
from tests.unit.notes.samples import daily_note

pytestmark = pytest.mark.browser

MARIA = ("maria.lopez@demo.clinic", "demo-patient-pass")
DANA = ("dana.reyes@demo.clinic", "demo-therapist-pass")


async def _token(http: aiohttp.ClientSession, url: str, who: tuple[str, str]) -> dict[str, str]:
    async with http.post(
        url + "/api/v1/auth/login", json={"email": who[0], "password": who[1]}
    ) as response:
        assert response.status == 200, await response.text()
        return {"Authorization": f"Bearer {(await response.json())['token']}"}


async def _call(
    http: aiohttp.ClientSession, method: str, url: str, headers: dict[str, str], body: Any = None
) -> Any:
    async with http.request(method, url, json=body, headers=headers) as response:
        assert response.status in (200, 201), await response.text()
        return await response.json()


async def _signed_first_visit(server: LiveServer) -> str:
    """Maria checks in to her first demo visit and Dana signs its note; returns the later visit."""
    api = server.url + "/api/v1"
    async with aiohttp.ClientSession() as http:
        maria = await _token(http, server.url, MARIA)
        dana = await _token(http, server.url, DANA)
        now = datetime.now(UTC)
        window = {
            "start": (now - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "end": (now + timedelta(days=8)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        async with http.get(f"{api}/appointments", params=window, headers=maria) as response:
            visits = (await response.json())["items"]
        first, later = visits[0]["id"], visits[1]["id"]
        await _call(http, "POST", f"{api}/appointments/{first}/check-in", maria)
        note = await _call(http, "POST", f"{api}/appointments/{first}/note", dana, {})
        saved = await _call(
            http,
            "PUT",
            f"{api}/appointments/{first}/note",
            dana,
            {"version": note["version"], "content": daily_note()},
        )
        await _call(
            http,
            "POST",
            f"{api}/appointments/{first}/note/sign",
            dana,
            {"version": saved["version"]},
        )
        return str(later)


async def _in_viewport(page: Any, locator: Any) -> None:
    box = await locator.bounding_box()
    size = page.viewport_size
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= size["width"]


async def test_start_from_the_last_signed_note(browser: Any, live_server: LiveServer) -> None:
    later = await _signed_first_visit(live_server)
    context = await browser.new_context(viewport=DESKTOP)
    page = await context.new_page()
    await sign_in(page, live_server.url, *DANA)
    await page.goto(f"{live_server.url}/visits/{later}/note")
    button = page.get_by_role("button", name="Start from the last signed note")
    await button.wait_for()
    await _in_viewport(page, button)
    await button.click()
    banner = page.get_by_text("review every line before signing")
    await banner.wait_for()
    assert "Copied from the note of" in await banner.inner_text()
    assert not await button.is_visible()
    # The copied diagnoses and techniques are in the form; today's subjective is empty.
    assert await page.get_by_label("Subjective").input_value() == ""
    await screenshot(page, "copy-forward-desktop")
    await context.close()

    phone = await browser.new_context(viewport=PHONE)
    page = await phone.new_page()
    await sign_in(page, live_server.url, *DANA)
    await page.goto(f"{live_server.url}/visits/{later}/note")
    banner = page.get_by_text("review every line before signing")
    await banner.wait_for()
    await _in_viewport(page, banner)
    assert not await page.get_by_role("button", name="Start from the last signed note").count()
    await screenshot(page, "copy-forward-phone")
    await phone.close()
