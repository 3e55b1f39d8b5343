"""iCalendar files of appointments: one visit (.ics download) or a person's subscription feed.

Events are written in the reader's IANA zone with a VTIMEZONE, so calendar apps show the visit at
the right wall time across DST. A cancelled visit stays in the feed as ``STATUS:CANCELLED`` (calendar
apps then remove it) and keeps its UID and a higher SEQUENCE; the single download of a cancelled visit
is a ``METHOD:CANCEL`` file. A virtual visit carries its join link. The file attached to a message
carries a reminder (VALARM).

Feeds leave the clinic for third-party calendar services, so a feed never names the patient:
a therapist's feed says "Follow-up visit (virtual)", and the patient's name is one click away in
the clinic. A single download by a signed-in person may name both parties.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import icalendar

PRODID = "-//Virtual PT clinic//Scheduling//EN"


@dataclass(frozen=True)
class CalendarEvent:
    """What one VEVENT shows."""

    uid: str
    start: datetime
    end: datetime
    summary: str
    description: str
    status: str
    sequence: int
    updated: datetime
    url: str | None
    location: str
    # A reminder the calendar app shows this long before the start (a message's attachment);
    # feeds carry none, so subscribing does not add alarms the person did not ask for.
    alarm_before: timedelta | None = None


def build_calendar(
    events: Iterable[CalendarEvent], zone: str, name: str, now: datetime, method: str = "PUBLISH"
) -> bytes:
    """A VCALENDAR with one VEVENT per event, times in zone, with its VTIMEZONE.

    A feed and the file of a booked visit are ``PUBLISH``; the file of a cancelled visit is
    ``CANCEL`` (RFC 5546), so opening it withdraws the event added earlier under the same UID.
    """
    tz = ZoneInfo(zone)
    cal = icalendar.Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", method)
    cal.add("x-wr-calname", name)
    cal.add("x-wr-timezone", zone)
    for ev in events:
        vevent = icalendar.Event()
        vevent.add("uid", ev.uid)
        vevent.add("dtstamp", now)
        vevent.add("last-modified", ev.updated)
        vevent.add("dtstart", ev.start.astimezone(tz))
        vevent.add("dtend", ev.end.astimezone(tz))
        vevent.add("summary", ev.summary)
        vevent.add("description", ev.description)
        vevent.add("status", ev.status)
        vevent.add("sequence", ev.sequence)
        vevent.add("location", ev.location)
        if ev.url:
            vevent.add("url", ev.url)
        if ev.alarm_before is not None:
            alarm = icalendar.Alarm()
            alarm.add("action", "DISPLAY")
            alarm.add("description", ev.summary)
            alarm.add("trigger", -ev.alarm_before)
            vevent.add_component(alarm)
        cal.add_component(vevent)
    cal.add_missing_timezones()
    return bytes(cal.to_ical())
