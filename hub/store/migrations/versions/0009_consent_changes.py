"""Consent: only a source's changes are statements (docs/consent.md). `consent_log` gains `last_seen_at` (when
the hub last saw the source still say it; a repeat moves only this) and `said_after` (the earliest the source
can have said it, as far as the hub knows; NULL: unknown). Existing rows are dated as far as the log allows and
the statement in force is worked out again under the rule, so a grant the hub cannot date after a withdrawal
(a partner's flag read for the first time after a coordinator's withdrawal) no longer stands over it.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02
"""

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
COORDINATOR = "coordinator"  # hub.consent.COORDINATOR: said when recorded


def _utc(value: Any) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _takes_over(row: dict[str, Any], standing: dict[str, Any] | None) -> bool:
    # the rule of hub.store.consent.takes_over, kept here as it was when this migration was written
    if standing is None or not row["granted"] or standing["granted"]:
        return True
    return row["said_after"] is not None and _utc(row["said_after"]) >= _utc(standing["observed_at"])


def upgrade() -> None:
    with op.batch_alter_table("consent_log") as b:
        b.add_column(sa.Column("last_seen_at", TS))
        b.add_column(sa.Column("said_after", TS))
    conn = op.get_bind()
    log = sa.table(
        "consent_log",
        *(sa.column(c) for c in ("id", "tenant", "resident_id", "purpose", "partner", "granted", "source")),
        *(sa.column(c) for c in ("source_ref", "recorded_at")),
        sa.column("observed_at", TS),
        sa.column("last_seen_at", TS),
        sa.column("said_after", TS),
    )
    consents = sa.table(
        "consents",
        *(sa.column(c) for c in ("tenant", "resident_id", "purpose", "partner", "granted", "source", "source_ref")),
        *(sa.column(c) for c in ("recorded_at", "log_id")),
        sa.column("observed_at", TS),
    )
    conn.execute(log.update().values(last_seen_at=log.c.observed_at))
    rows = [dict(r) for r in conn.execute(sa.select(log).order_by(log.c.observed_at, log.c.id)).mappings()]
    subjects: dict[tuple[str, str, str, str], list[dict[str, Any]]] = {}
    for r in rows:
        subjects.setdefault((r["tenant"], r["resident_id"], r["purpose"], r["partner"]), []).append(r)
    for (tenant, resident_id, purpose, partner), statements in subjects.items():
        last: dict[str, dict[str, Any]] = {}
        for r in statements:
            r["granted"] = bool(r["granted"])
            before = last.get(r["source"])
            if r["source"] == COORDINATOR:
                r["said_after"] = r["observed_at"]
            elif before is not None and before["granted"] != r["granted"]:
                r["said_after"] = before["observed_at"]  # a change: after the hub saw the old value
            last[r["source"]] = r
            if r["said_after"] is not None:
                conn.execute(log.update().where(log.c.id == r["id"]).values(said_after=r["said_after"]))
        standing: dict[str, Any] | None = None
        for r in statements:
            if _takes_over(r, standing):
                standing = r
        assert standing is not None
        conn.execute(
            consents.update()
            .where(
                consents.c.tenant == tenant,
                consents.c.resident_id == resident_id,
                consents.c.purpose == purpose,
                consents.c.partner == partner,
            )
            .values(
                granted=standing["granted"],
                source=standing["source"],
                source_ref=standing["source_ref"],
                observed_at=standing["observed_at"],
                recorded_at=standing["recorded_at"],
                log_id=standing["id"],
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("consent_log") as b:
        b.drop_column("said_after")
        b.drop_column("last_seen_at")
