"""Keyed seals against someone with database access, on both engines.

The attacker here can run any SQL, switch the append-only triggers off and recompute every plain
hash; what they do not have is the sealing key, which lives in settings. Each forgery must show as
not verified to staff, be withheld from the patient, and make `telehealth notes verify` fail.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from telehealth.accounts.models import Role
from telehealth.config import Settings, SettingsError
from telehealth.notes.canonical import content_hash
from telehealth.unit_of_work import Services
from tests.conftest import People, Person
from tests.integration.helpers import execute_sql
from tests.integration.notes.helpers import (
    API,
    bearer,
    make_visit,
    note_url,
    ok_json,
    open_and_save,
    signable_note,
    write_signed_note,
)

_SQLITE_TRIGGERS = (
    "visit_notes_signed_no_update",
    "visit_notes_signed_no_delete",
    "note_addenda_no_update",
    "note_addenda_no_delete",
)


async def _as_intruder(database_url: str, *statements: str) -> None:
    """Run statements with the append-only triggers out of the way, as a database owner could."""
    if database_url.startswith("sqlite"):
        drops = tuple(f"DROP TRIGGER IF EXISTS {name}" for name in _SQLITE_TRIGGERS)
        await execute_sql(database_url, *drops, *statements)
    else:
        await execute_sql(database_url, "SET session_replication_role = replica", *statements)


async def _pair(people: People) -> tuple[Person, Person]:
    return await people.make(Role.THERAPIST), await people.make(Role.PATIENT)


async def _verify_command(settings: Settings) -> subprocess.CompletedProcess[str]:
    # In a thread: the app under test goes on serving (and sealing) while the command runs; a
    # blocked event loop would hold whatever transaction it was in the middle of.
    return await asyncio.to_thread(_run_verify, settings)


def _run_verify(settings: Settings) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TELEHEALTH_")} | {
        "TELEHEALTH_ENV": "test",
        "TELEHEALTH_DATABASE_URL": settings.database_url,
        "TELEHEALTH_SECRET_KEY": settings.secret_key,
        "TELEHEALTH_DATA_DIR": str(settings.data_dir),
    }
    return subprocess.run(
        [sys.executable, "-m", "telehealth", "notes", "verify"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


async def test_intact_notes_verify_and_carry_their_key(
    client: TestClient, services: Services, people: People
) -> None:
    therapist, patient = await _pair(people)
    visit = await make_visit(services, patient, therapist)
    headers = await bearer(client, therapist)
    signed = await write_signed_note(client, headers, visit, signable_note())
    assert signed["signature"]["verified"] is True
    assert signed["signature"]["key_id"] == services.settings.seal_keys.current_id
    for text in ("First call.", "Second call."):
        note = await ok_json(
            await client.post(
                note_url(visit, "/addenda"),
                json={"reason": "Late entry", "text": text},
                headers=headers,
            ),
            201,
        )
    by_text = {a["text"]: a for a in note["addenda"]}
    first, second = by_text["First call."], by_text["Second call."]
    assert first["parent_hash"] == signed["signature"]["seal"]
    assert second["parent_hash"] == first["hash"]
    assert note["signature"]["verified"] is True
    result = await _verify_command(services.settings)
    assert result.returncode == 0, result.stderr
    assert "1 notes and their addenda verified" in result.stdout


async def test_a_draft_promoted_to_signed_with_a_recomputed_hash_is_caught(
    client: TestClient, services: Services, people: People, database_url: str
) -> None:
    therapist, patient = await _pair(people)
    visit = await make_visit(services, patient, therapist)
    headers = await bearer(client, therapist)
    draft = await open_and_save(client, headers, visit, signable_note())
    digest = content_hash(draft["content"])
    # Every plain hash the old scheme used is recomputed correctly: only the key is missing.
    plain_seal = content_hash(
        {
            "signer_id": str(therapist.id),
            "signed_at": "2026-03-02T15:30:00Z",
            "content_hash": digest,
        }
    )
    for key_id in ("NULL", f"'{services.settings.seal_keys.current_id}'"):
        await execute_sql(
            database_url,
            "UPDATE visit_notes SET status = 'signed', "
            f"signed_by = '{_db_uuid(database_url, therapist.id)}', "
            "signed_at = '2026-03-02 15:30:00.000000', "
            f"content_hash = '{digest}', seal = '{plain_seal}', seal_key_id = {key_id} "
            "WHERE status = 'draft'",
        )
        read = await ok_json(await client.get(note_url(visit), headers=headers))
        assert read["status"] == "signed"
        assert read["signature"]["verified"] is False
        assert read["signature"]["problems"]
        patient_headers = await bearer(client, patient)
        summary = await client.get(f"{API}/appointments/{visit}/summary", headers=patient_headers)
        assert summary.status == 409
        assert (await summary.json())["error"]["code"] == "note_unverified"
        listed = await ok_json(
            await client.get(f"{API}/me/visit-summaries", headers=patient_headers)
        )
        assert _visits_in(listed) == set()
        result = await _verify_command(services.settings)
        assert result.returncode == 1
        assert str(visit) in result.stderr
        await _as_intruder(database_url, "UPDATE visit_notes SET status = 'draft'")
        headers = await bearer(client, therapist)


async def test_a_rewritten_signed_note_is_caught(
    client: TestClient, services: Services, people: People, database_url: str
) -> None:
    therapist, patient = await _pair(people)
    visit = await make_visit(services, patient, therapist)
    headers = await bearer(client, therapist)
    signed = await write_signed_note(client, headers, visit, signable_note())
    rewritten: dict[str, Any] = dict(signed["content"], assessment="Rewritten afterwards.")
    await _as_intruder(
        database_url,
        f"UPDATE visit_notes SET content = '{json.dumps(rewritten)}', "
        f"content_hash = '{content_hash(rewritten)}'",
    )
    read = await ok_json(await client.get(note_url(visit), headers=headers))
    assert read["content"]["assessment"] == "Rewritten afterwards."
    assert read["signature"]["verified"] is False
    assert any("does not match its seal" in p for p in read["signature"]["problems"])
    patient_headers = await bearer(client, patient)
    listed = await ok_json(await client.get(f"{API}/me/visit-summaries", headers=patient_headers))
    assert _visits_in(listed) == set()
    assert (await _verify_command(services.settings)).returncode == 1


async def test_an_addendum_removed_from_the_middle_is_caught(
    client: TestClient, services: Services, people: People, database_url: str
) -> None:
    therapist, patient = await _pair(people)
    visit = await make_visit(services, patient, therapist)
    headers = await bearer(client, therapist)
    await write_signed_note(client, headers, visit, signable_note())
    note: dict[str, Any] = {}
    for text in ("First call.", "Second call.", "Third call."):
        services.clock.advance(timedelta(minutes=1))  # type: ignore[attr-defined]
        note = await ok_json(
            await client.post(
                note_url(visit, "/addenda"),
                json={"reason": "Late entry", "text": text},
                headers=headers,
            ),
            201,
        )
    middle = note["addenda"][1]["id"]
    await _as_intruder(
        database_url, f"DELETE FROM note_addenda WHERE id = '{_db_uuid(database_url, middle)}'"
    )
    read = await ok_json(await client.get(note_url(visit), headers=headers))
    assert len(read["addenda"]) == 2
    assert read["signature"]["verified"] is False
    assert any("out of its chain" in p for p in read["signature"]["problems"])
    result = await _verify_command(services.settings)
    assert result.returncode == 1 and "out of its chain" in result.stderr


def _db_uuid(database_url: str, value: uuid.UUID | str) -> str:
    # SQLAlchemy stores UUIDs as 32 hex characters on SQLite and as uuid on PostgreSQL.
    parsed = uuid.UUID(str(value))
    return parsed.hex if database_url.startswith("sqlite") else str(parsed)


def _visits_in(listed: Any) -> set[str]:
    return {str(item["appointment_id"]) for item in listed["items"]}


def test_secret_key_absent_refuses_to_derive_a_key(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="SEAL_KEYS"):
        _ = Settings(data_dir=tmp_path).seal_keys
