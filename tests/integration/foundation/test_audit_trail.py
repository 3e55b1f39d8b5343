"""The audit trail records who did what from where, and detects tampering."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError

from telehealth.accounts.models import Role
from telehealth.audit import service as audit_service
from telehealth.audit.models import AuditEvent
from telehealth.unit_of_work import Services
from tests.conftest import People, Person, login
from tests.integration.foundation.helpers import execute_sql

REPO = Path(__file__).resolve().parents[3]


async def _events(services: Services) -> list[AuditEvent]:
    async with services.sessions() as session:
        return list((await session.scalars(select(AuditEvent).order_by(AuditEvent.seq))).all())


async def _some_history(client: TestClient, people: People) -> tuple[Person, Person]:
    """A login, a read of one's own record, a failed login and a denied read."""
    patient = await people.make(Role.PATIENT)
    other = await people.make(Role.PATIENT)
    response = await client.post(
        "/api/v1/auth/login",
        json={"email": patient.email, "password": patient.password},
        headers={"X-Request-ID": "req-login-0001"},
    )
    assert response.status == 200
    token = (await response.json())["token"]
    client.session.cookie_jar.clear()
    headers = {"Authorization": f"Bearer {token}"}
    read = await client.get(
        f"/api/v1/patients/{patient.id}", headers={**headers, "X-Request-ID": "req-read-0002"}
    )
    assert read.status == 200
    failed = await client.post(
        "/api/v1/auth/login",
        json={"email": patient.email, "password": "a wrong password"},
        headers={"X-Request-ID": "req-fail-0003"},
    )
    assert failed.status == 401
    denied = await client.get(
        f"/api/v1/patients/{other.id}", headers={**headers, "X-Request-ID": "req-deny-0004"}
    )
    assert denied.status == 404
    return patient, other


async def test_login_read_and_failure_are_recorded(
    client: TestClient, people: People, services: Services
) -> None:
    patient, other = await _some_history(client, people)
    events = await _events(services)
    by_request: dict[str, list[AuditEvent]] = {}
    for event in events:
        by_request.setdefault(event.request_id or "", []).append(event)

    login_rows = by_request["req-login-0001"]
    assert [e.action for e in login_rows] == ["login.success", "patient.read"]
    login_event = login_rows[0]
    assert login_event.outcome == "success"
    assert login_event.actor_id == patient.id
    assert login_event.actor_role == "patient"
    assert login_event.ip == "127.0.0.1"

    (read_event,) = by_request["req-read-0002"]
    assert (read_event.action, read_event.outcome) == ("patient.read", "success")
    assert read_event.actor_id == patient.id
    assert read_event.patient_id == patient.id
    assert read_event.resource_id == str(patient.id)
    assert read_event.ip == "127.0.0.1"

    (failure,) = by_request["req-fail-0003"]
    assert (failure.action, failure.outcome) == ("login.failure", "denied")
    assert failure.actor_id is None
    assert failure.ip == "127.0.0.1"
    assert failure.resource_id == str(patient.id)

    (denied,) = by_request["req-deny-0004"]
    assert (denied.action, denied.outcome) == ("patient.read", "denied")
    assert denied.actor_id == patient.id
    assert denied.resource_id == str(other.id)
    # The denied row must not attach the other patient's record to the reader's history.
    assert denied.patient_id is None

    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert all(e.at is not None and e.at.tzinfo is not None for e in events)


async def test_no_secret_or_personal_text_in_details(
    client: TestClient, people: People, services: Services
) -> None:
    patient, other = await _some_history(client, people)
    details = json.dumps([e.details for e in await _events(services)])
    for secret in (patient.password, "a wrong password", patient.email, other.email, "Patient"):
        assert secret not in details
    async with services.sessions() as session:
        tokens = (await session.scalars(select(AuditEvent.hash))).all()
    assert tokens  # something was recorded at all


async def test_admin_browses_the_trail_through_the_api(client: TestClient, people: People) -> None:
    patient, _ = await _some_history(client, people)
    admin = await people.make(Role.ADMIN)
    headers = await login(client, admin)
    response = await client.get(f"/api/v1/audit?patient_id={patient.id}", headers=headers)
    assert response.status == 200
    actions = [item["action"] for item in (await response.json())["items"]]
    assert "patient.read" in actions
    denied = await (
        await client.get("/api/v1/audit?outcome=denied&action=patient", headers=headers)
    ).json()
    assert [i["action"] for i in denied["items"]] == ["patient.read"]
    assert all(i["outcome"] == "denied" for i in denied["items"])


async def test_verify_reports_an_intact_chain(
    client: TestClient, people: People, services: Services
) -> None:
    await _some_history(client, people)
    count, problem = await audit_service.verify(services)
    assert problem is None
    assert count == len(await _events(services)) >= 6


async def _disable_append_only(database_url: str) -> list[str]:
    """Switch the append-only triggers off (an intruder with database rights); return the undo."""
    if database_url.startswith("sqlite"):
        await execute_sql(
            database_url,
            "DROP TRIGGER audit_events_no_update",
            "DROP TRIGGER audit_events_no_delete",
        )
        return [
            "CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events "
            "BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END",
            "CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events "
            "BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END",
        ]
    await execute_sql(database_url, "ALTER TABLE audit_events DISABLE TRIGGER USER")
    return ["ALTER TABLE audit_events ENABLE TRIGGER USER"]


async def test_altered_row_is_named_by_verify(
    client: TestClient, people: People, services: Services, database_url: str
) -> None:
    await _some_history(client, people)
    undo = await _disable_append_only(database_url)
    try:
        await execute_sql(
            database_url, """UPDATE audit_events SET details = '{"count": 0}' WHERE seq = 3"""
        )
        count, problem = await audit_service.verify(services)
    finally:
        await execute_sql(database_url, *undo)
    assert problem is not None
    assert problem.seq == 3
    assert "altered" in problem.problem
    assert count >= 6


async def test_changed_actor_is_named_by_verify(
    client: TestClient, people: People, services: Services, database_url: str
) -> None:
    await _some_history(client, people)
    last = max(e.seq for e in await _events(services))
    undo = await _disable_append_only(database_url)
    try:
        await execute_sql(
            database_url,
            f"UPDATE audit_events SET ip = '10.9.9.9' WHERE seq = {int(last)}",  # noqa: S608
        )
        _, problem = await audit_service.verify(services)
    finally:
        await execute_sql(database_url, *undo)
    assert problem is not None and problem.seq == last


async def test_deleted_middle_row_is_reported_missing(
    client: TestClient, people: People, services: Services, database_url: str
) -> None:
    await _some_history(client, people)
    undo = await _disable_append_only(database_url)
    try:
        await execute_sql(database_url, "DELETE FROM audit_events WHERE seq = 4")
        _, problem = await audit_service.verify(services)
    finally:
        await execute_sql(database_url, *undo)
    assert problem is not None
    assert problem.seq == 4
    assert "missing" in problem.problem


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_events SET outcome = 'success' WHERE seq = 2",
        "DELETE FROM audit_events WHERE seq = 2",
        "DELETE FROM audit_events",
    ],
)
async def test_append_only_triggers_refuse_changes(
    client: TestClient, people: People, services: Services, database_url: str, statement: str
) -> None:
    await _some_history(client, people)
    before = [(e.seq, e.hash, e.outcome) for e in await _events(services)]
    with pytest.raises(DBAPIError, match="append-only"):
        await execute_sql(database_url, statement)
    assert [(e.seq, e.hash, e.outcome) for e in await _events(services)] == before


async def _cli_verify(database_url: str, tmp_path: Path) -> tuple[int, str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TELEHEALTH_")}
    env.update(
        TELEHEALTH_ENV="test",
        TELEHEALTH_DATA_DIR=str(tmp_path / "cli-data"),
        TELEHEALTH_DATABASE_URL=database_url,
        TELEHEALTH_LOG_FORMAT="text",
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "telehealth",
        "audit",
        "verify",
        cwd=REPO,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_cli_verify_exit_codes(
    client: TestClient, people: People, services: Services, database_url: str, tmp_path: Path
) -> None:
    await _some_history(client, people)
    count = len(await _events(services))
    code, out, err = await _cli_verify(database_url, tmp_path)
    assert (code, err) == (0, "")
    assert out.strip() == f"audit trail intact: {count} rows verified"

    undo = await _disable_append_only(database_url)
    try:
        await execute_sql(
            database_url, """UPDATE audit_events SET details = '{"forged": true}' WHERE seq = 2"""
        )
    finally:
        await execute_sql(database_url, *undo)
    code, out, err = await _cli_verify(database_url, tmp_path)
    assert code == 1
    assert out == ""
    assert err.strip() == "audit trail BROKEN: audit row 2: content altered (hash does not match)"
