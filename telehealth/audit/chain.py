"""Pure rules of the audit trail's chain: how a link is made, checkpointed and checked.

Requests record events; the sealer links committed events into one chain afterwards (see
trail.py). Each link covers its event's fields, its place in the chain and the previous link, and
is an HMAC under a seal key the database does not hold, so nobody with only database access can
rewrite a link, re-chain the table or append a forged one. Links made before keyed links existed
(key id None) are plain SHA-256 and may only come before the first keyed one. Signed checkpoints
(chain length and head, kept outside the database) catch what a valid prefix hides: rows removed
from the end, or all of them.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from telehealth.seals import SealKeys

GENESIS_HASH = "0" * 64


@dataclass(frozen=True)
class AuditRecord:
    """What a service says happened; the trail stores it as an event, the sealer links it."""

    action: str
    resource_type: str
    outcome: str = "success"
    resource_id: str | None = None
    patient_id: uuid.UUID | None = None
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ChainedRow:
    """One link: the event's fields, its place in the chain (seq) and the previous link."""

    seq: int
    event_seq: int
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


def _canonical(row: ChainedRow) -> dict[str, Any]:
    return {
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


def _encode(value: dict[str, Any]) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def row_hash(row: ChainedRow) -> str:
    """The unkeyed SHA-256 of a link made before keyed links (its seq is its event's seq)."""
    return hashlib.sha256(_encode(_canonical(row))).hexdigest()


def link_message(row: ChainedRow) -> bytes:
    """What a keyed link's HMAC covers: the event, which event it is, and where it stands."""
    return _encode({**_canonical(row), "event_seq": row.event_seq})


def make_link(row: ChainedRow, keys: SealKeys) -> tuple[str, str]:
    """(key id, hash) of a new link under the current seal key."""
    return keys.seal(link_message(row))


def link_problem(
    row: ChainedRow, stored_hash: str, key_id: str | None, keys: SealKeys
) -> str | None:
    """Why a stored link does not vouch for its row, or None when it does."""
    if key_id is None:
        if row.seq != row.event_seq or row_hash(row) != stored_hash:
            return "content altered (hash does not match)"
        return None
    why = keys.check(key_id, link_message(row), stored_hash)
    return None if why is None else f"content altered or forged (link {why})"


@dataclass(frozen=True)
class Checkpoint:
    """A signed statement that the chain had `seq` links, the last of them `head_hash`."""

    seq: int
    head_hash: str
    made_at: datetime
    key_id: str
    mac: str

    def as_json(self) -> dict[str, Any]:
        """The form written to the checkpoint file, one JSON object a line."""
        return {
            "seq": self.seq,
            "head_hash": self.head_hash,
            "made_at": self.made_at.astimezone(UTC).isoformat(timespec="microseconds"),
            "key_id": self.key_id,
            "mac": self.mac,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Checkpoint:
        """Read one line of a checkpoint file (ValueError/KeyError/TypeError when malformed)."""
        return cls(
            seq=int(data["seq"]),
            head_hash=str(data["head_hash"]),
            made_at=datetime.fromisoformat(str(data["made_at"])),
            key_id=str(data["key_id"]),
            mac=str(data["mac"]),
        )


def _checkpoint_message(seq: int, head_hash: str, made_at: datetime) -> bytes:
    return _encode(
        {
            "checkpoint": seq,
            "head_hash": head_hash,
            "made_at": made_at.astimezone(UTC).isoformat(timespec="microseconds"),
        }
    )


def make_checkpoint(seq: int, head_hash: str, made_at: datetime, keys: SealKeys) -> Checkpoint:
    """Sign the chain's length and head with the current seal key."""
    key_id, mac = keys.seal(_checkpoint_message(seq, head_hash, made_at))
    return Checkpoint(seq, head_hash, made_at, key_id, mac)


@dataclass(frozen=True)
class ChainProblem:
    """The first place where the stored chain disagrees with itself or a checkpoint."""

    seq: int
    problem: str

    def describe(self) -> str:
        """One line for the operator."""
        return f"audit row {self.seq}: {self.problem}"


@dataclass(frozen=True)
class StoredLink:
    """A link as read back: the row (None when its event is gone), stored hash and key id."""

    seq: int
    row: ChainedRow | None
    stored_hash: str
    key_id: str | None


def verify_chain(
    links: Iterable[StoredLink], keys: SealKeys, checkpoints: Sequence[Checkpoint] = ()
) -> tuple[int, ChainProblem | None]:
    """Check links (in seq order) and then the checkpoints; (links read, first problem or None)."""
    wanted = {c.seq for c in checkpoints}
    heads: dict[int, str] = {}
    count = 0
    expected_prev = GENESIS_HASH
    keyed = False
    for link in links:
        count += 1
        if link.seq != count:
            return count, ChainProblem(count, f"missing (next stored row is {link.seq})")
        row = link.row
        if row is None:
            return count, ChainProblem(link.seq, "its recorded event was removed")
        if row.prev_hash != expected_prev:
            return count, ChainProblem(
                link.seq, "previous-hash link broken (a row before it was removed or altered)"
            )
        if link.key_id is None and keyed:
            return count, ChainProblem(link.seq, "unkeyed link after keyed ones (forged)")
        keyed = keyed or link.key_id is not None
        why = link_problem(row, link.stored_hash, link.key_id, keys)
        if why is not None:
            return count, ChainProblem(link.seq, why)
        if link.seq in wanted:
            heads[link.seq] = link.stored_hash
        expected_prev = link.stored_hash
    return count, checkpoint_problem(count, heads, checkpoints, keys)


def checkpoint_problem(
    length: int, heads: dict[int, str], checkpoints: Sequence[Checkpoint], keys: SealKeys
) -> ChainProblem | None:
    """The first checkpoint that is forged, or that the chain (its length, heads) contradicts."""
    for checkpoint in sorted(checkpoints, key=lambda c: c.seq):
        message = _checkpoint_message(checkpoint.seq, checkpoint.head_hash, checkpoint.made_at)
        why = keys.check(checkpoint.key_id, message, checkpoint.mac)
        if why is not None:
            return ChainProblem(checkpoint.seq, f"checkpoint {why} (forged or unknown)")
        if checkpoint.seq > length:
            return ChainProblem(
                length + 1,
                f"missing: the chain ends at {length} but a checkpoint of "
                f"{checkpoint.made_at.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC vouches for "
                f"{checkpoint.seq} rows (rows removed from the end)",
            )
        if heads.get(checkpoint.seq) != checkpoint.head_hash:
            return ChainProblem(
                checkpoint.seq, "differs from its checkpoint (the chain was rewritten)"
            )
    return None
