"""The intake stream: intakes (and their campaigns) by createdAt day window, their status name mapped to a
code_ref (one detail call for a name not known yet), linked to the resident's dwelling when the address matches."""

from __future__ import annotations

from connectors.econobis.mapping import SOURCE, map_campaign, map_intake
from connectors.econobis.schemas import FullIntake, GridIntake
from connectors.econobis.sync.context import Rejected, parse_rows
from connectors.econobis.sync.lookups import resident_dwellings
from connectors.econobis.sync.streams.base import Details, Stream
from hub.merge import Incoming
from hub.store import utcnow


class IntakeStream(Stream):
    """Intakes (with their campaign); new ones by createdAt day window. The grid gives the status by name."""

    name = "intake"

    def scan(self, cursor: str | None) -> None:
        for page in self.pager.window_pages("intake", cursor):
            rows, bad = parse_rows(GridIntake, "intake", page)
            self.ctx.seen("intake", page.rows)
            statuses = {r.id: self._status(r) for r in rows}  # may call details
            cursor = self.ctx.max_created(cursor, rows)
            self.apply(rows, bad, statuses, cursor)

    def _status(self, row: GridIntake) -> str | None:
        """The status name's code_ref; an unknown name costs one detail call, whose pair is then learned."""
        code = self.ctx.names.code("intake", row.status)
        if code is None and row.status:
            raw = self.ctx.detail("intake", row.id)
            status = FullIntake.model_validate(raw).status if raw else None
            if status is not None and status.code_ref:
                self.ctx.names.learn("intake", status.name, status.code_ref)
                code = status.code_ref
        return code

    def apply_details(self, details: Details) -> None:
        intakes, bad = self._parse_details(FullIntake, details)
        statuses: dict[int, str | None] = {}
        for it in intakes:
            if it.status is not None and it.status.code_ref:
                self.ctx.names.learn("intake", it.status.name, it.status.code_ref)
            statuses[it.id] = it.status.code_ref if it.status else None
        self.apply([it.to_grid() for it in intakes], bad, statuses, None)

    def apply(
        self, rows: list[GridIntake], bad: list[Rejected], statuses: dict[int, str | None], cursor: str | None
    ) -> None:
        ctx = self.ctx
        observed = utcnow()
        with ctx.store.begin() as conn:
            ctx.quarantine_rejected(conn, "intake", bad)
            intake_ids = ctx.ids(conn, "intake", [r.id for r in rows])
            resident_ids = ctx.ids(conn, "contact", [r.contact_id for r in rows])
            campaign_ids = ctx.ids(conn, "campaign", [r.campaign.id for r in rows if r.campaign])
            dwellings = resident_dwellings(self.ctx.store, conn, self.ctx.tenant, list(resident_ids.values()))
            items: list[Incoming] = []
            ok: list[str] = []
            seen_campaigns: set[str] = set()
            for r in rows:
                status = statuses[r.id]
                if status is None:
                    reason = f"intake status name {r.status!r} has no known code_ref"
                    ctx.quarantine(conn, "intake", r.id, reason, r.model_dump(mode="json"))
                    continue
                rid = resident_ids[str(r.contact_id)]
                dw = dwellings.get(rid)
                ids = {
                    "intake": intake_ids[str(r.id)],
                    "resident": rid,
                    "campaign": campaign_ids[str(r.campaign.id)] if r.campaign else None,
                    # Intakes use the contact's address; only link when the grid shows the same one.
                    "dwelling": dw[0] if dw and dw[1] == (r.full_address or "") else None,
                }
                if r.campaign and str(r.campaign.id) not in seen_campaigns:
                    seen_campaigns.add(str(r.campaign.id))
                    camp = map_campaign(ctx.tenant, campaign_ids[str(r.campaign.id)], r.campaign.name)
                    items.append(Incoming(camp, SOURCE, f"campaign:{r.campaign.id}", observed))
                items.append(Incoming(map_intake(r, ctx.tenant, ids, status), SOURCE, f"intake:{r.id}", observed))
                ok.append(str(r.id))
            changed = ctx.commit(conn, "intake", cursor, items, ok)
            ctx.touched_intakes.update(c for c in changed if c in set(intake_ids.values()))
