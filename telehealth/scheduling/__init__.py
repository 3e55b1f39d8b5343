"""Scheduling: the pure booking rules (these modules); later also models, service and views.

The rule modules do no I/O and import nothing from the database or the web layer, so the service
calls them inside its transaction and the unit tests call them directly:

- ``appointment_types``: the kinds of visit and their timing policy, as validated data.
- ``localtime``: turning local wall-clock rules into UTC instants, with the DST decisions.
- ``availability``: weekly hours, date exceptions and closures -> UTC intervals.
- ``overlap``: half-open intervals, the overlap predicate and an appointment's blocked interval.
- ``slots``: free-slot search and the single-booking check.
- ``series``: plan-of-care series with conflicts and nearest alternatives.
- ``lifecycle``: the appointment status machine and who may move it.
- ``validation``: request checks shared by the service and the views.
"""
