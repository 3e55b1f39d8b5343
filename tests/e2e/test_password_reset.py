"""Maria forgot her password, on a laptop and a phone: she follows "Forgot your password?" from
the sign-in page, types her email, reads that a link is on its way, opens the link, chooses a new
password (a mistyped second copy is refused in words first), and signs in with it. The link does
not work a second time."""

from __future__ import annotations

import asyncio
import sqlite3
from typing import Any

import pytest

from tests.e2e.conftest import (
    DESKTOP,
    MARIA,
    PHONE,
    LiveServer,
    assert_accessible,
    assert_in_viewport,
    screenshot,
    sign_in,
)

pytestmark = pytest.mark.browser

NEW_PASSWORD = "my garden has blue roses"
SENT_WORDS = "If an account uses that address, we have sent it a link. It works for 15 minutes."


def _newest_reset_email(server: LiveServer, address: str) -> str | None:
    """The plain-text body of the newest reset email to `address` in the server's outbox."""
    database = server.data_dir / "telehealth.db"
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as connection:
        row = connection.execute(
            "SELECT body_text FROM outbox_messages WHERE kind = 'password_reset' AND address = ?"
            " ORDER BY created_at DESC LIMIT 1",
            (address,),
        ).fetchone()
    return None if row is None else str(row[0])


async def _link_from_her_mailbox(server: LiveServer, address: str) -> str:
    # Her mailbox stands in as the server's outbox table: the live server runs with
    # MAIL_DELIVERY=mailbox (its default), which keeps each message there instead of sending it.
    # The email is written with the link, before the confirmation page is answered.
    body = await asyncio.to_thread(_newest_reset_email, server, address)
    assert body is not None, "no reset email in the outbox"
    [link] = [word for word in body.split() if word.startswith(server.url + "/password/reset/")]
    return link


async def _fields_in_viewport(page: Any, viewport: dict[str, int]) -> None:
    for label in ("New password", "New password again"):
        await assert_in_viewport(page.get_by_label(label, exact=True), viewport)
    await assert_in_viewport(page.get_by_role("button", name="Save my new password"), viewport)


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
async def test_maria_sets_a_new_password_by_the_emailed_link(
    live_server: LiveServer, browser: Any, axe_source: str, viewport: dict[str, int]
) -> None:
    email, old_password = MARIA
    size = viewport["width"]
    context = await browser.new_context(viewport=viewport)
    page = await context.new_page()

    # From the sign-in page to the form that asks for her email.
    await page.goto(live_server.url + "/login")
    forgot = page.get_by_role("link", name="Forgot your password?")
    await assert_in_viewport(forgot, viewport)
    await forgot.click()
    await page.get_by_role("heading", name="Forgot your password?").wait_for()
    field = page.get_by_label("Email address")
    await assert_in_viewport(field, viewport)
    await assert_in_viewport(page.get_by_role("button", name="Email me a link"), viewport)
    await assert_accessible(page, axe_source)
    await screenshot(page, f"password-forgot-{size}")

    await field.fill(email)
    await page.get_by_role("button", name="Email me a link").click()
    await page.get_by_role("heading", name="Check your email").wait_for()
    await page.get_by_role("status").filter(has_text=SENT_WORDS).wait_for()
    await assert_accessible(page, axe_source)
    await screenshot(page, f"password-forgot-sent-{size}")

    # She opens the link from the email.
    link = await _link_from_her_mailbox(live_server, email)
    await page.goto(link)
    await page.get_by_role("heading", name="Choose a new password").wait_for()
    rules = await page.locator("#password-rules").inner_text()
    assert "at least 10 characters" in rules and "email address" in rules
    await _fields_in_viewport(page, viewport)
    await assert_accessible(page, axe_source)

    # A slip in the second copy: said in words, both fields empty again, the link still works.
    await page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    await page.get_by_label("New password again", exact=True).fill(NEW_PASSWORD + "s")
    await page.get_by_role("button", name="Save my new password").click()
    await page.get_by_role("alert").filter(has_text="are not the same").wait_for()
    again = page.get_by_label("New password again", exact=True)
    assert await again.get_attribute("aria-invalid") == "true"
    for label in ("New password", "New password again"):
        assert await page.get_by_label(label, exact=True).input_value() == ""
    await _fields_in_viewport(page, viewport)
    await assert_accessible(page, axe_source)
    await screenshot(page, f"password-reset-refused-{size}")

    await page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    await again.fill(NEW_PASSWORD)
    await page.get_by_role("button", name="Save my new password").click()
    await page.get_by_role("heading", name="Sign in").wait_for()
    await (
        page.get_by_role("status")
        .filter(has_text="Your password is changed. Please sign in.")
        .wait_for()
    )
    await assert_accessible(page, axe_source)
    await screenshot(page, f"password-reset-done-{size}")

    # The old password is refused; the new one lets her in.
    await page.get_by_label("Email address").fill(email)
    await page.get_by_label("Password").fill(old_password)
    await page.get_by_role("button", name="Sign in").click()
    await page.get_by_role("alert").filter(has_text="do not match").wait_for()
    await sign_in(page, live_server.url, email, NEW_PASSWORD)
    assert page.url == live_server.url + "/"

    # The link worked once.
    await page.goto(link)
    await page.get_by_role("heading", name="This link cannot be used").wait_for()
    await page.get_by_text("This link has already been used.").wait_for()
    await assert_in_viewport(page.get_by_role("link", name="Ask for a new link"), viewport)
    await context.close()
