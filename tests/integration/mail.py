"""A real SMTP server (aiosmtpd) on a free loopback port, and settings that send through it.

Shared by every test that reads what the clinic emails (the fixtures are in
tests/integration/conftest.py).
"""

from __future__ import annotations

import email
import email.policy
import socket
import threading
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session

from telehealth.config import Settings
from tests.conftest import base_settings


def free_port() -> int:
    """A loopback port nothing listens on (at the moment of asking)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Mailbox:
    """What the SMTP server received, parsed."""

    def __init__(self) -> None:
        self.received: list[tuple[Envelope, EmailMessage]] = []
        # Set by the server's thread when a message arrives.
        self.arrived = threading.Event()

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        # Addresses that name the answer: a mailbox that does not exist, and one full for now.
        if address.startswith("nobody@"):
            return "550 5.1.1 No such user here"
        if address.startswith("full@"):
            return "452 4.2.2 Mailbox full, try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or envelope.content or b""
        assert isinstance(content, bytes)
        parsed = email.message_from_bytes(content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        self.received.append((envelope, parsed))
        self.arrived.set()
        return "250 2.0.0 Ok: queued as TEST1"

    @property
    def messages(self) -> list[EmailMessage]:
        """The messages, in the order they arrived."""
        return [message for _, message in self.received]


def smtp_settings(tmp_path: Path, database_url: str, port: int, **overrides: Any) -> Settings:
    """Settings that send through the test server; sessions outlive a moved clock."""
    values: dict[str, Any] = {
        "session_idle": timedelta(days=60),
        "session_absolute": timedelta(days=90),
        "mail_delivery": "smtp",
        "smtp_host": "127.0.0.1",
        "smtp_port": port,
        "smtp_security": "none",
        "smtp_timeout": 10.0,
        "mail_from": "appointments@clinic.example",
        # The background loop polls rarely: the tests drive passes themselves.
        "mail_poll_interval": 3600.0,
    }
    values.update(overrides)
    return base_settings(tmp_path, database_url, **values)
