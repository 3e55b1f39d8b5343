"""A patient who cannot sign in reaches her visit by the link her therapist made: Dana makes it on
the visit's page (laptop), Maria opens it on her phone, taps once and is at her visit's check."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.e2e.conftest import (
    DANA,
    DESKTOP,
    PHONE,
    LiveServer,
    assert_accessible,
    precall_and_wait,
    screenshot,
    sign_in,
)

pytestmark = pytest.mark.browser


async def test_maria_joins_by_the_link_dana_made(
    live_server: LiveServer, browser: Any, axe_source: str
) -> None:
    dana_ctx = await browser.new_context(viewport=DESKTOP)
    dana = await dana_ctx.new_page()
    await sign_in(dana, live_server.url, *DANA)
    await dana.goto(f"{live_server.url}/agenda")
    await dana.locator("li", has_text="Maria Lopez").first.get_by_role("link").first.click()
    await dana.wait_for_url(re.compile(r".*/appointments/[0-9a-f-]{36}$"))
    visit_id = dana.url.rsplit("/", 1)[-1]
    await dana.get_by_role("button", name="Make a join link").click()
    field = dana.get_by_role("textbox", name="Link")
    await field.wait_for()
    url = await field.input_value()
    assert re.fullmatch(re.escape(live_server.url) + r"/join/[A-Za-z0-9_-]{43}", url), url
    await screenshot(dana, "join-link-made-desktop")
    await dana_ctx.close()

    # Maria, signed in nowhere, on her phone.
    maria_ctx = await browser.new_context(viewport=PHONE)
    maria = await maria_ctx.new_page()
    await maria.goto(url)
    await maria.get_by_role("heading", name="Join your video visit").wait_for()
    await assert_accessible(maria, axe_source)
    await screenshot(maria, "join-link-phone")
    await maria.get_by_role("button", name="Continue to my visit").click()
    await maria.wait_for_url(f"{live_server.url}/visits/{visit_id}")
    await precall_and_wait(maria)

    # The link was for one tap: opened again, it says so and offers the sign-in page.
    await maria.goto(url)
    await maria.get_by_role("heading", name="This link can no longer be used").wait_for()
    await maria.get_by_role("link", name="Sign in").wait_for()
    await maria_ctx.close()
