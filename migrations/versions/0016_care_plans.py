"""episodes of care: plan versions with goals, certification steps, visit links, discharges;
appointment types booked only within a plan

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07 20:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _user_fk(table: str, column: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], ["users.id"], name=op.f(f"fk_{table}_{column}_users"), ondelete="CASCADE"
    )


def upgrade() -> None:
    # Types a patient books only inside an active plan of care; none until an admin says so.
    op.add_column(
        "appointment_types",
        sa.Column("within_plan", sa.Boolean(), server_default=sa.false(), nullable=False),
    )
    op.create_table(
        "care_episodes",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("patient_id", sa.Uuid(), nullable=False),
        sa.Column("therapist_id", sa.Uuid(), nullable=False),
        sa.Column("title", sa.String(length=120), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("opened_by", sa.Uuid(), nullable=False),
        _user_fk("care_episodes", "patient_id"),
        _user_fk("care_episodes", "therapist_id"),
        _user_fk("care_episodes", "opened_by"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_care_episodes")),
    )
    with op.batch_alter_table("care_episodes", schema=None) as batch_op:
        batch_op.create_index("ix_care_episodes_patient_id", ["patient_id"])
        batch_op.create_index("ix_care_episodes_therapist_id", ["therapist_id"])
    op.create_table(
        "care_plan_versions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("episode_id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("written_by", sa.Uuid(), nullable=False),
        sa.Column("written_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("cert_end", sa.Date(), nullable=False),
        sa.Column("frequency_per_week", sa.Integer(), nullable=False),
        sa.Column("duration_weeks", sa.Integer(), nullable=True),
        sa.Column("duration_visits", sa.Integer(), nullable=True),
        sa.Column("amount_per_day", sa.Integer(), nullable=False),
        sa.Column("diagnoses", sa.JSON(), nullable=False),
        sa.Column("interventions", sa.JSON(), nullable=False),
        sa.Column("modalities", sa.JSON(), nullable=False),
        sa.Column("goals", sa.JSON(), nullable=False),
        sa.Column("change_reason", sa.String(length=500), nullable=False),
        sa.ForeignKeyConstraint(
            ["episode_id"],
            ["care_episodes.id"],
            name=op.f("fk_care_plan_versions_episode_id_care_episodes"),
            ondelete="CASCADE",
        ),
        _user_fk("care_plan_versions", "written_by"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_care_plan_versions")),
        sa.UniqueConstraint("episode_id", "version", name=op.f("uq_care_plan_versions_episode_id")),
    )
    op.create_table(
        "care_certifications",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("plan_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("on_date", sa.Date(), nullable=False),
        sa.Column("practitioner", sa.String(length=120), nullable=False),
        sa.Column("recorded_by", sa.Uuid(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["plan_id"],
            ["care_plan_versions.id"],
            name=op.f("fk_care_certifications_plan_id_care_plan_versions"),
            ondelete="CASCADE",
        ),
        _user_fk("care_certifications", "recorded_by"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_care_certifications")),
    )
    with op.batch_alter_table("care_certifications", schema=None) as batch_op:
        batch_op.create_index("ix_care_certifications_plan_id", ["plan_id"])
    op.create_table(
        "care_episode_visits",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("appointment_id", sa.Uuid(), nullable=False),
        sa.Column("episode_id", sa.Uuid(), nullable=False),
        sa.Column("linked_by", sa.Uuid(), nullable=False),
        sa.Column("linked_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["appointment_id"],
            ["appointments.id"],
            name=op.f("fk_care_episode_visits_appointment_id_appointments"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["episode_id"],
            ["care_episodes.id"],
            name=op.f("fk_care_episode_visits_episode_id_care_episodes"),
            ondelete="CASCADE",
        ),
        _user_fk("care_episode_visits", "linked_by"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_care_episode_visits")),
    )
    with op.batch_alter_table("care_episode_visits", schema=None) as batch_op:
        batch_op.create_index("ix_care_episode_visits_episode_id", ["episode_id"])
    op.create_table(
        "care_discharges",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("episode_id", sa.Uuid(), nullable=False),
        sa.Column("discharged_by", sa.Uuid(), nullable=False),
        sa.Column("discharged_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("goal_outcomes", sa.JSON(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("keep_doing", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["episode_id"],
            ["care_episodes.id"],
            name=op.f("fk_care_discharges_episode_id_care_episodes"),
            ondelete="CASCADE",
        ),
        _user_fk("care_discharges", "discharged_by"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_care_discharges")),
        sa.UniqueConstraint("episode_id", name=op.f("uq_care_discharges_episode_id")),
    )

    # What was planned, certified, counted and concluded is clinical history: a revision is a
    # new version, a moved visit a new link. Nobody with the service's access rewrites it.
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            """
            CREATE FUNCTION care_append_only() RETURNS trigger AS $$
            BEGIN
                RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
            END;
            $$ LANGUAGE plpgsql
            """
        )
        for table in _APPEND_ONLY:
            op.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION care_append_only()"
            )
        return
    for table in _APPEND_ONLY:
        for event in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {table}_no_{event.lower()} BEFORE {event} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
            )


_APPEND_ONLY = (
    "care_episodes",
    "care_plan_versions",
    "care_certifications",
    "care_episode_visits",
    "care_discharges",
)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in _APPEND_ONLY:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
        op.execute("DROP FUNCTION IF EXISTS care_append_only()")
    else:
        for table in _APPEND_ONLY:
            for event in ("update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{event}")
    for table in reversed(_APPEND_ONLY):
        op.drop_table(table)
    op.drop_column("appointment_types", "within_plan")
