"""The buurt codes behind the area names Econobis' grids carry: a contact grid row has only its primary address's
`areaName` (shared_area_name); `GET /api/shared-area/search` gives the code (`areaCode`) with gemeente and wijk.

Only names the hub does not know yet are looked up (names already on the tenant's dwellings with their code are
not, so an incremental pull asks only for a new buurt): first by the contacts' cities (one search lists every
buurt of a gemeente or wijk of that name), then by each name still unknown. A name that several buurten carry
is settled by the contact's city when that is the buurt's gemeente; otherwise the area keeps its name without a
code."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from connectors.econobis.mapping import SOURCE, map_area
from connectors.econobis.schemas import SharedAreaSearch
from connectors.econobis.sync.context import PullContext


@dataclass
class AreaDirectory:
    """Buurt name → the shared areas of that exact name (code, gemeente, wijk), filled as the pull needs it."""

    ctx: PullContext
    known: dict[str, list[tuple[int, str | None, str | None]]] = field(default_factory=dict)
    _loaded: bool = False

    def _load(self) -> None:
        with self.ctx.store.engine.connect() as conn:
            for r in self.ctx.store.live_entities(conn, "dwelling", self.ctx.tenant):
                a = r["data"].get("area") or {}
                code, name = a.get("neighbourhood_code"), a.get("neighbourhood_name")
                if a.get("source") == SOURCE and name and isinstance(code, str) and code.startswith("BU"):
                    entry = (int(code[2:]), a.get("municipality_name"), a.get("district_name"))
                    if entry not in self.known.setdefault(name, []):
                        self.known[name].append(entry)
        self._loaded = True

    def prepare(self, rows: Iterable[tuple[str | None, str | None]]) -> None:
        """Look up the (area name, city) pairs' names not known yet: first by the cities (a search by a gemeente's
        or wijk's name lists all its buurten at once), then by each name still unknown (one call each)."""
        if not self._loaded:
            self._load()
        pairs = {(n, (c or "").strip()) for n, c in rows if n and n not in self.known}
        for city in sorted({c for _, c in pairs if c}):
            if all(n in self.known for n, _ in pairs):
                return
            self._search(city)
        for name in sorted({n for n, _ in pairs} - set(self.known)):
            self._search(name)
            self.known.setdefault(name, [])  # not found: the name without a code, not asked again this pull

    def _search(self, term: str) -> None:
        self.ctx.report.area_searches += 1
        for raw in self.ctx.client.search_shared_areas(term):
            row = SharedAreaSearch.model_validate(raw)
            name, gemeente, wijk = row.parts()
            entry = (row.area_code, gemeente, wijk)
            if entry not in self.known.setdefault(name, []):
                self.known[name].append(entry)

    def area(self, name: str | None, city: str | None) -> dict[str, Any] | None:
        """The dwelling's area for an address's area name (and its city, to settle a name several buurten
        carry); None when Econobis has none ('')."""
        if not name:
            return None
        found = self.known.get(name, [])
        if len(found) > 1:
            found = [f for f in found if (f[1] or "").lower() == (city or "").strip().lower()]
        if len(found) != 1:
            return map_area(None, name)
        code, gemeente, wijk = found[0]
        return map_area(code, name, wijk, gemeente)
