from __future__ import annotations

import csv
import io

from hypothesis import given, settings
from hypothesis import strategies as st

from telehealth.catalog import Catalog, load_catalog
from telehealth.notes.billing import bill_note
from telehealth.notes.report_rules import (
    TechniqueRow,
    bar_chart,
    line_units,
    tally_techniques,
    techniques_csv,
)
from telehealth.notes.rules import NoteContent, validate_note_content
from tests.unit.notes.samples import daily_note

CATALOG = load_catalog()
TIMED = ["therapeutic-exercise", "manual-therapy", "iastm", "therapeutic-activities"]


def test_units_of_the_sample_note(catalog: Catalog) -> None:
    note = validate_note_content(daily_note(), catalog)
    # 97110 (23 min) gets 2 units, 97140 (10 + 8 + 5 min) gets 1, on its longest line.
    assert line_units(note, catalog) == [2, 1, 0, 0]


def _line(technique: str, minutes: int) -> dict:
    parameters = {
        "therapeutic-exercise": {
            "exercises": [
                {"exercise": "bridge", "sets": 1, "repetitions": 5, "per_day": 1, "per_week": 3}
            ]
        },
        "manual-therapy": {"description": "soft tissue"},
        "iastm": {"instrument": "other", "area": "hip"},
        "therapeutic-activities": {"activities": ["sit to stand"]},
    }[technique]
    return {"technique": technique, "minutes": minutes, "parameters": parameters}


@settings(max_examples=60)
@given(
    st.lists(st.tuples(st.sampled_from(TIMED), st.integers(0, 60)), min_size=1, max_size=6),
    st.booleans(),
)
def test_line_units_always_add_up_to_the_billed_units(
    lines: list[tuple[str, int]], evaluation: bool
) -> None:
    content = {
        "note_type": "initial_evaluation" if evaluation else "daily",
        "interventions": [_line(t, m) for t, m in lines]
        + ([{"technique": "evaluation-low", "minutes": 30}] if evaluation else []),
    }
    note = NoteContent.model_validate(content)
    units = line_units(note, CATALOG)
    assert sum(units) == bill_note(note, CATALOG).total_units
    assert all(u >= 0 for u in units)
    # A line never gets a unit it has no minutes for, unless it is untimed.
    for line, u in zip(note.interventions, units, strict=True):
        if CATALOG.technique(line.technique).timed and line.minutes == 0:
            assert u == 0


def test_tally_counts_a_technique_once_per_visit(catalog: Catalog) -> None:
    content = daily_note()
    content["interventions"].append(dict(content["interventions"][1], side="left"))
    note = validate_note_content(content, catalog)
    rows = {r.technique_id: r for r in tally_techniques([note, note], catalog)}
    assert rows["joint-mobilization"].visits == 2
    assert rows["joint-mobilization"].minutes == 40
    assert {r.condition_id for r in rows.values()} == {"hip-osteoarthritis"}


def test_csv_defuses_formulas_and_round_trips() -> None:
    rows = [TechniqueRow("x", "=HYPERLINK(1)", "t", "+cmd", "97110", 1, 10, 1)]
    parsed = list(csv.reader(io.StringIO(techniques_csv(rows))))
    assert parsed[1] == ["x", "'=HYPERLINK(1)", "t", "'+cmd", "97110", "1", "10", "1"]


def test_bar_chart_scales_to_the_longest_bar() -> None:
    rows = [
        TechniqueRow("a", "Alpha", "t1", "One", "97110", 1, 40, 3),
        TechniqueRow("a", "Alpha", "t2", "Two", "97140", 1, 10, 1),
        TechniqueRow("b", "Beta", "t1", "One", "97110", 1, 20, 1),
    ]
    chart = bar_chart(rows, width=600, label_width=200)
    bars = [bar for group in chart.groups for bar in group.bars]
    assert [g.label for g in chart.groups] == ["Alpha", "Beta"]
    assert bars[0].width == chart.plot_width
    assert bars[1].width == round(chart.plot_width / 4)
    assert chart.ticks[0] == (0, 200)
    assert all(b.y < chart.height for b in bars)
    assert bar_chart([]).groups == ()
