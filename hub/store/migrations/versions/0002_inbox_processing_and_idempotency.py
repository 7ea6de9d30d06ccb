"""Inbox processing (per-stream order, retries, canonical apply) and idempotency records for synchronous proxies.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("inbox") as b:
        b.add_column(sa.Column("stream", sa.String(128)))
        b.add_column(sa.Column("next_attempt_at", TS))
        b.add_column(sa.Column("forwarded_at", TS))
        b.add_column(sa.Column("applied_at", TS))
        b.add_column(sa.Column("result", sa.JSON))
    op.create_index("ix_inbox_stream", "inbox", ["tenant", "source", "stream", "id"])
    op.create_table(
        "idempotency_records",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("scope", sa.String(64), nullable=False),
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("response_status", sa.Integer),
        sa.Column("response_body", sa.JSON),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.UniqueConstraint("tenant", "scope", "key", name="uq_idempotency_records_key"),
    )


def downgrade() -> None:
    op.drop_table("idempotency_records")
    op.drop_index("ix_inbox_stream", table_name="inbox")
    with op.batch_alter_table("inbox") as b:
        for col in ("result", "applied_at", "forwarded_at", "next_attempt_at", "stream"):
            b.drop_column(col)
