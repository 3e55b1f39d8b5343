"""A guest in the video visit, in real Chromium on a laptop and a phone: Dana and Maria are in the
call, Maria invites her daughter, the daughter opens the link in a browser of her own (no
account), acknowledges the notice, checks her devices and waits, Dana admits her, all three see
each other's video with frames advancing; then Maria revokes the invitation and the daughter is
taken out of the call."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.conftest import (
    DESKTOP,
    PHONE,
    LiveServer,
    admit,
    assert_accessible,
    assert_in_viewport,
    open_patient,
    open_therapist,
    precall_and_wait,
    screenshot,
    video_flowing,
)

pytestmark = pytest.mark.browser

DAUGHTER = "Sofia Lopez"

# Every remote tile has a picture whose frames advance (read twice, half a second of video apart).
TILES_PLAYING = """([count]) => {
  const videos = [...document.querySelectorAll('#remote-grid video')];
  return videos.length === count && videos.every(v => v.videoWidth > 0 && v.currentTime > 0);
}"""
TILE_TIMES = "() => [...document.querySelectorAll('#remote-grid video')].map(v => v.currentTime)"
TILES_ADVANCED = """([before]) => {
  const now = [...document.querySelectorAll('#remote-grid video')].map(v => v.currentTime);
  return now.length === before.length && now.every((t, i) => t > before[i] + 0.5);
}"""


async def everyone_flowing(page: Any, others: int) -> None:
    """The page shows one playing tile per other participant, each one's frames advancing, and
    every peer connection is connected with media both ways."""
    await page.wait_for_function(TILES_PLAYING, arg=[others], timeout=90_000)
    before = await page.evaluate(TILE_TIMES)
    await page.wait_for_function(TILES_ADVANCED, arg=[before], timeout=30_000)
    diagnostics = await page.evaluate("window.visitDiagnostics()")
    assert len(diagnostics) == others, diagnostics
    for peer in diagnostics:
        assert peer["dtls"] == "connected", diagnostics
        assert peer["bytesSent"] > 0 and peer["bytesReceived"] > 0, diagnostics
        assert peer["framesDecoded"] > 0, diagnostics


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["laptop", "phone"])
async def test_maria_invites_her_daughter_dana_admits_her_then_maria_revokes(
    live_server: LiveServer, browser: Any, axe_source: str, viewport: dict[str, int]
) -> None:
    tag = "laptop" if viewport is DESKTOP else "phone"
    maria_ctx, maria, visit_url = await open_patient(browser, live_server, viewport)
    await precall_and_wait(maria)
    dana_ctx, dana = await open_therapist(browser, live_server, visit_url, viewport)
    await admit(dana)
    await video_flowing(maria)
    await video_flowing(dana)

    # Maria opens the guests page beside the call (a new tab: the call stays up).
    invite = maria.get_by_role("link", name="Guests")
    await assert_in_viewport(invite, viewport)
    async with maria_ctx.expect_page() as opened:
        await invite.click()
    guests = await opened.value
    await guests.get_by_label("Their name").fill(DAUGHTER)
    await guests.get_by_label("They are").select_option("caregiver")
    await guests.get_by_role("button", name="Make a link").click()
    link = guests.locator("#guest-link-url")
    await link.wait_for()
    await assert_in_viewport(guests.get_by_role("button", name="Copy the link"), viewport)
    await assert_accessible(guests, axe_source)
    url = await link.input_value()
    assert "/guest/" in url

    # The daughter, in a browser of her own, without an account.
    sofia_ctx = await browser.new_context(viewport=viewport)
    sofia = await sofia_ctx.new_page()
    sofia.on("dialog", lambda dialog: dialog.accept())
    await sofia.goto(url)
    await sofia.get_by_role("heading", name="You are invited to a video visit").wait_for()
    await assert_accessible(sofia, axe_source)
    await screenshot(sofia, f"guest-notice-{tag}")
    box = sofia.get_by_label("I understand and will keep the visit private.")
    await assert_in_viewport(box, viewport)
    await box.check()
    await sofia.get_by_role("button", name="Continue").click()
    await sofia.wait_for_url(url + "/visit")
    await precall_and_wait(sofia, axe_source, tag=f"guest-{tag}")

    # Dana sees her in the lobby, with her name and role, and lets her in.
    admit_sofia = dana.get_by_role("button", name=f"Admit {DAUGHTER} (caregiver)")
    await admit_sofia.wait_for(timeout=30_000)
    await assert_in_viewport(admit_sofia, viewport)
    await admit_sofia.click()
    await sofia.wait_for_selector("#step-call:not([hidden])")

    for page in (dana, maria, sofia):
        await everyone_flowing(page, 2)
    await screenshot(dana, f"guest-three-dana-{tag}")
    await screenshot(maria, f"guest-three-maria-{tag}")
    await screenshot(sofia, f"guest-three-sofia-{tag}")
    # Each tile says whose it is, and the grid fits the screen.
    captions = await dana.locator("#remote-grid .tile-name").all_inner_texts()
    assert sorted(captions) == ["Maria Lopez", f"{DAUGHTER} (caregiver)"]
    for page in (dana, maria, sofia):
        for tile in await page.locator("#remote-grid .tile").all():
            tile_box = await tile.bounding_box()
            assert tile_box is not None and tile_box["width"] > 0
            assert tile_box["x"] >= 0 and tile_box["x"] + tile_box["width"] <= viewport["width"] + 1
    await assert_in_viewport(sofia.locator("#leave-visit"), viewport)

    # Maria revokes the invitation: the daughter is taken out, and the others see her go.
    await guests.get_by_role("button", name=f"Revoke {DAUGHTER}").click()
    await guests.wait_for_selector("text=(revoked)")
    await (
        sofia.get_by_role("alert")
        .filter(has_text="Your invitation was revoked")
        .wait_for(timeout=30_000)
    )
    await sofia.wait_for_function("() => document.getElementById('step-call').hidden")
    for page in (dana, maria):
        await page.wait_for_function(
            "() => document.querySelectorAll('#remote-grid video').length === 1", timeout=30_000
        )
    await video_flowing(maria)
    await video_flowing(dana)
    # The link is gone for good.
    await sofia.goto(url)
    await sofia.get_by_role("heading", name="This invitation has ended").wait_for()

    for context in (sofia_ctx, maria_ctx, dana_ctx):
        await context.close()
