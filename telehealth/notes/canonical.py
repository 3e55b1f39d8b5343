"""Canonical JSON of note content, its SHA-256, and the keyed seals of signatures and addenda."""

from __future__ import annotations

import hashlib
import hmac
import json
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from typing import Any

from pydantic import BaseModel

from telehealth.errors import InvalidInput
from telehealth.seals import SealKeys

HASH_ALGORITHM = "sha256"


def _canonical_value(value: Any, path: str) -> Any:
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, str):
        # The same text typed on two keyboards can arrive in different Unicode forms.
        return unicodedata.normalize("NFC", value)
    if isinstance(value, datetime):
        return _require_utc(value, path or "value").strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, BaseModel):
        return _canonical_value(value.model_dump(mode="python"), path)
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise InvalidInput(f"{path or 'value'}: keys must be strings")
            name = unicodedata.normalize("NFC", key)
            if name in out:
                raise InvalidInput(f"{path or 'value'}: two keys normalize to {name!r}")
            out[name] = _canonical_value(item, f"{path}.{name}" if path else name)
        return out
    if isinstance(value, Sequence) and not isinstance(value, bytes | bytearray):
        return [_canonical_value(item, f"{path}[{i}]") for i, item in enumerate(value)]
    # Floats are refused: their text form is not stable across producers, and notes need none.
    raise InvalidInput(f"{path or 'value'}: {type(value).__name__} has no canonical form")


def canonical_json(value: Any) -> str:
    """Serialize to canonical JSON: sorted keys, no spaces, NFC strings, UTC times with Z."""
    return json.dumps(
        _canonical_value(value, ""),
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        allow_nan=False,
    )


def content_hash(value: Any) -> str:
    """SHA-256 hex digest of the canonical JSON of a value (note content, usually)."""
    return hashlib.sha256(canonical_json(value).encode("utf-8")).hexdigest()


def _require_utc(when: datetime, what: str) -> datetime:
    if when.tzinfo is None or when.utcoffset() is None:
        raise InvalidInput(f"{what} must carry a timezone")
    return when.astimezone(UTC)


@dataclass(frozen=True)
class Signature:
    """Who signed which content when, sealed with a key the database does not hold.

    `record` names what the content is bound to (note, appointment and patient ids), so a signed
    content cannot be moved to another record. `key_id` None marks a seal made before keyed seals:
    a plain hash that anyone with the row could have recomputed, so it never verifies.
    """

    signer_id: str
    signed_at: datetime
    content_hash: str
    seal: str
    key_id: str | None
    record: str


@dataclass(frozen=True)
class Addendum:
    """A text added after signing, sealed and chained to the one before it (the first to the
    note's seal), so that removing or reordering one breaks the chain of the next."""

    author_id: str
    written_at: datetime
    reason: str
    text: str
    parent_hash: str
    hash: str
    key_id: str | None
    # "addendum", or "entered_in_error" (the record stays visible and is marked withdrawn).
    kind: str = "addendum"


def _seal_message(record: str, signer_id: str, signed_at: datetime, digest: str) -> bytes:
    return canonical_json(
        {
            "v": 1,
            "record": record,
            "signer_id": signer_id,
            "signed_at": signed_at,
            "content_hash": digest,
        }
    ).encode("utf-8")


def _addendum_fields(
    author_id: str, written_at: datetime, reason: str, text: str, parent_hash: str
) -> dict[str, Any]:
    return {
        "author_id": author_id,
        "written_at": written_at,
        "reason": reason,
        "text": text,
        "parent_hash": parent_hash,
    }


def _addendum_message(addendum: Addendum) -> bytes:
    fields = _addendum_fields(
        addendum.author_id,
        addendum.written_at,
        addendum.reason,
        addendum.text,
        addendum.parent_hash,
    )
    return canonical_json({"v": 1, "kind": addendum.kind, **fields}).encode("utf-8")


def sign(
    content: Any, signer_id: str, signed_at: datetime, keys: SealKeys, record: str
) -> Signature:
    """Sign content: its hash, the signer, the UTC time and the record, sealed with the current key."""
    signed_at = _require_utc(signed_at, "signed_at")
    digest = content_hash(content)
    key_id, seal = keys.seal(_seal_message(record, signer_id, signed_at, digest))
    return Signature(signer_id, signed_at, digest, seal, key_id, record)


def add_addendum(
    parent: Signature,
    previous: Addendum | None,
    author_id: str,
    written_at: datetime,
    reason: str,
    text: str,
    keys: SealKeys,
    kind: str = "addendum",
) -> Addendum:
    """Write an addendum after `previous` (or first, after the note's seal), sealed with the key."""
    written_at = _require_utc(written_at, "written_at")
    if not reason.strip() or not text.strip():
        raise InvalidInput("An addendum needs a reason and a text")
    parent_hash = previous.hash if previous is not None else parent.seal
    unsealed = Addendum(author_id, written_at, reason, text, parent_hash, "", None, kind)
    key_id, digest = keys.seal(_addendum_message(unsealed))
    return replace(unsealed, hash=digest, key_id=key_id)


def _legacy_addendum_hash(addendum: Addendum) -> str:
    fields = _addendum_fields(
        addendum.author_id,
        addendum.written_at,
        addendum.reason,
        addendum.text,
        addendum.parent_hash,
    )
    if addendum.kind != "addendum":
        fields["kind"] = addendum.kind
    return content_hash(fields)


def keyed_chain(signature: Signature, addenda: Iterable[Addendum]) -> list[Addendum]:
    """The keyed addenda reachable from the note's seal, in chain order (the last is the tail).

    The chain, not the clock, orders them: two addenda written in the same microsecond still have
    one order, and one removed from the middle leaves the rest unreachable.
    """
    by_parent: dict[str, Addendum] = {}
    for addendum in addenda:
        if addendum.key_id is not None:
            by_parent.setdefault(addendum.parent_hash, addendum)
    chain: list[Addendum] = []
    parent = signature.seal
    while parent in by_parent and len(chain) < len(by_parent):
        chain.append(by_parent[parent])
        parent = chain[-1].hash
    return chain


def tampering(
    content: Any, signature: Signature, addenda: Iterable[Addendum], keys: SealKeys
) -> list[str]:
    """Recheck the content hash and every seal; list what no longer holds (empty when intact)."""
    problems: list[str] = []
    if not hmac.compare_digest(content_hash(content), signature.content_hash):
        problems.append("content does not match the signed hash")
    if signature.key_id is None:
        problems.append("signature was sealed without a key, so it cannot be verified")
    else:
        message = _seal_message(
            signature.record, signature.signer_id, signature.signed_at, signature.content_hash
        )
        why = keys.check(signature.key_id, message, signature.seal)
        if why:
            problems.append(f"signature {why} (signer, time, content and record)")
    listed = list(addenda)
    for index, addendum in enumerate(listed):
        if addendum.key_id is not None:
            continue
        # Written before keyed seals: each chained to the content hash with a plain hash.
        problems.append(f"addendum {index} was sealed without a key")
        if addendum.parent_hash != signature.content_hash:
            problems.append(f"addendum {index} belongs to other content")
        elif not hmac.compare_digest(_legacy_addendum_hash(addendum), addendum.hash):
            problems.append(f"addendum {index} does not match its hash")
    chained = set(map(id, keyed_chain(signature, listed)))
    for index, addendum in enumerate(listed):
        if addendum.key_id is None:
            continue
        if id(addendum) not in chained:
            problems.append(
                f"addendum {index} is out of its chain (one before it is missing, or it belongs "
                "to other content)"
            )
        why = keys.check(addendum.key_id, _addendum_message(addendum), addendum.hash)
        if why:
            problems.append(f"addendum {index} {why}")
    return problems


def verify(content: Any, signature: Signature, addenda: Iterable[Addendum], keys: SealKeys) -> bool:
    """True when the content, the signature and every addendum still hold."""
    return not tampering(content, signature, addenda, keys)
