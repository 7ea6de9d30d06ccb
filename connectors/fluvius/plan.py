"""Planning premium applications from what the hub knows (`fluvius_plan`, per tenant, after the model).

For every dossier whose works are executed or for which the resident supplied premium details, the
application is built from the canonical model (application.py: applicant, building, categories from the
executed measures, invoices, the EPC) and checked against the portal's published rules (rules.py) before
anything is sent:
- a category the portal would refuse (an invoice older than 24 months, under the minimum amount, a building
  too recent for a heat-pump premium, an unknown ISDE meldcode, an income category the category is not open
  to) is recorded as `refused_by_hub` with the rule's code and put on the coordinator's follow-up list with
  the reason — it never reaches the portal;
- the rest is queued as one `premium-apply` outbox item per application (push.py), keyed by the hub's
  reference, so planning again queues nothing twice;
- what the hub cannot know is listed per dossier on the follow-up list as "still needed from the resident"
  (`premium-still-needed`), and each application records the share of its fields the hub prefilled.

Then the invoice-window and appeal-term watches run (watch.py)."""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection

from connectors.fluvius import application, rules
from connectors.fluvius.client import read_settings
from connectors.fluvius.settings import (
    APPLICATION_CATEGORY,
    APPLY,
    FOLLOW_UP_REFUSAL,
    MORE_DOCUMENTS,
    PARTNER,
    regeling_of,
)
from connectors.fluvius.watch import FILED, WatchReport, watch
from hub.canonical import PremiumApplication
from hub.connector import PartnerRun, table
from hub.followup import Task, close_follow_ups, raise_follow_ups
from hub.merge import Incoming, MergeStats, merge
from hub.store import Store, utcnow
from hub.worker import outbox_key

STILL_NEEDED = "premium-still-needed"
# what a foreseen refusal means, for the coordinator (the rules' own detail names amounts, dates and the income
# category: personal data, kept out of the follow-up list)
CODE_TEXT = {
    "FACTUUR_TE_OUD": "an invoice is more than 24 months old at the application date",
    "AANVRAAGTERMIJN_VERSTREKEN": "the works were finished more than 24 months before the application",
    "MINIMUM_FACTUURBEDRAG": "the invoice (or the surface) is under the category's minimum",
    "GEBOUW_TE_RECENT": "the building is too recent for a heat-pump premium (connected from 2014, permit < 5 years)",
    "INKOMENSCATEGORIE_NIET_TOEGELATEN": "the category is not open to the applicant's income category",
    "MELDCODE_ONBEKEND": "the ISDE meldcode is not on the measure list",
    "DOCUMENT_ONTBREEKT": "a document the portal requires is missing",
}
# statuses of a category that is applied for (or about to be): it is not planned again
TAKEN = FILED | {"planned", "draft"}


@dataclass
class PlanReport:
    tenant: str
    regeling: str
    considered: int = 0
    queued: int = 0
    already_planned: int = 0
    refused_by_hub: int = 0
    refusal_codes: Counter[str] = field(default_factory=Counter)
    waiting_for_resident: int = 0
    shares: list[float] = field(default_factory=list)
    needs: list[tuple[str, int, str]] = field(default_factory=list)
    documents_queued: int = 0
    replanned: int = 0
    watch: WatchReport = field(default_factory=WatchReport)

    def metadata(self) -> dict[str, Any]:
        shares = sorted(self.shares)
        median = shares[len(shares) // 2] if shares else None
        return {
            "regeling": self.regeling,
            "dossiers_considered": self.considered,
            "applications_queued": self.queued,
            "already_planned": self.already_planned,
            "refused_by_portal_replanned": self.replanned,
            "categories_refused_by_hub": self.refused_by_hub,
            "refusals_foreseen": dict(sorted(self.refusal_codes.items())),
            "dossiers_waiting_for_resident": self.waiting_for_resident,
            "asked_documents_queued": self.documents_queued,
            "prefilled_share_median": round(median, 3) if median is not None else None,
            "prefilled_share_min": round(shares[0], 3) if shares else None,
            "still_needed": table(
                ["dossier", "items", "first item"], [(d[:8], n, first) for d, n, first in self.needs[:20]]
            ),
            **self.watch.metadata(),
        }


def today_of(run: PartnerRun) -> date:
    """The tenant's local date (the run's option `today` overrides it: the demo runs on the sandbox clock)."""
    given = run.options.get("today") or run.tags.get("hub/today")
    if given:
        return date.fromisoformat(str(given))
    return datetime.now(ZoneInfo(run.tenant.timezone)).date()


def plan(run: PartnerRun) -> PlanReport:
    settings = read_settings(run.tenant)
    regeling = regeling_of(settings, run.tenant.country)
    today = today_of(run)
    store, tenant = run.store, run.tenant_id
    report = PlanReport(tenant, regeling)
    with store.begin() as conn:
        candidates = application.candidates(store, conn, tenant)
    for dossier_id in candidates:
        with store.begin() as conn:
            _plan_one(store, conn, tenant, regeling, today, dossier_id, report)
    with store.begin() as conn:
        report.documents_queued = _more_documents(store, conn, tenant)
    with store.begin() as conn:
        report.watch = watch(
            store,
            conn,
            tenant,
            regeling,
            today,
            warn_days=settings.invoice_window_warn_days,
            appeal_warn_days=settings.appeal_warn_days,
        )
    return report


def _taken(store: Store, conn: Connection, tenant: str, dossier_id: str) -> set[str]:
    return {
        str(r["data"].get("category"))
        for r in store.live_entities(conn, "premium_application", tenant)
        if r["data"].get("dossier_id") == dossier_id and r["data"].get("status") in TAKEN
    }


def _plan_one(
    store: Store, conn: Connection, tenant: str, regeling: str, today: date, dossier_id: str, report: PlanReport
) -> None:
    report.considered += 1
    taken = _taken(store, conn, tenant, dossier_id)
    built = application.build(store, conn, tenant, dossier_id, regeling, today, exclude=taken)
    if taken and not built.draft.get("categorieen"):
        # every executed category is applied for already: nothing is needed from the resident any more
        close_follow_ups(store, conn, tenant, [f"{STILL_NEEDED}:{dossier_id}"], PARTNER)
        return
    _still_needed(store, conn, tenant, dossier_id, built, report)
    if built.body is None or not built.categories:
        if built.blocked_reasons:
            report.waiting_for_resident += 1
        return
    errors = rules.check(built.body, submit_on=today)
    # a document the portal requires that the plan would not upload: refused at submit, so foreseen here
    errors += rules.missing_documents(
        built.body, [{"soort": d["kind"], "categorie": d.get("category")} for d in built.documents]
    )
    general = [e for e in errors if e.categorie is None]
    refused = {e.categorie for e in errors if e.categorie is not None}
    if general:
        refused = set(built.categories)
    ok = [c for c in built.categories if c not in refused]
    if refused:
        _refuse(store, conn, tenant, regeling, dossier_id, built, sorted(refused), errors, report)
    if not ok:
        return
    ref = application.reference(tenant, dossier_id, ok)
    body = {
        **built.body,
        "referentie": ref,
        "categorieen": [c for c in built.body["categorieen"] if c["categorie"] in ok],
    }
    ids = store.resolve_ids(conn, PARTNER, tenant, APPLICATION_CATEGORY, [f"{ref}/{c}" for c in ok])
    apps = {c: ids[f"{ref}/{c}"] for c in ok}
    docs = [d for d in built.documents if d.get("category") in (None, *ok)]
    payload = {
        "reference": ref,
        "dossier_id": dossier_id,
        "intake_id": built.intake_id,
        "resident_id": built.resident_id,
        "body": body,
        "documents": docs,
        "applications": apps,
    }
    key = outbox_key(PARTNER, "apply", ref)
    item = store.outbox_enqueue(conn, tenant, PARTNER, APPLY, key, payload)
    if item.created:
        _write(store, conn, tenant, regeling, dossier_id, built, apps, ref, "planned", [])
        _retire_refusals(store, conn, tenant, dossier_id, apps)
        report.queued += 1
        report.shares.append(built.prefilled_share)
    elif store.outbox_replan(conn, tenant, key, payload):
        _write(store, conn, tenant, regeling, dossier_id, built, apps, ref, "planned", [])
        # the portal refused it; what the resident supplied since changed it: sent again (the push resumes
        # the portal's draft, patches it and submits)
        report.replanned += 1
    else:
        report.already_planned += 1


def _write(
    store: Store,
    conn: Connection,
    tenant: str,
    regeling: str,
    dossier_id: str,
    built: Any,
    apps: dict[str, str],
    ref: str,
    status: str,
    codes_by_category: list[tuple[str, list[str]]],
) -> None:
    """The canonical application of each category, as planned (or refused by the hub with its codes)."""
    codes = dict(codes_by_category)
    existing = store.load_entities(conn, list(apps.values()), tenant=tenant)
    now = utcnow()
    items = []
    for cat, cid in apps.items():
        old = existing.get(cid)
        if old is not None and old["data"].get("status") not in (
            None,
            "planned",
            "refused_by_hub",
            "refused_by_portal",
        ):
            continue  # the portal's status stands
        model = PremiumApplication(
            id=cid,
            tenant=tenant,
            dwelling_id=built.dwelling_id,
            resident_id=built.resident_id,
            dossier_id=dossier_id,
            intake_id=built.intake_id,
            scheme=regeling,
            category=cat,
            status=status,
            reference=ref,
            reason_codes=codes.get(cat, []),
            prefilled_share=round(built.prefilled_share, 4),
            opportunity_ids=list(built.opportunity_ids.get(cat, [])),
        )
        items.append(Incoming(model, PARTNER, f"plan:{ref}", now))
    merge(store, conn, items, MergeStats())


def _retire_refusals(store: Store, conn: Connection, tenant: str, dossier_id: str, planned: dict[str, str]) -> None:
    """A category planned now: the dossier's earlier `refused_by_hub` record of it (another reference: it was
    refused alone, or with other categories) and its refusal task are retired, so it is counted once."""
    stale = {
        r["canonical_id"]: r["data"]
        for r in store.live_entities(conn, "premium_application", tenant)
        if r["data"].get("dossier_id") == dossier_id
        and r["data"].get("status") == "refused_by_hub"
        and r["data"].get("category") in planned
        and r["canonical_id"] not in planned.values()
    }
    if not stale:
        return
    store.mark_deleted(conn, list(stale), tenant=tenant)
    keys = [
        f"{FOLLOW_UP_REFUSAL}:hub:{dossier_id}:{d.get('category')}:{'+'.join(sorted(d.get('reason_codes') or []))}"
        for d in stale.values()
    ]
    close_follow_ups(store, conn, tenant, keys, PARTNER)


def _refuse(
    store: Store,
    conn: Connection,
    tenant: str,
    regeling: str,
    dossier_id: str,
    built: Any,
    refused: list[str],
    errors: list[rules.RuleError],
    report: PlanReport,
) -> None:
    """Categories the portal would refuse: recorded with the rule's code, on the follow-up list, never sent."""
    ref = application.reference(tenant, dossier_id, refused)
    ids = store.resolve_ids(conn, PARTNER, tenant, APPLICATION_CATEGORY, [f"{ref}/{c}" for c in refused])
    apps = {c: ids[f"{ref}/{c}"] for c in refused}
    by_cat = [(c, sorted({e.code for e in errors if e.categorie in (c, None)})) for c in refused]
    _write(store, conn, tenant, regeling, dossier_id, built, apps, ref, "refused_by_hub", by_cat)
    report.refused_by_hub += len(refused)
    tasks = []
    for cat, found in by_cat:
        report.refusal_codes.update(found)
        explained = "; ".join(CODE_TEXT.get(c, c) for c in found)
        tasks.append(
            Task(
                key=f"{FOLLOW_UP_REFUSAL}:hub:{dossier_id}:{cat}:{'+'.join(found)}",
                kind=FOLLOW_UP_REFUSAL,
                reason=f"the premium for {cat} would be refused ({', '.join(found)}): {explained}",
                dossier_id=dossier_id,
                dwelling_id=built.dwelling_id,
                detail={"category": cat, "codes": found, "by": "hub", "regeling": regeling},
            )
        )
    raise_follow_ups(store, conn, tenant, tasks, PARTNER)


def _still_needed(store: Store, conn: Connection, tenant: str, dossier_id: str, built: Any, report: PlanReport) -> None:
    key = f"{STILL_NEEDED}:{dossier_id}"
    items = list(built.still_needed) + [r for r in built.blocked_reasons if r not in built.still_needed]
    if not items:
        close_follow_ups(store, conn, tenant, [key], PARTNER)
        return
    report.needs.append((dossier_id, len(items), items[0]))
    raise_follow_ups(
        store,
        conn,
        tenant,
        [
            Task(
                key=key,
                kind=STILL_NEEDED,
                reason="still needed from the resident for the premium: " + "; ".join(items)[:400],
                dossier_id=dossier_id,
                dwelling_id=built.dwelling_id,
                detail={"items": items, "prefilled_share": round(built.prefilled_share, 4)},
            )
        ],
        PARTNER,
    )


def _more_documents(store: Store, conn: Connection, tenant: str) -> int:
    """For each application the portal asked more documents for: the asked kinds the resident has supplied since
    (their premium file's documents), queued for upload once per set of documents."""
    waiting: dict[str, dict[str, Any]] = {}
    for r in store.live_entities(conn, "premium_application", tenant):
        d = r["data"]
        if d.get("status") != "more_documents_requested" or not d.get("portal_id") or not d.get("intake_id"):
            continue
        w = waiting.setdefault(
            str(d["portal_id"]),
            {"intake": str(d["intake_id"]), "kinds": set(), "apps": {}, "ref": d.get("reference"), "data": d},
        )
        w["kinds"].update(d.get("more_documents") or [])
        w["apps"][str(d.get("category"))] = r["canonical_id"]
    if not waiting:
        return 0
    files: dict[str, list[dict[str, Any]]] = {}
    for r in store.live_entities(conn, "premium_file", tenant):
        files[str(r["data"].get("intake_id"))] = list(r["data"].get("documents") or [])
    queued = 0
    for portal_id, w in sorted(waiting.items()):
        docs = [e for e in files.get(w["intake"], []) if e.get("kind") in w["kinds"] and e.get("id")]
        if not docs:
            continue
        ids = sorted(str(e["id"]) for e in docs)
        payload = {
            "portal_id": portal_id,
            "reference": w["ref"],
            "dossier_id": w["data"].get("dossier_id"),
            "resident_id": w["data"].get("resident_id"),
            "documents": [
                {
                    "document_id": str(e["id"]),
                    "kind": str(e["kind"]),
                    "filename": str(e.get("filename") or "document.pdf"),
                    "media_type": str(e.get("media_type") or "application/pdf"),
                }
                for e in docs
            ],
            "applications": w["apps"],
        }
        key = outbox_key(PARTNER, "documents", portal_id, hashlib.sha256("+".join(ids).encode()).hexdigest()[:16])
        queued += int(store.outbox_enqueue(conn, tenant, PARTNER, MORE_DOCUMENTS, key, payload).created)
    return queued
