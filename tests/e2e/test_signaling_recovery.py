"""A burst of chat over the signaling rate limit in real Chromium: the server drops some frames
(`rate_limited`, then `seq_gap` for the ones after), the page sends them again, and the other
side sees every message once, in order (docs/signaling.md, Sequence numbers and Errors)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.e2e.conftest import (
    DESKTOP,
    LiveServer,
    admit,
    open_patient,
    open_therapist,
    precall_and_wait,
    start_server,
)

pytestmark = pytest.mark.browser

# A small bucket, so a person typing quickly goes over it: the visit's own set-up (join,
# offer/answer, candidates, acks) fits in BURST, and typing faster than RATE per second drains
# it. Defaults are 200 and 50/s, which only a script could exceed.
BURST = 30
RATE = 2
# Messages are typed in rounds until the server has dropped one, then one round more, so the
# burst always holds frames after a dropped one (the seq_gap case) however slow the machine.
ROUND = 10
MAX_ROUNDS = 8
# Recovering the dropped frames at RATE per second takes about half a second each plus the
# resend rounds; the bound leaves a loaded machine many times that.
RECOVERY_TIMEOUT_MS = 240_000


@pytest.fixture
async def limited_server(tmp_path: Path) -> AsyncIterator[LiveServer]:
    """The real server with a small signaling token bucket."""
    server, running = await start_server(
        tmp_path,
        {
            "TELEHEALTH_SIGNALING_RATE_BURST": str(BURST),
            "TELEHEALTH_SIGNALING_RATE_PER_SECOND": str(RATE),
        },
    )
    try:
        yield server
    finally:
        running.stop()


async def signaling_errors(server: LiveServer, code: str) -> float:
    """How many `error` frames with `code` the server has sent (its /metrics)."""
    async with aiohttp.ClientSession() as http, http.get(server.url + "/metrics") as answer:
        text = await answer.text()
    match = re.search(
        rf'^telehealth_signaling_errors_total\{{code="{code}"\}} (\S+)$', text, re.MULTILINE
    )
    return float(match.group(1)) if match else 0.0


async def chat_lines(page: Any) -> list[str]:
    """The message texts in the page's chat log, top to bottom."""
    lines: list[str] = await page.eval_on_selector_all(
        "#chat-log li span", "items => items.map(i => i.textContent.trim())"
    )
    return lines


# One viewport: this is protocol behaviour (frames dropped and sent again), not layout; the chat
# box's layout on laptop and phone is covered by test_visit.py.
async def test_chat_over_the_rate_limit_arrives_complete_and_in_order(
    limited_server: LiveServer, browser: Any
) -> None:
    patient_ctx, patient, visit_url = await open_patient(browser, limited_server, DESKTOP)
    await precall_and_wait(patient)
    therapist_ctx, therapist = await open_therapist(browser, limited_server, visit_url)
    await admit(therapist)
    await patient.get_by_role("region", name="Video call").wait_for(timeout=30_000)

    # Maria opens the messages over her call and types quickly: each message, then Enter, as
    # fast as the keyboard goes.
    await patient.get_by_role("button", name="Messages").click()
    box = patient.get_by_role("textbox", name="Message")
    sent: list[str] = []
    over_the_limit = False
    for _ in range(MAX_ROUNDS):
        for _ in range(ROUND):
            text = f"Burst message {len(sent) + 1:02d}"
            await box.fill(text)
            await box.press("Enter")
            sent.append(text)
        if over_the_limit:
            break  # the round after the first drop is typed too
        over_the_limit = await signaling_errors(limited_server, "rate_limited") > 0
    # The burst really went over the limit, so what follows tests the recovery.
    assert await signaling_errors(limited_server, "rate_limited") > 0

    # The last message shows on Dana's side, and then the whole list is what Maria typed.
    await therapist.locator("#chat-log li", has_text=sent[-1]).wait_for(timeout=RECOVERY_TIMEOUT_MS)
    await patient.locator("#chat-log li", has_text=sent[-1]).wait_for(timeout=RECOVERY_TIMEOUT_MS)
    assert await chat_lines(therapist) == sent
    assert await chat_lines(patient) == sent
    await therapist.get_by_text(sent[0], exact=True).wait_for()
    assert len(set(sent)) == len(sent)
    # A chat frame was skipped, not only an ack: a later one was answered with seq_gap.
    assert await signaling_errors(limited_server, "seq_gap") > 0
    await therapist_ctx.close()
    await patient_ctx.close()
