"""The audit trail records who did what from where, and detects tampering."""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import sys
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError

from telehealth.accounts.models import Role
from telehealth.accounts.service import actor_of
from telehealth.actors import Caller
from telehealth.audit import service as audit_service
from telehealth.audit import trail
from telehealth.audit.chain import AuditRecord, row_hash
from telehealth.audit.models import AuditEvent, AuditLink
from telehealth.audit.sealer import AuditSealer
from telehealth.audit.trail import ChainHeadInvalid
from telehealth.clock import ManualClock
from telehealth.unit_of_work import Services, unit_of_work
from tests.conftest import TEST_SECRET, People, Person, login
from tests.integration.helpers import execute_sql, seal_all

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

    assert all(a.seq < b.seq for a, b in itertools.pairwise(events))
    assert all(e.at is not None and e.at.tzinfo is not None for e in events)


async def test_no_secret_or_personal_text_in_details(
    client: TestClient, people: People, services: Services
) -> None:
    patient, other = await _some_history(client, people)
    details = json.dumps([e.details for e in await _events(services)])
    for secret in (patient.password, "a wrong password", patient.email, other.email, "Patient"):
        assert secret not in details
    async with services.sessions() as session:
        tokens = (await session.scalars(select(AuditEvent.seq))).all()
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


async def _link_of(services: Services, event_seq: int) -> int:
    async with services.sessions() as session:
        seq = await session.scalar(select(AuditLink.seq).where(AuditLink.event_seq == event_seq))
    assert seq is not None, f"event {event_seq} is not linked"
    return int(seq)


async def _links(services: Services) -> list[AuditLink]:
    async with services.sessions() as session:
        return list((await session.scalars(select(AuditLink).order_by(AuditLink.seq))).all())


async def test_verify_reports_an_intact_chain(
    client: TestClient, people: People, services: Services, tmp_path: Path
) -> None:
    await _some_history(client, people)
    checkpoints = tmp_path / "checkpoints.jsonl"
    await seal_all(services, checkpoints)
    found = await audit_service.verify(services, checkpoints)
    assert found.problem is None
    assert found.unsealed == 0
    assert found.linked == len(await _events(services)) >= 6
    links = await _links(services)
    assert [link.seq for link in links] == list(range(1, len(links) + 1))
    assert {link.key_id for link in links} == {services.settings.seal_keys.current_id}
    # The checkpoint file names the head: its length and its hash, signed.
    last = json.loads(checkpoints.read_text().splitlines()[-1])
    assert (last["seq"], last["head_hash"]) == (links[-1].seq, links[-1].hash)


_GUARDED = ("audit_events", "audit_chain", "audit_checkpoints")


async def _disable_append_only(database_url: str) -> list[str]:
    """Switch the append-only triggers off (an intruder with database rights); return the undo."""
    if database_url.startswith("sqlite"):
        drops, undo = [], []
        for table in _GUARDED:
            for event in ("UPDATE", "DELETE"):
                name = f"{table}_no_{event.lower()}"
                drops.append(f"DROP TRIGGER {name}")
                undo.append(
                    f"CREATE TRIGGER {name} BEFORE {event} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
                )
        await execute_sql(database_url, *drops)
        return undo
    await execute_sql(
        database_url, *(f"ALTER TABLE {table} DISABLE TRIGGER USER" for table in _GUARDED)
    )
    return [f"ALTER TABLE {table} ENABLE TRIGGER USER" for table in _GUARDED]


async def _tampered(database_url: str, *statements: str) -> None:
    undo = await _disable_append_only(database_url)
    if not database_url.startswith("sqlite"):
        # A careful intruder waits for a sealing pass under way to end (SQLite: one writer).
        statements = (f"SELECT pg_advisory_xact_lock({trail.SEALER_LOCK_KEY})", *statements)
    try:
        await execute_sql(database_url, *statements)
    finally:
        await execute_sql(database_url, *undo)


async def test_an_altered_event_is_named_by_verify(
    client: TestClient, people: People, services: Services, database_url: str
) -> None:
    await _some_history(client, people)
    await seal_all(services)
    event = (await _events(services))[2].seq
    await _tampered(
        database_url, f"""UPDATE audit_events SET details = '{{"count": 0}}' WHERE seq = {event}"""
    )
    found = await audit_service.verify(services, None)
    assert found.problem is not None
    assert found.problem.seq == await _link_of(services, event)
    assert "altered" in found.problem.problem


async def test_a_changed_address_is_named_by_verify(
    client: TestClient, people: People, services: Services, database_url: str
) -> None:
    await _some_history(client, people)
    await seal_all(services)
    last = (await _events(services))[-1].seq
    await _tampered(database_url, f"UPDATE audit_events SET ip = '10.9.9.9' WHERE seq = {last}")
    found = await audit_service.verify(services, None)
    assert found.problem is not None and found.problem.seq == await _link_of(services, last)
    # The sealer will not extend a chain whose head does not verify.
    await _record_one(services, (await people.make(Role.PATIENT)))
    with pytest.raises(ChainHeadInvalid):
        await seal_all(services)


async def test_a_deleted_middle_link_or_event_is_reported(
    client: TestClient, people: People, services: Services, database_url: str
) -> None:
    await _some_history(client, people)
    await seal_all(services)
    await _tampered(database_url, "DELETE FROM audit_chain WHERE seq = 4")
    found = await audit_service.verify(services, None)
    assert found.problem is not None
    assert (found.problem.seq, "missing" in found.problem.problem) == (4, True)

    events = await _events(services)
    await _tampered(database_url, f"DELETE FROM audit_events WHERE seq = {events[1].seq}")
    found = await audit_service.verify(services, None)
    assert found.problem is not None and found.problem.seq <= 4


async def test_a_rechained_table_is_detected(
    client: TestClient, people: People, services: Services, database_url: str
) -> None:
    # The intruder alters an event and recomputes every later link, as the old unkeyed chain
    # allowed: without the seal key they can only make plain hashes.
    await _some_history(client, people)
    await seal_all(services)
    links = await _links(services)
    events = {e.seq: e for e in await _events(services)}
    start = links[2]
    statements = [f"UPDATE audit_events SET outcome = 'denied' WHERE seq = {start.event_seq}"]
    prev = links[1].hash
    for link in links[2:]:
        event = events[link.event_seq]
        row = trail.chained_row(link.seq, event, prev)
        if link is start:
            row = replace(row, outcome="denied")
        digest = row_hash(row)
        statements.append(
            f"UPDATE audit_chain SET prev_hash = '{prev}', hash = '{digest}', key_id = NULL "
            f"WHERE seq = {link.seq}"
        )
        prev = digest
    await _tampered(database_url, *statements)
    found = await audit_service.verify(services, None)
    assert found.problem is not None and found.problem.seq == 3
    assert "unkeyed link after keyed ones" in found.problem.problem


async def test_a_forged_row_appended_to_the_chain_is_detected(
    client: TestClient, people: People, services: Services, database_url: str
) -> None:
    await _some_history(client, people)
    await seal_all(services)
    head = (await _links(services))[-1]
    # An event that looks recorded by the service, and a link to it with a made-up key.
    forged_event = 10_000_000
    await execute_sql(
        database_url,
        "INSERT INTO audit_events (seq, at, action, resource_type, outcome, details) "
        f"VALUES ({forged_event}, '2026-03-02 14:00:00', 'login.success', 'user', 'success', '{{}}')",
        "INSERT INTO audit_chain (seq, event_seq, sealed_at, key_id, prev_hash, hash) "
        f"VALUES ({head.seq + 1}, {forged_event}, '2026-03-02 14:00:00', 'kforged', "
        f"'{head.hash}', '{'a' * 64}')",
    )
    found = await audit_service.verify(services, None)
    assert found.problem is not None and found.problem.seq == head.seq + 1
    assert "unknown key" in found.problem.problem


@pytest.mark.parametrize("remove", ["tail", "all"])
async def test_rows_removed_from_the_end_or_all_are_detected_by_the_checkpoints(
    client: TestClient,
    people: People,
    services: Services,
    database_url: str,
    tmp_path: Path,
    remove: str,
) -> None:
    await _some_history(client, people)
    checkpoints = tmp_path / "checkpoints.jsonl"
    await seal_all(services, checkpoints)
    links = await _links(services)
    keep = len(links) - 3 if remove == "tail" else 0
    removed = ", ".join(str(link.event_seq) for link in links[keep:])
    # The intruder removes the last events, their links and the database's own checkpoints
    # beyond them, so that what is left is a valid prefix. (Links alone would be linked again
    # by the sealer from the events, with the same keyed hashes.)
    await _tampered(
        database_url,
        f"DELETE FROM audit_events WHERE seq IN ({removed})",
        f"DELETE FROM audit_chain WHERE seq > {keep}",
        f"DELETE FROM audit_checkpoints WHERE seq > {keep}",
    )
    assert (await audit_service.verify(services, None)).problem is None
    found = await audit_service.verify(services, checkpoints)
    assert found.problem is not None and found.problem.seq == keep + 1
    assert f"the chain ends at {keep}" in found.problem.problem


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_events SET outcome = 'success' WHERE seq = 2",
        "DELETE FROM audit_events WHERE seq = 2",
        "DELETE FROM audit_events",
        "UPDATE audit_chain SET key_id = NULL WHERE seq = 2",
        "DELETE FROM audit_chain WHERE seq > 2",
        "DELETE FROM audit_checkpoints",
        "UPDATE audit_checkpoints SET seq = 1000",
    ],
)
async def test_append_only_triggers_refuse_changes(
    client: TestClient, people: People, services: Services, database_url: str, statement: str
) -> None:
    await _some_history(client, people)
    await seal_all(services)
    before = (
        [(e.seq, e.outcome) for e in await _events(services)],
        [(link.seq, link.hash, link.key_id) for link in await _links(services)],
    )
    with pytest.raises(DBAPIError, match="append-only"):
        await execute_sql(database_url, statement)
    after = (
        [(e.seq, e.outcome) for e in await _events(services)],
        [(link.seq, link.hash, link.key_id) for link in await _links(services)],
    )
    assert after == before


async def _cli(database_url: str, tmp_path: Path, *args: str) -> tuple[int, str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TELEHEALTH_")}
    env.update(
        TELEHEALTH_ENV="test",
        TELEHEALTH_DATA_DIR=str(tmp_path / "cli-data"),
        TELEHEALTH_DATABASE_URL=database_url,
        TELEHEALTH_SECRET_KEY=TEST_SECRET,
        TELEHEALTH_LOG_FORMAT="text",
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "telehealth",
        "audit",
        *args,
        cwd=REPO,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_cli_seal_and_verify(
    client: TestClient, people: People, services: Services, database_url: str, tmp_path: Path
) -> None:
    await _some_history(client, people)
    checkpoints = tmp_path / "checkpoints.jsonl"
    await seal_all(services, checkpoints)
    code, out, err = await _cli(database_url, tmp_path, "seal")
    assert (code, err, out.strip()) == (0, "", "audit trail: 0 rows sealed")
    count = len(await _events(services))
    code, out, err = await _cli(database_url, tmp_path, "verify", "--checkpoints", str(checkpoints))
    assert (code, err) == (0, "")
    assert out.strip() == f"audit trail intact: {count} rows verified"
    # Without a checkpoint file the answer says what it cannot tell.
    code, out, err = await _cli(database_url, tmp_path, "verify")
    assert code == 0 and "no checkpoint file was given" in err

    event = (await _events(services))[1].seq
    await _tampered(
        database_url,
        f"""UPDATE audit_events SET details = '{{"forged": true}}' WHERE seq = {event}""",
    )
    code, out, err = await _cli(database_url, tmp_path, "verify", "--checkpoints", str(checkpoints))
    assert code == 1
    assert out == ""
    link = await _link_of(services, event)
    assert err.strip() == (
        f"audit trail BROKEN: audit row {link}: content altered or forged "
        "(link does not match its seal)"
    )
    (tmp_path / "bad.jsonl").write_text("not json\n")
    code, _, err = await _cli(
        database_url, tmp_path, "verify", "--checkpoints", str(tmp_path / "bad.jsonl")
    )
    assert code == 2 and "line 1 is not a checkpoint" in err


async def _record_one(services: Services, person: Person, during: timedelta = timedelta()) -> None:
    clock = services.clock
    assert isinstance(clock, ManualClock)
    async with unit_of_work(services, Caller(actor=actor_of(person.user), ip="test")) as uow:
        uow.audit(AuditRecord("test.event", "patient", patient_id=person.id))
        # The work of the transaction takes time before its rows are recorded.
        clock.advance(during)


async def test_audit_at_is_the_append_time_and_the_chain_runs_forwards(
    services: Services, people: People
) -> None:
    clock = services.clock
    assert isinstance(clock, ManualClock)
    patient = await people.make(Role.PATIENT)
    before = clock.now()
    await _record_one(services, patient, during=timedelta(seconds=3))
    first = (await _events(services))[-1]
    assert first.at == before + timedelta(seconds=3)
    await seal_all(services)
    # The clock steps back (a time-server correction): events say when they were recorded, and
    # the chain's own time never runs backwards.
    clock.set(before - timedelta(minutes=5))
    await _record_one(services, patient)
    second = (await _events(services))[-1]
    assert second.at == before - timedelta(minutes=5)
    await seal_all(services)
    links = await _links(services)
    assert all(a.sealed_at <= b.sealed_at for a, b in itertools.pairwise(links))
    found = await audit_service.verify(services, None)
    assert found.problem is None and found.linked == len(await _events(services))


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_writers_never_wait_for_the_chain_and_it_follows_commit_order(
    services: Services, people: People
) -> None:
    # PostgreSQL only: SQLite has one writer at a time by design.
    patient = await people.make(Role.PATIENT)
    await seal_all(services)
    origin = trail.Origin(None, None, "test", None)
    async with services.sessions() as held:
        # A transaction has recorded its event and is still open (its work goes on) ...
        record = AuditRecord("test.held", "patient", patient_id=patient.id)
        await trail.append(held, [record], origin, services.clock.now)
        # ... while another request records and commits: it does not wait for the first (a
        # lock shared with it would hold this call until the bound, and fail the test).
        async with asyncio.timeout(30):
            await _record_one(services, patient)
        # The sealer leaves the later event unlinked while the earlier transaction may still
        # commit: nothing can ever be linked behind the head.
        await AuditSealer(services.sessions, services.settings, services.clock).seal_pending(
            wait=True
        )
        assert "test.event" not in [e.action for e in await _linked_events(services)]
        await held.commit()
    await seal_all(services)
    actions = [e.action for e in await _linked_events(services)]
    assert actions[-2:] == ["test.held", "test.event"]
    assert (await audit_service.verify(services, None)).problem is None


async def _linked_events(services: Services) -> list[AuditEvent]:
    async with services.sessions() as session:
        query = (
            select(AuditEvent)
            .join(AuditLink, AuditLink.event_seq == AuditEvent.seq)
            .order_by(AuditLink.seq)
        )
        return list((await session.scalars(query)).all())
