"""The dispatcher running in the app: the commit that wrote a message wakes it."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient

from telehealth.config import Settings
from telehealth.unit_of_work import Services
from tests.conftest import People
from tests.integration.mail import Mailbox, smtp_settings
from tests.integration.scheduling.support import book, make_clinic, utc


@pytest.fixture
def settings(tmp_path: Path, database_url: str, smtp_server: tuple[Mailbox, int]) -> Settings:
    """No grace: a message is due at its commit. The loop still polls only once an hour."""
    return smtp_settings(tmp_path, database_url, smtp_server[1], mail_grace=timedelta(0))


async def test_the_commit_wakes_the_dispatcher_running_in_the_background(
    client: TestClient, services: Services, people: People, mailbox: Mailbox
) -> None:
    c = await make_clinic(client, services, people)
    booked = await book(client, c.patient_h, utc(2026, 3, 3, 15), therapist_id=c.therapist.id)
    assert booked.status == 201, await booked.text()
    # Nothing drives a pass here: only the wake-up after the booking's commit can send it. The
    # bound guards against a hang; it measures nothing.
    assert await asyncio.to_thread(mailbox.arrived.wait, 60)
    [message] = mailbox.messages
    assert "Your visit is booked" in message["Subject"]
