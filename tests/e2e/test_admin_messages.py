"""A message that could not be sent, in a real browser: the admin's home page says so, the
messages page lists it (address masked, no text), the message's page shows its text, and
"Send again" puts it back in the queue, which the server's dispatcher then empties. At laptop
and phone sizes, every control inside the viewport."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from tests.e2e.conftest import (
    DESKTOP,
    PHONE,
    LiveServer,
    assert_accessible,
    assert_in_viewport,
    screenshot,
    sign_in,
    start_server,
)

pytestmark = pytest.mark.browser

ADMIN = ("admin@demo.clinic", "demo-admin-pass")
MARIA_EMAIL = "maria.lopez@demo.clinic"


@pytest.fixture
async def quiet_server(tmp_path: Path) -> AsyncIterator[LiveServer]:
    """The demo clinic whose dispatcher (keeping messages in its mailbox) polls only hourly: it
    sends when woken, and leaves the message this test fails alone until then."""
    server, running = await start_server(tmp_path, {"TELEHEALTH_MAIL_POLL_SECONDS": "3600"})
    try:
        yield server
    finally:
        running.stop()


async def _failed_message(server: LiveServer) -> None:
    """One "Visit moved" message to Maria, written to the server's database as a feature writes
    it, then tried once against a port nothing listens on: failed for good."""
    from telehealth.accounts.models import User
    from telehealth.actors import Caller
    from telehealth.clock import SystemClock
    from telehealth.config import Settings
    from telehealth.db import create_engine, create_session_factory
    from telehealth.notifications import outbox
    from telehealth.notifications.dispatcher import Dispatcher
    from telehealth.notifications.rules import Kind
    from telehealth.passwords import Passwords
    from telehealth.unit_of_work import Services, unit_of_work
    from tests.services import free_port

    settings = Settings.from_env(server.env).with_secret()
    engine = create_engine(settings)
    try:
        services = Services(
            settings, SystemClock(), create_session_factory(engine), Passwords(settings)
        )
        async with services.sessions() as session:
            maria = (await session.scalars(select(User).where(User.email == MARIA_EMAIL))).one()
        async with unit_of_work(services, Caller(actor=None, ip="e2e")) as uow:
            await outbox.queue_in(
                uow,
                services,
                outbox.NewMessage(
                    kind=Kind.CHANGED,
                    person_id=maria.id,
                    address=maria.email,
                    subject="Your visit has moved to Thursday",
                    body_text="Hello Maria, your knee follow-up is now on Thursday at 10:00.",
                    body_html="<p>Hello Maria, your knee follow-up is now on Thursday.</p>",
                ),
                uow.now,
            )
        closed = replace(
            settings,
            mail_delivery="smtp",
            smtp_host="127.0.0.1",
            smtp_port=free_port(),
            smtp_security="none",
            mail_from="appointments@demo.clinic",
            mail_max_attempts=1,
        )
        assert await Dispatcher(replace(services, settings=closed)).dispatch_due() == 0
    finally:
        await engine.dispose()


async def _header_on_one_line(page: Any) -> None:
    """The header's brand, links and sign-out share one row (nothing wrapped under)."""
    tops = await page.evaluate(
        """() => [".brand", ".main-nav ul", ".signout"].map(
            (s) => Math.round(document.querySelector(s).getBoundingClientRect().top))"""
    )
    links = await page.evaluate(
        """() => Array.from(document.querySelectorAll(".main-nav a")).map(
            (a) => Math.round(a.getBoundingClientRect().top))"""
    )
    assert len(set(links)) == 1, links
    widths = await page.evaluate(
        """() => [".header-inner", ".brand", ".main-nav ul", ".signout"].map(
            (s) => Math.round(document.querySelector(s).getBoundingClientRect().width))"""
    )
    assert max(tops) - min(tops) < 40, (tops, widths)


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
async def test_admin_sees_a_failed_message_and_sends_it_again(
    quiet_server: LiveServer, browser: Any, axe_source: str, viewport: dict[str, int]
) -> None:
    await _failed_message(quiet_server)
    tag = f"messages-{viewport['width']}"
    context = await browser.new_context(viewport=viewport)
    page = await context.new_page()
    await sign_in(page, quiet_server.url, *ADMIN)
    if viewport is DESKTOP:
        await _header_on_one_line(page)

    notice = page.get_by_role("link", name="1 message could not be sent")
    await notice.wait_for()
    await assert_in_viewport(notice, viewport)
    await screenshot(page, f"{tag}-home")
    await notice.click()
    await page.wait_for_url(re.compile(r".*/admin/messages\?status=failed$"))
    await page.get_by_role("heading", name="Messages to patients").wait_for()
    assert await page.get_by_label("Status").input_value() == "failed"

    row = page.locator("tbody tr[data-message]")
    assert await row.count() == 1
    text = await row.inner_text()
    assert "Maria Lopez" in text and "m•••@demo.clinic" in text
    assert "Visit moved" in text and "Could not be sent" in text
    assert "The mail server could not be reached." in text
    assert MARIA_EMAIL not in await page.content()
    assert "knee" not in text.lower()
    if viewport is DESKTOP:
        await _header_on_one_line(page)
    await screenshot(page, f"{tag}-list")
    await assert_accessible(page, axe_source)

    opened = row.get_by_role("link", name="Visit moved")
    await assert_in_viewport(opened, viewport)
    await opened.click()
    await page.get_by_role("heading", name="Visit moved: message to Maria Lopez").wait_for()
    assert "your knee follow-up is now on Thursday" in await page.locator("main").inner_text()
    send = page.get_by_role("button", name="Send again")
    await assert_in_viewport(send, viewport)
    await assert_accessible(page, axe_source)
    await send.click()

    confirmation = page.get_by_role("status")
    await confirmation.wait_for()
    assert "Sent again" in await confirmation.inner_text()
    assert await page.get_by_role("button", name="Send again").count() == 0
    await screenshot(page, f"{tag}-sent-again")

    # The server's dispatcher was woken and sends it (into its mailbox): the message's status
    # turns to Sent and the home page's notice goes.
    status = page.locator("dd .status")
    for _ in range(100):
        if await status.inner_text() == "Sent":
            break
        await asyncio.sleep(0.1)
        await page.reload()
    assert await status.inner_text() == "Sent"
    await page.goto(quiet_server.url + "/")
    assert await page.get_by_role("link", name=re.compile("could not be sent")).count() == 0
    await context.close()
