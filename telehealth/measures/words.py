"""Scores and their change in plain words, for the patient and the therapist."""

from __future__ import annotations

from telehealth.measures.scoring import Instrument


def number(value: float) -> str:
    """6.0 as "6", 6.25 as "6.25": no trailing zeros a person would not write."""
    return f"{value:.2f}".rstrip("0").rstrip(".")


def points(value: float) -> str:
    """ "1 point", "3 points", "2.5 points"."""
    return f"{number(value)} point{'' if value == 1 else 's'}"


def change_words(instrument: Instrument, before: float, after: float) -> str:
    """What changed between two scores, compared with the instrument's MCID where it has one."""
    if instrument.key == "nprs":
        said = f"Your pain went from {number(before)} to {number(after)}"
    else:
        said = (
            f"Your {instrument.title} score went from {number(before)} to {number(after)}"
            f" (out of {number(instrument.score_max)})"
        )
    delta = after - before
    if delta == 0:
        return f"{said}: no change."
    better = (delta > 0) == instrument.higher_is_better
    direction = "better" if better else "worse"
    if instrument.mcid is None:
        return f"{said}: {direction}."
    size = abs(delta)
    mcid = points(instrument.mcid)
    if size >= instrument.mcid:
        return (
            f"{said}: {points(size)} {direction}, at least the {mcid} that count as a real change."
        )
    return f"{said}: {points(size)} {direction}, less than the {mcid} that count as a real change."
