"""A consent withdrawal stops sharing, across both sandboxes with the hub in the middle (issue 11, §5).

Residents sign up through the hub (consent given: Econobis' privacy agreement), are registered in
Hoomdossier and linked to their coach. Then one withdraws in Econobis (a coordinator unticks *akkoord
privacybeleid*: the pull sees the change) and one in Hoomdossier (allow_access off: the next coach link is
refused with `no-access`, which the hub records). From the next run on nothing more is sent to Hoomdossier
for either of them while the others still flow; a resident who signs up without consent is never
registered. A re-grant in either system resumes what was withheld."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import requests
from sqlalchemy import update

from app.sandbox_stack import SandboxStack, start_stack
from connectors.econobis.push import SignUp, enqueue_make_hoomdossier, enqueue_signup
from connectors.hoomdossier.client import HoomdossierClient
from connectors.hoomdossier.push import enqueue_coach_link
from couplings.econobis_hoomdossier import coaches_of, plan_hoomdossier, push_hoomdossier
from hub.consent import Purpose, check, consent_report, record_by_coordinator
from hub.store import Store, utcnow
from hub.store import tables as t
from tests.e2e.test_hoomdossier_coupling import CAMPAIGN, COACH, FAST, TENANT, Hub, hoom, hoom_user

SHARE = Purpose.SHARE_WITH_PARTNER.value


def signup(i: int, consent: bool = True) -> SignUp:
    return SignUp(
        key=f"consent-{i:03d}",
        first_name="Noor",
        last_name=f"Toestemming{i}",
        email=f"toestemming{i}@example.org",
        street="Dijkweg",
        number=str(40 + i),
        postcode="1621AB",
        city="Hoorn",
        campaign_id=CAMPAIGN,
        measures=["Vloerisolatie"],
        sources=["Website"],
        consent=consent,
        visit_coach_id=COACH,
    )


def econobis_edit(stack: SandboxStack, contact_id: int, **change: Any) -> None:
    """A coordinator edits the contact in Econobis' UI (Eloquent: a revision the pull's change pass sees)."""
    base = stack.config.tenant(TENANT).partner("econobis").base_url
    resp = requests.post(
        f"{base}/__sandbox/edit", json={"table": "contacts", "id": contact_id, "change": change}, timeout=10
    )
    assert resp.status_code == 200, resp.text


def contact_of(stack: SandboxStack, key: str) -> int:
    db = stack.of("econobis", TENANT).sandbox.db
    return next(int(i["contact_id"]) for i in db.tables["intakes"].values() if i.get("external_code") == key)


class Run:
    """One Hoomdossier push run, and what it sent."""

    def __init__(self, hub: Hub) -> None:
        client = HoomdossierClient.for_tenant(hub.tenant, hub.store, policy=FAST, timeout=(3.0, 4.0))
        report = push_hoomdossier(hub.store, hub.tenant, client)
        self.calls = int(report.calls.get("calls", 0))
        self.sent = report.sent
        self.withheld = report.withheld


def outbox(store: Store, operation: str) -> dict[tuple[int, ...], str]:
    """(contact ids in the payload) → status, of one operation."""
    with store.begin() as conn:
        rows = conn.execute(t.outbox.select().where(t.outbox.c.operation == operation)).mappings().all()
    return {tuple(int(v) for v in r["payload"].values()): r["status"] for r in rows}


def standing(store: Store, stack: SandboxStack, contact_id: int) -> dict[str, Any]:
    with store.begin() as conn:
        rid = store.lookup_ids(conn, "econobis", TENANT, "contact", [str(contact_id)])[str(contact_id)]
        row = store.consent_current(conn, TENANT, [rid], SHARE, "hoomdossier")[rid]
    return {"granted": row["granted"], "source": row["source"]}


@pytest.fixture
def stack_and_store(tmp_path):
    store = Store.open(f"sqlite:///{tmp_path / 'consent.sqlite'}")
    stack = start_stack(
        12,
        store=store,
        throttle=1_000_000,
        tenants=(TENANT,),
        extra_settings={"budget_per_minute": 1e6, "budget_burst": 1e6},
    )
    wf = next(iter(stack.of("econobis", TENANT).sandbox.db.tables["webforms"].values()))
    wf["max_requests_per_minute"] = 1_000_000
    yield stack, store
    stack.stop()
    store.dispose()


def test_a_withdrawal_in_either_system_stops_sharing_from_the_next_run_and_a_regrant_resumes(stack_and_store):
    stack, store = stack_and_store
    hub = Hub(stack, store)
    # 1. three residents sign up with consent; registered in Hoomdossier and linked to the campaign coach
    for i in range(3):
        enqueue_signup(store, TENANT, signup(i))
    hub.push_econobis()
    hub.pull()
    hub.plan_and_push_hoomdossier()
    a, b, c = (contact_of(stack, f"consent-{i:03d}") for i in range(3))
    for cid in (a, b, c):
        assert COACH in hoom_user(stack, cid)["coach_contact_ids"]
        assert standing(store, stack, cid) == {"granted": True, "source": "econobis"}  # the sign-up's consent
    others = [x["contact_id"] for x in coaches_of(stack.of("econobis", TENANT)) if x["contact_id"] != COACH]
    second, third = others[0], others[1]

    # 2. A withdraws in Econobis (the pull sees it); B withdraws in Hoomdossier (the hub cannot see that yet)
    econobis_edit(stack, a, did_agree_avg=False)
    hoom(stack, "scenario/revoke-access", slug=TENANT, contact_id=b)
    hub.pull()
    assert standing(store, stack, a) == {"granted": False, "source": "econobis"}

    # 3. the hub plans more sharing for all three: a second coach each
    with store.begin() as conn:
        for cid in (a, b, c):
            enqueue_coach_link(store, conn, TENANT, second, cid)
    run = Run(hub)
    # A: withheld without a call; B: Hoomdossier refuses (no-access), recorded as a withdrawal; C: linked
    assert run.calls == 2 and run.sent == 1 and run.withheld == 2
    links = outbox(store, "coach-link")
    assert links[(second, a)] == links[(second, b)] == "withheld" and links[(second, c)] == "sent"
    assert standing(store, stack, b) == {"granted": False, "source": "hoomdossier"}
    assert second in hoom_user(stack, c)["coach_contact_ids"]
    assert second not in hoom_user(stack, a)["coach_contact_ids"]

    # 4. from the next run on nothing more reaches Hoomdossier for A or B; C still flows
    with store.begin() as conn:
        for cid in (a, b, c):
            enqueue_coach_link(store, conn, TENANT, third, cid)
    run = Run(hub)
    assert run.calls == 1 and run.sent == 1 and run.withheld == 2
    assert third in hoom_user(stack, c)["coach_contact_ids"]
    assert hoom_user(stack, a)["coach_contact_ids"] == [COACH]
    assert hoom_user(stack, b)["coach_contact_ids"] == []  # the withdrawal removed B's coach in Hoomdossier
    assert Run(hub).calls == 0  # withheld items are not claimed again

    # 5. a resident who signs up without consent is never registered (the registration is withheld)
    enqueue_signup(store, TENANT, signup(3, consent=False))
    hub.push_econobis()
    hub.pull()
    plan_hoomdossier(store, hub.tenant)
    hub.push_econobis()
    d = contact_of(stack, "consent-003")
    assert outbox(store, "make-hoomdossier")[(d,)] == "withheld"
    assert not stack.of("econobis", TENANT).sandbox.db.tables["contacts"][d].get("hoom_account_id")

    # 6. re-grants: A ticks the privacy agreement again in Econobis; B allows access again in Hoomdossier
    econobis_edit(stack, a, did_agree_avg=True)
    hub.pull()
    assert standing(store, stack, a) == {"granted": True, "source": "econobis"}
    assert outbox(store, "coach-link")[(second, a)] == "pending"
    run = Run(hub)
    assert run.sent == 2 and {second, third} <= set(hoom_user(stack, a)["coach_contact_ids"])
    # B: Hoomdossier says nothing of it, but sends B's woonplan again (only done while access is allowed)
    hoom(stack, "scenario/allow-access", slug=TENANT, contact_id=b)
    hoom(
        stack,
        "scenario/woonplan",
        slug=TENANT,
        contact_id=b,
        advices=[{"measure_id": 4, "savings_gas": 100, "surface": 20, "execute_self": False}],
    )
    hoom(stack, "clock", advance_seconds=5 * 60)
    hub.process_inbox(expect_total=2)
    assert standing(store, stack, b) == {"granted": True, "source": "hoomdossier"}
    run = Run(hub)
    assert run.sent == 2 and {second, third} <= set(hoom_user(stack, b)["coach_contact_ids"])
    # and D, who never consented, is still not registered
    assert outbox(store, "make-hoomdossier")[(d,)] == "withheld"
    with store.begin() as conn:
        parked = [(q["source"], q["reason"][:80]) for q in store.open_quarantine(conn, TENANT)]
    assert parked == []


def a_day_passes(store: Store) -> None:
    """Withheld registrations look at the contact again after a day (CONSENT_WAIT_SECONDS)."""
    with store.begin() as conn:
        conn.execute(update(t.outbox).values(updated_at=utcnow() - timedelta(days=2)))


def resident_of(store: Store, contact_id: int) -> str:
    with store.begin() as conn:
        return store.lookup_ids(conn, "econobis", TENANT, "contact", [str(contact_id)])[str(contact_id)]


def may_share(store: Store, rid: str) -> bool:
    with store.begin() as conn:
        return check(store, conn, TENANT, [rid], Purpose.SHARE_WITH_PARTNER, "hoomdossier").allowed


def test_a_coordinators_withdrawal_holds_while_econobis_repeats_its_unchanged_agreement(stack_and_store):
    """Regression: a coordinator's withdrawal was lifted by Econobis saying its unchanged *akkoord
    privacybeleid* again (a contact re-read, the registration push looking at the contact after a day), and
    the withheld registration was sent. Only a change of the agreement in Econobis lifts it."""
    stack, store = stack_and_store
    hub = Hub(stack, store)
    econobis = stack.of("econobis", TENANT).sandbox.db
    partners = list(hub.tenant.partners)
    # X signs up with consent (the hub records Econobis' agreement); S is a contact that agreed in Econobis
    # long ago, which the hub has read from the grid only (no statement recorded yet)
    enqueue_signup(store, TENANT, signup(0))
    hub.push_econobis()
    hub.pull()
    x = contact_of(stack, "consent-000")
    s = next(
        cid
        for cid, c in econobis.tables["contacts"].items()
        if c.get("did_agree_avg") and not c.get("hoom_account_id") and c.get("type_id") == "person" and cid != x
    )
    rx, rs = resident_of(store, x), resident_of(store, s)
    assert standing(store, stack, x) == {"granted": True, "source": "econobis"}
    with store.begin() as conn:
        assert store.consent_current(conn, TENANT, [rs], SHARE, "hoomdossier") == {}

    # 1. both tell the cooperation to stop sharing: a coordinator records it
    for rid in (rx, rs):
        done = record_by_coordinator(store, TENANT, rid, SHARE, "hoomdossier", False, "desk:anna", partners)
        assert done.logged and done.standing is not None and done.standing["source"] == "coordinator"

    # 2. the hub plans their registration in Hoomdossier: withheld, without asking Econobis
    with store.begin() as conn:
        for cid in (x, s):
            enqueue_make_hoomdossier(store, conn, TENANT, cid)
    hub.push_econobis()
    assert outbox(store, "make-hoomdossier") == {(x,): "withheld", (s,): "withheld"}

    # 3. Econobis keeps saying what it said: the contacts are re-read (an unrelated edit each), and a day later
    # the push looks at the contacts again (S's agreement is read for the first time). Nothing is released.
    for cid in (x, s):
        econobis_edit(stack, cid, first_name="Anders")
    hub.pull()
    a_day_passes(store)
    hub.push_econobis()
    hub.pull()
    assert outbox(store, "make-hoomdossier") == {(x,): "withheld", (s,): "withheld"}
    for rid in (rx, rs):
        assert not may_share(store, rid)
        report = consent_report(store, TENANT, rid)
        [in_force] = report["standing"]
        assert (in_force["source"], in_force["granted"]) == ("coordinator", False)
        said = {r["source"]: (r["granted"], r["in_force"]) for r in report["sources"]}
        assert said == {"econobis": (True, False), "coordinator": (False, True)}
    assert [h["source"] for h in consent_report(store, TENANT, rx)["history"]] == ["econobis", "coordinator"]
    assert [h["source_ref"] for h in consent_report(store, TENANT, rs)["history"]] == [
        "coordinator:desk:anna",
        f"contact:{s}",  # S's agreement, read for the first time: logged, not in force
    ]
    for cid in (x, s):
        assert not econobis.tables["contacts"][cid].get("hoom_account_id")

    # 4. the agreement really changes in Econobis (unticked, then ticked again: the pull sees each revision):
    # the resident's newest word, said after the withdrawal — consent granted again, the registrations go
    for agreed in (False, True):
        for cid in (x, s):
            econobis_edit(stack, cid, did_agree_avg=agreed)
        hub.pull()
        for rid in (rx, rs):
            assert may_share(store, rid) is agreed
    assert outbox(store, "make-hoomdossier") == {(x,): "pending", (s,): "pending"}
    hub.push_econobis()
    assert outbox(store, "make-hoomdossier") == {(x,): "sent", (s,): "sent"}
    for cid in (x, s):
        assert econobis.tables["contacts"][cid].get("hoom_account_id")
    assert standing(store, stack, s) == {"granted": True, "source": "econobis"}


def test_a_tick_in_econobis_after_a_withdrawal_grants_again_only_when_the_hub_can_tell_it_came_later(stack_and_store):
    """Econobis said *not agreed* before the coordinator's withdrawal; then the agreement is ticked. The pull's
    change pass dates the revision after its previous read of the audit trail: a tick after a read that began
    after the withdrawal is the resident's newest word; a tick between the withdrawal and that read may be
    older than the withdrawal as far as the hub can tell (the tick before the call), and the withdrawal holds."""
    stack, store = stack_and_store
    hub = Hub(stack, store)
    partners = list(hub.tenant.partners)
    for i in (0, 1):
        enqueue_signup(store, TENANT, signup(i, consent=False))
    hub.push_econobis()
    hub.pull()
    later, unclear = (contact_of(stack, f"consent-{i:03d}") for i in (0, 1))
    for cid in (later, unclear):
        assert standing(store, stack, cid) == {"granted": False, "source": "econobis"}
        record_by_coordinator(store, TENANT, resident_of(store, cid), SHARE, "hoomdossier", False, "desk:a", partners)
    econobis_edit(stack, unclear, did_agree_avg=True)  # before the next read of the audit trail began
    hub.pull()
    econobis_edit(stack, later, did_agree_avg=True)  # after it
    hub.pull()
    assert standing(store, stack, later) == {"granted": True, "source": "econobis"}
    assert standing(store, stack, unclear) == {"granted": False, "source": "coordinator"}
    [said] = [
        s for s in consent_report(store, TENANT, resident_of(store, unclear))["sources"] if s["source"] == "econobis"
    ]
    assert said["granted"] is True and said["in_force"] is False and said["source_ref"].startswith("audit-trail:")
