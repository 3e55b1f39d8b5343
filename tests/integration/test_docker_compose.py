"""docker-compose.yml sets only settings the service knows, with values it accepts."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy.engine import make_url

from telehealth.config import KNOWN_VARIABLES, PREFIX, Settings

COMPOSE = Path(__file__).resolve().parents[2] / "docker-compose.yml"
# ${NAME}, ${NAME:-default}, ${NAME-default}, ${NAME:?message}, ${NAME?message}
_INTERPOLATION = re.compile(
    r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}"
)
# What an operator's .env would hold, for the variables compose requires.
_EXAMPLE_ENV = {
    "TELEHEALTH_SECRET_KEY": "k" * 48,
    "POSTGRES_PASSWORD": "pg-password",
    "APP_DB_PASSWORD": "app-db-password",
    "TURN_SECRET": "turn-secret",
    "CLINIC_DOMAIN": "clinic.example",
    "TURN_EXTERNAL_IP": "203.0.113.7",
}


def _compose() -> dict[str, Any]:
    assert COMPOSE.is_file(), f"{COMPOSE} is missing"
    document = yaml.safe_load(COMPOSE.read_text())
    assert isinstance(document, dict) and isinstance(document.get("services"), dict)
    return document


def _environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        pairs = (item.split("=", 1) for item in env)
        return {pair[0]: pair[1] if len(pair) > 1 else "" for pair in pairs}
    return {str(k): "" if v is None else str(v) for k, v in env.items()}


def _interpolate(value: str) -> str:
    def substitute(match: re.Match[str]) -> str:
        name, op, arg = match.group("name"), match.group("op"), match.group("arg")
        if name in _EXAMPLE_ENV:
            return _EXAMPLE_ENV[name]
        if op in (":-", "-"):
            return arg or ""
        raise AssertionError(f"${{{name}}} has no default and no example value")

    return _INTERPOLATION.sub(substitute, value.replace("$$", "\0")).replace("\0", "$")


def test_every_telehealth_variable_in_compose_is_a_known_setting() -> None:
    services = _compose()["services"]
    seen: set[str] = set()
    for name, service in services.items():
        for variable in _environment(service):
            if variable.startswith(PREFIX):
                assert variable in KNOWN_VARIABLES, f"service {name} sets unknown {variable}"
                seen.add(variable)
    assert {"TELEHEALTH_DATABASE_URL", "TELEHEALTH_SECRET_KEY"} <= seen


def test_compose_settings_are_accepted_by_the_service() -> None:
    services = _compose()["services"]
    app_services = [
        s for s in services.values() if any(k.startswith(PREFIX) for k in _environment(s))
    ]
    assert app_services
    for service in app_services:
        env = {k: _interpolate(v) for k, v in _environment(service).items() if k.startswith(PREFIX)}
        settings = Settings.from_env(env)
        if settings.is_production:
            assert settings.uses_https
            assert not settings.is_sqlite, "production replicas cannot share an SQLite file"


def test_migrations_run_as_the_owner_and_replicas_as_the_service_role() -> None:
    services = _compose()["services"]
    migrate = Settings.from_env(
        {k: _interpolate(v) for k, v in _environment(services["migrate"]).items()}
    )
    assert migrate.database_owner_url, "migrate must run as the owner role"
    owner = make_url(migrate.database_owner_url).username
    service_role = make_url(migrate.database_url).username
    assert owner and service_role and owner != service_role
    for name in ("app1", "app2"):
        replica = Settings.from_env(
            {k: _interpolate(v) for k, v in _environment(services[name]).items()}
        )
        assert not replica.database_owner_url, f"{name} must not hold the owner's credentials"
        assert make_url(replica.database_url).username == service_role
