"""Pure rules of the note reports: units per technique line, tallies by condition, the bar chart
geometry and the CSV text. No I/O; the report services feed them signed notes."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from telehealth.catalog.loader import Catalog
from telehealth.notes.billing import bill_note
from telehealth.notes.rules import NoteContent

# Cells starting with these are run as formulas by spreadsheets (CSV injection).
_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def line_units(note: NoteContent, catalog: Catalog) -> list[int]:
    """The billed units of each intervention line.

    Billing assigns units per CPT code (8-minute rule). Several techniques can share a code
    (joint mobilization, myofascial release and IASTM are all 97140), so a code's units are
    spread over its lines by minutes, largest remainder first (ties: more minutes, then the
    earlier line). An untimed code's single unit goes to its first line. The lines' units always
    add up to the visit's billed units.
    """
    billed = {line.cpt: line.units for line in bill_note(note, catalog).lines}
    by_cpt: dict[str, list[int]] = {}
    for index, line in enumerate(note.interventions):
        by_cpt.setdefault(catalog.technique(line.technique).cpt, []).append(index)
    units = [0] * len(note.interventions)
    for cpt, indexes in by_cpt.items():
        total_units = billed.get(cpt, 0)
        minutes = {i: note.interventions[i].minutes for i in indexes}
        total_minutes = sum(minutes.values())
        if not catalog.technique(note.interventions[indexes[0]].technique).timed or not (
            total_minutes
        ):
            units[indexes[0]] += total_units
            continue
        for i in indexes:
            units[i] = total_units * minutes[i] // total_minutes
        left = total_units - sum(units[i] for i in indexes)
        order = sorted(
            indexes, key=lambda i: (-(total_units * minutes[i] % total_minutes), -minutes[i], i)
        )
        for i in order[:left]:
            units[i] += 1
    return units


def primary_condition(note: NoteContent, catalog: Catalog) -> tuple[str, str]:
    """(id, name) of the condition of the note's first diagnosis: the one the visit treats.

    Claims list the primary diagnosis first; attributing each technique to that one condition
    keeps report totals equal to what was done (no double counting across diagnoses).
    """
    if not note.diagnoses:
        return "", "No diagnosis"
    code = note.diagnoses[0].code
    found = catalog.find_code(code)
    if found is not None:
        return found[0].id, found[0].name
    # A code from outside the catalog is its own group, named by its title.
    return code, f"{code} {catalog.diagnosis_name(code)}"


@dataclass(frozen=True)
class TechniqueRow:
    """How often a technique was used for a condition in a period, for how long, for how much."""

    condition_id: str
    condition: str
    technique_id: str
    technique: str
    cpt: str
    visits: int
    minutes: int
    units: int


@dataclass
class _Tally:
    visits: int = 0
    minutes: int = 0
    units: int = 0


def tally_techniques(notes: Iterable[NoteContent], catalog: Catalog) -> list[TechniqueRow]:
    """Techniques by primary condition over signed notes: visits using it, minutes and units.

    Two lines of one technique in one visit (say, both hips) count as one visit.
    """
    tallies: dict[tuple[str, str], _Tally] = {}
    names: dict[str, str] = {}
    for note in notes:
        condition_id, condition_name = primary_condition(note, catalog)
        names[condition_id] = condition_name
        seen: set[str] = set()
        for line, units in zip(note.interventions, line_units(note, catalog), strict=True):
            tally = tallies.setdefault((condition_id, line.technique), _Tally())
            if line.technique not in seen:
                tally.visits += 1
                seen.add(line.technique)
            tally.minutes += line.minutes
            tally.units += units
    rows = [
        TechniqueRow(
            condition_id=condition_id,
            condition=names[condition_id],
            technique_id=technique_id,
            technique=(technique := catalog.technique(technique_id)).name,
            cpt=technique.cpt,
            visits=tally.visits,
            minutes=tally.minutes,
            units=tally.units,
        )
        for (condition_id, technique_id), tally in tallies.items()
    ]
    return sorted(rows, key=lambda r: (r.condition, -r.visits, r.technique))


def _cell(value: object) -> str:
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_PREFIXES) else text


CSV_HEADER = (
    "condition_id",
    "condition",
    "technique_id",
    "technique",
    "cpt",
    "visits",
    "minutes",
    "units",
)


def techniques_csv(rows: Sequence[TechniqueRow]) -> str:
    """The report as CSV (RFC 4180, CRLF), with formula-like cells defused."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    for row in rows:
        writer.writerow(
            [
                _cell(row.condition_id),
                _cell(row.condition),
                _cell(row.technique_id),
                _cell(row.technique),
                row.cpt,
                row.visits,
                row.minutes,
                row.units,
            ]
        )
    return out.getvalue()


@dataclass(frozen=True)
class ChartBar:
    """One bar: its labels, value and geometry in the SVG's user units."""

    label: str
    value: int
    y: int
    width: int


@dataclass(frozen=True)
class ChartGroup:
    """A condition heading and its bars."""

    label: str
    y: int
    bars: tuple[ChartBar, ...]


@dataclass(frozen=True)
class BarChart:
    """A horizontal bar chart, laid out for server-side SVG (no script needed to draw it)."""

    width: int
    height: int
    label_width: int
    plot_width: int
    bar_height: int
    max_value: int
    groups: tuple[ChartGroup, ...]
    ticks: tuple[tuple[int, int], ...]  # (value, x)


def bar_chart(
    rows: Sequence[TechniqueRow],
    *,
    width: int = 720,
    label_width: int = 240,
    bar_height: int = 18,
    gap: int = 6,
    heading: int = 26,
) -> BarChart:
    """Lay out minutes per technique, grouped by condition, as horizontal bars."""
    plot_width = width - label_width - 60
    max_value = max((r.minutes for r in rows), default=0)
    scale = plot_width / max_value if max_value else 0.0
    groups: list[ChartGroup] = []
    y = 24  # room for the axis labels
    order: dict[str, list[TechniqueRow]] = {}
    for row in rows:
        order.setdefault(row.condition, []).append(row)
    for condition, members in order.items():
        group_y = y
        y += heading
        bars = []
        for row in members:
            bars.append(
                ChartBar(
                    label=row.technique,
                    value=row.minutes,
                    y=y,
                    width=max(1, round(row.minutes * scale)) if row.minutes else 0,
                )
            )
            y += bar_height + gap
        groups.append(ChartGroup(label=condition, y=group_y, bars=tuple(bars)))
    ticks = tuple((value, label_width + round(value * scale)) for value in _ticks(max_value))
    return BarChart(
        width=width,
        height=y + 8,
        label_width=label_width,
        plot_width=plot_width,
        bar_height=bar_height,
        max_value=max_value,
        groups=tuple(groups),
        ticks=ticks,
    )


def _ticks(max_value: int, count: int = 4) -> list[int]:
    if max_value <= 0:
        return [0]
    raw = max_value / count
    step = 1
    for candidate in (1, 2, 5, 10, 15, 20, 30, 50, 60, 100, 120, 200, 300, 500, 1000):
        step = candidate
        if candidate >= raw:
            break
    else:
        step = int(raw) + 1
    return list(range(0, max_value + 1, step))
