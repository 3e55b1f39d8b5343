"""Where the shipped folders are: web/ and migrations/ sit beside the telehealth package, both in a
checkout and in site-packages (see pyproject.toml), so one rule finds them in either layout."""

from __future__ import annotations

from pathlib import Path

_ROOT = Path(__file__).resolve().parent.parent


def web_dir() -> Path:
    """The web/ folder: templates/ and static/."""
    return _ROOT / "web"


def migrations_dir() -> Path:
    """The Alembic migrations/ folder."""
    return _ROOT / "migrations"
