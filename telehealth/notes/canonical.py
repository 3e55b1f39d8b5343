"""Canonical JSON of note content, its SHA-256, and the hashes that seal signatures and addenda."""

from __future__ import annotations

import hashlib
import hmac
import json
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from pydantic import BaseModel

from telehealth.errors import InvalidInput

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
    """Who signed which content when; seal is the hash over those three facts."""

    signer_id: str
    signed_at: datetime
    content_hash: str
    seal: str


@dataclass(frozen=True)
class Addendum:
    """A text added after signing; its hash chains it to the signed note's content hash."""

    author_id: str
    written_at: datetime
    reason: str
    text: str
    parent_hash: str
    hash: str


def _seal(signer_id: str, signed_at: datetime, digest: str) -> str:
    return content_hash({"signer_id": signer_id, "signed_at": signed_at, "content_hash": digest})


def _addendum_hash(
    author_id: str, written_at: datetime, reason: str, text: str, parent_hash: str
) -> str:
    return content_hash(
        {
            "author_id": author_id,
            "written_at": written_at,
            "reason": reason,
            "text": text,
            "parent_hash": parent_hash,
        }
    )


def sign(content: Any, signer_id: str, signed_at: datetime) -> Signature:
    """Sign content: record its hash, the signer and the UTC time, sealed together."""
    signed_at = _require_utc(signed_at, "signed_at")
    digest = content_hash(content)
    return Signature(signer_id, signed_at, digest, _seal(signer_id, signed_at, digest))


def add_addendum(
    parent: Signature, author_id: str, written_at: datetime, reason: str, text: str
) -> Addendum:
    """Write an addendum to a signed note, hashed over its fields and the note's content hash."""
    written_at = _require_utc(written_at, "written_at")
    if not reason.strip() or not text.strip():
        raise InvalidInput("An addendum needs a reason and a text")
    parent_hash = parent.content_hash
    digest = _addendum_hash(author_id, written_at, reason, text, parent_hash)
    return Addendum(author_id, written_at, reason, text, parent_hash, digest)


def tampering(content: Any, signature: Signature, addenda: Iterable[Addendum] = ()) -> list[str]:
    """Recompute every hash and list what no longer matches (empty when all is intact)."""
    problems: list[str] = []
    if not hmac.compare_digest(content_hash(content), signature.content_hash):
        problems.append("content does not match the signed hash")
    expected_seal = _seal(signature.signer_id, signature.signed_at, signature.content_hash)
    if not hmac.compare_digest(expected_seal, signature.seal):
        problems.append("signature seal does not match signer, time and hash")
    for index, addendum in enumerate(addenda):
        if addendum.parent_hash != signature.content_hash:
            problems.append(f"addendum {index} belongs to other content")
        expected = _addendum_hash(
            addendum.author_id,
            addendum.written_at,
            addendum.reason,
            addendum.text,
            addendum.parent_hash,
        )
        if not hmac.compare_digest(expected, addendum.hash):
            problems.append(f"addendum {index} does not match its hash")
    return problems


def verify(content: Any, signature: Signature, addenda: Iterable[Addendum] = ()) -> bool:
    """True when the content, the signature and every addendum still match their hashes."""
    return not tampering(content, signature, addenda)
