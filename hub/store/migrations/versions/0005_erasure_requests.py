"""Erasure requests: one per erased resident, its audit record (no personal data in it).

Revision ID: 0005
Revises: 0002
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0002"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "erasure_requests",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("subject", sa.String(64), nullable=False),
        sa.Column("requested_by", sa.String(64), nullable=False),
        sa.Column("requested_at", TS, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("steps", sa.JSON, nullable=False),
        sa.Column("removed", sa.JSON, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("completed_at", TS),
        sa.UniqueConstraint("tenant", "subject", name="uq_erasure_requests_subject"),
    )
    op.create_index("ix_erasure_requests_open", "erasure_requests", ["status", "tenant"])


def downgrade() -> None:
    op.drop_index("ix_erasure_requests_open", table_name="erasure_requests")
    op.drop_table("erasure_requests")
