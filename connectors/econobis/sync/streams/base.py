"""The shape every stream shares: a scan from its cursor, and re-reading named records by their detail.
Owns CANONICAL_KIND, the stream → canonical kind map (and so the three names one thing can carry)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar

from pydantic import ValidationError

from connectors.econobis.sync.context import M, PullContext, Rejected
from connectors.econobis.sync.paging import GridPager

# stream → the canonical kind its records become. One thing can carry three names: the 'quotation-request'
# stream (Econobis' API) is a kansactie (Econobis' UI and the prose here) and becomes a canonical `action`.
CANONICAL_KIND = {
    "contact": "resident",
    "intake": "intake",
    "opportunity": "opportunity",
    "quotation-request": "action",
    "housing-file": "dwelling_file",
}

# detail reads: (Econobis id, detail body)
Details = list[tuple[int, dict[str, Any]]]


class Stream(ABC):
    """One grid: `scan` reads new records from its cursor (all with None); `apply_details` merges details."""

    name: ClassVar[str]

    def __init__(self, ctx: PullContext, pager: GridPager) -> None:
        self.ctx = ctx
        self.pager = pager

    @abstractmethod
    def scan(self, cursor: str | None) -> None: ...

    @abstractmethod
    def apply_details(self, details: Details) -> None: ...

    def reread(self, record_ids: list[int]) -> None:
        """Fetch each changed record's detail (one call each, outside transactions) and merge it like a grid
        row; a 404 means it was deleted after the revision was written."""
        for i in range(0, len(record_ids), self.ctx.page_size):
            chunk = record_ids[i : i + self.ctx.page_size]
            details: Details = []
            gone: set[int] = set()
            for rid in chunk:
                raw = self.ctx.detail(self.name, rid)
                if raw is None:
                    gone.add(rid)
                else:
                    details.append((rid, raw))
            if gone:
                self.ctx.mark_deleted(self.name, gone)
            self.apply_details(details)

    def _parse_details(self, model: type[M], details: Details) -> tuple[list[M], list[Rejected]]:
        good: list[M] = []
        bad: list[Rejected] = []
        for rid, raw in details:
            try:
                good.append(model.model_validate(raw))
            except ValidationError as exc:
                err = exc.errors()[0]
                bad.append(Rejected(rid, f"invalid {self.name} detail: {err['msg']} at {err['loc']}", raw))
        return good, bad
