"""login devices: browsers that signed in before keep trying under their own throttle

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 21:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "login_devices",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("password_stamp", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_login_devices_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_login_devices")),
    )
    with op.batch_alter_table("login_devices", schema=None) as batch_op:
        batch_op.create_index("ix_login_devices_user_id", ["user_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("login_devices", schema=None) as batch_op:
        batch_op.drop_index("ix_login_devices_user_id")
    op.drop_table("login_devices")
