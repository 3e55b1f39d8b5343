"""Migrations from an empty database match the models, and go down and up again, on both engines."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import create_async_engine

from telehealth.all_models import metadata
from telehealth.migrate import alembic_config, upgrade
from tests.conftest import base_settings
from tests.services import POSTGRES_URL, service_missing


async def _pg_admin(sql: str) -> None:
    engine = create_async_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            await conn.execute(text(sql))
    finally:
        await engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A brand-new database with nothing in it."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'fresh' / 'clinic.db'}"
        return
    name = f"telehealth_migrate_{uuid.uuid4().hex[:10]}"
    try:
        asyncio.run(_pg_admin(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        service_missing("PostgreSQL", f"{type(exc).__name__}: {exc}")
    try:
        yield make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _inspect(url: str, work: Any) -> Any:
    async def run() -> Any:
        engine = create_async_engine(url)
        try:
            async with engine.connect() as conn:
                return await conn.run_sync(work)
        finally:
            await engine.dispose()

    return asyncio.run(run())


def _differences(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(
        connection, opts={"compare_type": True, "compare_server_default": False}
    )
    return list(compare_metadata(context, metadata))


def _tables(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names())


def _revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def test_upgrade_from_empty_matches_the_models(empty_database: str, tmp_path: Path) -> None:
    upgrade(base_settings(tmp_path, empty_database))
    assert _inspect(empty_database, _differences) == []
    tables = _inspect(empty_database, _tables)
    assert {t.name for t in metadata.sorted_tables} <= tables
    head = ScriptDirectory.from_config(alembic_config(empty_database)).get_current_head()
    assert head is not None
    assert _inspect(empty_database, _revision) == head


def test_downgrade_to_base_and_upgrade_again(empty_database: str, tmp_path: Path) -> None:
    settings = base_settings(tmp_path, empty_database)
    upgrade(settings)
    command.downgrade(alembic_config(empty_database), "base")
    assert _inspect(empty_database, _tables) <= {"alembic_version"}
    assert _inspect(empty_database, _revision) is None
    upgrade(settings)
    assert _inspect(empty_database, _differences) == []


def test_upgrade_twice_is_a_no_op(empty_database: str, tmp_path: Path) -> None:
    settings = base_settings(tmp_path, empty_database)
    upgrade(settings)
    first = _inspect(empty_database, _revision)
    upgrade(settings)
    assert _inspect(empty_database, _revision) == first is not None
