"""The audit sealer: links committed events into the chain shortly after each commit, and writes
signed checkpoints of the chain outside the database.

Every instance runs one; on PostgreSQL a pass that finds another instance's pass under way leaves
the work to it (an advisory lock only sealers take), so the chain has one writer per deployment
and no request ever waits for it. A unit of work that recorded events wakes the sealer after its
commit; the sealer also polls, for events other instances recorded. Events wait to be linked for
about one poll interval at most: that is the unsealed window docs/security.md speaks of.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import time
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

from telehealth.audit import trail
from telehealth.audit.chain import Checkpoint
from telehealth.clock import Clock
from telehealth.config import Settings
from telehealth.db import SessionFactory
from telehealth.db_failures import unavailable
from telehealth.shutdown import close_within

log = logging.getLogger(__name__)

# Pause after a failed pass (database away, or a tampered head), so a problem is logged once in a
# while, not once per poll.
_FAILURE_PAUSE_SECONDS = 5.0
# Events linked per transaction: a pass never holds its transaction long.
_BATCH = 500
_GATHER_SECONDS = 0.05


def _log_failure(exc: Exception) -> None:
    if unavailable(exc):
        # The requests meeting the same outage log it (db_failures.OutageLog); the events wait.
        log.debug("audit sealing waits for the database: %s", type(exc).__name__)
    elif isinstance(exc, trail.ChainHeadInvalid):
        log.error("%s: sealing has stopped; run `telehealth audit verify`", exc)
    else:
        log.exception("audit sealing failed; retrying in %s s", _FAILURE_PAUSE_SECONDS)


class CheckpointFile:
    """Where checkpoints go outside the database: a file (one JSON line each), or the log."""

    def __init__(self, path: Path | None) -> None:
        self.path = path

    async def write(self, checkpoint: Checkpoint) -> None:
        """Append one checkpoint durably (the file is synced before this returns)."""
        if self.path is None:
            log.info("audit checkpoint", extra={"checkpoint": checkpoint.as_json()})
            return
        await asyncio.to_thread(self._append, json.dumps(checkpoint.as_json()))

    def _append(self, line: str) -> None:
        assert self.path is not None
        with self.path.open("a", encoding="utf-8") as file:
            file.write(line + "\n")
            file.flush()
            os.fsync(file.fileno())


def read_checkpoints(path: Path) -> list[Checkpoint]:
    """Every checkpoint in a checkpoint file; ValueError naming the first unreadable line."""
    checkpoints = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            checkpoints.append(Checkpoint.from_json(json.loads(line)))
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"{path}: line {number} is not a checkpoint ({exc})") from None
    return checkpoints


class AuditSealer:
    """Seals on demand (`seal_pending`) and in the background (`running`)."""

    def __init__(self, sessions: SessionFactory, settings: Settings, clock: Clock) -> None:
        self._sessions = sessions
        self._settings = settings
        self._clock = clock
        self._keys = settings.seal_keys
        self._policy = trail.CheckpointPolicy(
            every_rows=settings.audit_checkpoint_rows,
            every=timedelta(seconds=settings.audit_checkpoint_seconds),
        )
        self._file = CheckpointFile(settings.audit_checkpoint_file)
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()

    def wake(self) -> None:
        """Ask for a pass soon (called after a commit that recorded events)."""
        self._wake.set()

    async def seal_pending(self, wait: bool = False) -> int:
        """Link every event that can be linked now; how many were linked by this call.

        With `wait` (the command line), queue behind another instance's pass instead of leaving
        the work to it, and write a checkpoint of the head to the checkpoint file at the end.
        """
        linked = 0
        policy = replace(self._policy, always=wait)
        while True:
            async with self._sessions() as session:
                sealed = await trail.seal(
                    session, self._keys, self._clock.now, policy, _BATCH, wait=wait
                )
                await session.commit()
            if sealed is None:
                return linked  # another instance is sealing
            if sealed.checkpoint is not None:
                await self._file.write(sealed.checkpoint)
            linked += sealed.linked
            if sealed.linked < _BATCH:
                return linked

    async def _loop(self) -> None:
        interval = self._settings.audit_seal_interval
        while not self._stopping.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), interval)
                # Woken by a commit: let the commits of a busy moment gather into one pass.
                await asyncio.sleep(min(_GATHER_SECONDS, interval))
            self._wake.clear()
            if self._stopping.is_set():
                return
            try:
                await self.seal_pending()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                _log_failure(exc)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), _FAILURE_PAUSE_SECONDS)

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Seal in the background while the context is open; a last pass when it closes."""
        task = asyncio.create_task(self._loop(), name="audit-sealer")
        try:
            yield
        finally:
            # Asked, not cancelled: a pass cancelled inside its transaction could leave the
            # connection holding SQLite's write lock until it is garbage-collected, and the last
            # pass below would wait on that lock for the whole statement timeout.
            self._stopping.set()
            self._wake.set()
            await close_within("stopping the audit sealer", task)
            started = time.monotonic()
            try:
                async with asyncio.timeout(self._settings.db_statement_timeout):
                    await self.seal_pending()
            except Exception:
                # The next instance to start links what is left; nothing is lost.
                log.warning(
                    "audit events left unsealed at shutdown (%.1f s)", time.monotonic() - started
                )
