"""Run the Alembic migrations shipped in migrations/ against the configured database."""

from __future__ import annotations

import asyncio

from alembic import command
from alembic.config import Config

from telehealth.config import Settings
from telehealth.db_roles import grant_service_role
from telehealth.resources import migrations_dir


def alembic_config(database_url: str) -> Config:
    """An Alembic config pointing at the shipped scripts and the given database."""
    config = Config()
    config.set_main_option("script_location", str(migrations_dir()))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade(settings: Settings, revision: str = "head") -> None:
    """Bring the database to `revision` (synchronous: call it outside a running event loop).

    With DATABASE_OWNER_URL set, the migrations run as that owner role, and the service role of
    DATABASE_URL is then created if missing and granted exactly what the service needs.
    """
    if settings.is_sqlite:
        path = settings.database_url.split("///", 1)[-1]
        if path and path != ":memory:":
            from pathlib import Path

            Path(path).parent.mkdir(parents=True, exist_ok=True)
    owner_url = settings.database_owner_url or settings.database_url
    command.upgrade(alembic_config(owner_url), revision)
    if settings.database_owner_url:
        asyncio.run(grant_service_role(settings.database_owner_url, settings.database_url))
