"""Flow test (issue 13 items 4 and 7), a Dutch cooperation: Econobis' executed kansen are the executed works; the
residents give their invoices and proof of payment through the desk's form; the hub applies for ISDE with what
it knows, the portal decides (approved, refused) and pays, and in Econobis each claimed kans has exactly one
Budgetaanvraag that follows the decision — its status and the granted amount, through the SPA update."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import requests

from app.sandbox_stack import SandboxStack, start_stack
from connectors.econobis import connector as econobis
from connectors.fluvius import connector as premiums
from connectors.fluvius.categories import portal_category
from connectors.fluvius.params import ISDE_MEASURES
from connectors.fluvius.sandbox.credentials import sandbox_client_id
from connectors.fluvius.settings import ISDE
from connectors.webform import connector as webform
from connectors.webform.sandbox.personas import SANDBOX_BSN, works_completed
from connectors.webform.settings import WORKS_COMPLETED
from hub.connector import PartnerRun
from hub.store import Store
from tests.connectors.econobis.sandbox_helpers import records

TENANT = "coop-noord"
LIFT = {"budget_per_minute": 1e6, "budget_burst": 1e6}


@pytest.fixture
def stack(store: Store) -> Iterator[SandboxStack]:
    s = start_stack(60, store=store, throttle=1_000_000, tenants=(TENANT,), extra_settings=LIFT)
    for wf in s.of("econobis", TENANT).sandbox.db.tables["webforms"].values():
        wf["max_requests_per_minute"] = 1_000_000
    try:
        yield s
    finally:
        s.stop()


def run_of(stack: SandboxStack, store: Store) -> PartnerRun:
    return PartnerRun(store, stack.config, stack.config.tenant(TENANT))


def econobis_push(stack: SandboxStack, store: Store) -> int:
    """The Econobis push as its asset runs it: the coupling's step first (the Budgetaanvragen), then the push,
    until the outbox is drained."""
    from sqlalchemy import update

    from couplings.fluvius_econobis import follow_premiums
    from hub.store import tables as t
    from hub.store import utcnow

    follow_premiums(store, TENANT)
    sent = 0
    assert econobis.CONNECTOR.push is not None
    for _ in range(4):
        sent += econobis.CONNECTOR.push.run(run_of(stack, store)).metadata()["sent"]
        with store.begin() as conn:
            conn.execute(update(t.outbox).where(t.outbox.c.tenant == TENANT).values(next_attempt_at=utcnow()))
    return sent


def _invoice_for(opp: dict[str, Any], when: str, i: int) -> dict[str, Any] | None:
    """The invoice of an executed kans' works, with an ISDE meldcode of its category."""
    pc = portal_category(ISDE, opp.get("measure_category"), list(opp.get("measures") or []))
    if pc is None:
        return None
    code = next((m for m in ISDE_MEASURES.values() if m.categorie == pc.categorie), None)
    if code is None:
        return None
    quantity = 1.0 if code.unit == "stuk" else float(max(code.min_quantity or 1, 40))
    return {
        "number": f"NL-{i:04d}",
        "date": when,
        "amount_excl_vat": 6000.0 + 100 * i,
        "vat_pct": 21.0,
        "category": opp.get("measure_category"),
        "measure": (opp.get("measures") or [None])[0],
        "meldcode": code.meldcode,
        "quantity": quantity,
        "unit": code.unit,
        "executed_on": when,
    }


@pytest.mark.slow
def test_econobis_budgetaanvraag_follows_each_isde_decision(stack, store):
    assert econobis.CONNECTOR.pull is not None
    econobis.CONNECTOR.pull.run(run_of(stack, store), True)
    portal = stack.fluvius.sandbox
    when = (portal.now().date() - timedelta(days=90)).isoformat()
    for bsn in SANDBOX_BSN:
        portal.put_mandaat(sandbox_client_id(TENANT), bsn)

    # dossiers with one executed kans whose works ISDE subsidises: their residents give invoice + proof of payment
    with store.begin() as conn:
        opps = [r for r in store.live_entities(conn, "opportunity", TENANT) if r["data"].get("status") == "executed"]
        dossiers = {r["data"]["intake_id"]: r["canonical_id"] for r in store.live_entities(conn, "dossier", TENANT)}
    chosen: list[tuple[str, dict[str, Any], str]] = []
    for o in sorted(opps, key=lambda r: r["canonical_id"]):
        invoice = _invoice_for(o["data"], when, len(chosen))
        intake = o["data"].get("intake_id")
        if invoice is None or intake not in dossiers or any(c[2] == dossiers[intake] for c in chosen):
            continue
        chosen.append((o["canonical_id"], invoice, dossiers[intake]))
        if len(chosen) == 3:
            break
    assert len(chosen) == 3, "the sandbox seed has executed kansen ISDE subsidises"
    sender = stack.webform.sandbox.sender(TENANT)
    for i, (_, invoice, dossier) in enumerate(chosen):
        data = works_completed(TENANT, i, dossier=dossier)
        data["invoices"] = [invoice]
        data["documents"] = [
            {**d, "invoice_number": invoice["number"]} if d["kind"] == "factuur" else d
            for d in data["documents"]
            if d["kind"] in ("factuur", "betaalbewijs")
        ][:2]
        assert sender.post(data, event=WORKS_COMPLETED)[2].status_code == 200
    webform.CONNECTOR.inbox.apply(run_of(stack, store))  # type: ignore[union-attr]

    run = PartnerRun(store, stack.config, stack.config.tenant(TENANT), options={"today": str(portal.now().date())})
    planned = premiums.CONNECTOR.plan.run(run).metadata()  # type: ignore[union-attr]
    assert planned["applications_queued"] == 3, (
        {k: v for k, v in planned.items() if k != "still_needed"},
        planned["still_needed"].text,
    )
    assert premiums.CONNECTOR.push.run(run).metadata()["sent"] == 3  # type: ignore[union-attr]
    assert planned["prefilled_share_median"] > 0.1  # the invoices (the bulk of the fields) are the resident's

    # the portal: two approved, one refused (the attest does not match the invoice)
    mine = sorted((a for a in portal.aanvragen.values()), key=lambda a: a.id)
    for n, a in enumerate(mine):
        plan = {
            "decision_days": 10,
            "aanvulling": False,
            "inconsistent": None if n else a.data["categorieen"][0]["categorie"],
        }
        assert requests.post(f"{stack.fluvius.base_url}/__sandbox/aanvragen/{a.id}/plan", json=plan, timeout=10).ok

    assert econobis_push(stack, store) >= 6  # a Budgetaanvraag per kans, then its "in behandeling"
    requests.post(f"{stack.fluvius.base_url}/__sandbox/clock", json={"advance_days": 40}, timeout=30).raise_for_status()
    assert premiums.CONNECTOR.pull is not None
    premiums.CONNECTOR.pull.run(run, False)
    econobis_push(stack, store)
    again = econobis_push(stack, store)
    assert again == 0  # planned again: nothing new

    sb = stack.of("econobis", TENANT)
    lk = sb.sandbox.lookups
    apps = {a.referentie: a for a in portal.aanvragen.values()}
    statuses = Counter(a.status for a in apps.values())
    assert statuses == Counter({"uitbetaald": 2, "afgewezen": 1}), statuses
    with store.begin() as conn:
        canonical = [r["data"] for r in store.live_entities(conn, "premium_application", TENANT)]
    for kans_cid, _, _ in chosen:
        with store.begin() as conn:
            [kans] = store.external_ids_of(conn, "econobis", TENANT, "opportunity", kans_cid)
        budget = [
            q
            for q in records(sb, "quotation_requests", opportunity_id=int(kans))
            if lk.by_id("opportunityActions", q["opportunity_action_id"])["codeRef"] == "subsidy-request"
        ]
        assert len(budget) == 1, budget  # exactly one Budgetaanvraag per kans
        app = next(a for a in canonical if kans_cid in (a.get("opportunity_ids") or []))
        status = lk.by_id("quotationRequestStatus", budget[0]["status_id"])["codeRef"]
        if app["status"] == "paid":
            assert status == "approved-det" and float(budget[0]["award_amount"]) == pytest.approx(app["amount_paid"])
        else:
            assert app["status"] == "rejected" and status == "not-approved"
