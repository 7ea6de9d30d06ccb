"""The contact stream: contacts → residents and their dwelling, new ones by id; contact details also link
the ids of their addresses, e-mails, phones and person, so audit-trail rows of those find the resident."""

from __future__ import annotations

from sqlalchemy import Connection

from connectors.econobis.consent import record_privacy_agreement
from connectors.econobis.mapping import SOURCE, dwelling_key_for, map_contact
from connectors.econobis.schemas import FullContact, GridContact
from connectors.econobis.sync.areas import AreaDirectory
from connectors.econobis.sync.context import PullContext, Rejected, parse_rows
from connectors.econobis.sync.paging import GridPager
from connectors.econobis.sync.streams.base import Details, Stream
from hub.merge import Incoming
from hub.store import utcnow


class ContactStream(Stream):
    """Contacts → residents and their dwelling; new ones by `id > cursor`, sorted by id."""

    name = "contact"

    def __init__(self, ctx: PullContext, pager: GridPager) -> None:
        super().__init__(ctx, pager)
        self.areas = AreaDirectory(ctx)  # the buurt codes behind the grid's area names, per pull

    def scan(self, cursor: str | None) -> None:
        last_id = int(cursor) if cursor else 0
        filters = [{"field": "id", "type": "gt", "data": last_id}] if last_id else []
        for page in self.pager.pages("contact", filters=filters, sorts=[{"field": "id", "order": "asc"}]):
            rows, bad = parse_rows(GridContact, "contact", page)
            self.ctx.seen("contact", page.rows)
            max_id = max([last_id, *(int(raw.get("id", 0)) for raw in page.rows)])
            self.apply(rows, bad, str(max_id))
            last_id = max_id

    def apply_details(self, details: Details) -> None:
        contacts, bad = self._parse_details(FullContact, details)
        self.apply([c.to_grid() for c in contacts], bad, None, children=contacts)

    def apply(
        self,
        rows: list[GridContact],
        bad: list[Rejected],
        cursor: str | None,
        children: list[FullContact] | None = None,
    ) -> None:
        """Merge contact rows (from the grid, or built from details); `children` = FullContact details whose
        address/e-mail/phone/person ids are linked to the resident, so their audit-trail rows find it, and
        whose privacy agreement is recorded as consent (the grid does not carry it)."""
        ctx = self.ctx
        observed = utcnow()
        self.areas.prepare((r.area_name, r.city) for r in rows)  # before the transaction: these are partner calls
        with ctx.store.begin() as conn:
            ctx.quarantine_rejected(conn, "contact", bad)
            ids = ctx.ids(conn, "contact", [r.id for r in rows])
            keys = {r.id: dwelling_key_for(r.postal_code, r.street_and_number) for r in rows}
            dwelling_ids = ctx.store.resolve_ids(conn, "hub", ctx.tenant, "dwelling", [k for k in keys.values() if k])
            items: list[Incoming] = []
            for r in rows:
                key = keys[r.id]
                did = dwelling_ids.get(key) if key else None
                area = self.areas.area(r.area_name, r.city)
                resident, dwelling = map_contact(r, ctx.tenant, ids[str(r.id)], did, area)
                items.append(Incoming(resident, SOURCE, f"contact:{r.id}", observed))
                if dwelling is not None:
                    items.append(Incoming(dwelling, SOURCE, f"contact:{r.id}:address", observed, natural_key=key))
            for full in children or []:
                self._link_children(conn, full, ids[str(full.id)])
                if full.did_agree_avg is not None:  # the privacy agreement: consent as data (hub/consent.py)
                    record_privacy_agreement(
                        ctx.store,
                        conn,
                        ctx.tenant,
                        ids[str(full.id)],
                        full.did_agree_avg,
                        f"contact:{full.id}",
                        observed,
                    )
            ctx.commit(conn, "contact", cursor, items, [str(r.id) for r in rows])

    def _link_children(self, conn: Connection, full: FullContact, resident_id: str) -> None:
        links = {
            "contact-address": [a.id for a in full.addresses],
            "contact-email": [e.id for e in full.email_addresses],
            "contact-phone": [p.id for p in full.phone_numbers],
            "contact-person": [full.person.id] if full.person else [],
        }
        for entity, child_ids in links.items():
            self.ctx.store.link_ids(conn, SOURCE, self.ctx.tenant, entity, {str(c): resident_id for c in child_ids})
