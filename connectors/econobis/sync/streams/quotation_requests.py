"""The kansactie stream (Econobis' quotation-request, the canonical action): kansacties by createdAt day
window; their rows carry the kans status with its code_ref, so each page also teaches opportunity names."""

from __future__ import annotations

from connectors.econobis.mapping import SOURCE, MappingError, map_action
from connectors.econobis.schemas import GridQuotationRequest
from connectors.econobis.sync.context import Rejected, parse_rows
from connectors.econobis.sync.streams.base import Details, Stream
from hub.merge import Incoming
from hub.store import utcnow


class QuotationRequestStream(Stream):
    """Kansacties → canonical actions; new ones by createdAt day window. Their rows carry the kans status
    with its code_ref, so each page also teaches opportunity status names."""

    name = "quotation-request"

    def scan(self, cursor: str | None) -> None:
        for page in self.pager.window_pages("quotation-request", cursor):
            rows, bad = parse_rows(GridQuotationRequest, "quotation-request", page)
            self.ctx.seen("quotation-request", page.rows)
            cursor = self.ctx.max_created(cursor, rows)
            self.apply(rows, bad, cursor)

    def apply_details(self, details: Details) -> None:
        rows, bad = self._parse_details(GridQuotationRequest, details)
        self.apply(rows, bad, None)

    def apply(self, rows: list[GridQuotationRequest], bad: list[Rejected], cursor: str | None) -> None:
        ctx = self.ctx
        observed = utcnow()
        for row in rows:
            st = row.opportunity.status
            if st is not None and st.code_ref:
                ctx.names.learn("opportunity", st.name, st.code_ref)
        with ctx.store.begin() as conn:
            ctx.quarantine_rejected(conn, "quotation-request", bad)
            action_ids = ctx.ids(conn, "quotation-request", [r.id for r in rows])
            opp_ids = ctx.ids(conn, "opportunity", [r.opportunity.id for r in rows])
            coach_ids = ctx.ids(conn, "contact", [r.organisation_or_coach.id for r in rows if r.organisation_or_coach])
            opps = ctx.store.load_entities(conn, opp_ids.values(), tenant=ctx.tenant)
            items: list[Incoming] = []
            ok: list[str] = []
            for r in rows:
                oid = opp_ids[str(r.opportunity.id)]
                try:
                    coach = coach_ids[str(r.organisation_or_coach.id)] if r.organisation_or_coach else None
                    action = map_action(r, ctx.tenant, action_ids[str(r.id)], oid, coach)
                except MappingError as exc:
                    ctx.quarantine(conn, "quotation-request", r.id, str(exc), r.model_dump(mode="json"))
                    continue
                items.append(Incoming(action, SOURCE, f"quotation-request:{r.id}", observed))
                ok.append(str(r.id))
                intake_ext = r.opportunity.intake.id if r.opportunity.intake else None
                opp_row = opps.get(oid)
                if opp_row is not None:
                    intake_id = opp_row["data"].get("intake_id")
                    if intake_id:
                        ctx.touched_intakes.add(intake_id)
                elif intake_ext is not None:
                    ctx.touched_intakes.add(ctx.ids(conn, "intake", [intake_ext])[str(intake_ext)])
            ctx.commit(conn, "quotation-request", cursor, items, ok)
