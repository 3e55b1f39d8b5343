"""The outbox's pure rules: keys, Message-IDs, backoff, and the words the admin reads."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from telehealth.notifications.rules import (
    MAX_BACKOFF,
    Kind,
    backoff,
    dedupe_key,
    error_words,
    gives_up,
    mask_address,
    message_id,
)

AT = datetime(2026, 3, 2, 14, 2, tzinfo=UTC)


def test_a_message_is_keyed_by_kind_subject_version_and_moment() -> None:
    subject = uuid.uuid4()
    key = dedupe_key(Kind.BOOKED, subject, 1, AT)
    assert key == dedupe_key(Kind.BOOKED, subject, 1, AT)
    others = {
        dedupe_key(Kind.CHANGED, subject, 1, AT),
        dedupe_key(Kind.BOOKED, uuid.uuid4(), 1, AT),
        dedupe_key(Kind.BOOKED, subject, 2, AT),
        dedupe_key(Kind.BOOKED, subject, 1, AT + timedelta(seconds=1)),
    }
    assert key not in others and len(others) == 4
    assert len(key) <= 200  # the column's width


def test_the_message_id_is_an_rfc_5322_id_of_the_row() -> None:
    row = uuid.uuid4()
    assert message_id(row, "clinic.example") == f"<{row.hex}@clinic.example>"


def test_backoff_doubles_up_to_a_ceiling() -> None:
    first = timedelta(seconds=60)
    assert [backoff(n, first) for n in (1, 2, 3, 4)] == [
        timedelta(seconds=60),
        timedelta(seconds=120),
        timedelta(seconds=240),
        timedelta(seconds=480),
    ]
    assert backoff(20, first) == MAX_BACKOFF
    assert backoff(10_000, first) == MAX_BACKOFF


def test_a_message_gives_up_at_the_last_attempt() -> None:
    assert not gives_up(2, 3)
    assert gives_up(3, 3)


def test_an_address_is_masked_to_its_first_letter_and_domain() -> None:
    assert mask_address("maria.lopez@example.com") == "m•••@example.com"
    assert mask_address("a@b.example") == "a•••@b.example"
    # The last @ separates the domain: a quoted local part may hold one.
    assert mask_address('"x@y"@example.com') == '"•••@example.com'
    assert mask_address("no-at-sign") == "n•••"


def test_what_went_wrong_is_said_in_words() -> None:
    assert error_words(None) == ""
    assert error_words("SMTPConnectError: Error connecting to 127.0.0.1 on port 9") == (
        "The mail server could not be reached."
    )
    assert error_words("SMTPConnectTimeoutError: Timed out connecting") == (
        "The mail server did not answer in time."
    )
    refused = "SMTPRecipientsRefused: [SMTPRecipientRefused(550, 'No such user here', 'x@y')]"
    assert "refused the address" in error_words(refused)
    full = "SMTPRecipientsRefused: [SMTPRecipientRefused(452, 'Mailbox full', 'x@y')]"
    assert "try later" in error_words(full)
    assert error_words("SMTPDataError: 554 rejected") == (
        "The mail server did not accept the message."
    )
    assert error_words("ValueError: odd") == "The message could not be handed to the mail server."
