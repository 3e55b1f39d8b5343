"""append-only hardening: no REPLACE on SQLite, no TRUNCATE on PostgreSQL

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 21:00:00

The UPDATE/DELETE triggers of 0001 and 0003 leave two ordinary statements that still rewrite
history. On SQLite, `INSERT OR REPLACE` / `REPLACE INTO` deletes the conflicting row without firing
DELETE triggers (unless the connection turned recursive_triggers on, which an attacker's would
not), then inserts a new one. On PostgreSQL, row triggers do not see TRUNCATE. The triggers below
live in the schema, so they hold for every connection, whoever opens it.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (table, the row that an insert must not collide with, the message the service maps)
_SQLITE_GUARDS = (
    (
        "audit_events",
        "SELECT 1 FROM audit_events WHERE seq = NEW.seq",
        "audit_events is append-only",
    ),
    (
        "note_addenda",
        "SELECT 1 FROM note_addenda WHERE id = NEW.id",
        "note_locked: addenda are append-only",
    ),
    (
        "visit_notes",
        "SELECT 1 FROM visit_notes WHERE status = 'signed' "
        "AND (id = NEW.id OR appointment_id = NEW.appointment_id)",
        "note_locked: a signed note cannot be changed",
    ),
)
# TRUNCATE of visit_notes cascades to note_addenda and a TRUNCATE of appointments ... CASCADE
# reaches visit_notes: a statement trigger on each table refuses all of them.
_POSTGRES_TRUNCATE_GUARDS = (
    ("audit_events", "audit_events is append-only"),
    ("note_addenda", "note_locked: addenda are append-only"),
    ("visit_notes", "note_locked: a signed note cannot be changed"),
)


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            """
            CREATE FUNCTION refuse_truncate() RETURNS trigger AS $$
            BEGIN
                RAISE EXCEPTION '%', TG_ARGV[0];
            END;
            $$ LANGUAGE plpgsql
            """
        )
        for table, message in _POSTGRES_TRUNCATE_GUARDS:
            op.execute(
                f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                f"FOR EACH STATEMENT EXECUTE FUNCTION refuse_truncate('{message}')"
            )
        return
    for table, collision, message in _SQLITE_GUARDS:
        # Fires before any conflict resolution, so REPLACE, OR REPLACE and an upsert all stop
        # here; a plain duplicate insert gets the same message instead of a key error.
        op.execute(
            f"CREATE TRIGGER {table}_no_replace BEFORE INSERT ON {table} "
            f"WHEN EXISTS ({collision}) "
            f"BEGIN SELECT RAISE(ABORT, '{message}'); END"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table, _message in _POSTGRES_TRUNCATE_GUARDS:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
        op.execute("DROP FUNCTION IF EXISTS refuse_truncate()")
        return
    for table, _collision, _message in _SQLITE_GUARDS:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_no_replace")
