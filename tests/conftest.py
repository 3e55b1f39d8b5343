"""Fixtures shared by the whole suite: settings, a migrated database on each engine, the real app.

Integration tests that take the `app`/`client` fixtures run once on SQLite and once on PostgreSQL.
SQLite: migrated once into a template file, copied for each test. PostgreSQL: one database per run,
migrated once, emptied (TRUNCATE) before each test. Missing PostgreSQL skips locally and fails in CI.
"""

from __future__ import annotations

import asyncio
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from telehealth.accounts import service as accounts
from telehealth.accounts.models import Role, User
from telehealth.all_models import metadata
from telehealth.app import create_app
from telehealth.clock import ManualClock
from telehealth.config import Settings
from telehealth.http.keys import SERVICES
from telehealth.migrate import upgrade
from telehealth.unit_of_work import Services
from tests.services import POSTGRES_URL, service_missing

pytest_plugins = ["tests.watchdog"]

# A Monday in 2026, 14:00 UTC: 09:00 in New York, 14:00 in London.
T0 = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)
TEST_SECRET = "test-secret-key-" + "x" * 32
PASSWORD = "correct horse battery"


def base_settings(tmp: Path, database_url: str, **overrides: object) -> Settings:
    """Settings for a test instance."""
    settings = Settings(
        env="test",
        data_dir=tmp,
        database_url=database_url,
        secret_key=TEST_SECRET,
        log_format="text",
        # Its own keys in the shared Redis: no test takes over another's rooms or instances.
        redis_prefix=f"test-{uuid.uuid4().hex[:12]}:",
    )
    return replace(settings, **overrides)  # type: ignore[arg-type]


# --- databases -----------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated, empty SQLite file, copied for each test."""
    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    upgrade(base_settings(path.parent, f"sqlite+aiosqlite:///{path}"))
    return path


async def _pg_admin(sql: str) -> None:
    engine = create_async_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            await conn.execute(text(sql))
    finally:
        await engine.dispose()


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """A migrated PostgreSQL database for this run; dropped at the end."""
    name = f"telehealth_test_{uuid.uuid4().hex[:10]}"
    try:
        asyncio.run(_pg_admin(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        service_missing(
            "PostgreSQL",
            f"{make_url(POSTGRES_URL).render_as_string()}: {type(exc).__name__}: {exc}",
        )
    url = make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    try:
        upgrade(base_settings(Path("."), url))
        yield url
    finally:
        asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _truncate(url: str) -> None:
    tables = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            # This run's database is the harness's own: a connection an earlier test's process
            # left behind (a killed server, a pool a shutdown gave up on) must not make the
            # TRUNCATE below wait for its locks, so it is ended first.
            await conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            )
            await conn.commit()
        async with engine.begin() as conn:
            # The guarded tables refuse TRUNCATE (migration 0005); the test harness connects as a
            # superuser, which may switch ordinary triggers off for this transaction only.
            await conn.execute(text("SET LOCAL session_replication_role = replica"))
            await conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    finally:
        await engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A migrated, empty database on each engine."""
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        target = tmp_path / "test.db"
        shutil.copyfile(template, target)
        return f"sqlite+aiosqlite:///{target}"
    url: str = request.getfixturevalue("postgres_database")
    asyncio.run(_truncate(url))
    return url


# --- the application -----------------------------------------------------------------------------


@pytest.fixture
def clock() -> ManualClock:
    """Time that moves only when a test says so."""
    return ManualClock(T0)


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    """Settings of the app under test."""
    return base_settings(tmp_path, database_url)


@pytest.fixture
def app(settings: Settings, clock: ManualClock) -> web.Application:
    """The real application, built by its factory."""
    return create_app(settings, clock)


Client = TestClient[web.Request, web.Application]


@pytest.fixture
async def client(aiohttp_client: Any, app: web.Application) -> Client:
    """An HTTP client of the running app."""
    started: Client = await aiohttp_client(app)
    return started


@pytest.fixture
def services(client: Client, app: web.Application) -> Services:
    """The running app's services (available once the client has started the app)."""
    return app[SERVICES]


@dataclass(frozen=True)
class Person:
    """A test account with its password."""

    user: User
    password: str

    @property
    def id(self) -> uuid.UUID:
        """The account id."""
        return self.user.id

    @property
    def email(self) -> str:
        """The account email."""
        return self.user.email


class People:
    """Creates accounts through the real service layer."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self._n = 0

    async def make(
        self, role: Role, name: str | None = None, time_zone: str = "America/New_York"
    ) -> Person:
        """A new active account of the given role."""
        self._n += 1
        name = name or f"{role.value.title()} {self._n}"
        email = f"{role.value}{self._n}-{uuid.uuid4().hex[:6]}@example.test"
        user = await accounts.create_person_unattended(
            self.services,
            accounts.NewPerson(
                email=email, display_name=name, role=role, password=PASSWORD, time_zone=time_zone
            ),
        )
        return Person(user, PASSWORD)

    async def assign(self, patient: Person, therapist: Person) -> None:
        """Put a therapist on a patient's care team (directly, as the admin service would)."""
        from telehealth.accounts.models import CareAssignment

        async with self.services.sessions() as session:
            session.add(
                CareAssignment(
                    patient_id=patient.id,
                    therapist_id=therapist.id,
                    created_at=self.services.clock.now(),
                )
            )
            await session.commit()


@pytest.fixture
def people(services: Services) -> People:
    """Account factory."""
    return People(services)


async def login(client: Client, person: Person) -> dict[str, str]:
    """Sign in through the API as a fresh API client; return bearer headers.

    The cookie jar is emptied first: a client still holding someone else's session cookie would
    (rightly) need that session's CSRF token to post the login.
    """
    client.session.cookie_jar.clear()
    response = await client.post(
        "/api/v1/auth/login", json={"email": person.email, "password": person.password}
    )
    assert response.status == 200, await response.text()
    body = await response.json()
    return {"Authorization": f"Bearer {body['token']}"}
