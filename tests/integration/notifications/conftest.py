"""The app under these tests sends through a real SMTP server (tests/integration/mail.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from telehealth.config import Settings
from tests.integration.mail import Mailbox, smtp_settings


@pytest.fixture
def settings(tmp_path: Path, database_url: str, smtp_server: tuple[Mailbox, int]) -> Settings:
    """The app under test sends through the test SMTP server."""
    return smtp_settings(tmp_path, database_url, smtp_server[1])
