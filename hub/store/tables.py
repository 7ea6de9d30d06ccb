"""The state store's tables (SQLAlchemy Core). Alembic migrations under `migrations/` create them.

Idempotency lives in the unique constraints here (xref, inbox, outbox, quarantine, journey events), never in
process memory, so several hub processes can share one store."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

# SQLite only auto-increments INTEGER PRIMARY KEY; PostgreSQL gets BIGINT.
BigId = BigInteger().with_variant(Integer(), "sqlite")
TS = DateTime(timezone=True)

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "pk": "pk_%(table_name)s",
    }
)

xref = Table(
    "xref",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("system", String(32), nullable=False),
    Column("tenant", String(64), nullable=False),
    Column("entity", String(32), nullable=False),
    Column("external_id", String(128), nullable=False),
    Column("canonical_id", String(36), nullable=False),
    Column("first_seen_at", TS, nullable=False),
    UniqueConstraint("system", "tenant", "entity", "external_id", name="uq_xref_external"),
    Index("ix_xref_canonical_id", "canonical_id"),
)

entities = Table(
    "entities",
    metadata,
    Column("canonical_id", String(36), primary_key=True),
    Column("tenant", String(64), nullable=False),
    Column("entity", String(32), nullable=False),
    Column("parent_id", String(36)),
    Column("natural_key", String(200)),
    Column("data", JSON, nullable=False),
    Column("data_hash", String(64), nullable=False),
    Column("version", Integer, nullable=False),
    Column("created_at", TS, nullable=False),
    Column("updated_at", TS, nullable=False),
    Column("deleted_at", TS),
    UniqueConstraint("tenant", "entity", "natural_key", name="uq_entities_natural_key"),
    Index("ix_entities_tenant_entity", "tenant", "entity"),
    Index("ix_entities_parent", "entity", "parent_id"),
)

field_provenance = Table(
    "field_provenance",
    metadata,
    Column("canonical_id", String(36), primary_key=True),
    Column("field", String(64), primary_key=True),
    Column("source", String(32), nullable=False),
    Column("source_ref", String(128), nullable=False),
    Column("observed_at", TS, nullable=False),
)

journey_events = Table(
    "journey_events",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("tenant", String(64), nullable=False),
    Column("dossier_id", String(36), nullable=False),
    Column("phase", String(16), nullable=False),
    Column("source", String(32), nullable=False),
    Column("occurred_at", TS, nullable=False),
    Column("recorded_at", TS, nullable=False),
    # A phase is *reached* once per dossier: replays and overlapping runs cannot add it twice.
    UniqueConstraint("dossier_id", "phase", name="uq_journey_events_dossier_phase"),
    Index("ix_journey_events_tenant", "tenant"),
)

sync_cursors = Table(
    "sync_cursors",
    metadata,
    Column("system", String(32), primary_key=True),
    Column("tenant", String(64), primary_key=True),
    Column("stream", String(64), primary_key=True),
    Column("value", Text, nullable=False),
    Column("updated_at", TS, nullable=False),
)

inbox = Table(
    "inbox",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("source", String(64), nullable=False),
    Column("tenant", String(64), nullable=False),
    Column("message_id", String(128), nullable=False),
    Column("content_hash", String(64), nullable=False),
    Column("payload", Text, nullable=False),
    Column("meta", JSON, nullable=False),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("received_at", TS, nullable=False),
    Column("processed_at", TS),
    Column("last_error", Text),
    # Messages of one stream (e.g. one Hoomdossier building) are processed in the order they arrived.
    Column("stream", String(128)),
    Column("next_attempt_at", TS),
    Column("forwarded_at", TS),
    Column("applied_at", TS),
    Column("result", JSON),
    UniqueConstraint("source", "tenant", "message_id", name="uq_inbox_message"),
    Index("ix_inbox_status", "status", "received_at"),
    Index("ix_inbox_stream", "tenant", "source", "stream", "id"),
)

outbox = Table(
    "outbox",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("tenant", String(64), nullable=False),
    Column("partner", String(32), nullable=False),
    Column("operation", String(64), nullable=False),
    Column("idempotency_key", String(200), nullable=False),
    Column("payload", JSON, nullable=False),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", TS, nullable=False),
    Column("created_at", TS, nullable=False),
    Column("updated_at", TS, nullable=False),
    Column("sent_at", TS),
    Column("last_error", Text),
    Column("result", JSON),
    UniqueConstraint("tenant", "idempotency_key", name="uq_outbox_tenant_key"),
    Index("ix_outbox_due", "status", "next_attempt_at"),
)

quarantine = Table(
    "quarantine",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("tenant", String(64), nullable=False),
    Column("source", String(32), nullable=False),
    Column("entity", String(32), nullable=False),
    Column("external_id", String(128), nullable=False),
    Column("reason", Text, nullable=False),
    Column("payload", JSON),
    # a body refused at the receiver, byte-exact (invalid UTF-8 included); `payload` says what it is
    Column("payload_bytes", LargeBinary),
    Column("occurrences", Integer, nullable=False),
    Column("first_seen_at", TS, nullable=False),
    Column("last_seen_at", TS, nullable=False),
    Column("resolved_at", TS),
    UniqueConstraint("tenant", "source", "entity", "external_id", name="uq_quarantine_record"),
)

idempotency_records = Table(
    "idempotency_records",
    metadata,
    # A synchronous call the hub proxies (e.g. Hoomdossier register): claimed before it is forwarded, its
    # answer kept, so a repeat of the same request gets the same answer instead of a second upstream call.
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("tenant", String(64), nullable=False),
    Column("scope", String(64), nullable=False),
    Column("key", String(200), nullable=False),
    Column("request_hash", String(64), nullable=False),
    Column("status", String(16), nullable=False),
    Column("response_status", Integer),
    Column("response_body", JSON),
    Column("attempts", Integer, nullable=False),
    Column("created_at", TS, nullable=False),
    Column("updated_at", TS, nullable=False),
    UniqueConstraint("tenant", "scope", "key", name="uq_idempotency_records_key"),
)

request_budgets = Table(
    "request_budgets",
    metadata,
    Column("partner", String(32), primary_key=True),
    Column("tenant", String(64), primary_key=True),
    Column("capacity", Float, nullable=False),
    Column("refill_per_second", Float, nullable=False),
    Column("tokens", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
)

erasure_requests = Table(
    "erasure_requests",
    metadata,
    # One per erased resident of a tenant, and its audit record: who asked, when, what was removed, what each
    # partner was told and confirmed. No personal data: the subject is a keyed hash, `requested_by` the
    # coordinator's role or staff id, `removed` counts per table, `steps` statuses and hashed partner ids.
    Column("id", String(36), primary_key=True),
    Column("tenant", String(64), nullable=False),
    Column("subject", String(64), nullable=False),
    Column("requested_by", String(64), nullable=False),
    Column("requested_at", TS, nullable=False),
    Column("status", String(16), nullable=False),
    Column("steps", JSON, nullable=False),
    Column("removed", JSON, nullable=False),
    Column("updated_at", TS, nullable=False),
    Column("completed_at", TS),
    UniqueConstraint("tenant", "subject", name="uq_erasure_requests_subject"),
    Index("ix_erasure_requests_open", "status", "tenant"),
)

# Consent as data (hub/consent.py): every statement a system made about a resident's consent for one purpose
# and partner, append-only (`consent_log`), and the one in force now (`consents`: docs/consent.md has the rule).
# Only canonical ids, purposes, partner and source names and references: no personal data.
consent_log = Table(
    "consent_log",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("tenant", String(64), nullable=False),
    Column("resident_id", String(36), nullable=False),
    Column("purpose", String(32), nullable=False),
    Column("partner", String(32), nullable=False),
    Column("granted", Boolean, nullable=False),
    Column("source", String(32), nullable=False),  # which system said it (a partner, "hub", "coordinator")
    Column("source_ref", String(128), nullable=False),  # where it said it (a record, a message, a call)
    # when the hub first saw the source say it, on its own clock: the statement's time, never moved by a repeat
    # (statements of different systems are ordered on one clock)
    Column("observed_at", TS, nullable=False),
    Column("recorded_at", TS, nullable=False),
    # the last time the hub saw the source still say it (a pull re-reading an unchanged flag moves only this)
    Column("last_seen_at", TS),
    # the earliest the source can have said it, as far as the hub knows (a change: after the hub last saw the
    # old value; the coordinator: when recorded); NULL = unknown (a flag read for the first time)
    Column("said_after", TS),
    Index("ix_consent_log_subject", "tenant", "resident_id", "purpose", "partner", "id"),
)

consents = Table(
    "consents",
    metadata,
    Column("tenant", String(64), primary_key=True),
    Column("resident_id", String(36), primary_key=True),
    Column("purpose", String(32), primary_key=True),
    Column("partner", String(32), primary_key=True),
    Column("granted", Boolean, nullable=False),
    Column("source", String(32), nullable=False),
    Column("source_ref", String(128), nullable=False),
    Column("observed_at", TS, nullable=False),
    Column("recorded_at", TS, nullable=False),
    Column("log_id", BigInteger, nullable=False),  # the consent_log row this state is
)

# Identity (hub/identity/): a pair or a dwelling the hub could not decide alone, with the evidence of each side,
# until a person decides (or the hub decides, above a high threshold with an authoritative id agreeing); the
# decision keeps what it moved so it can be undone. Canonical ids, reasons, scores and register answers only.
match_candidates = Table(
    "match_candidates",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("tenant", String(64), nullable=False),
    Column("kind", String(16), nullable=False),  # dwelling | resident
    Column("subjects", String(200), nullable=False),  # the canonical ids concerned, sorted, joined by ","
    Column("reason", String(48), nullable=False),
    Column("evidence", JSON, nullable=False),
    Column("score", Float),
    Column("suggestion", JSON),
    Column("status", String(16), nullable=False),  # open | merged | kept_apart | withdrawn
    Column("raised_at", TS, nullable=False),
    Column("last_seen_at", TS, nullable=False),
    Column("decided_at", TS),
    Column("decided_by", String(64)),
    Column("note", Text),
    Column("decision", JSON),  # what the decision moved (for the undo)
    Column("undone_at", TS),
    UniqueConstraint("tenant", "kind", "subjects", "reason", name="uq_match_candidates_subject"),
    Index("ix_match_candidates_open", "tenant", "status"),
)

# When a register was last asked about a subject (a dwelling), what was asked (its hash) and what it answered
# (outcome and the objects' evidence): the cache the nightly re-check reads.
register_lookups = Table(
    "register_lookups",
    metadata,
    Column("tenant", String(64), primary_key=True),
    Column("system", String(32), primary_key=True),
    Column("subject_id", String(36), primary_key=True),
    Column("query_hash", String(64), nullable=False),
    Column("outcome", String(32), nullable=False),
    Column("answer", JSON, nullable=False),
    Column("answered_at", TS, nullable=False),
)
