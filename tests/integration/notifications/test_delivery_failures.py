"""An SMTP server that is not there: a message is tried again with backoff, then failed."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient
from aiohttp.web import Application
from sqlalchemy import select

from telehealth.clock import ManualClock
from telehealth.config import Settings
from telehealth.notifications.dispatcher import DISPATCHER
from telehealth.notifications.models import OutboxMessage
from telehealth.unit_of_work import Services
from tests.conftest import People
from tests.integration.mail import free_port, smtp_settings
from tests.integration.scheduling.support import book, make_clinic, utc

RETRY = timedelta(seconds=60)


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    """Sends to a loopback port nothing listens on; three tries at most."""
    return smtp_settings(tmp_path, database_url, free_port(), mail_max_attempts=3, mail_retry=RETRY)


async def the_message(services: Services) -> OutboxMessage:
    async with services.sessions() as session:
        [row] = (await session.scalars(select(OutboxMessage))).all()
        return row


async def test_a_message_that_cannot_be_sent_backs_off_then_fails(
    client: TestClient,
    app: Application,
    services: Services,
    people: People,
    clock: ManualClock,
) -> None:
    c = await make_clinic(client, services, people)
    booked = await book(client, c.patient_h, utc(2026, 3, 3, 15), therapist_id=c.therapist.id)
    assert booked.status == 201, await booked.text()
    dispatcher = app[DISPATCHER]
    clock.advance(services.settings.mail_grace)
    # Each failed try waits twice as long as the one before: 60 s, then 120 s.
    for attempt, wait in ((1, RETRY), (2, RETRY * 2)):
        assert await dispatcher.dispatch_due() == 0
        row = await the_message(services)
        assert (row.status, row.attempts) == ("pending", attempt)
        assert row.next_attempt_at == clock.now() + wait
        assert row.last_error and "connect" in row.last_error.lower()
        clock.advance(wait - timedelta(seconds=1))
        await dispatcher.dispatch_due()
        assert (await the_message(services)).attempts == attempt  # not yet due
        clock.advance(timedelta(seconds=1))
    assert await dispatcher.dispatch_due() == 0
    row = await the_message(services)
    assert (row.status, row.attempts, row.sent_at) == ("failed", 3, None)
    assert row.last_error and "connect" in row.last_error.lower()
    clock.advance(timedelta(days=1))
    await dispatcher.dispatch_due()
    assert (await the_message(services)).attempts == 3  # failed for good
