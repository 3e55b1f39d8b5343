"""Bearer secrets (session tokens, visit tickets, calendar feed URLs): made and stored one way.

A token carries 256 random bits; the database keeps only its SHA-256, so a leaked table opens
nothing. SHA-256 without a salt is enough here because the token itself is high-entropy.
"""

from __future__ import annotations

import hashlib
import secrets


def new_token() -> str:
    """A fresh URL-safe token with 256 bits of randomness."""
    return secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    """The SHA-256 hex digest stored and looked up in place of the token."""
    return hashlib.sha256(token.encode()).hexdigest()
