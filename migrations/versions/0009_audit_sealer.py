"""audit chain sealed after commit: events, a keyed chain, signed checkpoints

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 03:00:00

Requests used to append to the hash chain themselves, under one lock every writing transaction
took. Now a request only records its events in `audit_events`; the sealer links committed events
into `audit_chain` (keyed links) and signs checkpoints in `audit_checkpoints`. The existing chain
moves to `audit_chain` unchanged (its links stay plain SHA-256, each at its event's own seq).

PostgreSQL numbers events from a sequence and stamps each with the id of the transaction that
recorded it. Plain ADD/DROP COLUMN on SQLite (no batch copy), which keeps the append-only
triggers of 0001 and 0005; none of them names the dropped columns.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_NEW_TABLES = (
    ("audit_chain", "seq", "audit_chain is append-only"),
    ("audit_checkpoints", "seq", "audit_checkpoints is append-only"),
)


def _postgres() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def upgrade() -> None:
    op.create_table(
        "audit_chain",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("event_seq", sa.BigInteger(), nullable=False),
        sa.Column("sealed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("key_id", sa.String(length=32), nullable=True),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_audit_chain")),
        sa.UniqueConstraint("event_seq", name=op.f("uq_audit_chain_event_seq")),
    )
    op.create_table(
        "audit_checkpoints",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("head_hash", sa.String(length=64), nullable=False),
        sa.Column("made_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("key_id", sa.String(length=32), nullable=False),
        sa.Column("mac", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_audit_checkpoints")),
    )
    op.execute(
        "INSERT INTO audit_chain (seq, event_seq, sealed_at, key_id, prev_hash, hash) "
        "SELECT seq, seq, at, NULL, prev_hash, hash FROM audit_events"
    )
    op.execute("ALTER TABLE audit_events DROP COLUMN prev_hash")
    op.execute("ALTER TABLE audit_events DROP COLUMN hash")
    # No default while the column is added: existing events get NULL, not this migration's id.
    op.add_column("audit_events", sa.Column("xid", sa.BigInteger(), nullable=True))
    op.create_index("ix_audit_events_xid_seq", "audit_events", ["xid", "seq"], unique=False)
    if _postgres():
        op.execute(
            "ALTER TABLE audit_events ALTER COLUMN xid "
            "SET DEFAULT CAST(CAST(pg_current_xact_id() AS text) AS bigint)"
        )
        op.execute("CREATE SEQUENCE audit_events_seq OWNED BY audit_events.seq")
        op.execute(
            "SELECT setval('audit_events_seq', COALESCE(MAX(seq), 0) + 1, false) FROM audit_events"
        )
        op.execute(
            """
            CREATE FUNCTION refuse_change() RETURNS trigger AS $$
            BEGIN
                RAISE EXCEPTION '%', TG_ARGV[0];
            END;
            $$ LANGUAGE plpgsql
            """
        )
        for table, _key, message in _NEW_TABLES:
            op.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                f"FOR EACH ROW EXECUTE FUNCTION refuse_change('{message}')"
            )
            # refuse_truncate() comes from 0005.
            op.execute(
                f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                f"FOR EACH STATEMENT EXECUTE FUNCTION refuse_truncate('{message}')"
            )
        return
    for table, key, message in _NEW_TABLES:
        for event in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {table}_no_{event.lower()} BEFORE {event} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{message}'); END"
            )
        # As in 0005: before any conflict resolution, so REPLACE and upserts stop here too.
        op.execute(
            f"CREATE TRIGGER {table}_no_replace BEFORE INSERT ON {table} "
            f"WHEN EXISTS (SELECT 1 FROM {table} WHERE {key} = NEW.{key}) "
            f"BEGIN SELECT RAISE(ABORT, '{message}'); END"
        )


def downgrade() -> None:
    # The chain is dropped: events keep their fields, with empty hashes (the old format cannot
    # express a chain in commit order). Verify and archive the trail before going down.
    if _postgres():
        op.execute("ALTER TABLE audit_events ALTER COLUMN xid DROP DEFAULT")
        op.execute("DROP SEQUENCE IF EXISTS audit_events_seq")
    op.drop_index("ix_audit_events_xid_seq", table_name="audit_events")
    op.execute("ALTER TABLE audit_events DROP COLUMN xid")
    op.add_column(
        "audit_events",
        sa.Column("prev_hash", sa.String(length=64), server_default="", nullable=False),
    )
    op.add_column(
        "audit_events", sa.Column("hash", sa.String(length=64), server_default="", nullable=False)
    )
    if _postgres():
        for table, _key, _message in _NEW_TABLES:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
        op.execute("DROP FUNCTION IF EXISTS refuse_change()")
    else:
        for table, _key, _message in _NEW_TABLES:
            for name in ("no_update", "no_delete", "no_replace"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_{name}")
    op.drop_table("audit_checkpoints")
    op.drop_table("audit_chain")
