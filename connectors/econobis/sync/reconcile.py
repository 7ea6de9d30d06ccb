"""What the audit trail cannot see: the deletion reconcile after a full read (live records no grid delivered,
checked by detail), and `reconcile_counts`, the per-stream grid totals behind the reconciliation asset check."""

from __future__ import annotations

from typing import Any

from connectors.econobis.client import EconobisClient
from connectors.econobis.mapping import SOURCE
from connectors.econobis.settings import STREAMS
from connectors.econobis.sync.context import PullContext
from connectors.econobis.sync.streams import CANONICAL_KIND
from hub.store import Store


def reconcile_deletions(ctx: PullContext) -> None:
    """After a full read: records the hub holds as live but no grid delivered any more are checked one by
    one (a detail 404 = deleted, e.g. removed outside Eloquent or hard-deleted); the rest stay."""
    found: dict[str, int] = {}
    for stream in STREAMS:
        seen = ctx.seen_ids.get(stream, set())
        with ctx.store.begin() as conn:
            live = ctx.store.live_external_ids(conn, SOURCE, ctx.tenant, stream, CANONICAL_KIND[stream])
        missing = sorted(int(e) for e in live if e not in seen and e.isdigit())
        gone = {rid for rid in missing if ctx.detail(stream, rid) is None}
        if gone:
            found[stream] = ctx.mark_deleted(stream, gone)
    ctx.report.reconcile = {"deleted": found}


def reconcile_counts(store: Store, client: EconobisClient, tenant: str) -> list[dict[str, Any]]:
    """Per stream: the records Econobis lists (one grid call each, the total only) against the live records
    the hub holds and those parked in quarantine — the reconciliation asset check."""
    out: list[dict[str, Any]] = []
    for stream in STREAMS:
        partner = client.grid_page(stream, limit=1).total
        with store.begin() as conn:
            hub = store.count_live_external_ids(conn, SOURCE, tenant, stream, CANONICAL_KIND[stream])
            parked = store.quarantine_open_count(conn, tenant, SOURCE, stream)
        out.append(
            {
                "entity": stream,
                "partner": partner,
                "hub": hub,
                "quarantined": parked,
                "difference": partner - hub - parked,
            }
        )
    return out
