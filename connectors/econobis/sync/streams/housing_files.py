"""The housing-file stream: housing files → dwelling files, read newest-first until past the cursor's day
(the grid has no createdAt filter), each joined to the dossier file of its dwelling."""

from __future__ import annotations

from datetime import datetime, timedelta

from connectors.econobis.mapping import SOURCE, dwelling_key_for, map_housing_file
from connectors.econobis.schemas import FullHousingFile, GridHousingFile
from connectors.econobis.sync.context import Rejected, as_utc, parse_rows
from connectors.econobis.sync.streams.base import Details, Stream
from hub.merge import Incoming
from hub.store import utcnow


class HousingFileStream(Stream):
    """Housing files → dwelling files; new ones newest-first until past the cursor's day."""

    name = "housing-file"

    def scan(self, cursor: str | None) -> None:
        # No createdAt filter exists on this grid: page newest-first and stop once past the cursor's day.
        stop_before = (datetime.fromisoformat(cursor) - timedelta(days=1)) if cursor else None
        newest = cursor
        for page in self.pager.pages("housing-file", sorts=[{"field": "createdAt", "order": "desc"}]):
            rows, bad = parse_rows(GridHousingFile, "housing-file", page)
            self.ctx.seen("housing-file", page.rows)
            parsed = len(rows)
            if stop_before is not None:
                rows = [r for r in rows if as_utc(r.created_at) >= stop_before]
            newest = self.ctx.max_created(newest, rows)
            self.apply(rows, bad)
            if stop_before is not None and len(rows) < parsed:
                break
        if newest is not None:
            with self.ctx.store.begin() as conn:
                self.ctx.store.set_cursor(conn, SOURCE, self.ctx.tenant, "housing-file", newest)

    def apply_details(self, details: Details) -> None:
        files, bad = self._parse_details(FullHousingFile, details)
        self.apply([h.to_grid() for h in files], bad)

    def apply(self, rows: list[GridHousingFile], bad: list[Rejected]) -> None:
        ctx = self.ctx
        observed = utcnow()
        with ctx.store.begin() as conn:
            ctx.quarantine_rejected(conn, "housing-file", bad)
            keys = {r.id: dwelling_key_for(r.postal_code, r.full_address) for r in rows}
            dwellings = ctx.store.resolve_ids(conn, "hub", ctx.tenant, "dwelling", [k for k in keys.values() if k])
            # a housing file joins the dossier file Hoomdossier created first (its first message makes Econobis
            # create the housing file)
            ctx.store.join_dwelling_files(
                conn,
                SOURCE,
                ctx.tenant,
                "housing-file",
                {str(r.id): [dwellings[keys[r.id] or ""]] for r in rows if keys[r.id] in dwellings},
            )
            file_ids = ctx.ids(conn, "housing-file", [r.id for r in rows])
            items = [
                Incoming(
                    map_housing_file(r, ctx.tenant, file_ids[str(r.id)], dwellings.get(keys[r.id] or "")),
                    SOURCE,
                    f"housing-file:{r.id}",
                    observed,
                )
                for r in rows
            ]
            ctx.commit(conn, "housing-file", None, items, [str(r.id) for r in rows])
