"""Fixtures of the integration tests that more than one feature's tests use."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from aiosmtpd.controller import Controller

from tests.integration.mail import Mailbox, free_port


@pytest.fixture
def smtp_server() -> Iterator[tuple[Mailbox, int]]:
    """A running SMTP server (aiosmtpd) and its port."""
    mailbox = Mailbox()
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield mailbox, port
    finally:
        controller.stop()


@pytest.fixture
def mailbox(smtp_server: tuple[Mailbox, int]) -> Mailbox:
    """What the test SMTP server received."""
    return smtp_server[0]
