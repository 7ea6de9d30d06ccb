"""The grid paging engine: plain paging that counts pages and rows into the report, and createdAt windows
that page again for rows MySQL's tie ordering skipped and fetch what is still missing by its detail."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from connectors.econobis.client import Page
from connectors.econobis.mapping import AMS, SOURCE
from connectors.econobis.schemas import FullIntake, FullOpportunity, GridQuotationRequest
from connectors.econobis.settings import IDS_TOTAL, MAX_PASSES
from connectors.econobis.sync.context import PullContext
from hub import progress
from hub.logs import log_event

log = logging.getLogger(__name__)


def window_start(cursor: str | None) -> str | None:
    """createdAtStart takes a day in Econobis' timezone; re-read that whole day (cheap, and catches records
    committed late with an earlier timestamp)."""
    if not cursor:
        return None
    return datetime.fromisoformat(cursor).astimezone(AMS).date().isoformat()


class GridPager:
    """Reads grids for one pull, page by page (one page in memory at a time)."""

    def __init__(self, ctx: PullContext) -> None:
        self.ctx = ctx

    def pages(self, entity: str, **kw: Any) -> Iterator[Page]:
        report = self.ctx.report
        with progress.task(entity) as shown:  # rows of the grid, as its first page counts them
            for page in self.ctx.client.grid(entity, page_size=self.ctx.page_size, **kw):
                report.pages += 1
                report.rows_read[entity] = report.rows_read.get(entity, 0) + len(page.rows)
                shown.set_total(max(page.total, page.offset + len(page.rows)))
                shown.advance(len(page.rows))
                yield page

    def window_pages(self, entity: str, cursor: str | None) -> Iterator[Page]:
        """Pages of a grid with a createdAt filter, oldest first, from the cursor's day on — complete.

        MySQL orders rows with equal createdAt arbitrarily per query, so offset paging can skip a row that
        moved across a page boundary. Every page's meta lists ALL matching ids; rows listed there but never
        delivered are fetched by paging again (only those rows are passed on), up to MAX_PASSES, and what is
        still missing then by its detail endpoint."""
        start = window_start(cursor)
        filters = [{"field": "createdAtStart", "data": start}] if start else []
        window = self.ctx.window
        if window is not None:
            filters = [
                {"field": "createdAtStart", "data": window[0].isoformat()},
                {"field": "createdAtEnd", "data": window[1].isoformat()},
            ]
        sorts = [{"field": "createdAt", "order": "asc"}]
        seen: set[int] = set()
        expected: set[int] = set()
        for attempt in range(MAX_PASSES):
            for n, page in enumerate(self.pages(entity, filters=filters, sorts=sorts)):
                listed = page.meta.get(IDS_TOTAL[entity]) if n == 0 else None  # every page repeats the list
                if isinstance(listed, list):
                    expected.update(int(i) for i in listed)
                rows = [r for r in page.rows if attempt == 0 or r.get("id") not in seen]
                seen.update(int(r["id"]) for r in page.rows if isinstance(r.get("id"), int))
                if rows:
                    yield Page(rows, page.total, page.offset, page.meta)
            missing = expected - seen
            if not missing:
                return
            self.ctx.report.repaged[entity] = self.ctx.report.repaged.get(entity, 0) + 1
            log_event(
                log,
                "grid skipped rows while paging; paging again",
                logging.WARNING,
                tenant=self.ctx.tenant,
                partner=SOURCE,
                entity=entity,
                missing=len(missing),
                attempt=attempt + 1,
            )
        found = self._detail_rows(entity, sorted(expected - seen))
        if found:
            yield Page(found, len(found), 0, {})

    def _detail_rows(self, entity: str, record_ids: list[int]) -> list[dict[str, Any]]:
        """Still missing after re-paging: fetch those few by their detail endpoint (shaped like grid rows)."""
        found: list[dict[str, Any]] = []
        for ext in record_ids:
            raw = self.ctx.detail(entity, ext)
            if raw is None:
                continue  # deleted since it was listed: nothing to add
            row = self._detail_as_grid_row(entity, raw)
            if row is None:
                with self.ctx.store.begin() as conn:
                    self.ctx.quarantine(conn, entity, ext, f"{entity} {ext}: detail does not parse", raw)
                continue
            found.append(row)
        return found

    def _detail_as_grid_row(self, entity: str, raw: dict[str, Any]) -> dict[str, Any] | None:
        names = self.ctx.names
        try:
            if entity == "intake":
                intake = FullIntake.model_validate(raw)
                if intake.status is not None and intake.status.code_ref:
                    names.learn("intake", intake.status.name, intake.status.code_ref)
                return intake.to_grid().model_dump(by_alias=True, mode="json")
            if entity == "opportunity":
                opp = FullOpportunity.model_validate(raw)
                if opp.status.code_ref:
                    names.learn("opportunity", opp.status.name, opp.status.code_ref)
                return opp.to_grid().model_dump(by_alias=True, mode="json")
            GridQuotationRequest.model_validate(raw)
            return raw
        except ValidationError:
            return None
