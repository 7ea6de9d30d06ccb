"""Identity: match candidates a person decides (with what a decision moved, for the undo) and the register
lookups' cache with its answer date (hub/identity/).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "match_candidates",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("subjects", sa.String(200), nullable=False),
        sa.Column("reason", sa.String(48), nullable=False),
        sa.Column("evidence", sa.JSON, nullable=False),
        sa.Column("score", sa.Float),
        sa.Column("suggestion", sa.JSON),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("raised_at", TS, nullable=False),
        sa.Column("last_seen_at", TS, nullable=False),
        sa.Column("decided_at", TS),
        sa.Column("decided_by", sa.String(64)),
        sa.Column("note", sa.Text),
        sa.Column("decision", sa.JSON),
        sa.Column("undone_at", TS),
        sa.UniqueConstraint("tenant", "kind", "subjects", "reason", name="uq_match_candidates_subject"),
    )
    op.create_index("ix_match_candidates_open", "match_candidates", ["tenant", "status"])
    op.create_table(
        "register_lookups",
        sa.Column("tenant", sa.String(64), primary_key=True),
        sa.Column("system", sa.String(32), primary_key=True),
        sa.Column("subject_id", sa.String(36), primary_key=True),
        sa.Column("query_hash", sa.String(64), nullable=False),
        sa.Column("outcome", sa.String(32), nullable=False),
        sa.Column("answer", sa.JSON, nullable=False),
        sa.Column("answered_at", TS, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("register_lookups")
    op.drop_index("ix_match_candidates_open", table_name="match_candidates")
    op.drop_table("match_candidates")
