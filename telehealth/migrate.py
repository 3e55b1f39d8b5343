"""Run the Alembic migrations shipped in migrations/ against the configured database."""

from __future__ import annotations

from alembic import command
from alembic.config import Config

from telehealth.config import Settings
from telehealth.resources import migrations_dir


def alembic_config(database_url: str) -> Config:
    """An Alembic config pointing at the shipped scripts and the given database."""
    config = Config()
    config.set_main_option("script_location", str(migrations_dir()))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade(settings: Settings, revision: str = "head") -> None:
    """Bring the database to `revision` (synchronous: call it outside a running event loop)."""
    if settings.is_sqlite:
        path = settings.database_url.split("///", 1)[-1]
        if path and path != ":memory:":
            from pathlib import Path

            Path(path).parent.mkdir(parents=True, exist_ok=True)
    command.upgrade(alembic_config(settings.database_url), revision)
