"""Engine and session factory; SQLite pragmas. Nothing else lives here."""

from __future__ import annotations

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
        # Nearly every transaction writes (the audit trail records reads too), so take the write
        # lock up front: two writers never deadlock upgrading shared locks, and a read-then-write
        # rule (no double booking) sees no write slip in between.
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def create_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions that keep loaded objects usable after commit (handlers render them)."""
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)
