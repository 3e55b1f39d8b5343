"""keyed seals: the settings key that sealed each signed note and addendum

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 22:00:00

Plain columns added in place (no table rebuild, so the append-only triggers stay as they are).
Rows signed before this revision keep a NULL key id: their plain hash is reported as unverifiable.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("visit_notes", sa.Column("seal_key_id", sa.String(length=32), nullable=True))
    op.add_column("note_addenda", sa.Column("key_id", sa.String(length=32), nullable=True))


def downgrade() -> None:
    # SQLite drops a column in place since 3.35; batch mode would rebuild the guarded tables.
    op.drop_column("note_addenda", "key_id")
    op.drop_column("visit_notes", "seal_key_id")
