"""The whole coupling across both sandboxes with the hub in the middle (issue: Hoomdossier coupling, item 4):

sign-up → intake, kans and visit with a coach in Econobis → Hoomdossier account registered (Econobis'
make-hoomdossier through the hub's register proxy) and coach linked (by the hub: webform visits are never
linked by Econobis) → appointment planned in Hoomdossier → visit `made` in Econobis and kans `in_progress`
→ woonplan → housing-file specifications in Econobis → executed → visit `done`.

Run clean, then with 20 % faults on every hop and the receiver stopped and restarted mid-way: the final
state is identical and the canonical journey events show each phase once."""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

import pytest
import requests

from app.sandbox_stack import SandboxStack, start_stack
from connectors.econobis.client import EconobisClient
from connectors.econobis.push import EconobisPush, SignUp, enqueue_signup
from connectors.econobis.routes import INBOX_SOURCE
from connectors.econobis.sync import EconobisPull
from connectors.hoomdossier.client import HoomdossierClient
from couplings.econobis_hoomdossier import (
    apply_hoomdossier_inbox,
    forward_hoomdossier_inbox,
    plan_hoomdossier,
    push_hoomdossier,
)
from hub.http import RetryPolicy
from hub.sandbox.runtime import FaultMiddleware, Faults
from hub.store import Store
from hub.store import tables as t

TENANT = "coop-noord"
CAMPAIGN = 11  # the sandbox's Hoomdossier campaign
COACH = 1001  # a coach of that campaign (also a coach user in the Hoomdossier sandbox)
FAST = RetryPolicy(max_attempts=8, backoff_initial=0.01, backoff_max=0.05, jitter=0.5, max_total_seconds=60)
RESIDENTS = 8  # sign-ups that go the whole way


def hoom(stack: SandboxStack, path: str, **body: Any) -> Any:
    resp = requests.post(f"{stack.hoomdossier.base_url}/__sandbox/{path}", json=body, timeout=30)
    assert resp.status_code < 300, (path, resp.status_code, resp.text)
    return resp.json()


class Hub:
    """The hub's runs, as Dagster would schedule them, against one tenant."""

    def __init__(self, stack: SandboxStack, store: Store) -> None:
        self.stack = stack
        self.store = store
        self.tenant = stack.config.tenant(TENANT)
        self._econobis: EconobisClient | None = None

    def econobis(self) -> EconobisClient:
        """One client (one login) for the whole journey: Econobis blocks a user after 5 logins a minute."""
        if self._econobis is None:
            client = EconobisClient.for_tenant(self.tenant, self.store, policy=FAST, timeout=(3.0, 4.0))
            client.http.sleep = lambda s: time.sleep(min(s, 0.02))
            self._econobis = client
        return self._econobis

    def push_econobis(self) -> None:
        for _ in range(25):
            EconobisPush(
                self.store, self.econobis(), TENANT, self.tenant.secret("econobis", "webform_key"), backoff=0.0
            ).run()
            if not self._due("econobis"):
                return
            time.sleep(0.05)

    def pull(self) -> None:
        EconobisPull(self.store, self.econobis(), TENANT).run()

    def plan_and_push_hoomdossier(self) -> None:
        plan_hoomdossier(self.store, self.tenant)
        for _ in range(25):
            self.push_econobis()
            client = HoomdossierClient.for_tenant(self.tenant, self.store, policy=FAST, timeout=(3.0, 4.0))
            client.http.sleep = lambda s: time.sleep(min(s, 0.02))
            push_hoomdossier(self.store, self.tenant, client)
            if not self._due("econobis") and not self._due("hoomdossier"):
                return
            self._make_due()
            time.sleep(0.05)
        raise AssertionError(f"outbox did not drain: {self._outbox()}")

    def process_inbox(self, expect_total: int) -> None:
        """Wait until Hoomdossier's messages arrived, then apply and forward until Econobis took them."""
        deadline = time.monotonic() + 90
        while self.store.count(t.inbox, tenant=TENANT) < expect_total:
            assert time.monotonic() < deadline, f"inbox has {self.store.count(t.inbox, tenant=TENANT)}/{expect_total}"
            hoom(self.stack, "jobs/run")
            time.sleep(0.1)
        for _ in range(30):
            apply_hoomdossier_inbox(self.store, TENANT)
            forward_hoomdossier_inbox(self.store, self.tenant, self.econobis(), backoff=0.0)
            counts = self.store.inbox_counts(TENANT, INBOX_SOURCE)
            if not counts.get("received") and not counts.get("retry"):
                return
            self._make_due(inbox=True)
            time.sleep(0.05)
        raise AssertionError(f"inbox did not drain: {self.store.inbox_counts(TENANT, INBOX_SOURCE)}")

    def _due(self, partner: str) -> bool:
        with self.store.begin() as conn:
            counts = self.store.outbox_counts(conn, TENANT, partner)
        return any(counts.get(s) for s in ("pending", "retry", "uncertain"))

    def _outbox(self) -> list[dict[str, Any]]:
        with self.store.begin() as conn:
            return [dict(r) for r in conn.execute(t.outbox.select()).mappings()]

    def _make_due(self, inbox: bool = False) -> None:
        """Time passes: what waits for a retry is due now (the tests do not wait minutes)."""
        from sqlalchemy import update

        from hub.store import utcnow

        with self.store.begin() as conn:
            conn.execute(
                update(t.outbox).where(t.outbox.c.status.in_(("retry", "uncertain"))).values(next_attempt_at=utcnow())
            )
            if inbox:
                conn.execute(update(t.inbox).where(t.inbox.c.status == "retry").values(next_attempt_at=utcnow()))


def journey(stack: SandboxStack, store: Store, *, faults: bool) -> dict[str, Any]:
    hub = Hub(stack, store)
    econobis = stack.of("econobis", TENANT)
    campaign_row = econobis.sandbox.db.tables["campaigns"][CAMPAIGN]
    assert COACH in campaign_row["coach_ids"]
    # 1. sign-ups with a visit for the campaign coach → Econobis
    for i in range(RESIDENTS):
        enqueue_signup(
            store,
            TENANT,
            SignUp(
                key=f"e2e-{i:03d}",
                first_name=["Sanne", "Joost", "Fatima"][i % 3],
                last_name=f"Bewoner{i}",
                email=f"bewoner{i}@example.org",
                street="Havenkade",
                number=str(10 + i),
                postcode="1621AA",
                city="Hoorn",
                campaign_id=CAMPAIGN,
                measures=["Vloerisolatie"],
                sources=["Website"],
                consent=True,
                visit_coach_id=COACH,
            ),
        )
    hub.push_econobis()
    hub.pull()
    # 2. registration (Econobis make-hoomdossier → hub proxy → Hoomdossier) and coach links (hub → Hoomdossier);
    #    the receiver is down for the first attempt of the faulty run
    if faults:
        stack.stop_receiver()
        plan_hoomdossier(store, hub.tenant)
        EconobisPush(store, hub.econobis(), TENANT, hub.tenant.secret("econobis", "webform_key"), backoff=0.0).run()
        stack.start_receiver(store, wrap=receiver_faults)
    hub.plan_and_push_hoomdossier()
    contacts = contact_ids(econobis)
    assert len(contacts) == RESIDENTS
    for cid in contacts:
        user = hoom_user(stack, cid)
        assert user["status"] == "in_progress", user
        assert COACH in user["coach_contact_ids"], user
    # 3. the coach plans the appointments in Hoomdossier → afspraak → hub → Econobis
    for n, cid in enumerate(contacts):
        hoom(stack, "scenario/appointment", slug=TENANT, contact_id=cid, appointment_date=f"2026-11-{10 + n} 14:30:00")
    hub.process_inbox(expect_total=RESIDENTS)
    after_appointment = {cid: econobis_state(econobis, cid) for cid in contacts}
    # 4. woonplan (and answers) → gebruik + woonplan after the scheduler's window
    for cid in contacts:
        hoom(stack, "scenario/answers", slug=TENANT, contact_id=cid, answers={"build-year": 1932, "surface": 118})
        hoom(
            stack,
            "scenario/woonplan",
            slug=TENANT,
            contact_id=cid,
            advices=[
                {"measure_id": 4, "savings_gas": 412, "savings_electricity": 0, "surface": 62.5, "execute_self": False},
                {"measure_id": 8, "savings_gas": 95.5, "surface": 12},
            ],
            comments={"resident": "Liefst voor de winter.", "coach": "Eerst de vloer."},
        )
    hoom(stack, "clock", advance_seconds=5 * 60)
    hub.process_inbox(expect_total=3 * RESIDENTS)
    # 5. the coach marks the dwelling executed → woning-status → visit done
    for cid in contacts:
        hoom(stack, "scenario/status", slug=TENANT, contact_id=cid, status="executed")
    hub.process_inbox(expect_total=4 * RESIDENTS)
    hub.pull()
    injected = {
        "econobis": dict(econobis.sandbox.faults.injected),
        "hoomdossier": dict(stack.hoomdossier.sandbox.faults.injected),
        "receiver": dict(RECEIVER_FAULTS.injected) if faults else {},
        "receiver_restarted": faults,
    }
    return {
        **final_state(stack, store, econobis, contacts),
        "after_appointment": after_appointment,
        "injected": injected,
    }


def econobis_state(econobis: Any, cid: int) -> dict[str, Any]:
    db, lk = econobis.sandbox.db, econobis.sandbox.lookups
    intakes = {i["id"] for i in db.tables["intakes"].values() if i["contact_id"] == cid}
    opps = [o for o in db.tables["opportunities"].values() if o["intake_id"] in intakes]
    visits = [
        q
        for q in db.tables["quotation_requests"].values()
        if q["opportunity_action_id"] == lk.action_id("visit") and q["opportunity_id"] in {o["id"] for o in opps}
    ]
    return {
        "kansen": sorted(lk.by_id("opportunityStatus", o["status_id"])["codeRef"] for o in opps),
        "visits": sorted(lk.by_id("quotationRequestStatus", q["status_id"])["codeRef"] for q in visits),
    }


RECEIVER_FAULTS = Faults(seed=11)


def receiver_faults(app: Any) -> Any:
    """20 % faults between the partners and the receiver. Econobis → hub (register, coach link): 5xx before
    anything is done (Econobis aborts; the hub's push retries) and answers lost afterwards. Hoomdossier → hub:
    answers lost after the message was stored. Not 5xx or timeouts before storing: Hoomdossier drops every
    message that does not get a 2xx (it never retries, see the sandbox), so no receiver could recover those."""
    faults = RECEIVER_FAULTS
    faults.set(
        [
            {"route": "/api/v1/*", "error_rate": 0.10, "error_status": 503},
            {"route": "/api/*", "drop_rate": 0.10, "after_processing": True},
        ]
    )
    return FaultMiddleware(app, faults)


def contact_ids(econobis: Any) -> list[int]:
    db = econobis.sandbox.db
    return sorted(
        c["contact_id"] for c in db.tables["intakes"].values() if str(c.get("external_code") or "").startswith("e2e-")
    )


def hoom_user(stack: SandboxStack, contact_id: int) -> dict[str, Any]:
    resp = requests.get(
        f"{stack.hoomdossier.base_url}/__sandbox/users", params={"slug": TENANT, "contact_id": contact_id}, timeout=10
    )
    assert resp.status_code == 200, resp.text
    data = resp.json()
    user = data[0] if isinstance(data, list) else data
    coaches = user.get("coaches") or user.get("connected_coaches") or []
    status = user.get("status")
    return {
        "status": status.get("short") if isinstance(status, dict) else status,
        "coach_contact_ids": [c.get("contact_id") for c in coaches],
        "raw": user,
    }


def final_state(stack: SandboxStack, store: Store, econobis: Any, contacts: list[int]) -> dict[str, Any]:
    db, lk = econobis.sandbox.db, econobis.sandbox.lookups
    visit = lk.action_id("visit")
    state: dict[str, Any] = {}
    for cid in contacts:
        contact = db.tables["contacts"][cid]
        intakes = [i for i in db.tables["intakes"].values() if i["contact_id"] == cid and i.get("deleted_at") is None]
        opps = [o for o in db.tables["opportunities"].values() if o["intake_id"] in {i["id"] for i in intakes}]
        visits = [
            q
            for q in db.tables["quotation_requests"].values()
            if q["opportunity_action_id"] == visit and q["opportunity_id"] in {o["id"] for o in opps}
        ]
        files = [h for h in db.tables["housing_files"].values() if h.get("hoom_building_id")]
        hf = [h for h in files if db.tables["addresses"][h["address_id"]]["contact_id"] == cid]
        specs = [
            s
            for s in db.tables["housing_file_specifications"].values()
            if s["housing_file_id"] in {h["id"] for h in hf}
        ]
        state[cid] = {
            "has_hoom_account": bool(contact.get("hoom_account_id")),
            "intakes": len(intakes),
            "opportunities": sorted(lk.by_id("opportunityStatus", o["status_id"])["codeRef"] for o in opps),
            "visits": sorted(
                (lk.by_id("quotationRequestStatus", q["status_id"])["codeRef"], str(q.get("date_planned"))[:16])
                for q in visits
            ),
            "housing_files_linked": len(hf),
            "specifications": sorted((s["measure_id"], s.get("answer"), str(s.get("savings_gas"))) for s in specs),
            "remark": [h.get("remark") for h in hf],
            "hoomdossier": {k: v for k, v in hoom_user(stack, cid).items() if k != "raw"},
        }
    with store.begin() as conn:
        events = conn.execute(t.journey_events.select().where(t.journey_events.c.tenant == TENANT)).mappings().all()
        dossier_of = {}
        for cid in contacts:
            rid = store.lookup_ids(conn, "econobis", TENANT, "contact", [str(cid)])[str(cid)]
            intakes = store.child_ids(conn, "intake", [rid], tenant=TENANT)[rid]
            dossiers = store.lookup_ids(conn, "hub", TENANT, "dossier", intakes)
            dossier_of[cid] = set(dossiers.values())
        by_dossier = Counter((e["dossier_id"], e["phase"]) for e in events)
        canonical = {}
        for cid in contacts:
            rid = store.lookup_ids(conn, "econobis", TENANT, "contact", [str(cid)])[str(cid)]
            resident = store.load_entities(conn, [rid], tenant=TENANT)[rid]["data"]
            dwellings = store.child_ids(conn, "dwelling", [rid], tenant=TENANT).get(rid, [])
            files = store.child_ids(conn, "dwelling_file", dwellings, tenant=TENANT)
            file_ids = [f for d in dwellings for f in files.get(d, [])]
            file_data = [store.load_entities(conn, [f], tenant=TENANT)[f]["data"] for f in file_ids]
            advices = store.child_ids(conn, "advice", file_ids, tenant=TENANT)
            appts = store.child_ids(conn, "appointment", file_ids, tenant=TENANT)
            canonical[cid] = {
                "phases": sorted(p for (d, p), n in by_dossier.items() if d in dossier_of[cid]),
                "phase_counts": sorted({n for (d, _p), n in by_dossier.items() if d in dossier_of[cid]}),
                "hoomdossier_account": resident.get("hoomdossier_account_id") is not None,
                "dwelling_files": len(file_ids),
                "hoomdossier_status": sorted(str(f.get("hoomdossier_status")) for f in file_data),
                "build_year": sorted(str(f.get("build_year")) for f in file_data),
                "advices": sum(len(v) for v in advices.values()),
                "appointments": sum(len(v) for v in appts.values()),
            }
        quarantine = store.open_quarantine(conn, TENANT)
    return {"econobis": state, "canonical": canonical, "quarantine": [(q["source"], q["reason"]) for q in quarantine]}


@pytest.fixture
def run_journey(tmp_path):
    stacks: list[SandboxStack] = []

    def _run(faults: bool) -> dict[str, Any]:
        store = Store.open(f"sqlite:///{tmp_path / ('faults' if faults else 'clean')}.sqlite")
        stack = start_stack(
            12,
            store=store,
            throttle=1_000_000,
            tenants=(TENANT,),
            extra_settings={"budget_per_minute": 1e6, "budget_burst": 1e6},
        )
        stacks.append(stack)
        wf = next(iter(stack.of("econobis", TENANT).sandbox.db.tables["webforms"].values()))
        wf["max_requests_per_minute"] = 1_000_000
        if faults:
            fault = [
                {"route": "/api/*", "error_rate": 0.08, "error_status": 503},
                {"route": "/api/*", "throttle_rate": 0.06, "retry_after": 1},
                {"route": "/api/*", "drop_rate": 0.06, "after_processing": True},
            ]
            stack.of("econobis", TENANT).sandbox.faults.set(fault, seed=5)
            hoom(stack, "faults", rules=fault, seed=6)
            stack.stop_receiver()
            stack.start_receiver(store, wrap=receiver_faults)
        return journey(stack, store, faults=faults)

    yield _run
    for s in stacks:
        s.stop()


def test_journey_clean_and_under_faults_end_in_the_same_state(run_journey):
    clean = run_journey(faults=False)
    for s in clean["econobis"].values():
        assert s["has_hoom_account"], s
        assert s["intakes"] == 1
        assert ("done", s["visits"][0][1]) == s["visits"][0] and s["visits"][0][1] != "None", s
        assert s["housing_files_linked"] == 1 and len(s["specifications"]) == 2, s
        assert s["remark"] == ["Liefst voor de winter."]
        assert s["hoomdossier"]["status"] == "executed"
    for c in clean["canonical"].values():
        assert {"interest", "contact", "advice"} <= set(c["phases"]), c
        assert c["phase_counts"] == [1], c  # every phase once
        assert c["hoomdossier_account"] and c["advices"] == 2 and c["appointments"] == 1, c
        assert c["hoomdossier_status"] == ["executed"] and c["build_year"] == ["1932"], c
    assert clean["quarantine"] == []
    for s in clean["after_appointment"].values():
        assert s == {"kansen": ["in_progress"], "visits": ["made"]}, s
    faulty = run_journey(faults=True)
    assert list(faulty["econobis"].values()) == list(clean["econobis"].values())
    assert list(faulty["canonical"].values()) == list(clean["canonical"].values())
    assert list(faulty["after_appointment"].values()) == list(clean["after_appointment"].values())
    assert faulty["quarantine"] == []
    print("faults injected:", faulty["injected"])  # shown with -s
    # the faults did happen, on every hop
    injected = faulty["injected"]
    assert sum(injected["econobis"].values()) >= 3, injected
    assert sum(injected["hoomdossier"].values()) >= 1, injected
    assert sum(injected["receiver"].values()) >= 3, injected
