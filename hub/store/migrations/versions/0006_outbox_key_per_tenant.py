"""Outbox idempotency keys are unique per tenant, not across tenants: two cooperations may hold the same
partner-side key (the same sign-up id, the same Econobis contact number) without one's push swallowing the other's.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.drop_constraint("uq_outbox_idempotency_key", type_="unique")
        batch.create_unique_constraint("uq_outbox_tenant_key", ["tenant", "idempotency_key"])


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.drop_constraint("uq_outbox_tenant_key", type_="unique")
        batch.create_unique_constraint("uq_outbox_idempotency_key", ["idempotency_key"])
