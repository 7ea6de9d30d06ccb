"""The kans (opportunity) stream: kansen by createdAt day window; their status name and intake — which the
grid does not give — are resolved from the store first and by one detail call only when it cannot tell."""

from __future__ import annotations

from connectors.econobis.mapping import SOURCE, map_opportunity
from connectors.econobis.schemas import FullOpportunity, GridOpportunity
from connectors.econobis.sync.context import Rejected, parse_rows
from connectors.econobis.sync.lookups import intake_candidates
from connectors.econobis.sync.streams.base import Details, Stream
from hub.merge import Incoming
from hub.store import utcnow

# kans id → (status code_ref, intake: a canonical id (str) or an Econobis id (int))
Resolved = dict[int, tuple[str | None, str | int | None]]


class OpportunityStream(Stream):
    """Kansen; new ones by createdAt day window. The grid has no intake id and gives the status by name."""

    name = "opportunity"

    def scan(self, cursor: str | None) -> None:
        for page in self.pager.window_pages("opportunity", cursor):
            rows, bad = parse_rows(GridOpportunity, "opportunity", page)
            self.ctx.seen("opportunity", page.rows)
            resolved = self._resolve(rows)
            cursor = self.ctx.max_created(cursor, rows)
            self.apply(rows, bad, resolved, cursor)

    def _resolve(self, rows: list[GridOpportunity]) -> Resolved:
        ctx = self.ctx
        # 1. what the store already knows (short transaction, no partner calls inside)
        with ctx.store.begin() as conn:
            opp_ids = ctx.ids(conn, "opportunity", [r.id for r in rows])
            resident_ids = ctx.ids(conn, "contact", [r.contact_id for r in rows if r.contact_id])
            existing = ctx.store.load_entities(conn, opp_ids.values(), tenant=ctx.tenant)
            candidates = intake_candidates(ctx.store, conn, ctx.tenant, list(resident_ids.values()))
        resolved: Resolved = {}
        for r in rows:
            status = ctx.names.code("opportunity", r.status_name)
            intake: str | int | None = (existing.get(opp_ids[str(r.id)]) or {}).get("data", {}).get("intake_id")
            if intake is None and r.contact_id is not None:
                found = candidates.get((resident_ids[str(r.contact_id)], r.campaign_name), [])
                intake = found[0] if len(found) == 1 else None
            resolved[r.id] = (status, intake)
        # 2. the grid cannot tell for some kansen: one detail call each, outside any transaction
        for r in rows:
            status, intake = resolved[r.id]
            if status is not None and intake is not None:
                continue
            raw = ctx.detail("opportunity", r.id)
            full = FullOpportunity.model_validate(raw) if raw else None
            if full is not None:
                if full.status.code_ref:
                    ctx.names.learn("opportunity", full.status.name, full.status.code_ref)
                    status = status or full.status.code_ref
                if intake is None and full.intake is not None:
                    intake = int(full.intake.id)  # an Econobis id: resolved in `apply`
            resolved[r.id] = (status, intake)
        return resolved

    def apply_details(self, details: Details) -> None:
        opps, bad = self._parse_details(FullOpportunity, details)
        resolved: Resolved = {}
        for o in opps:
            if o.status.code_ref:
                self.ctx.names.learn("opportunity", o.status.name, o.status.code_ref)
            resolved[o.id] = (o.status.code_ref, int(o.intake.id) if o.intake else None)
        self.apply([o.to_grid() for o in opps], bad, resolved, None)

    def apply(self, rows: list[GridOpportunity], bad: list[Rejected], resolved: Resolved, cursor: str | None) -> None:
        ctx = self.ctx
        observed = utcnow()
        with ctx.store.begin() as conn:
            ctx.quarantine_rejected(conn, "opportunity", bad)
            opp_ids = ctx.ids(conn, "opportunity", [r.id for r in rows])
            ext_intakes = [i for _, i in resolved.values() if isinstance(i, int)]
            intake_xref = ctx.ids(conn, "intake", ext_intakes)
            items: list[Incoming] = []
            ok: list[str] = []
            for r in rows:
                status, intake = resolved[r.id]
                intake_id = intake_xref[str(intake)] if isinstance(intake, int) else intake
                if status is None or intake_id is None:
                    why = "status name unknown" if status is None else "intake not identifiable"
                    ctx.quarantine(conn, "opportunity", r.id, f"kans {r.number}: {why}", r.model_dump(mode="json"))
                    continue
                opp = map_opportunity(r, ctx.tenant, opp_ids[str(r.id)], intake_id, status)
                items.append(Incoming(opp, SOURCE, f"opportunity:{r.id}", observed))
                ok.append(str(r.id))
                ctx.touched_intakes.add(intake_id)
            ctx.commit(conn, "opportunity", cursor, items, ok)
