"""Where the external services of the test suite are, and what to do when one is missing.

Locally a missing PostgreSQL, Redis, coturn or Chromium skips its tests with a visible reason;
with TELEHEALTH_TEST_REQUIRE_SERVICES=1 (set by .ci/run) the same absence fails the run instead,
so CI can never go green by skipping the real components.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
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


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def running_coturn(secret: str, realm: str = "clinic.test") -> Iterator[str]:
    """A real coturn on loopback with use-auth-secret; yields its turn: URL and stops it after.

    allow-loopback-peers is for tests only: production denies loopback and private peers.
    """
    binary = require_turnserver()
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        conf = Path(tmp) / "turnserver.conf"
        conf.write_text(
            "\n".join(
                [
                    f"listening-port={port}",
                    "listening-ip=127.0.0.1",
                    "relay-ip=127.0.0.1",
                    "use-auth-secret",
                    f"static-auth-secret={secret}",
                    f"realm={realm}",
                    "allow-loopback-peers",
                    "no-tls",
                    "no-dtls",
                    "no-cli",
                    "no-multicast-peers",
                    f"pidfile={tmp}/turn.pid",
                    f"log-file={tmp}/turn.log",
                    "min-port=49160",
                    "max-port=49400",
                ]
            )
            + "\n"
        )
        process = subprocess.Popen(
            [binary, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        try:
            for _ in range(200):
                if tcp_reachable("127.0.0.1", port, timeout=0.1) or process.poll() is not None:
                    break
                time.sleep(0.05)
            if process.poll() is not None:
                raise RuntimeError("turnserver exited at start")
            yield f"turn:127.0.0.1:{port}?transport=udp"
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
