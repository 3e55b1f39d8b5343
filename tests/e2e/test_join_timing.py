"""Maria looks at her later video visit days before it: every page says when its room opens in
words, the device check works meanwhile, and Continue waits for the room, on a laptop and a phone."""

from __future__ import annotations

import re
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

# The demo books Maria's later video visit four days ahead; her browser speaks US English.
OPENS = re.compile(
    r"The video room opens on \w+day \d{1,2} \w+ at \d{1,2}:\d{2} [AP]M \(in about [345] days\)\."
)


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
async def test_a_visit_days_away_says_when_its_room_opens(
    live_server: LiveServer, browser: Any, viewport: dict[str, int]
) -> None:
    context = await browser.new_context(viewport=viewport, locale="en-US")
    page = await context.new_page()
    # The page's timers run on a clock the test moves; the server keeps the real time.
    await page.clock.install()
    await sign_in(page, live_server.url, *MARIA)

    home = await page.locator("main").inner_text()
    # The later visit; the one now shows "Join video visit".
    assert OPENS.search(home), home

    await page.locator('.visit-list a[href^="/appointments/"]').last.click()
    await page.wait_for_url(re.compile(r".*/appointments/[0-9a-f-]{36}$"))
    detail = await page.locator("main").inner_text()
    assert OPENS.search(detail), detail
    assert "Join the video visit" not in detail
    check = page.get_by_role("link", name="Check your camera and connection now")
    await assert_in_viewport(check, viewport)
    await check.click()

    await page.wait_for_url(re.compile(r".*/visits/[0-9a-f-]{36}$"))
    notice = page.locator("#opens-notice")
    await notice.wait_for()
    assert OPENS.search((await notice.inner_text()).split(".")[0] + "."), await notice.inner_text()
    await page.wait_for_selector('#camera-result[data-state="pass"]')  # the check works early
    done = page.get_by_role("button", name="Continue")
    assert await done.is_disabled()
    await assert_in_viewport(notice, viewport)
    await screenshot(page, f"visit-not-open-yet-{viewport['width']}")

    # Time passes on the page: the wait is re-worded as it shortens, then the door opens. The
    # clock jumps, firing each due timer once (running every timer of four days, the microphone
    # meter's included, would take half a minute).
    left = int(await notice.get_attribute("data-opens-in") or "0")
    assert left > 2 * 24 * 3600
    await page.clock.fast_forward((left - 20 * 60) * 1000)
    # (the page's clock also ran while the test worked, and it re-words every 30 s at most)
    wait = await page.locator("#opens-when").inner_text()
    assert re.search(r"\(in (19|20|21) minutes\)$", wait), wait
    assert await done.is_disabled()
    await page.clock.fast_forward(21 * 60 * 1000)
    await notice.wait_for(state="hidden")
    assert await done.is_enabled()
    status = page.get_by_role("status").filter(has_text="The video room is open.")
    await status.wait_for()
    await context.close()
