"""Scheduling tests move the clock by hours and days: sessions must outlive that."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from telehealth.config import Settings
from tests.conftest import base_settings


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    """Settings of the app under test, with sessions that survive a moved clock."""
    return base_settings(
        tmp_path,
        database_url,
        session_idle=timedelta(days=60),
        session_absolute=timedelta(days=90),
    )
