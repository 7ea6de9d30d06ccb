"""What one pull's parts share: the report, the status names, the intakes touched and the ids seen.
Owns the store writes every stream makes the same way: quarantine, merge-and-commit, ids, detail reads."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, NamedTuple, TypeVar

from pydantic import BaseModel, ValidationError
from sqlalchemy import Connection

from connectors.econobis.client import EconobisClient, Page
from connectors.econobis.mapping import SOURCE, StatusNames
from connectors.econobis.settings import NAMES_CURSOR
from hub.http import PartnerNotFound
from hub.merge import Incoming, MergeStats, merge
from hub.store import Store

M = TypeVar("M", bound=BaseModel)


class Rejected(NamedTuple):
    """A row or detail that does not parse: quarantined with its reason, never stopping the good ones."""

    external_id: Any  # the row's own `id` when it has one, else "?"
    reason: str
    payload: Any


@dataclass
class PullReport:
    """What one pull of one tenant did; becomes Dagster materialization metadata."""

    tenant: str
    merge: MergeStats = field(default_factory=MergeStats)
    rows_read: dict[str, int] = field(default_factory=dict)
    pages: int = 0
    detail_calls: int = 0
    area_searches: int = 0  # GET /api/shared-area/search, one per buurt name not known yet
    repaged: dict[str, int] = field(default_factory=dict)
    quarantined: int = 0
    changes: dict[str, Any] = field(default_factory=dict)
    reconcile: dict[str, Any] = field(default_factory=dict)
    journey_events: int = 0
    dossiers_recomputed: int = 0
    seconds: float = 0.0
    calls: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "tenant": self.tenant,
            "rows_read": dict(self.rows_read),
            "pages": self.pages,
            "detail_calls": self.detail_calls,
            "area_searches": self.area_searches,
            "repaged": dict(self.repaged),
            "quarantined": self.quarantined,
            "changes": dict(self.changes),
            "reconcile": dict(self.reconcile),
            "journey_events_added": self.journey_events,
            "dossiers_recomputed": self.dossiers_recomputed,
            "entities": self.merge.as_dict(),
            "partner_calls": self.calls,
            "seconds": round(self.seconds, 2),
        }


def as_utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def parse_rows(model: type[M], entity: str, page: Page) -> tuple[list[M], list[Rejected]]:
    """Parse a page; malformed rows come back separately (to quarantine) and never stop the good ones."""
    good: list[M] = []
    bad: list[Rejected] = []
    for raw in page.rows:
        try:
            good.append(model.model_validate(raw))
        except ValidationError as exc:
            err = exc.errors()[0]
            bad.append(
                Rejected(
                    raw.get("id", "?") if isinstance(raw, dict) else "?",
                    f"invalid {entity} row: {err['msg']} at {err['loc']}",
                    raw,
                )
            )
    return good, bad


@dataclass
class PullContext:
    """One pull's shared state. The orchestrator sets `names` and `full` at the start of a run and `window`
    for a backfill; the streams, the pager and the change detection read them here."""

    store: Store
    client: EconobisClient
    tenant: str
    page_size: int
    report: PullReport
    names: StatusNames = field(default_factory=StatusNames)
    # intakes whose dossier must be re-derived at the end of the run
    touched_intakes: set[str] = field(default_factory=set)
    full: bool = False
    # external ids each stream delivered during a full run (for the deletion reconcile)
    seen_ids: dict[str, set[str]] = field(default_factory=dict)
    # (first day, last day) in Econobis' timezone: re-read only records created in it (a backfill)
    window: tuple[date, date] | None = None

    def quarantine(self, conn: Connection, entity: str, external_id: Any, reason: str, payload: Any) -> None:
        self.store.quarantine_put(conn, self.tenant, SOURCE, entity, str(external_id), reason, payload)
        self.report.quarantined += 1
        self.report.merge.add(entity, "quarantined")

    def quarantine_rejected(self, conn: Connection, entity: str, rejected: list[Rejected]) -> None:
        for ext, reason, raw in rejected:
            self.quarantine(conn, entity, ext, reason, raw)

    def commit(
        self, conn: Connection, stream: str, cursor: str | None, items: list[Incoming], released: list[str]
    ) -> list[str]:
        """Merge, release what mapped from quarantine, and move the stream's cursor (and the learned status
        names) in the same transaction as the data; returns the ids created or changed."""
        changed = merge(self.store, conn, items, self.report.merge)
        if released:
            self.store.quarantine_resolve(conn, self.tenant, SOURCE, stream, released)
        if cursor is not None:
            self.store.set_cursor(conn, SOURCE, self.tenant, stream, cursor)
        if any(self.names.learned.values()):
            self.store.set_cursor(
                conn, SOURCE, self.tenant, NAMES_CURSOR, json.dumps(self.names.learned, sort_keys=True)
            )
        return changed

    def ids(self, conn: Connection, entity: str, external: list[Any]) -> dict[str, str]:
        return self.store.resolve_ids(conn, SOURCE, self.tenant, entity, [str(e) for e in external])

    def detail(self, entity: str, record_id: int) -> dict[str, Any] | None:
        """One detail call; None when Econobis no longer has the record."""
        self.report.detail_calls += 1
        try:
            return self.client.detail(entity, record_id)
        except PartnerNotFound:
            return None

    def seen(self, stream: str, raw_rows: list[dict[str, Any]]) -> None:
        if self.full:
            self.seen_ids.setdefault(stream, set()).update(str(r["id"]) for r in raw_rows if "id" in r)

    def max_created(self, cursor: str | None, rows: list[Any]) -> str | None:
        if self.window is not None:
            return None  # a window re-read never moves the incremental cursors
        stamps = [as_utc(r.created_at) for r in rows]
        if cursor:
            stamps.append(datetime.fromisoformat(cursor))
        return max(stamps).isoformat() if stamps else cursor

    def mark_deleted(self, stream: str, external_ids: set[int] | set[str]) -> int:
        """Soft-delete the canonical records behind these external ids (kept, with deleted_at) and touch the
        intakes whose dossier they were part of; returns how many were live."""
        with self.store.begin() as conn:
            canon = self.store.lookup_ids(conn, SOURCE, self.tenant, stream, [str(e) for e in external_ids])
            rows = self.store.load_entities(conn, canon.values(), tenant=self.tenant)
            marked = self.store.mark_deleted(conn, canon.values(), tenant=self.tenant)
            for cid, entity in marked.items():
                self.report.merge.add(entity, "deleted")
                data = rows.get(cid, {}).get("data", {})
                if entity == "intake":
                    self.touched_intakes.add(cid)
                elif entity == "opportunity" and data.get("intake_id"):
                    self.touched_intakes.add(data["intake_id"])
                elif entity == "action" and data.get("opportunity_id"):
                    opp = self.store.load_entities(conn, [data["opportunity_id"]], tenant=self.tenant).get(
                        data["opportunity_id"]
                    )
                    if opp and opp["data"].get("intake_id"):
                        self.touched_intakes.add(opp["data"]["intake_id"])
            return len(marked)
