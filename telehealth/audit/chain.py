"""Pure hash-chain rules of the audit trail: how a row's hash is made and how a chain is checked."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

GENESIS_HASH = "0" * 64


@dataclass(frozen=True)
class AuditRecord:
    """What a service says happened; the trail adds seq, prev_hash and hash when it appends it."""

    action: str
    resource_type: str
    outcome: str = "success"
    resource_id: str | None = None
    patient_id: uuid.UUID | None = None
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ChainedRow:
    """The hashed fields of one stored row."""

    seq: int
    at: datetime
    actor_id: uuid.UUID | None
    actor_role: str | None
    action: str
    resource_type: str
    resource_id: str | None
    patient_id: uuid.UUID | None
    outcome: str
    ip: str | None
    request_id: str | None
    details: dict[str, Any]
    prev_hash: str


def row_hash(row: ChainedRow) -> str:
    """SHA-256 over a canonical JSON form of the row, including the previous row's hash."""
    canonical = {
        "seq": row.seq,
        "at": row.at.astimezone(UTC).isoformat(timespec="microseconds"),
        "actor_id": str(row.actor_id) if row.actor_id else None,
        "actor_role": row.actor_role,
        "action": row.action,
        "resource_type": row.resource_type,
        "resource_id": row.resource_id,
        "patient_id": str(row.patient_id) if row.patient_id else None,
        "outcome": row.outcome,
        "ip": row.ip,
        "request_id": row.request_id,
        "details": row.details,
        "prev_hash": row.prev_hash,
    }
    encoded = json.dumps(canonical, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(encoded.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class ChainProblem:
    """The first place where the stored chain disagrees with itself."""

    seq: int
    problem: str

    def describe(self) -> str:
        """One line for the operator."""
        return f"audit row {self.seq}: {self.problem}"


def verify_chain(rows: Iterable[tuple[ChainedRow, str]]) -> ChainProblem | None:
    """Check rows (in seq order, each with its stored hash); return the first problem or None."""
    expected_seq = 1
    expected_prev = GENESIS_HASH
    for row, stored_hash in rows:
        if row.seq != expected_seq:
            return ChainProblem(expected_seq, f"missing (next stored row is {row.seq})")
        if row.prev_hash != expected_prev:
            return ChainProblem(
                row.seq, "previous-hash link broken (a row before it was removed or altered)"
            )
        if row_hash(row) != stored_hash:
            return ChainProblem(row.seq, "content altered (hash does not match)")
        expected_seq += 1
        expected_prev = stored_hash
    return None
