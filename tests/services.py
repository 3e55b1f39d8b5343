"""Where the external services of the test suite are, and what to do when one is missing.

Locally a missing PostgreSQL, Redis, coturn or Chromium skips its tests with a visible reason;
with TELEHEALTH_TEST_REQUIRE_SERVICES=1 (set by .ci/run) the same absence fails the run instead,
so CI can never go green by skipping the real components.
"""

from __future__ import annotations

import os
import shutil
import socket
from typing import NoReturn

import pytest

POSTGRES_URL = os.environ.get(
    "TELEHEALTH_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
)
REDIS_URL = os.environ.get("TELEHEALTH_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
CHROMIUM_PATH = os.environ.get("TELEHEALTH_TEST_CHROMIUM", "/usr/bin/chromium")
TURNSERVER_PATH = os.environ.get("TELEHEALTH_TEST_TURNSERVER", "turnserver")


def services_required() -> bool:
    """True when missing services must fail the run (CI)."""
    return os.environ.get("TELEHEALTH_TEST_REQUIRE_SERVICES", "") not in ("", "0", "false", "no")


def service_missing(name: str, reason: str) -> NoReturn:
    """Skip (locally) or fail (CI) because an external service is not available."""
    message = f"{name} unavailable: {reason}"
    if services_required():
        pytest.fail(message + " (TELEHEALTH_TEST_REQUIRE_SERVICES is set)", pytrace=False)
    pytest.skip(message)


def tcp_reachable(host: str, port: int, timeout: float = 0.5) -> bool:
    """Whether something accepts TCP connections at host:port."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def require_chromium() -> str:
    """Return the Chromium executable path or skip/fail."""
    if os.path.exists(CHROMIUM_PATH):
        return CHROMIUM_PATH
    found = shutil.which("chromium")
    if found:
        return found
    service_missing("Chromium", f"{CHROMIUM_PATH} not found (apt-get install chromium)")


def require_turnserver() -> str:
    """Return the coturn executable path or skip/fail."""
    found = shutil.which(TURNSERVER_PATH)
    if found:
        return found
    service_missing("coturn", "turnserver not found (apt-get install coturn)")
