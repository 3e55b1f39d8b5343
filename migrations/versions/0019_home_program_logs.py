"""home program logs: exercises done and session logs, append-only

Revision ID: 0019
Revises: 0017
Create Date: 2026-12-12 10:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_DONE = "home_exercise_done"
_LOGS = "home_session_logs"
_TABLES = (_DONE, _LOGS)


def upgrade() -> None:
    op.create_table(
        _DONE,
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("patient_id", sa.Uuid(), nullable=False),
        sa.Column("exercise_id", sa.String(length=80), nullable=False),
        sa.Column("local_date", sa.Date(), nullable=False),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("client_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["users.id"],
            name=op.f("fk_home_exercise_done_patient_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_home_exercise_done")),
    )
    with op.batch_alter_table(_DONE, schema=None) as batch_op:
        batch_op.create_index(
            "uq_home_exercise_done_patient_id_exercise_id_local_date",
            ["patient_id", "exercise_id", "local_date"],
            unique=True,
        )
        batch_op.create_index(
            "uq_home_exercise_done_patient_id_client_id", ["patient_id", "client_id"], unique=True
        )
    op.create_table(
        _LOGS,
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("patient_id", sa.Uuid(), nullable=False),
        sa.Column("local_date", sa.Date(), nullable=False),
        sa.Column("logged_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("client_id", sa.Uuid(), nullable=False),
        sa.Column("pain", sa.SmallInteger(), nullable=False),
        sa.Column("difficulty", sa.String(length=16), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.CheckConstraint(
            "pain >= 0 AND pain <= 10", name=op.f("ck_home_session_logs_pain_range")
        ),
        sa.CheckConstraint(
            "difficulty IN ('easy', 'just_right', 'hard')",
            name=op.f("ck_home_session_logs_difficulty_known"),
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["users.id"],
            name=op.f("fk_home_session_logs_patient_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_home_session_logs")),
    )
    with op.batch_alter_table(_LOGS, schema=None) as batch_op:
        batch_op.create_index(
            "uq_home_session_logs_patient_id_client_id", ["patient_id", "client_id"], unique=True
        )

    # What a patient reports doing is part of their record: never rewritten.
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            """
            CREATE FUNCTION home_program_append_only() RETURNS trigger AS $$
            BEGIN
                RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
            END;
            $$ LANGUAGE plpgsql
            """
        )
        for table in _TABLES:
            op.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION home_program_append_only()"
            )
        return
    for table in _TABLES:
        for event in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {table}_no_{event.lower()} BEFORE {event} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in _TABLES:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
        op.execute("DROP FUNCTION IF EXISTS home_program_append_only()")
    else:
        for table in _TABLES:
            for event in ("update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{event}")
    with op.batch_alter_table(_LOGS, schema=None) as batch_op:
        batch_op.drop_index("uq_home_session_logs_patient_id_client_id")
    op.drop_table(_LOGS)
    with op.batch_alter_table(_DONE, schema=None) as batch_op:
        batch_op.drop_index("uq_home_exercise_done_patient_id_client_id")
        batch_op.drop_index("uq_home_exercise_done_patient_id_exercise_id_local_date")
    op.drop_table(_DONE)
