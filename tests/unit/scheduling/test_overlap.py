"""Half-open intervals: overlap, blocked interval, merge and subtract vs a minute-set oracle."""

from __future__ import annotations

from datetime import timedelta
from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st

from telehealth.errors import InvalidInput
from telehealth.scheduling.appointment_types import FOLLOW_UP, INITIAL_EVALUATION
from telehealth.scheduling.overlap import (
    Interval,
    blocked_interval,
    clip,
    find_overlap,
    merge,
    overlaps,
    subtract,
)

from .helpers import NEW_YORK, minutes, utc

BASE = utc(2026, 6, 1)


def iv(a: int, b: int) -> Interval:
    return Interval(BASE + minutes(a), BASE + minutes(b))


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ((0, 10), (10, 20), False),  # touching: half-open
        ((10, 20), (0, 10), False),
        ((0, 10), (9, 20), True),
        ((0, 30), (10, 20), True),
        ((10, 20), (0, 30), True),
        ((0, 10), (20, 30), False),
        ((0, 10), (0, 10), True),
    ],
)
def test_overlap_predicate(a: tuple[int, int], b: tuple[int, int], expected: bool) -> None:
    assert iv(*a).overlaps(iv(*b)) is expected
    assert overlaps(iv(*a).start, iv(*a).end, iv(*b).start, iv(*b).end) is expected


def test_blocked_interval_adds_the_types_own_buffers() -> None:
    start = utc(2026, 6, 1, 14)
    blocked = blocked_interval(start, start + minutes(60), INITIAL_EVALUATION)
    assert blocked == Interval(utc(2026, 6, 1, 13, 50), utc(2026, 6, 1, 15, 15))
    follow = blocked_interval(start, start + minutes(45), FOLLOW_UP)
    assert follow == Interval(utc(2026, 6, 1, 14), utc(2026, 6, 1, 15))


def test_interval_normalises_to_utc_and_refuses_bad_bounds() -> None:
    local = Interval(BASE.astimezone(NEW_YORK), (BASE + minutes(5)).astimezone(NEW_YORK))
    assert local.start.utcoffset() == timedelta(0)
    assert local == iv(0, 5)
    with pytest.raises(InvalidInput, match="must end after it starts"):
        iv(5, 5)
    with pytest.raises(InvalidInput, match="timezone-aware"):
        Interval(BASE.replace(tzinfo=None), BASE + minutes(1))


def test_find_overlap_uses_half_open_bounds() -> None:
    busy = merge([iv(0, 10), iv(20, 30), iv(40, 50)])
    assert find_overlap(busy, iv(10, 20)) is None
    assert find_overlap(busy, iv(29, 31)) == iv(20, 30)
    assert find_overlap(busy, iv(-5, 1)) == iv(0, 10)
    assert find_overlap(busy, iv(50, 60)) is None
    assert find_overlap([], iv(0, 1)) is None


def test_clip() -> None:
    assert clip([iv(0, 10), iv(20, 30), iv(40, 50)], iv(5, 45)) == [
        iv(5, 10),
        iv(20, 30),
        iv(40, 45),
    ]


def minute_set(intervals: list[Interval]) -> set[int]:
    out: set[int] = set()
    for piece in intervals:
        first = (piece.start - BASE) // minutes(1)
        last = (piece.end - BASE) // minutes(1)
        out.update(range(first, last))
    return out


spans = st.lists(
    st.tuples(st.integers(0, 300), st.integers(1, 60)).map(lambda p: iv(p[0], p[0] + p[1])),
    max_size=12,
)


@given(spans)
def test_merge_is_the_sorted_disjoint_union(intervals: list[Interval]) -> None:
    merged = merge(intervals)
    assert minute_set(merged) == minute_set(intervals)
    for left, right in pairwise(merged):
        assert left.end < right.start  # disjoint and not even touching


@given(spans, spans)
def test_subtract_matches_set_difference(base: list[Interval], removed: list[Interval]) -> None:
    result = subtract(merge(base), merge(removed))
    assert minute_set(result) == minute_set(base) - minute_set(removed)
    assert result == sorted(result)


@given(spans, st.tuples(st.integers(-10, 320), st.integers(1, 80)))
def test_find_overlap_agrees_with_a_scan(intervals: list[Interval], probe: tuple[int, int]) -> None:
    merged = merge(intervals)
    target = iv(probe[0], probe[0] + probe[1])
    found = find_overlap(merged, target)
    assert (found is not None) == any(piece.overlaps(target) for piece in merged)
    if found is not None:
        assert found.overlaps(target)
