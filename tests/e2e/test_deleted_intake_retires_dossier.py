"""An intake deleted in Econobis retires its dossier (phase stopped, reason deleted_in_source) and the mart stops
counting it: the review's demo-store case (16 such dossiers stayed in the mart after a backfill). A replay of the
pull changes nothing. Also: every dossier has a phase_since, and an intake carries its sign-up channel."""

from __future__ import annotations

import duckdb
from sqlalchemy import select

from connectors.econobis.sync import EconobisPull
from hub.mart import build_mart
from hub.store import tables as t
from tests.conftest import sandbox_hub_config
from tests.connectors.econobis.sandbox_helpers import delete, records
from tests.e2e.test_pull_flow import _client

TENANT = "coop-noord"


def dossier_of(store, intake_external: int) -> dict:
    with store.begin() as conn:
        intake = store.lookup_ids(conn, "econobis", TENANT, "intake", [str(intake_external)])[str(intake_external)]
        did = store.lookup_ids(conn, "hub", TENANT, "dossier", [intake])[intake]
        return store.load_entities(conn, [did], tenant=TENANT)[did]


def test_deleted_intakes_retire_their_dossiers_and_leave_the_mart(store, start_sandbox, tmp_path):
    [sb] = start_sandbox(60, tenants=(TENANT,), id_shift=300, throttle_per_minute=100000)
    config = sandbox_hub_config([sb])
    EconobisPull(store, _client(config, store, TENANT), TENANT).run()
    before = build_mart(store, config, tmp_path / "before")
    doomed = [i["id"] for i in records(sb, "intakes")[:3]]
    for intake in doomed:
        delete(sb, "intakes", intake)

    second = EconobisPull(store, _client(config, store, TENANT), TENANT).run()
    assert second.changes["records_deleted"].get("intake") == 3
    for intake in doomed:
        d = dossier_of(store, intake)
        assert d["deleted_at"] is None  # kept for the coordinator
        assert d["data"]["phase"] == "stopped" and d["data"]["stop_reason"] == "deleted_in_source"

    after = build_mart(store, config, tmp_path / "after")
    assert after.rows["dossiers"] == before.rows["dossiers"] - 3
    con = duckdb.connect(str(after.path), read_only=True)
    try:
        assert con.sql(f"SELECT retired_dossiers FROM mart_meta WHERE tenant = '{TENANT}'").fetchall() == [(3,)]
        assert con.sql("SELECT count(*) FROM dossiers WHERE phase_since IS NULL").fetchall() == [(0,)]
        channels = dict(con.sql("SELECT channel, count(*) FROM dossiers GROUP BY 1").fetchall())
        assert len(channels) >= 4 and "web_form" in channels and "phone" in channels, channels
    finally:
        con.close()

    # a replay (the same pull again) changes nothing
    with store.begin() as conn:
        events = store.count_journey_events(conn, TENANT)
        versions = dict(conn.execute(select(t.entities.c.canonical_id, t.entities.c.version)).all())
    EconobisPull(store, _client(config, store, TENANT), TENANT).run()
    with store.begin() as conn:
        assert store.count_journey_events(conn, TENANT) == events
        assert dict(conn.execute(select(t.entities.c.canonical_id, t.entities.c.version)).all()) == versions
