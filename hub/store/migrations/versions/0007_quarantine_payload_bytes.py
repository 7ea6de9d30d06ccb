"""Quarantine keeps a body refused at the receiver byte-exact (`payload_bytes`), invalid UTF-8 included.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("quarantine") as b:
        b.add_column(sa.Column("payload_bytes", sa.LargeBinary))


def downgrade() -> None:
    with op.batch_alter_table("quarantine") as b:
        b.drop_column("payload_bytes")
