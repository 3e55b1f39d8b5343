"""Alembic environment: one async path for SQLite and PostgreSQL; the URL comes from settings."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from telehealth.all_models import metadata

config = context.config
target_metadata = metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things in place; batch mode rebuilds tables instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_async(url: str) -> None:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_run)
            await connection.commit()
    finally:
        await engine.dispose()


def run_migrations_online() -> None:
    """Apply migrations on a live connection."""
    url = config.get_main_option("sqlalchemy.url")
    assert url, "telehealth.migrate sets sqlalchemy.url"
    asyncio.run(_run_async(url))


if context.is_offline_mode():
    raise SystemExit("offline migrations are not supported; run `telehealth migrate`")
run_migrations_online()
