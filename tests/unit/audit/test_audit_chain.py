"""Pure rules of the audit chain: links (plain ones from before keys, keyed ones), checkpoints."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import fields, replace
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from telehealth.audit.chain import (
    GENESIS_HASH,
    ChainedRow,
    Checkpoint,
    StoredLink,
    make_checkpoint,
    make_link,
    row_hash,
    verify_chain,
)
from telehealth.seals import SealKeys, derived_keys, parse_seal_keys

T0 = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)
ACTOR = uuid.UUID("11111111-1111-4111-8111-111111111111")
PATIENT = uuid.UUID("22222222-2222-4222-8222-222222222222")
KEYS = derived_keys("s" * 40)


def _row(seq: int, prev_hash: str, event_seq: int | None = None) -> ChainedRow:
    return ChainedRow(
        seq=seq,
        event_seq=seq if event_seq is None else event_seq,
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


def _chain(legacy: int, keyed: int, keys: SealKeys = KEYS) -> list[StoredLink]:
    """`legacy` plain links (as before keyed links existed), then `keyed` keyed ones."""
    links: list[StoredLink] = []
    prev = GENESIS_HASH
    for seq in range(1, legacy + keyed + 1):
        if seq <= legacy:
            row = _row(seq, prev)
            key_id, digest = None, row_hash(row)
        else:
            # Keyed links follow commit order, not the events' own numbers.
            row = _row(seq, prev, event_seq=1000 - seq)
            key_id, digest = make_link(row, keys)
        links.append(StoredLink(seq, row, digest, key_id))
        prev = digest
    return links


def _changed(link: StoredLink, **changes: Any) -> StoredLink:
    assert link.row is not None
    return replace(link, row=replace(link.row, **changes))


def test_a_plain_link_hash_is_stable() -> None:
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


def test_a_link_does_not_depend_on_key_order_or_time_zone_of_the_same_instant() -> None:
    row = _row(1, GENESIS_HASH)
    reordered = replace(row, details={"nested": {"a": [1, 2], "b": 1}, "count": 1})
    elsewhere = replace(row, at=row.at.astimezone(timezone(timedelta(hours=-5))))
    assert row_hash(row) == row_hash(reordered) == row_hash(elsewhere)
    assert make_link(row, KEYS) == make_link(reordered, KEYS) == make_link(elsewhere, KEYS)
    assert make_link(row, KEYS)[0] == KEYS.current_id


@pytest.mark.parametrize(("legacy", "keyed"), [(0, 0), (5, 0), (0, 5), (3, 4)])
def test_an_intact_chain_verifies(legacy: int, keyed: int) -> None:
    assert verify_chain(_chain(legacy, keyed), KEYS) == (legacy + keyed, None)


def _other_value(name: str, value: Any) -> Any:
    if isinstance(value, datetime):
        return value + timedelta(microseconds=1)
    if isinstance(value, uuid.UUID):
        return uuid.uuid4()
    if isinstance(value, dict):
        return {**value, "count": 999}
    if isinstance(value, int):
        return value + 1
    if name == "prev_hash":
        return "f" * 64
    return str(value) + "x"


@pytest.mark.parametrize("legacy", [True, False], ids=["plain", "keyed"])
@pytest.mark.parametrize("name", [f.name for f in fields(ChainedRow) if f.name != "seq"])
def test_any_field_change_is_detected_at_that_row(name: str, legacy: bool) -> None:
    links = _chain(5, 0) if legacy else _chain(0, 5)
    row = links[2].row
    links[2] = _changed(links[2], **{name: _other_value(name, getattr(row, name))})
    count, problem = verify_chain(links, KEYS)
    assert problem is not None and problem.seq == 3 and count == 3
    expected = "previous-hash link broken" if name == "prev_hash" else "content altered"
    assert expected in problem.problem
    assert problem.describe().startswith("audit row 3:")


@pytest.mark.parametrize(
    "name", ["actor_id", "patient_id", "resource_id", "ip", "request_id", "actor_role"]
)
def test_clearing_an_optional_field_is_detected(name: str) -> None:
    links = _chain(1, 2)
    cleared: dict[str, Any] = {name: None}
    links[2] = _changed(links[2], **cleared)
    _, problem = verify_chain(links, KEYS)
    assert problem is not None and problem.seq == 3


def test_a_missing_middle_row_is_reported_by_its_seq() -> None:
    links = _chain(2, 3)
    del links[2]
    _, problem = verify_chain(links, KEYS)
    assert problem is not None and problem.seq == 3 and "missing" in problem.problem


def test_a_missing_first_row_is_reported() -> None:
    _, problem = verify_chain(_chain(0, 3)[1:], KEYS)
    assert problem is not None and problem.seq == 1 and "missing" in problem.problem


def test_a_removed_event_is_reported_at_its_link() -> None:
    links = _chain(0, 3)
    links[1] = replace(links[1], row=None)
    _, problem = verify_chain(links, KEYS)
    assert problem is not None and problem.seq == 2 and "event was removed" in problem.problem


def _rechained(links: list[StoredLink], start: int, keys: SealKeys | None) -> list[StoredLink]:
    """Someone with the database rewrites the row at `start` and recomputes every later link:
    with plain hashes (keys None) or with a key of their own."""
    out = links[: start - 1]
    prev = out[-1].stored_hash if out else GENESIS_HASH
    for link in links[start - 1 :]:
        assert link.row is not None
        row = replace(link.row, prev_hash=prev)
        if link.seq == start:
            row = replace(row, outcome="denied")
        key_id, digest = (None, row_hash(row)) if keys is None else make_link(row, keys)
        out.append(StoredLink(link.seq, row, digest, key_id))
        prev = digest
    return out


def test_a_chain_rewritten_with_plain_hashes_is_detected() -> None:
    _, problem = verify_chain(_rechained(_chain(2, 4), 4, None), KEYS)
    assert problem is not None and problem.seq == 4 and "unkeyed link" in problem.problem


def test_a_chain_rewritten_with_a_key_of_ones_own_is_detected() -> None:
    theirs = parse_seal_keys("k1:" + "x" * 40)
    assert theirs is not None
    _, problem = verify_chain(_rechained(_chain(2, 4), 4, theirs), KEYS)
    assert problem is not None and problem.seq == 4 and "unknown key" in problem.problem


def test_a_plain_rewrite_of_old_plain_links_is_caught_by_the_first_keyed_link() -> None:
    # Plain links can be recomputed; the first keyed link after them cannot.
    _, problem = verify_chain(_rechained(_chain(3, 2), 2, None)[:3] + _chain(3, 2)[3:], KEYS)
    assert problem is not None and problem.seq == 4 and "link broken" in problem.problem


@pytest.mark.parametrize("forger", [None, "k-own"])
def test_a_forged_row_appended_at_the_end_is_detected(forger: str | None) -> None:
    links = _chain(1, 3)
    row = _row(5, links[-1].stored_hash, event_seq=4242)
    if forger is None:
        forged = StoredLink(5, row, row_hash(row), None)
    else:
        theirs = parse_seal_keys(f"{forger}:" + "y" * 40)
        assert theirs is not None
        key_id, digest = make_link(row, theirs)
        forged = StoredLink(5, row, digest, key_id)
    _, problem = verify_chain([*links, forged], KEYS)
    assert problem is not None and problem.seq == 5


def test_rotated_keys_verify_old_links_and_checkpoints() -> None:
    old = parse_seal_keys("old:" + "o" * 40)
    both = parse_seal_keys("new:" + "n" * 40 + ",old:" + "o" * 40)
    assert old is not None and both is not None
    links = _chain(0, 3, old)
    checkpoint = make_checkpoint(3, links[-1].stored_hash, T0, old)
    assert verify_chain(links, both, [checkpoint]) == (3, None)
    assert make_link(_row(1, GENESIS_HASH), both)[0] == "new"


# --- checkpoints -------------------------------------------------------------------------------


def _checkpoint_at(links: list[StoredLink], seq: int, keys: SealKeys = KEYS) -> Checkpoint:
    return make_checkpoint(seq, links[seq - 1].stored_hash, T0 + timedelta(hours=1), keys)


def test_checkpoints_of_an_intact_chain_agree() -> None:
    links = _chain(2, 6)
    checkpoints = [_checkpoint_at(links, 3), _checkpoint_at(links, 8)]
    assert verify_chain(links, KEYS, checkpoints) == (8, None)


def test_rows_removed_from_the_end_are_detected_by_a_checkpoint() -> None:
    links = _chain(0, 10)
    checkpoint = _checkpoint_at(links, 10)
    # Without the checkpoint the shorter chain is a valid prefix: that is what it is for.
    assert verify_chain(links[:7], KEYS) == (7, None)
    count, problem = verify_chain(links[:7], KEYS, [checkpoint])
    assert count == 7 and problem is not None and problem.seq == 8
    assert "rows removed from the end" in problem.problem and "vouches for 10" in problem.problem


def test_an_emptied_chain_is_detected_by_a_checkpoint() -> None:
    links = _chain(0, 4)
    count, problem = verify_chain([], KEYS, [_checkpoint_at(links, 4)])
    assert count == 0 and problem is not None and problem.seq == 1
    assert "the chain ends at 0" in problem.problem


def test_a_chain_that_differs_from_its_checkpoint_is_detected() -> None:
    # Only someone who also holds the seal key can re-link a rewritten row; the checkpoint
    # written outside the database still tells.
    links = _chain(0, 5)
    rewritten = _rechained(links, 3, KEYS)
    assert verify_chain(rewritten, KEYS) == (5, None)
    _, problem = verify_chain(rewritten, KEYS, [_checkpoint_at(links, 5)])
    assert problem is not None and problem.seq == 5
    assert "differs from its checkpoint" in problem.problem


def test_a_forged_checkpoint_is_reported() -> None:
    links = _chain(0, 3)
    real = _checkpoint_at(links, 3)
    forged = replace(real, seq=30)
    _, problem = verify_chain(links, KEYS, [forged])
    assert problem is not None and "forged or unknown" in problem.problem


def test_a_checkpoint_survives_its_json_line() -> None:
    checkpoint = _checkpoint_at(_chain(0, 2), 2)
    assert Checkpoint.from_json(checkpoint.as_json()) == checkpoint
    with pytest.raises(KeyError):
        Checkpoint.from_json({"seq": 1})
