"""Flow: the hub sees updates and deletions made in Econobis after its first pull — through the audit trail on
the next incremental run, and through the full reconcile for what the audit trail cannot show."""

from __future__ import annotations

from typing import Any

from connectors.econobis.sync import EconobisPull
from hub.store import Store
from tests.conftest import sandbox_hub_config
from tests.connectors.econobis.sandbox_helpers import delete, edit, records
from tests.e2e.test_pull_flow import _client


def canonical(store: Store, tenant: str, entity: str, external_id: int) -> dict[str, Any]:
    with store.begin() as conn:
        [cid] = store.lookup_ids(conn, "econobis", tenant, entity, [str(external_id)]).values()
        row = store.load_entities(conn, [cid], tenant=tenant)[cid]
    from sqlalchemy import select

    from hub.store import tables as t

    with store.engine.connect() as conn:
        deleted = conn.execute(select(t.entities.c.deleted_at).where(t.entities.c.canonical_id == cid)).scalar_one()
    return {**row["data"], "_deleted": deleted is not None}


def pick(sb, table: str, **where: Any) -> dict[str, Any]:
    return records(sb, table, **where)[0]


def test_updates_and_deletes_show_up_after_the_next_incremental_run(store, start_sandbox):
    [sb] = start_sandbox(80, tenants=("coop-noord",), id_shift=100, throttle_per_minute=100000)
    config = sandbox_hub_config([sb])
    tenant = "coop-noord"
    first = EconobisPull(store, _client(config, store, tenant), tenant).run()
    assert first.merge.total("created") > 0
    lk = sb.sandbox.lookups
    # A coordinator works in Econobis:
    intake = pick(sb, "intakes")
    closed = lk.by_code("intakeStatuses", "closed_without_opportunity")["id"]
    edit(sb, "intakes", intake["id"], {"intake_status_id": closed})
    visit_action = lk.action_id("visit")
    visit = next(
        q
        for q in records(sb, "quotation_requests", opportunity_action_id=visit_action)
        if lk.by_id("quotationRequestStatus", q["status_id"])["codeRef"] == "default"
    )
    edit(sb, "quotation_requests", visit["id"], {"date_planned": "2026-11-25 10:00:00"})  # → made, kans in_progress
    hf = pick(sb, "housing_files")
    edit(sb, "housing_files", hf["id"], {"build_year": 1888})
    contact = next(c for c in records(sb, "contacts", type_id="person") if c.get("inspection_person_type_id") is None)
    edit(
        sb, "contacts", contact["id"], {"full_name": "Gewijzigd, Anna", "last_name": "Gewijzigd", "first_name": "Anna"}
    )
    doomed = next(o for o in records(sb, "opportunities") if o["id"] != visit["opportunity_id"])
    delete(sb, "opportunities", doomed["id"])
    # changed outside Eloquent: no revision, invisible to the incremental run
    # an old one, outside any new-record scan window
    silent = min((h for h in records(sb, "housing_files") if h["id"] != hf["id"]), key=lambda h: h["created_at"])
    edit(sb, "housing_files", silent["id"], {"build_year": 1777}, raw=True)

    second = EconobisPull(store, _client(config, store, tenant), tenant).run()
    assert second.changes["records_reread"] == {
        "intake": 1,
        "opportunity": 1,  # the kans status changed through the status engine
        "quotation-request": 1,
        "housing-file": 1,
        "contact": 1,
    }
    assert second.changes["records_deleted"] == {"opportunity": 1}
    assert canonical(store, tenant, "intake", intake["id"])["status"] == "closed_without_opportunity"
    assert canonical(store, tenant, "quotation-request", visit["id"])["status"] == "made"
    assert canonical(store, tenant, "opportunity", visit["opportunity_id"])["status"] == "in_progress"
    assert canonical(store, tenant, "housing-file", hf["id"])["build_year"] == 1888
    assert canonical(store, tenant, "contact", contact["id"])["last_name"] == "Gewijzigd"
    gone = canonical(store, tenant, "opportunity", doomed["id"])
    assert gone["_deleted"] and gone["measure_category"]  # marked deleted, not forgotten
    assert canonical(store, tenant, "housing-file", silent["id"])["build_year"] != 1777

    # a replay changes nothing
    third = EconobisPull(store, _client(config, store, tenant), tenant).run()
    assert third.changes["revisions"] == 0
    assert third.merge.total("created") == third.merge.total("updated") == third.merge.total("deleted") == 0

    # the nightly full reconcile sees the silent edit, and a record removed outside Eloquent
    vanished = pick(sb, "intakes", id=sb.sandbox.db.ids["intakes"][-1])
    edit(sb, "intakes", vanished["id"], {"deleted_at": "2026-11-02 09:00:00"}, raw=True)
    full = EconobisPull(store, _client(config, store, tenant), tenant).run(full=True)
    assert canonical(store, tenant, "housing-file", silent["id"])["build_year"] == 1777
    assert canonical(store, tenant, "intake", vanished["id"])["_deleted"]
    assert full.reconcile["deleted"] == {"intake": 1}
    assert full.merge.total("created") == 0


def test_address_changes_reach_the_contact_once_its_details_were_read(store, start_sandbox):
    [sb] = start_sandbox(30, tenants=("coop-noord",), throttle_per_minute=100000)
    config = sandbox_hub_config([sb])
    tenant = "coop-noord"
    EconobisPull(store, _client(config, store, tenant), tenant).run()
    contact = next(c for c in records(sb, "contacts", type_id="person") if c.get("inspection_person_type_id") is None)
    [address] = records(sb, "addresses", contact_id=contact["id"])
    # 1. the hub never read this contact's detail: the address revision cannot be placed yet
    edit(sb, "addresses", address["id"], {"street": "Nieuwe Straat"})
    report = EconobisPull(store, _client(config, store, tenant), tenant).run()
    assert report.changes["child_changes_deferred_to_reconcile"] == 1
    # 2. a contact change makes the hub read the detail, which links the address to the resident …
    edit(sb, "contacts", contact["id"], {"did_agree_avg": not contact["did_agree_avg"]})
    EconobisPull(store, _client(config, store, tenant), tenant).run()
    # … so the next address change is re-read at once
    edit(sb, "addresses", address["id"], {"street": "Derde Straat"})
    report = EconobisPull(store, _client(config, store, tenant), tenant).run()
    assert report.changes["child_changes_deferred_to_reconcile"] == 0
    assert report.changes["records_reread"] == {"contact": 1}
