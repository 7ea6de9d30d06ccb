"""Consent as data: the append-only log of consent statements and the state that stands per resident,
purpose and partner (hub/consent.py).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "consent_log",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("resident_id", sa.String(36), nullable=False),
        sa.Column("purpose", sa.String(32), nullable=False),
        sa.Column("partner", sa.String(32), nullable=False),
        sa.Column("granted", sa.Boolean, nullable=False),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("source_ref", sa.String(128), nullable=False),
        sa.Column("observed_at", TS, nullable=False),
        sa.Column("recorded_at", TS, nullable=False),
    )
    op.create_index("ix_consent_log_subject", "consent_log", ["tenant", "resident_id", "purpose", "partner", "id"])
    op.create_table(
        "consents",
        sa.Column("tenant", sa.String(64), primary_key=True),
        sa.Column("resident_id", sa.String(36), primary_key=True),
        sa.Column("purpose", sa.String(32), primary_key=True),
        sa.Column("partner", sa.String(32), primary_key=True),
        sa.Column("granted", sa.Boolean, nullable=False),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("source_ref", sa.String(128), nullable=False),
        sa.Column("observed_at", TS, nullable=False),
        sa.Column("recorded_at", TS, nullable=False),
        sa.Column("log_id", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("consents")
    op.drop_index("ix_consent_log_subject", table_name="consent_log")
    op.drop_table("consent_log")
