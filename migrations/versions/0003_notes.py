"""visit notes, addenda and catalog extras

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24 05:44:09.277693
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "catalog_extras",
        sa.Column("version", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.id"], name=op.f("fk_catalog_extras_created_by_users")
        ),
        sa.PrimaryKeyConstraint("version", name=op.f("pk_catalog_extras")),
    )
    op.create_table(
        "visit_notes",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("appointment_id", sa.Uuid(), nullable=False),
        sa.Column("patient_id", sa.Uuid(), nullable=False),
        sa.Column("therapist_id", sa.Uuid(), nullable=False),
        sa.Column("note_type", sa.String(length=32), nullable=False),
        sa.Column("content", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("signed_by", sa.Uuid(), nullable=True),
        sa.Column("signed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("content_hash", sa.String(length=64), nullable=True),
        sa.Column("seal", sa.String(length=64), nullable=True),
        sa.CheckConstraint(
            "status = 'draft' OR (signed_by IS NOT NULL AND signed_at IS NOT NULL AND content_hash IS NOT NULL AND seal IS NOT NULL)",
            name=op.f("ck_visit_notes_signed_complete"),
        ),
        sa.CheckConstraint("status IN ('draft', 'signed')", name=op.f("ck_visit_notes_status")),
        sa.ForeignKeyConstraint(
            ["appointment_id"],
            ["appointments.id"],
            name=op.f("fk_visit_notes_appointment_id_appointments"),
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["users.id"], name=op.f("fk_visit_notes_patient_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["signed_by"], ["users.id"], name=op.f("fk_visit_notes_signed_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["therapist_id"], ["users.id"], name=op.f("fk_visit_notes_therapist_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_visit_notes")),
        sa.UniqueConstraint("appointment_id", name=op.f("uq_visit_notes_appointment_id")),
    )
    with op.batch_alter_table("visit_notes", schema=None) as batch_op:
        batch_op.create_index("ix_visit_notes_patient_id", ["patient_id"], unique=False)
        batch_op.create_index(
            "ix_visit_notes_status_signed_at", ["status", "signed_at"], unique=False
        )
        batch_op.create_index("ix_visit_notes_therapist_id", ["therapist_id"], unique=False)

    op.create_table(
        "note_addenda",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("note_id", sa.Uuid(), nullable=False),
        sa.Column("author_id", sa.Uuid(), nullable=False),
        sa.Column("written_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("parent_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["author_id"], ["users.id"], name=op.f("fk_note_addenda_author_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["note_id"], ["visit_notes.id"], name=op.f("fk_note_addenda_note_id_visit_notes")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_note_addenda")),
    )
    with op.batch_alter_table("note_addenda", schema=None) as batch_op:
        batch_op.create_index("ix_note_addenda_note_id", ["note_id", "written_at"], unique=False)

    _lock_signed_notes()


def _lock_signed_notes() -> None:
    # The service refuses changes to signed notes; these triggers refuse them for everyone else
    # too (a script, a console, a bug). A signed note is never updated or deleted, and addenda are
    # append-only. The message is what the service maps to 409 note_locked.
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            """
            CREATE FUNCTION visit_notes_signed_locked() RETURNS trigger AS $$
            BEGIN
                IF OLD.status = 'signed' THEN
                    RAISE EXCEPTION 'note_locked: a signed note cannot be changed';
                END IF;
                IF TG_OP = 'DELETE' THEN
                    RETURN OLD;
                END IF;
                RETURN NEW;
            END;
            $$ LANGUAGE plpgsql
            """
        )
        op.execute(
            "CREATE TRIGGER visit_notes_signed_locked BEFORE UPDATE OR DELETE ON visit_notes "
            "FOR EACH ROW EXECUTE FUNCTION visit_notes_signed_locked()"
        )
        op.execute(
            """
            CREATE FUNCTION note_addenda_append_only() RETURNS trigger AS $$
            BEGIN
                RAISE EXCEPTION 'note_locked: addenda are append-only';
            END;
            $$ LANGUAGE plpgsql
            """
        )
        op.execute(
            "CREATE TRIGGER note_addenda_append_only BEFORE UPDATE OR DELETE ON note_addenda "
            "FOR EACH ROW EXECUTE FUNCTION note_addenda_append_only()"
        )
        return
    for event in ("UPDATE", "DELETE"):
        op.execute(
            f"CREATE TRIGGER visit_notes_signed_no_{event.lower()} BEFORE {event} ON visit_notes "
            "WHEN OLD.status = 'signed' "
            "BEGIN SELECT RAISE(ABORT, 'note_locked: a signed note cannot be changed'); END"
        )
        op.execute(
            f"CREATE TRIGGER note_addenda_no_{event.lower()} BEFORE {event} ON note_addenda "
            "BEGIN SELECT RAISE(ABORT, 'note_locked: addenda are append-only'); END"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS note_addenda_append_only ON note_addenda")
        op.execute("DROP FUNCTION IF EXISTS note_addenda_append_only()")
        op.execute("DROP TRIGGER IF EXISTS visit_notes_signed_locked ON visit_notes")
        op.execute("DROP FUNCTION IF EXISTS visit_notes_signed_locked()")
    with op.batch_alter_table("note_addenda", schema=None) as batch_op:
        batch_op.drop_index("ix_note_addenda_note_id")

    op.drop_table("note_addenda")
    with op.batch_alter_table("visit_notes", schema=None) as batch_op:
        batch_op.drop_index("ix_visit_notes_therapist_id")
        batch_op.drop_index("ix_visit_notes_status_signed_at")
        batch_op.drop_index("ix_visit_notes_patient_id")

    op.drop_table("visit_notes")
    op.drop_table("catalog_extras")
