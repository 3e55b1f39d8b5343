"""Engine and session factory; SQLite pragmas. Nothing else lives here."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from telehealth.config import Settings
from telehealth.db_failures import RETRY_AFTER_SECONDS
from telehealth.errors import DatabaseUnavailable

# An execution option of our own: sessions opened by `SessionFactory.reading` begin a deferred
# transaction on SQLite (a snapshot, no write lock) instead of BEGIN IMMEDIATE.
READ_ONLY = "telehealth_read_only"


def create_engine(settings: Settings) -> AsyncEngine:
    """Create the async engine for the configured database."""
    url = make_url(settings.database_url)
    if url.get_backend_name() == "sqlite":
        return _sqlite_engine(settings, url.database)
    statement_ms = str(round(settings.db_statement_timeout * 1000))
    return create_async_engine(
        settings.database_url,
        pool_size=10,
        max_overflow=20,
        pool_pre_ping=True,
        # A request that cannot get a connection soon answers 503 instead of queueing for ever.
        pool_timeout=settings.db_pool_timeout,
        connect_args={
            "timeout": settings.db_connect_timeout,
            # The server ends a slow statement (a lock wait included) and a transaction left idle;
            # the client's own timeout, a second later, covers a server that answers nothing at all.
            "command_timeout": settings.db_statement_timeout + 1,
            "server_settings": {
                "statement_timeout": statement_ms,
                "idle_in_transaction_session_timeout": statement_ms,
            },
        },
    )


def _sqlite_engine(settings: Settings, path: str | None) -> AsyncEngine:
    if path and path != ":memory:":
        from pathlib import Path

        Path(path).parent.mkdir(parents=True, exist_ok=True)
    busy_ms = round(settings.db_statement_timeout * 1000)
    engine = create_async_engine(
        settings.database_url,
        pool_timeout=settings.db_pool_timeout,
        # How long a writer waits for the write lock before "database is locked" (503).
        connect_args={"timeout": settings.db_statement_timeout},
    )

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control away from the sqlite3 module so BEGIN below is ours.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={busy_ms}")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        if connection.get_execution_options().get(READ_ONLY):
            connection.exec_driver_sql("BEGIN")
            return
        # Nearly every transaction writes (the audit trail records reads too), so take the write
        # lock up front: two writers never deadlock upgrading shared locks, and a read-then-write
        # rule (no double booking) sees no write slip in between.
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


class SessionFactory:
    """Opens the service's database sessions: `factory()` for work that may write, `reading()`
    for a lookup that only reads.

    SQLite has one writer at a time. Left to SQLite, the other writers of this process would wait
    in its busy handler, which sleeps and polls (up to 100 ms a turn): under load a page waited
    whole seconds while the lock stood free. So on SQLite the writers of this process queue here,
    in asyncio, first come first served, and each gets the lock the moment the previous one
    ends. Waiting longer than `wait_seconds` is a 503, as waiting for a pooled connection is.
    PostgreSQL locks rows, not the database: its sessions open without queueing.
    """

    def __init__(self, engine: AsyncEngine, wait_seconds: float = 5.0) -> None:
        self.engine = engine
        self._make = async_sessionmaker(engine, expire_on_commit=False, autoflush=False)
        self._read = async_sessionmaker(
            engine.execution_options(**{READ_ONLY: True}), expire_on_commit=False, autoflush=False
        )
        self._writers = asyncio.Lock() if engine.dialect.name == "sqlite" else None
        self._wait_seconds = wait_seconds

    @property
    def queues_writers(self) -> bool:
        """Whether writers take turns here (SQLite): then a read is cheaper apart from writes."""
        return self._writers is not None

    @asynccontextmanager
    async def __call__(self) -> AsyncIterator[AsyncSession]:
        """A session whose transactions may write (on SQLite: this process's turn to write)."""
        writers = self._writers
        if writers is None:
            async with self._make() as session:
                yield session
            return
        try:
            async with asyncio.timeout(self._wait_seconds):
                await writers.acquire()
        except TimeoutError:
            raise DatabaseUnavailable(
                "The clinic's database is busy right now; nothing was saved. Please try again"
                " in a moment.",
                retry_after=RETRY_AFTER_SECONDS,
            ) from None
        try:
            async with self._make() as session:
                yield session
        finally:
            writers.release()

    def reading(self) -> AsyncSession:
        """A session for reads only; it never waits for writers (on SQLite it reads a snapshot).

        A write in it may fail on SQLite when another connection wrote since it began; write
        through `factory()` instead.
        """
        return self._read()


def create_session_factory(engine: AsyncEngine, wait_seconds: float = 5.0) -> SessionFactory:
    """Sessions that keep loaded objects usable after commit (handlers render them)."""
    return SessionFactory(engine, wait_seconds)
