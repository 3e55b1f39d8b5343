"""Visits in people's own calendars: one visit's .ics download and secret subscription feeds.

`ics` writes iCalendar files (pure); `service` authorizes, reads and audits.
"""
