"""The asset graph through Dagster against the sandboxes: the whole per-tenant graph with its checks, a
backfill run twice (the second changes nothing and writes nothing to a partner), the date-range re-read,
stalled dossiers followed up exactly once, checks that fail when they should, and the quarantine replay."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import insert, select, update

from hub.store import tables as t
from hub.store import utcnow
from tests.orchestration.conftest import TENANT, checks, metadata


def _sync(hub, tags=None):
    from assets import SYNC_ASSETS

    res = hub.materialize(SYNC_ASSETS, tags=tags)
    assert res.success
    return res


def _follow_ups(hub) -> list[dict]:
    """Kansacties in the sandbox Econobis that carry a hub follow-up marker."""
    return [
        q
        for q in hub.econobis.db.tables["quotation_requests"].values()
        if "[hub:stalled:" in (q.get("quotation_text") or "")
    ]


def test_whole_graph_runs_with_its_checks_green(hub):
    res = _sync(hub)
    pull = metadata(res, "econobis_pull")
    assert pull["created"] > 0 and pull["quarantined"] == 0
    model = metadata(res, "canonical_model")
    assert model["intakes"] > 0 and model["dossiers"] == model["intakes"]
    evaluations = checks(res)
    assert {"econobis_reconciliation", "quarantine_empty", "xref_unique"} <= set(evaluations)
    for name in ("econobis_reconciliation", "quarantine_empty", "xref_unique"):
        assert evaluations[name].passed, (name, evaluations[name].metadata)
    # the mart behind its freshness gate: the tenant has just synced
    from assets import hub_freshness, reporting_mart

    res = hub.materialize([hub_freshness, reporting_mart], partition=None)
    assert res.success and checks(res)["tenants_fresh"].passed
    assert metadata(res, "reporting_mart")["rows_dossiers"] == model["dossiers"]


def test_backfill_twice_changes_nothing_the_second_time(hub):
    """A tenant as the schedule leaves it, then a coordinator's backfill of it, twice. (The first backfill
    reads back what the scheduled run pushed after its own pull, e.g. follow-up kansacties.)"""
    _sync(hub)
    first = _sync(hub, tags={"dagster/backfill": "bf1"})
    assert metadata(first, "econobis_pull")["full_pull"] is True
    assert metadata(first, "econobis_pull")["unchanged"] > 0
    second = _sync(hub, tags={"dagster/backfill": "bf2"})
    pull = metadata(second, "econobis_pull")
    assert pull["full_pull"] is True
    assert pull["created"] == 0 and pull["updated"] == 0 and pull["quarantined"] == 0, pull["by_entity"]
    assert pull["unchanged"] == pull["records_seen"] > 0
    for node in ("econobis_pull", "hoomdossier_inbox", "hoomdossier_push", "econobis_push"):
        assert metadata(second, node).get("partner_writes", 0) == 0, node
    assert metadata(second, "stalled_dossiers")["follow_ups_queued"] == 0
    assert metadata(second, "econobis_push")["sent"] == 0


def test_date_range_backfill_rereads_a_day_and_leaves_the_cursors(hub):
    from dagster import MultiPartitionKey

    from assets import econobis_window

    _sync(hub)
    intakes = hub.econobis.db.tables["intakes"].values()
    day = max(i["created_at"] for i in intakes).date()
    with hub.store.begin() as conn:
        before = hub.store.cursors(conn, "econobis", TENANT)
    key = MultiPartitionKey({"tenant": TENANT, "day": day.isoformat()})
    res = hub.materialize([econobis_window], partition=key)
    md = metadata(res, "econobis_window")
    expected = sum(1 for i in intakes if i["created_at"].date() == day)
    assert md["records_seen"] >= expected > 0
    assert md["created"] == 0 and md["updated"] == 0 and md["partner_writes"] == 0
    with hub.store.begin() as conn:
        assert hub.store.cursors(conn, "econobis", TENANT) == before


def test_a_stalled_dossier_gets_exactly_one_follow_up_in_econobis(hub):
    from assets import econobis_push, stalled_dossiers  # what the stalled sensor's follow_up_job runs

    res = _sync(hub)
    planned = metadata(res, "stalled_dossiers")
    assert planned["stalled_found"] > 0
    queued = planned["follow_ups_queued"]
    assert queued + planned["without_kans"] == planned["stalled_found"]
    assert metadata(res, "econobis_push")["sent"] >= queued
    made = _follow_ups(hub)
    assert len(made) == queued > 0
    markers = [q["quotation_text"].split("[hub:")[1] for q in made]
    assert len(set(markers)) == len(markers)  # one per dossier and phase
    # every follow-up is a "Nog doorverwijzen" kansactie (the tenant's default) on a kans of the sandbox
    lk = hub.econobis.lookups
    for q in made:
        assert lk.by_id("opportunityActions", q["opportunity_action_id"])["codeRef"] == "redirection"
        assert lk.by_id("quotationRequestStatus", q["status_id"])["codeRef"] == "still_refer"
        assert q["opportunity_id"] in hub.econobis.db.tables["opportunities"]
    # again: the sensor's job, a full sync, and the answer of a push that was lost
    for _ in range(2):
        res = hub.materialize([stalled_dossiers, econobis_push])
        assert metadata(res, "stalled_dossiers")["stalled_found"] == 0
        assert metadata(res, "econobis_push")["partner_writes"] == 0
    with hub.store.begin() as conn:  # as if the answer had been lost: the item is due again
        conn.execute(
            update(t.outbox)
            .where(t.outbox.c.operation == "kansactie-create")
            .values(status="uncertain", next_attempt_at=utcnow())
        )
    res = hub.materialize([econobis_push])
    md = metadata(res, "econobis_push")
    assert md["found_by_lookup"] == queued and md["partner_writes"] == 0
    assert len(_follow_ups(hub)) == queued


def test_a_dossier_that_moves_on_and_stalls_again_gets_a_new_follow_up(hub, store):
    from couplings.follow_up import plan_follow_ups, stalled_dossiers

    _sync(hub)
    cfg = hub.config.tenant(TENANT).follow_up
    with store.begin() as conn:
        assert stalled_dossiers(store, conn, TENANT, cfg) == []  # all planned by the sync
        dossier = conn.execute(select(t.outbox.c.payload).where(t.outbox.c.operation == "kansactie-create")).first()
    assert dossier is not None
    key = dossier.payload["key"]
    did, phase = key.split(":")[1], key.split(":")[2]
    # ten days later the dossier is still where it was, but a later phase was reached 9 days ago
    later = "execution" if phase != "execution" else "done"
    with store.begin() as conn:
        conn.execute(
            insert(t.journey_events).values(
                tenant=TENANT,
                dossier_id=did,
                phase=later,
                source="test",
                occurred_at=utcnow() - timedelta(days=9),
                recorded_at=utcnow(),
            )
        )
        entity = store.load_entities(conn, [did], tenant=TENANT)[did]
        conn.execute(
            update(t.entities).where(t.entities.c.canonical_id == did).values(data={**entity["data"], "phase": later})
        )
    cfg = cfg.model_copy(update={"phases": (*cfg.phases, "execution")})
    report = plan_follow_ups(store, TENANT, cfg)
    assert report.enqueued == (1 if later == "execution" else 0)


def test_checks_fail_when_they_should(hub, store):
    from assets import canonical_model, econobis_pull, hub_freshness, reporting_mart

    _sync(hub)
    # a partner record the hub never saw (created behind the cursor's back, e.g. restored from a backup)
    db = hub.econobis.db
    intake = dict(next(iter(db.tables["intakes"].values())))
    new_id = max(db.tables["intakes"]) + 1000
    intake["id"] = new_id
    db.tables["intakes"][new_id] = intake
    # two Econobis intakes pointing at one canonical intake; an open quarantine entry
    with store.begin() as conn:
        one = conn.execute(select(t.xref).where(t.xref.c.entity == "intake")).mappings().first()
        conn.execute(
            insert(t.xref).values(
                system="econobis",
                tenant=TENANT,
                entity="intake",
                external_id="999999",
                canonical_id=one["canonical_id"],
                first_seen_at=utcnow(),
            )
        )
        store.quarantine_put(conn, TENANT, "econobis", "contact", "424242", "test: does not map")
    res = hub.materialize([econobis_pull, canonical_model], tags={"hub/test": "checks"})
    evaluations = checks(res)
    assert not evaluations["econobis_reconciliation"].passed
    assert not evaluations["xref_unique"].passed
    assert evaluations["xref_unique"].severity.value == "ERROR"
    assert not evaluations["quarantine_empty"].passed
    assert evaluations["quarantine_empty"].severity.value == "WARN"
    # stale: the last successful sync was two days ago → the blocking check holds the mart back
    from hub.work import record_success

    record_success(store, TENANT, "sync:econobis", utcnow() - timedelta(days=2))
    res = hub.materialize([hub_freshness, reporting_mart], partition=None, raise_on_error=False)
    assert not checks(res)["tenants_fresh"].passed
    assert res.asset_materializations_for_node("reporting_mart") == []


def test_quarantine_replay_sends_parked_work_again(hub, store):
    from assets import econobis_push, quarantine_replay
    from connectors.econobis.push import KansactieCreate, enqueue_kansactie

    _sync(hub)
    kans = next(iter(hub.econobis.db.tables["opportunities"]))
    # a follow-up on a campaign action that does not exist: quarantined by the push
    enqueue_kansactie(
        store, TENANT, KansactieCreate(key="replay-test-1", opportunity_id=kans, action="visit", status="nope")
    )
    md = metadata(hub.materialize([econobis_push]), "econobis_push")
    assert md["quarantined"] == 1
    with store.begin() as conn:
        # the coordinator fixes the cause (here: the status) and replays
        conn.execute(
            update(t.outbox)
            .where(t.outbox.c.idempotency_key == "econobis:kansactie-create:replay-test-1")
            .values(payload={**KansactieCreate(key="replay-test-1", opportunity_id=kans, action="visit").model_dump()})
        )
    res = hub.materialize([quarantine_replay])
    md = metadata(res, "quarantine_replay")
    assert md["requeued"] == {"outbox:econobis": 1} and md["open_after"] == 0
    md = metadata(hub.materialize([econobis_push]), "econobis_push")
    assert md["sent"] == 1 and md["quarantined"] == 0
    # replaying again finds nothing to do
    assert metadata(hub.materialize([quarantine_replay]), "quarantine_replay")["open_before"] == 0
