"""The staff calendars: a therapist's week, and one day across therapists, as grid columns.

Composes inside the request's unit of work: the therapists' rules and the clinic's closures come
from ``repository.calendars`` (the read the slot search makes), free time from
``availability.rules.expand`` (the slot search's expansion), the visits from
``service.list_appointments_in`` (scoped to the actor and audited once per patient). Only staff
read it: a therapist their own time, an admin anyone's.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from telehealth.accounts.models import User
from telehealth.errors import NotFound
from telehealth.scheduling import access, grid, repository, service
from telehealth.scheduling.availability import service as availability_service
from telehealth.scheduling.availability.rules import WeeklyAvailability, expand
from telehealth.scheduling.localtime import local_day_start, resolve_zone
from telehealth.scheduling.overlap import Interval
from telehealth.unit_of_work import Services, UnitOfWork

_DAY = timedelta(days=1)
# A visit that began before the window still covers its first rows: no visit is longer than this.
_LONGEST_VISIT = repository.LONGEST_BLOCK


@dataclass(frozen=True)
class GridColumn:
    """One column of a grid: whose, which local day, and its cells top to bottom."""

    therapist: User
    day: date
    cells: list[grid.Cell]

    @property
    def stretches(self) -> list[grid.Stretch]:
        """The same time as the narrow-screen list reads it."""
        return grid.stretches(self.cells)


@dataclass(frozen=True)
class StaffGrid:
    """Rows (minutes after midnight in the viewer's zone) and the columns laid on them."""

    rows: list[int]
    columns: list[GridColumn]
    zone: str

    def table(self) -> list[tuple[time, list[tuple[GridColumn, grid.Cell]]]]:
        """Each row's wall time and the cells that begin on it, column by column: a table whose
        cells span several rows lists each cell once, where it begins."""
        starts: list[list[tuple[GridColumn, grid.Cell]]] = [[] for _ in self.rows]
        for column in self.columns:
            index = 0
            for cell in column.cells:
                starts[index].append((column, cell))
                index += cell.rows
        return [
            (time(minute // 60, minute % 60), begun)
            for minute, begun in zip(self.rows, starts, strict=True)
        ]


async def therapists_in(uow: UnitOfWork) -> list[User]:
    """The active therapists a staff member may pick (staff only)."""
    access.require_staff(uow.actor)
    return await availability_service.list_therapists_in(uow)


async def visible_therapist_in(uow: UnitOfWork, therapist_id: uuid.UUID | None) -> User:
    """The therapist whose week the actor asked for: a therapist only their own (another's is
    404, as any other person's object), an admin any active therapist (the first by name when
    none is named)."""
    actor = uow.actor
    access.require_staff(actor)
    if actor.is_therapist:
        if therapist_id is not None and therapist_id != actor.id:
            raise NotFound("No such therapist.")
        return await access.get_active_therapist(uow.session, actor.id)
    if therapist_id is not None:
        return await access.get_active_therapist(uow.session, therapist_id)
    therapists = await availability_service.list_therapists_in(uow)
    if not therapists:
        raise NotFound("No therapist works at the clinic yet.")
    return therapists[0]


async def grid_in(
    uow: UnitOfWork,
    services: Services,
    therapists: Sequence[User],
    days: Sequence[date],
) -> StaffGrid:
    """Each therapist's time on each local day (viewer's zone): one column per (day, therapist),
    days outer. Reads rules and closures in one statement and the visits in one more."""
    access.require_staff(uow.actor)
    zone_name = uow.actor.time_zone
    zone = resolve_zone(zone_name)
    start = local_day_start(days[0], zone)
    end = local_day_start(days[-1] + _DAY, zone)
    ids = [t.id for t in therapists]
    calendars = await repository.calendars(
        uow.session, ids, days[0] - _DAY, days[-1] + _DAY, known=therapists
    )
    visits: dict[uuid.UUID, list[grid.Visit]] = defaultdict(list)
    only = ids[0] if len(ids) == 1 else None
    for view in await service.list_appointments_in(
        uow,
        services,
        service.ListQuery(
            start=start - _LONGEST_VISIT,
            end=end,
            therapist_id=only,
            include_cancelled=False,
            zone=zone_name,
        ),
    ):
        if view.row.therapist_id in calendars.rules and view.row.end_at > start:
            visits[view.row.therapist_id].append(
                grid.Visit(view.row.start_at, view.row.end_at, view)
            )
    raw: dict[uuid.UUID, grid.Column] = {}
    for therapist in therapists:
        rules = calendars.rules[therapist.id]
        raw[therapist.id] = grid.Column(
            free=_free(rules, start, end, calendars.closed),
            blocked=grid.time_off(rules, start, end),
            closed=grid.closed_days(calendars.closed, rules.tz, start, end),
            visits=visits.get(therapist.id, []),
        )
    rows = grid.row_minutes(days, zone, list(raw.values()))
    columns = [
        GridColumn(therapist, day, grid.cells(day, rows, zone, raw[therapist.id]))
        for day in days
        for therapist in therapists
    ]
    return StaffGrid(rows, columns, zone_name)


def _free(
    rules: WeeklyAvailability, start: datetime, end: datetime, closed: list[date]
) -> list[Interval]:
    return expand(rules, start, end, closed_dates=closed)
