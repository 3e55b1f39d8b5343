"""What a database failure means: run the work again, answer 503, or neither; and one log line a burst.

A unit of work that met a deadlock or a serialization failure is simply run again (``retryable``):
the lock order (docs/architecture.md) makes those rare, and a second run queues behind the winner.

A database that cannot be reached or does not answer in time (``unavailable``) is not the request's
fault and not a bug: the request answers 503 ``database_unavailable`` with Retry-After, and the
operator gets one line when it starts and a count now and then while it lasts (``OutageLog``),
not a traceback per request.
"""

from __future__ import annotations

import logging
import time
import traceback
from collections.abc import Callable

from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout

log = logging.getLogger(__name__)

# Seconds a client is asked to wait before trying again: about one connect attempt.
RETRY_AFTER_SECONDS = 5

# PostgreSQL SQLSTATEs worth one more run of the same transaction.
_RETRYABLE_STATES = frozenset(
    {
        "40P01",  # deadlock_detected
        "40001",  # serialization_failure
    }
)
# PostgreSQL SQLSTATEs that say "the database is not answering in time", not "your request is bad".
_UNAVAILABLE_STATES = frozenset(
    {
        "57014",  # query_canceled: statement_timeout (a lock wait included)
        "55P03",  # lock_not_available
        "25P03",  # idle_in_transaction_session_timeout
        "57P01",  # admin_shutdown
        "57P02",  # crash_shutdown
        "57P03",  # cannot_connect_now: starting up or shutting down
        "53300",  # too_many_connections
    }
)
_DATABASE_PACKAGES = ("sqlalchemy.", "asyncpg.", "aiosqlite.", "sqlite3")
# SQLite's words for a write lock that was not granted within the busy timeout.
_SQLITE_BUSY = ("database is locked", "database is busy", "database table is locked")


def _sqlstate(exc: DBAPIError) -> str | None:
    orig = exc.orig
    state = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    return state if isinstance(state, str) else None


def retryable(exc: BaseException) -> bool:
    """A deadlock or serialization failure: the whole transaction may simply run again."""
    return isinstance(exc, DBAPIError) and _sqlstate(exc) in _RETRYABLE_STATES


def unavailable(exc: BaseException) -> bool:
    """The database could not be reached, or did not answer within the configured timeouts."""
    if isinstance(exc, PoolTimeout):
        return True  # no free connection within DB_POOL_TIMEOUT_SECONDS
    if isinstance(exc, DBAPIError):
        if exc.connection_invalidated:
            return True
        state = _sqlstate(exc)
        if state is not None:
            return state in _UNAVAILABLE_STATES or state.startswith("08")
        return any(words in str(exc.orig) for words in _SQLITE_BUSY)
    # The drivers raise these themselves, untranslated: refused or reset connections, and the
    # connect and command timeouts (asyncpg) of a server that stopped answering. The same types
    # from anything else (a file, another service) are not the database's.
    return isinstance(exc, (TimeoutError, OSError)) and _raised_by_database_code(exc)


def _raised_by_database_code(exc: BaseException) -> bool:
    return any(
        str(frame.f_globals.get("__name__", "")).startswith(_DATABASE_PACKAGES)
        for frame, _ in traceback.walk_tb(exc.__traceback__)
    )


class OutageLog:
    """Logs a database outage once when it starts, then at most one count per interval.

    An outage is a run of failures less than ``interval`` apart; the first failure after a quiet
    interval starts a new one.
    """

    def __init__(
        self, interval: float = 60.0, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        self._interval = interval
        self._monotonic = monotonic
        self._last_seen: float | None = None
        self._logged_at = 0.0
        self._unlogged = 0

    def report(self, exc: BaseException, where: str) -> None:
        """Count one failure; write a line only when an outage starts or an interval has passed."""
        now = self._monotonic()
        cause = exc.__cause__ or exc
        starts = self._last_seen is None or now - self._last_seen >= self._interval
        self._last_seen = now
        if starts:
            first_line = str(cause).splitlines()[0][:200] if str(cause) else "no message"
            log.warning(
                "database unavailable (%s: %s at %s); answering 503 database_unavailable",
                type(cause).__name__,
                first_line,
                where,
            )
        elif now - self._logged_at < self._interval:
            self._unlogged += 1
            return
        else:
            log.warning(
                "database still unavailable: %d more failures in the last %.0f s",
                self._unlogged + 1,
                now - self._logged_at,
            )
        self._logged_at = now
        self._unlogged = 0
