"""Energy labels before and after a dossier's works, from the dwelling's certificates (any register: EP-Online for
Dutch homes, the EPC in Woningpas for Flemish ones).

*Before*: the newest certificate issued on or before the dossier opened (expired or not: it is what the home was).
*After*: the newest certificate issued after the dossier opened, for dossiers in execution or done (the works
were done and certified). A home with both is a renovated home with its label before and after."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from hub.canonical.phases import Phase
from hub.store import Store

RENOVATED = (Phase.EXECUTION.value, Phase.DONE.value)


def _day(value: Any) -> date | None:
    if not value:
        return None
    if isinstance(value, datetime):
        return value.date()
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


@dataclass
class LabelChange:
    dossier_id: str
    dwelling_id: str
    before: str | None
    after: str | None
    before_on: date | None = None
    after_on: date | None = None


@dataclass
class LabelsReport:
    renovated: int = 0
    with_before: int = 0
    with_after: int = 0
    with_both: int = 0
    changes: Counter[str] = field(default_factory=Counter)
    rows: list[LabelChange] = field(default_factory=list)

    def metadata(self) -> dict[str, Any]:
        return {
            "renovated_dossiers": self.renovated,
            "label_before": self.with_before,
            "label_after": self.with_after,
            "label_before_and_after": self.with_both,
            "changes": dict(self.changes.most_common()),
        }


def before_after(store: Store, tenant: str) -> LabelsReport:
    """Per renovated dossier of the tenant: the label before and after its works."""
    report = LabelsReport()
    with store.begin() as conn:
        dossiers = [d for d in store.live_entities(conn, "dossier", tenant) if d["data"].get("phase") in RENOVATED]
        dwellings = sorted({str(d["data"]["dwelling_id"]) for d in dossiers if d["data"].get("dwelling_id")})
        certs = store.entities_of(conn, "energy_certificate", tenant=tenant, parents=dwellings, live=True)
    by_dwelling: dict[str, list[tuple[date, str]]] = {}
    for c in certs:
        issued = _day(c["data"].get("issued_on"))
        if issued is not None and c["data"].get("label"):
            by_dwelling.setdefault(str(c["data"].get("dwelling_id")), []).append((issued, str(c["data"]["label"])))
    for d in dossiers:
        report.renovated += 1
        did = d["data"].get("dwelling_id")
        opened = _day(d["data"].get("opened_at"))
        if not did or opened is None:
            continue
        mine = sorted(by_dwelling.get(str(did), []))
        before = [c for c in mine if c[0] <= opened]
        after = [c for c in mine if c[0] > opened]
        change = LabelChange(
            d["canonical_id"],
            str(did),
            before[-1][1] if before else None,
            after[-1][1] if after else None,
            before[-1][0] if before else None,
            after[-1][0] if after else None,
        )
        report.with_before += change.before is not None
        report.with_after += change.after is not None
        if change.before and change.after:
            report.with_both += 1
            report.changes[f"{change.before}→{change.after}"] += 1
        report.rows.append(change)
    return report
