"""visits: join tickets and telehealth consent

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24 06:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "visit_tickets",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("appointment_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["appointment_id"],
            ["appointments.id"],
            name=op.f("fk_visit_tickets_appointment_id_appointments"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_visit_tickets_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_visit_tickets")),
    )
    with op.batch_alter_table("visit_tickets", schema=None) as batch_op:
        batch_op.create_index("ix_visit_tickets_expires_at", ["expires_at"], unique=False)

    op.create_table(
        "telehealth_consents",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("patient_id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.String(length=32), nullable=False),
        sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ip", sa.String(length=64), nullable=False),
        sa.Column("user_agent", sa.String(length=256), nullable=False),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["users.id"],
            name=op.f("fk_telehealth_consents_patient_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_telehealth_consents")),
        sa.UniqueConstraint(
            "patient_id", "version", name=op.f("uq_telehealth_consents_patient_id")
        ),
    )


def downgrade() -> None:
    op.drop_table("telehealth_consents")
    with op.batch_alter_table("visit_tickets", schema=None) as batch_op:
        batch_op.drop_index("ix_visit_tickets_expires_at")
    op.drop_table("visit_tickets")
