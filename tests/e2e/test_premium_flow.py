"""Flow test (issue 13 item 7), the Flemish desk: residents sign up through the web form, their works are done and
they give the desk the invoices, income and consent (a signed `works.completed`); the hub builds the Mijn
VerbouwPremie applications from what it knows, holds back the one the portal would refuse, and submits the rest
through the outbox with a lost answer on the submit; the portal decides on its clock — approved, partly approved,
more documents asked (supplied, then approved), refused — and pays. Decisions reach the hub by the webhooks
(delivered twice at random) OR by the poll feed alone (webhooks off): either is enough. It ends with exactly one
portal application per dossier and the canonical applications matching the portal's decisions per category."""

from __future__ import annotations

import base64
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from app.demo import desk_records_mandates
from app.sandbox_stack import SandboxStack, start_stack
from connectors.fluvius import connector as premiums
from connectors.fluvius.sandbox.credentials import sandbox_client_id
from connectors.fluvius.settings import FOLLOW_UP_DOCUMENTS, FOLLOW_UP_REFUSAL
from connectors.webform import connector as webform
from connectors.webform.sandbox.personas import SANDBOX_INSZ, works_completed
from connectors.webform.settings import WORKS_COMPLETED
from connectors.woningpas import connector as woningpas
from hub.config import sandbox_tenant_ids
from hub.connector import PartnerRun
from hub.followup import open_follow_ups
from hub.store import Store

[TENANT] = sandbox_tenant_ids(["vl"])
LIFT = {"budget_per_minute": 1e6, "budget_burst": 1e6}


@pytest.fixture
def stack(store: Store) -> Iterator[SandboxStack]:
    s = start_stack(5, store=store, throttle=1_000_000, tenants=(TENANT,), extra_settings=LIFT)
    try:
        yield s
    finally:
        s.stop()


def admin(stack: SandboxStack, method: str, path: str, **kw: Any) -> Any:
    resp = requests.request(method, f"{stack.fluvius.base_url}/__sandbox{path}", timeout=30, **kw)
    assert resp.status_code < 300, resp.text
    return resp.json() if resp.content else None


def run_of(stack: SandboxStack, store: Store, today: str) -> PartnerRun:
    return PartnerRun(store, stack.config, stack.config.tenant(TENANT), options={"today": today})


def form_inbox(stack: SandboxStack, store: Store) -> dict[str, Any]:
    inbox = webform.CONNECTOR.inbox
    assert inbox is not None and inbox.unclaimed is not None
    run = PartnerRun(store, stack.config, stack.config.tenant(TENANT))
    return {**inbox.apply(run).metadata(), **inbox.unclaimed(run).metadata()}


def follow(stack: SandboxStack, store: Store, mode: str, today: str) -> dict[str, Any]:
    """The portal's news as the sync job reads it: the webhooks' inbox, or the poll feed."""
    run = run_of(stack, store, today)
    if mode == "webhooks":
        assert premiums.CONNECTOR.inbox is not None
        return premiums.CONNECTOR.inbox.apply(run).metadata()
    assert premiums.CONNECTOR.pull is not None
    return premiums.CONNECTOR.pull.run(run, False).metadata()


def plan_and_push(stack: SandboxStack, store: Store, today: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    run = run_of(stack, store, today)
    assert premiums.CONNECTOR.plan is not None and premiums.CONNECTOR.push is not None
    planned = premiums.CONNECTOR.plan.run(run).metadata()
    pushes = []
    for _ in range(4):  # the outbox sensor's retries, without waiting for the backoff
        pushed = premiums.CONNECTOR.push.run(run).metadata()
        pushes.append(pushed)
        _make_due(store)
    return planned, pushes


def _make_due(store: Store) -> None:
    from sqlalchemy import update

    from hub.store import tables as t
    from hub.store import utcnow

    with store.begin() as conn:
        conn.execute(update(t.outbox).where(t.outbox.c.tenant == TENANT).values(next_attempt_at=utcnow()))


def applications(store: Store) -> list[dict[str, Any]]:
    with store.begin() as conn:
        return [r["data"] for r in store.live_entities(conn, "premium_application", TENANT)]


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["webhooks", "poll"])
def test_known_data_becomes_decided_and_paid_applications_never_doubled(stack, store, mode):
    portal = stack.fluvius.sandbox
    today = portal.now().date().isoformat()
    client = sandbox_client_id(TENANT)
    for insz in SANDBOX_INSZ:
        portal.put_mandaat(client, insz)
    if mode == "webhooks":
        admin(stack, "POST", "/webhook-faults", json={"duplicate_share": 0.5, "seed": 3})
    else:
        admin(stack, "POST", "/webhook-faults", json={"off": True})

    # five residents sign up through the form; the hub opens their dossiers
    form = stack.webform.sandbox
    sender = form.sender(TENANT)
    signups = form.demo_signups(TENANT, 5)
    for s in signups:
        assert sender.post(s)[2].status_code == 200
    assert form_inbox(stack, store)["dossiers_opened"] == 5
    # the desk records their Woningpas mandates and reads their passes (building facts, EPCs)
    desk = desk_records_mandates(store, stack.woningpas, TENANT, leave_out=0)
    assert len(desk.mandated) == 5
    assert woningpas.CONNECTOR.pull is not None
    woningpas.CONNECTOR.pull.run(run_of(stack, store, today), True)

    # the works are done: invoices, income, IBAN, consent; resident 2's invoice is older than 24 months
    for i, s in enumerate(signups):
        when = "2024-05-10" if i == 2 else None
        data = works_completed(
            TENANT, i, signup=s["id"], **({"invoice_date": when, "executed_on": when} if when else {})
        )
        assert sender.post(data, event=WORKS_COMPLETED)[2].status_code == 200
    applied = form_inbox(stack, store)
    assert applied.get("quarantined_on_apply", 0) == 0

    # the first answer of every submit is lost (the portal did submit)
    admin(stack, "POST", "/faults", json={"rules": [
        {"route": "/premies/v1/aanvragen/*/indienen", "method": "POST", "burst_every": 2, "burst_length": 1,
         "after_processing": True},
    ]})  # fmt: skip
    planned, pushes = plan_and_push(stack, store, today)
    assert planned["applications_queued"] == 4, planned
    assert planned["refusals_foreseen"] == {"FACTUUR_TE_OUD": 2}  # both of resident 2's categories
    # a desk without a CRM knows the resident (sign-up) and the building (Woningpas: address, key, type, build
    # year, EPC); the invoices and the income are the resident's to give
    assert 0.15 < planned["prefilled_share_median"] < 0.5
    assert sum(p["sent"] for p in pushes) == 4
    # two submits lost their answer (the portal had submitted): the same Idempotency-Key got the first answer
    cleared = admin(stack, "POST", "/faults", json={"rules": []})
    assert cleared["injected"].get("burst", 0) >= 2

    dump = admin(stack, "GET", "/aanvragen")
    mine = [a for a in dump if a["referentie"]]
    assert len(mine) == 4 and len({a["referentie"] for a in mine}) == 4  # none doubled by the lost answers
    assert all(a["status"] == "ingediend" for a in mine)
    with store.begin() as conn:
        refusals = open_follow_ups(store, conn, TENANT, FOLLOW_UP_REFUSAL)
    assert len(refusals) == 2 and all("FACTUUR_TE_OUD" in r["reason"] for r in refusals)

    # the portal's plans: approved; partly (the heat pump's attest does not match); documents asked and
    # supplied; documents asked and never supplied (refused when the term lapses)
    by_ref = {a["referentie"]: a for a in mine}
    ordered = sorted(by_ref.values(), key=lambda a: a["id"])
    plans = [
        {"decision_days": 10, "aanvulling": False, "inconsistent": None, "pay_days": 7},
        {"decision_days": 12, "aanvulling": False, "inconsistent": "warmtepomp", "pay_days": 7},
        {"decision_days": 25, "aanvulling": 3, "inconsistent": None, "pay_days": 7},
        {"decision_days": 25, "aanvulling": 3, "inconsistent": None, "pay_days": 7},
    ]
    for a, p in zip(ordered, plans, strict=True):
        admin(stack, "POST", f"/aanvragen/{a['id']}/plan", json=p)

    admin(stack, "POST", "/clock", json={"advance_days": 5})
    news = follow(stack, store, mode, today)
    assert news["documents_asked"] >= 2
    with store.begin() as conn:
        asked = open_follow_ups(store, conn, TENANT, FOLLOW_UP_DOCUMENTS)
    assert len(asked) == 2

    # one of the two residents supplies what was asked; the hub uploads it
    supplier = ordered[2]
    resident_of = _resident_index(store, signups, supplier["referentie"])
    extra = works_completed(TENANT, resident_of, signup=signups[resident_of]["id"], documents=True)
    extra["invoices"] = []
    extra["documents"] = [
        {
            "kind": kind,
            "filename": f"{kind}.pdf",
            "media_type": "application/pdf",
            "content_base64": base64.b64encode(f"%PDF-1.4\n% {kind} {resident_of}\n%%EOF\n".encode()).decode(),
        }
        for kind in portal.aanvragen[supplier["id"]].aanvulling["documenten_gevraagd"]
    ]
    assert sender.post(extra, event=WORKS_COMPLETED)[2].status_code == 200
    form_inbox(stack, store)
    planned, pushes = plan_and_push(stack, store, today)
    assert planned["asked_documents_queued"] == 1 and sum(p["sent"] for p in pushes) == 1
    with store.begin() as conn:  # every dossier is applied for (or refused): nothing is asked of a resident
        assert open_follow_ups(store, conn, TENANT, "premium-still-needed") == []
    assert portal.aanvragen[supplier["id"]].status == "in_behandeling"

    admin(stack, "POST", "/clock", json={"advance_days": 40})
    follow(stack, store, mode, today)
    admin(stack, "POST", "/clock", json={"advance_days": 20})
    follow(stack, store, mode, today)
    if mode == "webhooks":
        again = follow(stack, store, mode, today)  # nothing new: replays change nothing
        assert again["changed"] == 0

    final = {a["id"]: a for a in admin(stack, "GET", "/aanvragen")}
    statuses = Counter(a["status"] for a in final.values() if a["referentie"])
    assert statuses == Counter({"uitbetaald": 3, "afgewezen": 1}), statuses
    apps = applications(store)
    sent = [a for a in apps if a["status"] != "refused_by_hub"]
    assert len(sent) == 8  # four applications of two categories each
    pairs = Counter((a["dossier_id"], a["category"]) for a in apps)
    assert set(pairs.values()) == {1}  # exactly one application per dossier and category
    for a in sent:
        portal_app = final[a["portal_id"]]
        item = next(c for c in portal_app["categorieen"] if c["categorie"] == a["category"])
        decision = item["beslissing"]
        assert a["amount_granted"] == decision["toegekend_bedrag"]
        assert a["reason_codes"] == decision["reden_codes"]
        expected = {"goedgekeurd": "paid", "gedeeltelijk_goedgekeurd": "paid", "afgewezen": "rejected"}
        assert a["status"] == expected[decision["status"]], (a["category"], decision)
        assert a["dossier_number"] == portal_app["dossiernummer"]
    assert {tuple(a["reason_codes"]) for a in sent if a["status"] == "rejected"} >= {("ATTEST_FACTUUR_INCONSISTENT",)}
    # the dossiers' journey: paid applications count toward execution
    with store.begin() as conn:
        phases = Counter(r["data"]["phase"] for r in store.live_entities(conn, "dossier", TENANT))
    assert phases["execution"] >= 3


def _resident_index(store: Store, signups: list[dict[str, Any]], reference: str) -> int:
    """Which sign-up's dossier the application with this reference belongs to."""
    with store.begin() as conn:
        app = next(r["data"] for r in store.live_entities(conn, "premium_application", TENANT)
                   if r["data"].get("reference") == reference)  # fmt: skip
        dossier = store.load_entities(conn, [app["dossier_id"]], tenant=TENANT)[app["dossier_id"]]
        intake = store.load_entities(conn, [dossier["data"]["intake_id"]], tenant=TENANT)[dossier["data"]["intake_id"]]
    code = str(intake["data"].get("external_code") or "")
    return next(n for n, s in enumerate(signups) if code.endswith(str(s["id"])))
