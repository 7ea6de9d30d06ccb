"""Flow: pull a running sandbox Econobis over loopback HTTP, with faults on, into the state store.

The store must end with exactly the seeded records: none lost, none twice, nothing quarantined."""

from __future__ import annotations

import requests
from sqlalchemy import func, select

from connectors.econobis.client import EconobisClient
from connectors.econobis.sync import EconobisPull
from hub.http import RetryPolicy
from hub.store import Store
from hub.store import tables as t
from tests.conftest import sandbox_hub_config

ENTITY_TABLES = {
    "contact": "contacts",
    "intake": "intakes",
    "opportunity": "opportunities",
    "quotation-request": "quotation_requests",
    "housing-file": "housing_files",
}
FAST = RetryPolicy(max_attempts=12, backoff_initial=0.02, backoff_max=0.2, jitter=0.5)


def _xref_ids(store: Store, tenant: str, entity: str) -> list[int]:
    with store.engine.connect() as conn:
        rows = conn.execute(
            select(t.xref.c.external_id).where(
                t.xref.c.system == "econobis", t.xref.c.tenant == tenant, t.xref.c.entity == entity
            )
        )
        return sorted(int(r.external_id) for r in rows)


def _entity_count(store: Store, tenant: str, entity: str) -> int:
    with store.engine.connect() as conn:
        return conn.execute(
            select(func.count())
            .select_from(t.entities)
            .where(t.entities.c.tenant == tenant, t.entities.c.entity == entity)
        ).scalar_one()


def _client(config, store, tenant: str) -> EconobisClient:
    return EconobisClient.for_tenant(config.tenant(tenant), store, policy=FAST, timeout=(1.0, 0.5))


def test_pull_under_faults_ends_with_exactly_the_seeded_records(store, start_sandbox):
    [sb] = start_sandbox(150, tenants=("coop-noord",), id_shift=100, throttle_per_minute=100000)
    config = sandbox_hub_config([sb])
    requests.post(
        f"{sb.server.base_url}/__sandbox/faults",
        json={
            "seed": 3,
            "rules": [
                {
                    "route": "/api/*",
                    "error_rate": 0.1,
                    "error_status": 503,
                    "throttle_rate": 0.1,
                    "retry_after": 1,
                    "timeout_rate": 0.05,
                    "timeout_seconds": 1.0,
                    "drop_rate": 0.05,
                    "burst_every": 9,
                    "burst_length": 2,
                },
            ],
        },
        timeout=5,
    )
    # Small pages so the faults hit many pages.
    report = EconobisPull(store, _client(config, store, "coop-noord"), "coop-noord", page_size=40).run()

    expected = requests.get(f"{sb.server.base_url}/__sandbox/expected", timeout=5).json()
    injected = requests.get(f"{sb.server.base_url}/__sandbox/state", timeout=5).json()["faults"]["injected"]
    assert sum(injected.values()) >= 10, injected  # the faults really happened
    assert report.calls["retries"] >= 10
    for entity, table in ENTITY_TABLES.items():
        assert _xref_ids(store, "coop-noord", entity) == sorted(expected[table]), entity
    assert _entity_count(store, "coop-noord", "resident") == len(expected["contacts"])
    assert _entity_count(store, "coop-noord", "intake") == len(expected["intakes"])
    assert _entity_count(store, "coop-noord", "opportunity") == len(expected["opportunities"])
    assert _entity_count(store, "coop-noord", "action") == len(expected["quotation_requests"])
    assert _entity_count(store, "coop-noord", "dwelling_file") == len(expected["housing_files"])
    assert _entity_count(store, "coop-noord", "dossier") == len(expected["intakes"])
    with store.begin() as conn:
        assert store.open_quarantine(conn, "coop-noord") == []


def test_second_pull_changes_nothing_and_adds_no_journey_events(store, start_sandbox):
    [sb] = start_sandbox(80, tenants=("coop-zuid",), throttle_per_minute=100000)
    config = sandbox_hub_config([sb])
    first = EconobisPull(store, _client(config, store, "coop-zuid"), "coop-zuid").run()
    assert first.merge.total("created") > 0 and first.journey_events > 0
    versions_before = _versions(store)
    second = EconobisPull(store, _client(config, store, "coop-zuid"), "coop-zuid").run()
    assert second.merge.total("created") == 0 and second.merge.total("updated") == 0
    assert second.journey_events == 0
    assert _versions(store) == versions_before


def _versions(store: Store) -> dict[str, int]:
    with store.engine.connect() as conn:
        return dict(conn.execute(select(t.entities.c.canonical_id, t.entities.c.version)).all())


def test_pull_respects_the_60_per_minute_throttle_by_waiting_for_retry_after(store, start_sandbox):
    # A throttle of 4/min and a budget that would allow more: the client must honour the 429s.
    [sb] = start_sandbox(20, tenants=("coop-noord",), throttle_per_minute=4)
    config = sandbox_hub_config([sb])
    waits: list[float] = []
    client = _client(config, store, "coop-noord")
    client.http.sleep = waits.append  # record instead of sleeping a minute
    sb.sandbox.throttle._mono = _FakeMonotonic(waits)  # the sandbox's window moves with our "sleeps"
    EconobisPull(store, client, "coop-noord", page_size=5).run(streams=("contact", "intake"))
    assert client.http.stats.throttled >= 1
    assert any(w >= 1 for w in waits)
    assert _xref_ids(store, "coop-noord", "contact") == sorted(
        requests.get(f"{sb.server.base_url}/__sandbox/expected", timeout=5).json()["contacts"]
    )


class _FakeMonotonic:
    """Sandbox clock = sum of the waits the client recorded (so honouring Retry-After opens the window)."""

    def __init__(self, waits: list[float]) -> None:
        self.waits = waits

    def __call__(self) -> float:
        return 1000.0 + sum(self.waits)


def test_new_records_appear_after_the_next_incremental_run(store, start_sandbox):
    from datetime import timedelta

    [sb] = start_sandbox(30, tenants=("coop-noord",), throttle_per_minute=100000)
    config = sandbox_hub_config([sb])
    EconobisPull(store, _client(config, store, "coop-noord"), "coop-noord").run()
    # A coordinator registers a new resident with an intake (directly in the sandbox's tables).
    db = sb.sandbox.db
    now = sb.sandbox.clock.advance(3600)
    cid = db.insert("contacts", {**db.tables["contacts"][db.ids["contacts"][-1]], "created_at": now, "updated_at": now})
    db.insert(
        "addresses",
        {
            "contact_id": cid,
            "type_id": "visit",
            "street": "Nieuwstraat",
            "number": 5,
            "addition": "",
            "postal_code": "1621 AB",
            "city": "Hoorn",
            "country_id": "NL",
            "primary": True,
            "created_at": now,
            "updated_at": now,
            "deleted_at": None,
        },
    )
    last_intake = db.tables["intakes"][db.ids["intakes"][-1]]
    iid = db.insert(
        "intakes",
        {
            **last_intake,
            "contact_id": cid,
            "address_id": None,
            "created_at": now + timedelta(seconds=1),
            "updated_at": now,
        },
    )
    report = EconobisPull(store, _client(config, store, "coop-noord"), "coop-noord").run()
    assert report.merge.counts["resident"]["created"] == 1
    assert report.merge.counts["intake"]["created"] == 1
    assert str(iid) in [str(i) for i in _xref_ids(store, "coop-noord", "intake")]
    assert report.rows_read["contact"] == 1  # the contact grid is read from the id cursor on


def test_rows_with_equal_created_at_reordered_between_pages_are_not_lost(store, start_sandbox):
    import json as _json

    [sb] = start_sandbox(60, tenants=("coop-noord",), throttle_per_minute=100000)
    db = sb.sandbox.db
    same = db.tables["intakes"][db.ids["intakes"][0]]["created_at"]
    for i in db.ids["intakes"]:
        db.update("intakes", i, {"created_at": same})  # one big tie, like a bulk import in one second
    config = sandbox_hub_config([sb])
    client = _client(config, store, "coop-noord")
    # Naive offset paging over the tie loses rows (MySQL may order ties differently per query):
    naive: set[int] = set()
    for offset in range(0, len(db.ids["intakes"]), 7):
        page = client.grid_page("intake", limit=7, offset=offset, sorts=[{"field": "createdAt", "order": "asc"}])
        naive.update(r["id"] for r in page.rows)
    assert len(naive) < len(db.ids["intakes"]), "the sandbox must be as unkind as MySQL here"
    # The hub checks every window against meta.intakeIdsTotal and pages again for what it missed.
    report = EconobisPull(store, client, "coop-noord", page_size=7).run(streams=("contact", "intake"))
    assert report.repaged.get("intake", 0) >= 1
    assert _xref_ids(store, "coop-noord", "intake") == sorted(db.ids["intakes"])
    with store.begin() as conn:
        assert store.open_quarantine(conn, "coop-noord") == []
    assert _json.dumps(report.as_dict())  # the report stays JSON-serialisable for Dagster metadata
