"""appointments know their note (started, signed, entered in error); addenda have a kind;
notes record what they were copied from; note templates per appointment type

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 21:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Plain ADD/DROP COLUMN (no batch copy of the tables): a batch copy would drop the SQLite triggers
# of migrations 0002 (no overlap) and 0003 (signed notes and addenda are append-only). Adding a
# column is no UPDATE, so the append-only triggers are untouched.


def upgrade() -> None:
    op.add_column("appointments", sa.Column("note_id", sa.Uuid(), nullable=True))
    op.add_column(
        "appointments", sa.Column("note_signed_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.add_column(
        "appointments",
        sa.Column("note_entered_in_error_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.add_column(
        "note_addenda",
        sa.Column("kind", sa.String(length=24), server_default="addendum", nullable=False),
    )
    # Visits documented before this revision: their notes already exist (and may be signed).
    op.execute(
        "UPDATE appointments SET "
        "note_id = (SELECT n.id FROM visit_notes n WHERE n.appointment_id = appointments.id), "
        "note_signed_at = (SELECT n.signed_at FROM visit_notes n "
        "WHERE n.appointment_id = appointments.id AND n.status = 'signed') "
        "WHERE EXISTS (SELECT 1 FROM visit_notes n WHERE n.appointment_id = appointments.id)"
    )
    op.add_column("visit_notes", sa.Column("copied_from", sa.Uuid(), nullable=True))
    op.create_table(
        "note_templates",
        sa.Column("type_key", sa.String(length=48), nullable=False),
        sa.Column("version", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.id"], name=op.f("fk_note_templates_created_by_users")
        ),
        sa.PrimaryKeyConstraint("type_key", "version", name=op.f("pk_note_templates")),
    )


def downgrade() -> None:
    op.drop_table("note_templates")
    op.drop_column("visit_notes", "copied_from")
    op.drop_column("note_addenda", "kind")
    op.drop_column("appointments", "note_entered_in_error_at")
    op.drop_column("appointments", "note_signed_at")
    op.drop_column("appointments", "note_id")
