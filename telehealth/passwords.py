"""argon2id password hashing, run off the event loop (each hash costs tens of milliseconds of CPU)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from telehealth.config import Settings

MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 256


@dataclass(frozen=True)
class Verification:
    """Outcome of checking a password."""

    ok: bool
    needs_rehash: bool = False


class Passwords:
    """Hashes and verifies with the configured argon2id parameters."""

    def __init__(self, settings: Settings) -> None:
        self._hasher = PasswordHasher(
            time_cost=settings.argon2_time_cost,
            memory_cost=settings.argon2_memory_kib,
            parallelism=settings.argon2_parallelism,
            type=Type.ID,
        )
        # Verified against when the email is unknown, so both answers take the same time.
        self._dummy_hash = self._hasher.hash("not-a-real-password-0000")
        # How many passwords this instance has checked: what the login throttle bounds, so it is
        # worth watching (and is how the tests see that a burst checks no more than the limit).
        self.verifications = 0

    async def hash(self, password: str) -> str:
        """Hash a new password."""
        return await asyncio.to_thread(self._hasher.hash, password)

    async def verify(self, stored_hash: str | None, password: str) -> Verification:
        """Check password; with no stored hash, spend the same time and fail."""
        target = stored_hash or self._dummy_hash
        self.verifications += 1
        ok = await asyncio.to_thread(self._check, target, password)
        if not ok or stored_hash is None:
            return Verification(ok=False)
        return Verification(ok=True, needs_rehash=self._hasher.check_needs_rehash(stored_hash))

    def _check(self, stored_hash: str, password: str) -> bool:
        try:
            return self._hasher.verify(stored_hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False
