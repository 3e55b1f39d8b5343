"""The admin's audit trail in a real browser: names instead of ids, a person and date filter,
paging to older rows, at laptop and phone sizes (the phone page never scrolls sideways)."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from tests.e2e.conftest import (
    DESKTOP,
    PHONE,
    LiveServer,
    assert_accessible,
    screenshot,
    sign_in,
)

pytestmark = pytest.mark.browser

ADMIN = ("admin@demo.clinic", "demo-admin-pass")
ZONE = ZoneInfo("America/New_York")  # the demo admin's zone
ID_FRAGMENT = re.compile(r"\b[0-9a-f]{8}\b")


async def _history(server: LiveServer, days: list[date], per_day: int) -> None:
    """Dana reads Maria's record per_day times on each day (the server's own database, written by
    the same unit of work the server uses). The days lie ahead: the trail's times never run back."""
    from telehealth.accounts.models import User
    from telehealth.accounts.service import actor_of
    from telehealth.actors import Caller
    from telehealth.audit.chain import AuditRecord
    from telehealth.clock import ManualClock
    from telehealth.config import Settings
    from telehealth.db import create_engine, create_session_factory
    from telehealth.passwords import Passwords
    from telehealth.unit_of_work import Services, unit_of_work

    settings = Settings.from_env(server.env).with_secret()
    engine = create_engine(settings)
    clock = ManualClock(datetime.combine(days[0], time(9), tzinfo=ZONE))
    try:
        services = Services(settings, clock, create_session_factory(engine), Passwords(settings))
        async with services.sessions() as session:
            dana = (
                await session.scalars(select(User).where(User.email == "dana.reyes@demo.clinic"))
            ).one()
            maria = (
                await session.scalars(select(User).where(User.email == "maria.lopez@demo.clinic"))
            ).one()
        for day in days:
            clock.set(datetime.combine(day, time(9), tzinfo=ZONE))
            for _ in range(per_day):
                caller = Caller(actor=actor_of(dana), ip="198.51.100.7", request_id="e2e-history")
                async with unit_of_work(services, caller) as uow:
                    uow.audit(
                        AuditRecord(
                            "patient.read",
                            "patient",
                            resource_id=str(maria.id),
                            patient_id=maria.id,
                        )
                    )
                clock.advance(timedelta(minutes=1))
    finally:
        await engine.dispose()


async def _row_count(page: Any) -> int:
    return int(await page.locator("tbody tr[data-seq]").count())


async def _no_sideways_scroll(page: Any) -> None:
    widths = await page.evaluate(
        "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    assert widths[0] <= widths[1], f"the page scrolls sideways: {widths}"


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
async def test_admin_filters_and_pages_the_audit_trail(
    live_server: LiveServer, browser: Any, axe_source: str, viewport: dict[str, int]
) -> None:
    today = datetime.now(ZONE).date()
    first_day, second_day = today + timedelta(days=2), today + timedelta(days=4)
    await _history(live_server, [first_day, second_day], per_day=30)
    tag = f"audit-{viewport['width']}"

    context = await browser.new_context(viewport=viewport)
    page = await context.new_page()
    await sign_in(page, live_server.url, *ADMIN)
    await page.goto(live_server.url + "/admin/audit")
    await page.get_by_role("heading", name="Audit trail").wait_for()

    # Names and plain actions, not ids and codes.
    table = page.locator("tbody")
    text = await table.inner_text()
    assert "Dana Reyes, DPT" in text and "Maria Lopez" in text
    assert "Viewed a patient" in text
    assert "patient.read" not in text
    assert not ID_FRAGMENT.search(text.replace("e2e-history", "")), text[:500]
    await screenshot(page, f"{tag}-newest")
    await _no_sideways_scroll(page)

    # Dana, over both days: 60 rows, 50 on the first page.
    await page.get_by_label("Person (name or email)").fill("dana")
    await page.get_by_label("From (date)").fill(first_day.isoformat())
    await page.get_by_label("To (date, included)").fill(second_day.isoformat())
    await page.get_by_role("button", name="Filter").click()
    await page.wait_for_url(re.compile(r".*person=dana.*"))
    assert await _row_count(page) == 50
    assert await page.get_by_label("Person (name or email)").input_value() == "dana"
    assert await page.get_by_label("From (date)").input_value() == first_day.isoformat()
    who = await page.locator('tbody td[data-label="Who"]').all_inner_texts()
    assert all("Dana Reyes, DPT" in w for w in who)
    assert await page.get_by_role("link", name="Newer").count() == 0
    await screenshot(page, f"{tag}-filtered")
    await _no_sideways_scroll(page)
    await assert_accessible(page, axe_source)

    await page.get_by_role("link", name="Older").click()
    await page.wait_for_url(re.compile(r".*before=\d+.*"))
    assert await _row_count(page) == 10
    assert await page.get_by_role("link", name="Older").count() == 0
    assert await page.get_by_label("Person (name or email)").input_value() == "dana"
    await _no_sideways_scroll(page)
    await page.get_by_role("link", name="Newer").click()
    await page.wait_for_url(re.compile(r".*after=\d+.*"))
    assert await _row_count(page) == 50

    # One day only: Dana's 30 reads of that day, on one page.
    await page.get_by_label("From (date)").fill(second_day.isoformat())
    await page.get_by_label("To (date, included)").fill(second_day.isoformat())
    await page.get_by_role("button", name="Filter").click()
    await page.wait_for_url(re.compile(rf".*date_from={second_day.isoformat()}.*"))
    assert await _row_count(page) == 30
    assert await page.get_by_role("link", name="Older").count() == 0
    csv_link = page.get_by_role("link", name="Download CSV")
    assert "person=dana" in (await csv_link.get_attribute("href") or "")

    # A bad date is explained on the page.
    await page.goto(live_server.url + "/admin/audit?date_from=2026-02-31")
    alert = page.get_by_role("alert")
    await alert.wait_for()
    assert "From: use a date" in await alert.inner_text()
    await _no_sideways_scroll(page)
    await assert_accessible(page, axe_source)
    await context.close()
