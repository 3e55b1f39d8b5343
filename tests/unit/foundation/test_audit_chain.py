"""Pure hash-chain rules of the audit trail."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import fields, replace
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from telehealth.audit.chain import GENESIS_HASH, ChainedRow, row_hash, verify_chain

T0 = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)
ACTOR = uuid.UUID("11111111-1111-4111-8111-111111111111")
PATIENT = uuid.UUID("22222222-2222-4222-8222-222222222222")


def _row(seq: int, prev_hash: str) -> ChainedRow:
    return ChainedRow(
        seq=seq,
        at=T0 + timedelta(seconds=seq),
        actor_id=ACTOR,
        actor_role="therapist",
        action="patient.read",
        resource_type="patient",
        resource_id=str(PATIENT),
        patient_id=PATIENT,
        outcome="success",
        ip="127.0.0.1",
        request_id=f"req-{seq:08d}",
        details={"count": seq, "nested": {"b": 1, "a": [1, 2]}},
        prev_hash=prev_hash,
    )


def _chain(length: int) -> list[tuple[ChainedRow, str]]:
    rows: list[tuple[ChainedRow, str]] = []
    prev = GENESIS_HASH
    for seq in range(1, length + 1):
        row = _row(seq, prev)
        prev = row_hash(row)
        rows.append((row, prev))
    return rows


def test_hash_is_stable() -> None:
    # The canonical form, written out: changing it would make every stored trail fail verification.
    canonical = (
        '{"action":"patient.read","actor_id":"11111111-1111-4111-8111-111111111111",'
        '"actor_role":"therapist","at":"2026-03-02T14:00:01.000000+00:00",'
        '"details":{"count":1,"nested":{"a":[1,2],"b":1}},"ip":"127.0.0.1",'
        '"outcome":"success","patient_id":"22222222-2222-4222-8222-222222222222",'
        f'"prev_hash":"{GENESIS_HASH}","request_id":"req-00000001",'
        '"resource_id":"22222222-2222-4222-8222-222222222222","resource_type":"patient","seq":1}'
    )
    assert row_hash(_row(1, GENESIS_HASH)) == hashlib.sha256(canonical.encode()).hexdigest()
    assert row_hash(_row(1, GENESIS_HASH)) == row_hash(_row(1, GENESIS_HASH))


def test_hash_does_not_depend_on_key_order_or_time_zone_of_the_same_instant() -> None:
    row = _row(1, GENESIS_HASH)
    reordered = replace(row, details={"nested": {"a": [1, 2], "b": 1}, "count": 1})
    elsewhere = replace(row, at=row.at.astimezone(timezone(timedelta(hours=-5))))
    assert row_hash(row) == row_hash(reordered) == row_hash(elsewhere)
    assert len(row_hash(row)) == 64


def test_intact_chain_verifies() -> None:
    assert verify_chain(_chain(5)) is None
    assert verify_chain([]) is None


def _other_value(name: str, value: Any) -> Any:
    if name == "seq":
        return value  # seq changes are covered by the missing-row tests
    if isinstance(value, datetime):
        return value + timedelta(microseconds=1)
    if isinstance(value, uuid.UUID):
        return uuid.uuid4()
    if isinstance(value, dict):
        return {**value, "count": 999}
    if name == "prev_hash":
        return "f" * 64
    return str(value) + "x"


@pytest.mark.parametrize("name", [f.name for f in fields(ChainedRow) if f.name != "seq"])
def test_any_field_change_is_detected_at_that_row(name: str) -> None:
    rows = _chain(5)
    row, stored = rows[2]
    rows[2] = (replace(row, **{name: _other_value(name, getattr(row, name))}), stored)
    problem = verify_chain(rows)
    assert problem is not None
    assert problem.seq == 3
    expected = "previous-hash link broken" if name == "prev_hash" else "content altered"
    assert expected in problem.problem
    assert problem.describe().startswith("audit row 3:")


@pytest.mark.parametrize(
    "name", ["actor_id", "patient_id", "resource_id", "ip", "request_id", "actor_role"]
)
def test_clearing_an_optional_field_is_detected(name: str) -> None:
    rows = _chain(3)
    row, stored = rows[1]
    cleared: dict[str, Any] = {name: None}
    rows[1] = (replace(row, **cleared), stored)
    problem = verify_chain(rows)
    assert problem is not None and problem.seq == 2


def test_missing_middle_row_is_reported_by_its_seq() -> None:
    rows = _chain(5)
    del rows[2]
    problem = verify_chain(rows)
    assert problem is not None
    assert problem.seq == 3
    assert "missing" in problem.problem


def test_missing_first_row_is_reported() -> None:
    rows = _chain(3)[1:]
    problem = verify_chain(rows)
    assert problem is not None
    assert problem.seq == 1
    assert "missing" in problem.problem


def test_stored_hash_replaced_breaks_the_next_link() -> None:
    rows = _chain(4)
    row, _ = rows[1]
    # Someone rewrites row 2 and recomputes its hash: row 2 now verifies, row 3 no longer links.
    forged = replace(row, details={"count": 0})
    rows[1] = (forged, row_hash(forged))
    problem = verify_chain(rows)
    assert problem is not None
    assert problem.seq == 3
    assert "link broken" in problem.problem


def test_a_row_from_another_chain_does_not_fit() -> None:
    rows = _chain(3)
    foreign = _row(2, "a" * 64)
    rows[1] = (foreign, row_hash(foreign))
    problem = verify_chain(rows)
    assert problem is not None and problem.seq == 2
