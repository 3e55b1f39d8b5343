"""On PostgreSQL the service runs as a role that owns nothing and cannot rewrite history.

`telehealth migrate` with TELEHEALTH_DATABASE_OWNER_URL runs the migrations as the owner, creates
the service role and grants it exactly what the service needs. Connected as that role, the app does
its whole job (this module's `database_url` is the service role's), and every statement that would
erase or rewrite the audit trail, an addendum or a signed note is refused.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import create_async_engine

from telehealth.accounts.models import Role
from telehealth.db_roles import RoleError, current_role_problems, grant_service_role
from telehealth.migrate import upgrade
from telehealth.unit_of_work import Services
from tests.conftest import People, Person, base_settings
from tests.integration.helpers import execute_sql, scalar_sql
from tests.integration.notes.helpers import (
    bearer,
    make_visit,
    note_url,
    ok_json,
    signable_note,
    write_signed_note,
)
from tests.services import POSTGRES_URL, service_missing

pytestmark = pytest.mark.postgres


async def _admin(sql: str) -> None:
    engine = create_async_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            await conn.execute(text(sql))
    finally:
        await engine.dispose()


@pytest.fixture
def owner_and_service(tmp_path: Path) -> Iterator[tuple[str, str]]:
    """A fresh database migrated by its owner, and the URL of the service role it granted."""
    suffix = uuid.uuid4().hex[:10]
    name, role = f"telehealth_roles_{suffix}", f"telehealth_app_{suffix}"
    try:
        asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        service_missing("PostgreSQL", f"{type(exc).__name__}: {exc}")
    owner_url = make_url(POSTGRES_URL).set(database=name)
    service_url = owner_url.set(username=role, password="app-role-password")
    owner = owner_url.render_as_string(hide_password=False)
    service = service_url.render_as_string(hide_password=False)
    try:
        upgrade(base_settings(tmp_path, service, database_owner_url=owner))
        yield owner, service
    finally:
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        asyncio.run(_admin(f'DROP ROLE IF EXISTS "{role}"'))


@pytest.fixture
def database_url(owner_and_service: tuple[str, str]) -> str:
    """The app in this module connects as the granted service role."""
    return owner_and_service[1]


async def _signed_visit(
    client: TestClient, services: Services, people: People
) -> tuple[uuid.UUID, Person]:
    therapist = await people.make(Role.THERAPIST)
    patient = await people.make(Role.PATIENT)
    visit = await make_visit(services, patient, therapist)
    headers = await bearer(client, therapist)
    await write_signed_note(client, headers, visit, signable_note())
    await ok_json(
        await client.post(
            note_url(visit, "/addenda"),
            json={"reason": "Late entry", "text": "Called back."},
            headers=headers,
        ),
        201,
    )
    return visit, therapist


async def test_the_service_role_does_its_work_and_cannot_rewrite_history(
    client: TestClient, services: Services, people: People, database_url: str
) -> None:
    visit, therapist = await _signed_visit(client, services, people)
    assert await scalar_sql(services, "SELECT current_user") == make_url(database_url).username
    assert await scalar_sql(services, "SELECT count(*) FROM audit_events") > 0
    refused = (
        "TRUNCATE audit_events",
        "TRUNCATE note_addenda",
        "TRUNCATE visit_notes CASCADE",
        "TRUNCATE appointments CASCADE",
        "UPDATE audit_events SET action = 'x'",
        "DELETE FROM audit_events",
        "UPDATE note_addenda SET text = 'rewritten'",
        "DELETE FROM note_addenda",
        "UPDATE visit_notes SET content = '{}'",
        "DELETE FROM visit_notes",
        "ALTER TABLE audit_events DISABLE TRIGGER ALL",
        "ALTER TABLE visit_notes DISABLE TRIGGER visit_notes_signed_locked",
        "DROP TRIGGER visit_notes_signed_locked ON visit_notes",
        "SET session_replication_role = replica",
        "DROP TABLE audit_events CASCADE",
        "CREATE TABLE intruder (id int)",
        "UPDATE alembic_version SET version_num = '0001'",
    )
    for statement in refused:
        with pytest.raises(
            DBAPIError, match=r"permission denied|must be owner|note_locked|append-only"
        ):
            await execute_sql(database_url, statement)
    headers = await bearer(client, therapist)
    read = await ok_json(await client.get(note_url(visit), headers=headers))
    assert read["signature"]["verified"] is True
    assert len(read["addenda"]) == 1
    assert await current_role_problems(database_url) == []


async def test_a_superuser_or_the_owner_is_reported() -> None:
    problems = await current_role_problems(POSTGRES_URL)
    assert "is a superuser" in problems


async def test_the_owner_cannot_be_the_service_role(owner_and_service: tuple[str, str]) -> None:
    owner, _service = owner_and_service
    with pytest.raises(RoleError, match="must differ"):
        await grant_service_role(owner, owner)


def test_production_refuses_to_serve_as_a_superuser(tmp_path: Path) -> None:
    env = {key: value for key, value in os.environ.items() if not key.startswith("TELEHEALTH_")} | {
        "TELEHEALTH_ENV": "production",
        "TELEHEALTH_PUBLIC_URL": "https://clinic.example",
        "TELEHEALTH_SECRET_KEY": "k" * 48,
        "TELEHEALTH_DATABASE_URL": POSTGRES_URL,
        "TELEHEALTH_DATA_DIR": str(tmp_path),
    }
    result = subprocess.run(
        [sys.executable, "-m", "telehealth", "serve", "--port", "1"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert "refusing to serve" in result.stderr
    assert "is a superuser" in result.stderr
