"""Erasure end to end against the sandbox Econobis: pull, erase one resident, the store/payloads/mart hold
nothing of them, the coordinator gets the task, a full pull confirms once the contact is deleted."""

from __future__ import annotations

import json

import duckdb
import requests
from sqlalchemy import select

from connectors.econobis.client import EconobisClient
from connectors.econobis.push import EconobisPush, SignUp, enqueue_signup
from connectors.econobis.sync import EconobisPull
from hub.erasure import DONE, erase, find_residents, mark_mart_published, progress
from hub.http import RetryPolicy
from hub.mart import build_mart
from hub.store import tables as t
from tests.conftest import sandbox_hub_config

FAST = RetryPolicy(max_attempts=2, backoff_initial=0.01, backoff_max=0.02, jitter=0.0)
TABLES = t.metadata.sorted_tables  # every table, the consent tables included


def _dump(store) -> str:
    """Every row of every table as text (JSON, text and bytes alike)."""
    out = []
    with store.engine.connect() as conn:
        for table in TABLES:
            for row in conn.execute(select(table)).all():
                for v in row:
                    out.append(v.decode("utf-8", "replace") if isinstance(v, bytes) else json.dumps(v, default=str))
    return "\n".join(out).lower()


def _pull(store, config, tenant, full=True):
    client = EconobisClient.for_tenant(config.tenant(tenant), store)
    return EconobisPull(store, client, tenant).run(full=full)


def _push(store, config, tenant):
    tc = config.tenant(tenant)
    return EconobisPush(
        store, EconobisClient.for_tenant(tc, store), tenant, tc.secret("econobis", "webform_key"), backoff=0
    ).run()


def test_an_erased_resident_is_gone_and_econobis_is_told_and_confirms(store, start_sandbox, tmp_path):
    [sb] = start_sandbox(20, tenants=("coop-noord",), throttle_per_minute=100000)
    config = sandbox_hub_config([sb])
    tenant = "coop-noord"
    enqueue_signup(
        store,
        tenant,
        SignUp(
            key="erase-me-1",
            first_name="Ezra",
            last_name="Vergeetmij",
            email="ezra.vergeet@example.org",
            phone="0612398745",
            street="Vergeetmijnietlaan",
            number="7",
            postcode="1681AB",
            city="Wognum",
            campaign_id=sb.sandbox.db.ids["campaigns"][0],
            measures=["Vloerisolatie"],
        ),
    )
    assert _push(store, config, tenant).sent == 1
    _pull(store, config, tenant)
    [rid] = find_residents(store, tenant, "Ezra.Vergeet@example.org")
    before_events = store.count(t.journey_events, tenant=tenant)
    mart_dir = tmp_path / "mart"
    build_mart(store, config, mart_dir)
    dossiers_before = (
        duckdb.connect(str(mart_dir / "hub.duckdb"), read_only=True)
        .execute("SELECT count(*) FROM dossiers")
        .fetchone()[0]
    )
    assert "vergeetmij" in _dump(store)
    assert store.count(t.consents, tenant=tenant, resident_id=rid) >= 1  # the sign-up's privacy agreement

    report = erase(store, config, tenant, rid, "coordinator:noord-1")
    assert report.started and report.status == "open"
    assert store.count(t.consents, tenant=tenant, resident_id=rid) == 0
    assert store.count(t.consent_log, tenant=tenant, resident_id=rid) == 0
    assert report.audit["removed"]["consents"] >= 1
    dump = _dump(store)
    for value in ("ezra.vergeet@example.org", "vergeetmij", "0612398745", "vergeetmijnietlaan"):
        assert value not in dump, value
    assert store.count(t.journey_events, tenant=tenant) == before_events  # journey counts kept

    # the mart republished without them; counts unchanged
    build_mart(store, config, mart_dir)
    mark_mart_published(store, report.tenant, [report.request_id])
    con = duckdb.connect(str(mart_dir / "hub.duckdb"), read_only=True)
    assert con.execute("SELECT count(*) FROM dossiers").fetchone()[0] == dossiers_before
    mart_text = json.dumps(con.execute("SELECT * FROM dossiers").fetchall(), default=str).lower()
    con.close()
    assert rid not in mart_text
    raw = (mart_dir / "hub.duckdb").read_bytes()
    assert b"vergeetmij" not in raw.lower() and b"ezra.vergeet" not in raw.lower()

    # Econobis told: a task for the coordinator on the contact
    assert _push(store, config, tenant).sent == 1
    audit = progress(store, report.tenant, report.request_id)
    assert audit["steps"]["partners"]["econobis"]["status"] == "told"
    contact_id = next(
        c["id"] for c in sb.sandbox.db.tables["email_addresses"].values() if c["email"] == "ezra.vergeet@example.org"
    )
    contact_id = sb.sandbox.db.tables["email_addresses"][contact_id]["contact_id"]
    tasks = requests.get(
        f"{sb.server.base_url}/__sandbox/records/tasks", params={"contact_id": contact_id}, timeout=10
    ).json()
    assert any("AVG-verwijderverzoek" in (task["note"] or "") for task in tasks)

    # a pull while Econobis still has the contact re-imports nothing; the request stays open
    _pull(store, config, tenant)
    assert "vergeetmij" not in _dump(store)
    assert progress(store, report.tenant, report.request_id)["status"] == "open"

    # idempotent: a second erase changes nothing and says it is the same request
    again = erase(store, config, tenant, rid, "coordinator:noord-1")
    assert again.request_id == report.request_id and not again.started

    # the coordinator deletes the contact; the next full pull no longer sees it → confirmed, done
    assert (
        requests.post(
            f"{sb.server.base_url}/__sandbox/delete", json={"table": "contacts", "id": contact_id}, timeout=10
        ).status_code
        == 200
    )
    _pull(store, config, tenant)
    final = progress(store, report.tenant, report.request_id)
    assert final["status"] == DONE, final["steps"]
    assert erase(store, config, tenant, rid, "coordinator:noord-1").already_done
    audit_text = json.dumps(final, default=str).lower()
    for value in ("ezra", "vergeetmij", "0612398745", "example.org", str(contact_id)):
        assert value not in audit_text.replace(report.request_id, ""), value
    print(json.dumps(again.audit, indent=2))


def test_erasure_is_resumable_while_econobis_is_down(store, start_sandbox, tmp_path):
    [sb] = start_sandbox(10, tenants=("coop-noord",), throttle_per_minute=100000)
    config = sandbox_hub_config([sb])
    tenant = "coop-noord"
    _pull(store, config, tenant)
    with store.begin() as conn:
        resident = next(r for r in store.live_entities(conn, "resident", tenant) if r["data"].get("email"))
    report = erase(store, config, tenant, resident["canonical_id"], "coordinator:noord-2")
    down = {"seed": 1, "rules": [{"route": "/api/webform/*", "error_rate": 1.0, "error_status": 503}]}
    requests.post(f"{sb.server.base_url}/__sandbox/faults", json=down, timeout=5)
    tc = config.tenant(tenant)
    client = EconobisClient.for_tenant(tc, store, policy=FAST)
    pushed = EconobisPush(store, client, tenant, tc.secret("econobis", "webform_key"), backoff=0).run()
    assert pushed.sent == 0 and pushed.retry_later == 1
    assert progress(store, report.tenant, report.request_id)["steps"]["partners"]["econobis"]["status"] == "queued"
    assert progress(store, report.tenant, report.request_id)["status"] == "open"
    requests.post(f"{sb.server.base_url}/__sandbox/faults", json={"rules": []}, timeout=5)
    assert _push(store, config, tenant).sent == 1  # the retry falls due at once (backoff 0)
    assert progress(store, report.tenant, report.request_id)["steps"]["partners"]["econobis"]["status"] == "told"
