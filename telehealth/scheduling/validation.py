"""Request checks shared by the scheduling service and views: instants, ranges, granularity.

Every failure raises ``telehealth.errors.InvalidInput`` with a message a person can act on and a
``details`` dict naming the offending field, so the API can point at it. Looking up an appointment
type by key (``appointment_types.lookup_type``) and parsing a modality (``parse_modality``) live
beside the types they check; zone names are checked by ``localtime.resolve_zone``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from telehealth.errors import InvalidInput

# A quarter of a year: longer searches are a client bug or a scrape, not a person picking a visit.
MAX_SEARCH_SPAN = timedelta(days=93)
MINUTE = timedelta(minutes=1)
DAY = timedelta(days=1)


def ensure_utc(value: datetime, field: str) -> datetime:
    """Return value as UTC, refusing naive datetimes (they hide which zone was meant)."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidInput(
            f"{field} must carry a time zone (e.g. 2026-03-08T14:00:00Z), got a naive time",
            details={"field": field},
        )
    return value if value.tzinfo is UTC else value.astimezone(UTC)


def validate_range(
    start: datetime, end: datetime, *, field: str = "range"
) -> tuple[datetime, datetime]:
    """Check that start and end are aware and that end is after start; return both in UTC."""
    start = ensure_utc(start, f"{field}.start")
    end = ensure_utc(end, f"{field}.end")
    if end <= start:
        raise InvalidInput(
            f"{field} must end after it starts ({start.isoformat()} .. {end.isoformat()})",
            details={"field": field},
        )
    return start, end


def validate_search_range(
    start: datetime, end: datetime, *, now: datetime, max_span: timedelta = MAX_SEARCH_SPAN
) -> tuple[datetime, datetime]:
    """Check a slot-search range: ordered, not wholly in the past, at most max_span long."""
    start, end = validate_range(start, end, field="search range")
    now = ensure_utc(now, "now")
    if end <= now:
        raise InvalidInput(
            "the search range lies entirely in the past; choose dates from today on",
            details={"field": "search range"},
        )
    if end - start > max_span:
        raise InvalidInput(
            f"the search range may span at most {max_span.days} days,"
            f" got {(end - start) / DAY:.1f} days",
            details={"field": "search range", "max_days": max_span.days},
        )
    return start, end


def validate_granularity(step: timedelta) -> timedelta:
    """Check a slot granularity: whole minutes that divide a day evenly (5, 10, 15, 30, 60 ...)."""
    if step <= timedelta(0) or step % MINUTE or DAY % step:
        raise InvalidInput(
            f"slot granularity must be a whole number of minutes dividing 24 hours, got {step}",
            details={"field": "granularity"},
        )
    return step


def validate_future_start(start: datetime, *, now: datetime) -> datetime:
    """Check that a requested appointment start is aware and not in the past; return it in UTC."""
    start = ensure_utc(start, "start")
    if start < ensure_utc(now, "now"):
        raise InvalidInput(
            f"the start {start.isoformat()} is in the past", details={"field": "start"}
        )
    return start
