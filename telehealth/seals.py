"""Keyed seals: HMAC-SHA256 with keys that live in settings, never in the database.

A plain hash only shows that a row agrees with itself; anyone who can rewrite the row can recompute
it. A seal made with a key the database does not hold cannot be recomputed there. Keys carry an id
(stored beside each seal) so they can be rotated: the first key of SEAL_KEYS signs, every listed key
still verifies. Without SEAL_KEYS one key is derived from SECRET_KEY; its id is a fingerprint, so a
changed secret shows up as "an unknown key", not as a forged record.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass

MIN_KEY_CHARS = 32
_DERIVATION_LABEL = b"telehealth seals v1"


class SealKeyError(ValueError):
    """SEAL_KEYS is malformed (the message says how)."""


@dataclass(frozen=True)
class SealKeys:
    """The keys that verify seals; `current_id` is the one that makes new seals."""

    current_id: str
    keys: Mapping[str, bytes]

    def seal(self, message: bytes) -> tuple[str, str]:
        """Seal a message with the current key: (key id, hex MAC)."""
        return self.current_id, _mac(self.keys[self.current_id], message)

    def check(self, key_id: str, message: bytes, mac: str) -> str | None:
        """None when `mac` is the seal of `message` under `key_id`; otherwise why not."""
        key = self.keys.get(key_id)
        if key is None:
            return f"sealed with an unknown key {key_id!r}"
        if not hmac.compare_digest(_mac(key, message), mac):
            return "does not match its seal"
        return None


def _mac(key: bytes, message: bytes) -> str:
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def _fingerprint(key: bytes) -> str:
    return "k" + hashlib.sha256(b"fingerprint:" + key).hexdigest()[:12]


def derived_keys(secret_key: str) -> SealKeys:
    """One sealing key derived from the service's secret key (the default)."""
    key = hmac.new(secret_key.encode(), _DERIVATION_LABEL, hashlib.sha256).digest()
    key_id = _fingerprint(key)
    return SealKeys(key_id, {key_id: key})


def parse_seal_keys(raw: str) -> SealKeys | None:
    """Parse SEAL_KEYS, `id:secret,id:secret` with the signing key first; None when empty."""
    entries = [part.strip() for part in raw.split(",") if part.strip()]
    if not entries:
        return None
    keys: dict[str, bytes] = {}
    for entry in entries:
        key_id, sep, secret = entry.partition(":")
        key_id = key_id.strip()
        if not sep or not key_id or not key_id.isascii() or not key_id.replace("-", "").isalnum():
            raise SealKeyError("expected id:secret pairs with ids of letters, digits and '-'")
        if len(key_id) > 32:
            raise SealKeyError(f"key id {key_id!r} is longer than 32 characters")
        if len(secret) < MIN_KEY_CHARS:
            raise SealKeyError(f"key {key_id!r} needs at least {MIN_KEY_CHARS} characters")
        if key_id in keys:
            raise SealKeyError(f"key id {key_id!r} is listed twice")
        keys[key_id] = secret.encode()
    first = entries[0].partition(":")[0].strip()
    return SealKeys(first, keys)
