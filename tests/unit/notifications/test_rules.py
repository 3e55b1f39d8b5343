"""The outbox's pure rules: keys, Message-IDs, backoff."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from telehealth.notifications.rules import (
    MAX_BACKOFF,
    Kind,
    backoff,
    dedupe_key,
    gives_up,
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
