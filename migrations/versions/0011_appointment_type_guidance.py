"""appointment types: whether patients may book them themselves, and the order they are read in

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-09 09:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Plain ADD/DROP COLUMN, as in 0008 (no batch copy of a table that appointments reference); the
# server defaults fill the rows that exist.

# The seeded catalogue's order and policy (scheduling/appointment_types.py), written onto clinics
# seeded before this revision: seeding never touches an existing type, so without this their
# re-evaluation and discharge visits would stay open to patients, sorted by name.
_SEEDED = (
    ("initial_evaluation", 10, True),
    ("follow_up", 20, True),
    ("free_screening", 30, True),
    ("re_evaluation", 40, False),
    ("discharge", 50, False),
)


def upgrade() -> None:
    op.add_column(
        "appointment_types",
        sa.Column("patient_bookable", sa.Boolean(), server_default=sa.true(), nullable=False),
    )
    op.add_column(
        "appointment_types",
        sa.Column("display_order", sa.Integer(), server_default="100", nullable=False),
    )
    types = sa.table(
        "appointment_types",
        sa.column("key", sa.String),
        sa.column("patient_bookable", sa.Boolean),
        sa.column("display_order", sa.Integer),
    )
    for key, order, bookable in _SEEDED:
        op.execute(
            types.update()
            .where(types.c.key == key)
            .values(display_order=order, patient_bookable=bookable)
        )


def downgrade() -> None:
    op.drop_column("appointment_types", "display_order")
    op.drop_column("appointment_types", "patient_bookable")
