"""Initial state store: xref, entities, provenance, journey events, cursors, inbox, outbox, quarantine, budgets.

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "xref",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("system", sa.String(32), nullable=False),
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("entity", sa.String(32), nullable=False),
        sa.Column("external_id", sa.String(128), nullable=False),
        sa.Column("canonical_id", sa.String(36), nullable=False),
        sa.Column("first_seen_at", TS, nullable=False),
        sa.UniqueConstraint("system", "tenant", "entity", "external_id", name="uq_xref_external"),
    )
    op.create_index("ix_xref_canonical_id", "xref", ["canonical_id"])

    op.create_table(
        "entities",
        sa.Column("canonical_id", sa.String(36), primary_key=True),
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("entity", sa.String(32), nullable=False),
        sa.Column("parent_id", sa.String(36)),
        sa.Column("natural_key", sa.String(200)),
        sa.Column("data", sa.JSON, nullable=False),
        sa.Column("data_hash", sa.String(64), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("deleted_at", TS),
        sa.UniqueConstraint("tenant", "entity", "natural_key", name="uq_entities_natural_key"),
    )
    op.create_index("ix_entities_tenant_entity", "entities", ["tenant", "entity"])
    op.create_index("ix_entities_parent", "entities", ["entity", "parent_id"])

    op.create_table(
        "field_provenance",
        sa.Column("canonical_id", sa.String(36), primary_key=True),
        sa.Column("field", sa.String(64), primary_key=True),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("source_ref", sa.String(128), nullable=False),
        sa.Column("observed_at", TS, nullable=False),
    )

    op.create_table(
        "journey_events",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("dossier_id", sa.String(36), nullable=False),
        sa.Column("phase", sa.String(16), nullable=False),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("occurred_at", TS, nullable=False),
        sa.Column("recorded_at", TS, nullable=False),
        sa.UniqueConstraint("dossier_id", "phase", name="uq_journey_events_dossier_phase"),
    )
    op.create_index("ix_journey_events_tenant", "journey_events", ["tenant"])

    op.create_table(
        "sync_cursors",
        sa.Column("system", sa.String(32), primary_key=True),
        sa.Column("tenant", sa.String(64), primary_key=True),
        sa.Column("stream", sa.String(64), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
    )

    op.create_table(
        "inbox",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("message_id", sa.String(128), nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("meta", sa.JSON, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("received_at", TS, nullable=False),
        sa.Column("processed_at", TS),
        sa.Column("last_error", sa.Text),
        sa.UniqueConstraint("source", "tenant", "message_id", name="uq_inbox_message"),
    )
    op.create_index("ix_inbox_status", "inbox", ["status", "received_at"])

    op.create_table(
        "outbox",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("partner", sa.String(32), nullable=False),
        sa.Column("operation", sa.String(64), nullable=False),
        sa.Column("idempotency_key", sa.String(200), nullable=False),
        sa.Column("payload", sa.JSON, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", TS, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("sent_at", TS),
        sa.Column("last_error", sa.Text),
        sa.Column("result", sa.JSON),
        sa.UniqueConstraint("idempotency_key", name="uq_outbox_idempotency_key"),
    )
    op.create_index("ix_outbox_due", "outbox", ["status", "next_attempt_at"])

    op.create_table(
        "quarantine",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("entity", sa.String(32), nullable=False),
        sa.Column("external_id", sa.String(128), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("payload", sa.JSON),
        sa.Column("occurrences", sa.Integer, nullable=False),
        sa.Column("first_seen_at", TS, nullable=False),
        sa.Column("last_seen_at", TS, nullable=False),
        sa.Column("resolved_at", TS),
        sa.UniqueConstraint("tenant", "source", "entity", "external_id", name="uq_quarantine_record"),
    )

    op.create_table(
        "request_budgets",
        sa.Column("partner", sa.String(32), primary_key=True),
        sa.Column("tenant", sa.String(64), primary_key=True),
        sa.Column("capacity", sa.Float, nullable=False),
        sa.Column("refill_per_second", sa.Float, nullable=False),
        sa.Column("tokens", sa.Float, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
    )


def downgrade() -> None:
    for name in (
        "request_budgets",
        "quarantine",
        "outbox",
        "inbox",
        "sync_cursors",
        "journey_events",
        "field_provenance",
        "entities",
        "xref",
    ):
        op.drop_table(name)
