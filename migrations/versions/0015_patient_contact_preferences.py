"""patient contact preferences: the channel a patient prefers, and an emergency contact

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-08 10:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Columns of users, which the service role already reads and updates (db_roles): no new grant.
# All nullable: nobody has given them yet.


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("preferred_contact", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("emergency_name", sa.String(length=120), nullable=True))
        batch_op.add_column(sa.Column("emergency_phone", sa.String(length=32), nullable=True))
        batch_op.add_column(
            sa.Column("emergency_relationship", sa.String(length=60), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("emergency_relationship")
        batch_op.drop_column("emergency_phone")
        batch_op.drop_column("emergency_name")
        batch_op.drop_column("preferred_contact")
