"""Ordinary statements that used to rewrite history are refused by the schema itself.

SQLite: REPLACE and every other conflict clause on the guarded tables. PostgreSQL: TRUNCATE, direct
or cascading. Each attempt is made on a separate connection, as someone with database access would.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import create_async_engine

from telehealth.accounts.models import Role
from telehealth.unit_of_work import Services
from tests.conftest import People, Person
from tests.integration.helpers import execute_sql, seal_all
from tests.integration.notes.helpers import (
    bearer,
    make_visit,
    note_url,
    ok_json,
    signable_note,
    write_signed_note,
)

GUARDED = ("audit_events", "audit_chain", "audit_checkpoints", "note_addenda", "visit_notes")
# Tables keyed by seq rather than id.
SEQ_KEYED = ("audit_events", "audit_chain", "audit_checkpoints")
# Every way SQLite lets an INSERT resolve a key conflict, written against one existing row.
SQLITE_CLAUSES = (
    "INSERT OR REPLACE INTO",
    "REPLACE INTO",
    "INSERT OR ABORT INTO",
    "INSERT OR FAIL INTO",
    "INSERT OR ROLLBACK INTO",
    "INSERT OR IGNORE INTO",
)


async def _signed_record(
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
    await seal_all(services)  # links and a checkpoint exist too
    return visit, therapist


async def _snapshot(database_url: str) -> dict[str, list[Any]]:
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as conn:
            return {
                table: [
                    tuple(row) for row in (await conn.execute(text(f"SELECT * FROM {table}"))).all()
                ]
                for table in GUARDED
            }
    finally:
        await engine.dispose()


async def _columns(database_url: str, table: str) -> list[str]:
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as conn:
            if database_url.startswith("sqlite"):
                rows = await conn.execute(
                    text("SELECT name FROM pragma_table_info(:t)"), {"t": table}
                )
            else:
                rows = await conn.execute(
                    text(
                        "SELECT column_name FROM information_schema.columns "
                        "WHERE table_name = :t ORDER BY ordinal_position"
                    ),
                    {"t": table},
                )
            return [str(name) for (name,) in rows.all()]
    finally:
        await engine.dispose()


# One column per table whose value the rewrite changes, and what it writes there.
_REWRITES = {
    "audit_events": ("action", "'note.rewritten'"),
    "audit_chain": ("key_id", "'kforged'"),
    "audit_checkpoints": ("mac", "'" + "0" * 64 + "'"),
    "note_addenda": ("text", "'rewritten'"),
    "visit_notes": ("note_type", "'discharge'"),
}


def _rewrite(clause: str, table: str, columns: list[str], *, new_id: bool = False) -> str:
    changed, value = _REWRITES[table]
    picked = []
    for column in columns:
        if column == changed:
            picked.append(value)
        elif new_id and column == "id":
            # A fresh key that collides only on appointment_id (visit_notes' other unique key).
            picked.append(f"'{uuid.uuid4()}'")
        else:
            picked.append(column)
    return (
        f"{clause} {table} ({', '.join(columns)}) SELECT {', '.join(picked)} FROM {table} LIMIT 1"
    )


async def test_no_conflict_clause_rewrites_a_guarded_row(
    client: TestClient, services: Services, people: People, database_url: str
) -> None:
    await _signed_record(client, services, people)
    before = await _snapshot(database_url)
    assert all(before[table] for table in GUARDED)
    sqlite = database_url.startswith("sqlite")
    attempts: list[str] = []
    for table in GUARDED:
        columns = await _columns(database_url, table)
        key = "seq" if table in SEQ_KEYED else "id"
        changed, _value = _REWRITES[table]
        upsert = _rewrite("INSERT INTO", table, columns)
        attempts.append(
            f"{upsert} ON CONFLICT ({key}) DO UPDATE SET {changed} = excluded.{changed}"
        )
        if sqlite:
            attempts += [_rewrite(clause, table, columns) for clause in SQLITE_CLAUSES]
        if table == "visit_notes":
            attempts.append(_rewrite("INSERT INTO", table, columns, new_id=True))
            if sqlite:
                attempts.append(_rewrite("REPLACE INTO", table, columns, new_id=True))
    for statement in attempts:
        # PostgreSQL answers a plain colliding insert with its unique key; either way, refused.
        with pytest.raises(DBAPIError, match=r"append-only|note_locked|duplicate key"):
            await execute_sql(database_url, statement)
    # An insert that does nothing on conflict is harmless, and stays harmless.
    for table in GUARDED:
        columns = await _columns(database_url, table)
        key = "seq" if table in SEQ_KEYED else "id"
        nothing = f"{_rewrite('INSERT INTO', table, columns)} ON CONFLICT ({key}) DO NOTHING"
        if sqlite:
            with pytest.raises(DBAPIError, match=r"append-only|note_locked"):
                await execute_sql(database_url, nothing)
        else:
            await execute_sql(database_url, nothing)
    assert await _snapshot(database_url) == before


async def test_truncate_is_refused_directly_and_by_cascade(
    client: TestClient, services: Services, people: People, database_url: str
) -> None:
    visit, therapist = await _signed_record(client, services, people)
    before = await _snapshot(database_url)
    # SQLite has no TRUNCATE: emptying a table is a DELETE without WHERE, which its triggers refuse.
    emptying = (
        tuple(f"DELETE FROM {table}" for table in GUARDED)
        if database_url.startswith("sqlite")
        else (
            "TRUNCATE audit_events",
            "TRUNCATE audit_chain",
            "TRUNCATE audit_checkpoints",
            "TRUNCATE note_addenda",
            "TRUNCATE visit_notes CASCADE",
            "TRUNCATE appointments CASCADE",
            "TRUNCATE users CASCADE",
        )
    )
    for statement in emptying:
        with pytest.raises(DBAPIError, match=r"append-only|note_locked"):
            await execute_sql(database_url, statement)
    assert await _snapshot(database_url) == before
    headers = await bearer(client, therapist)
    read = await ok_json(await client.get(note_url(visit), headers=headers))
    assert read["signature"]["verified"] is True
