"""Woningpas against the other partners' values for the same home (survivorship), its journey contributions (a
better EPC after the dossier opened is execution; a near renovation deadline on an early dossier goes on the
follow-up list), and the report upload: once, with consent, through the outbox."""

from __future__ import annotations

from datetime import timedelta

import pytest

from connectors.woningpas.client import WoningpasClient
from connectors.woningpas.sandbox.credentials import private_pem
from connectors.woningpas.settings import OBLIGATION_FOLLOW_UP, PARTNER
from connectors.woningpas.upload import WoningpasPush, plan_uploads
from hub.canonical import DwellingFile
from hub.canonical.survivorship import ECONOBIS, HOOM_COACH
from hub.consent import Purpose, record
from hub.documents import store_document
from hub.followup import open_follow_ups
from hub.merge import Incoming, MergeStats, merge
from hub.store import utcnow
from tests.connectors.woningpas.hub_helpers import TENANT, entities, hub_tenant, pull, seed_residents
from tests.connectors.woningpas.wp_helpers import CLIENT, admin


@pytest.fixture
def key_file(tmp_path, key):
    path = tmp_path / "woningpas.pem"
    path.write_bytes(private_pem(key))
    path.chmod(0o600)
    return path


def _one(wp, pred):
    world = wp.sandbox.world
    for insz, held in sorted(world.holdings.items()):
        unit = world.units[held[0][0]]
        if len(held) == 1 and len(unit.holders) == 1 and pred(unit):
            return insz, unit
    raise AssertionError("no such unit in the seed")


def _file(store, dwelling_id, source, ref, **values):
    with store.begin() as conn:
        fid = store.resolve_ids(conn, source, TENANT, "housing-file", [ref])[ref]
        merge(store, conn, [Incoming(DwellingFile(id=fid, tenant=TENANT, dwelling_id=dwelling_id, **values), source,
                                     ref, utcnow())], MergeStats())  # fmt: skip
    return fid


def test_woningpas_wins_build_year_type_area_and_label_over_econobis_and_hoomdossier(wp, store, key_file):
    insz, unit = _one(wp, lambda u: bool(u.epcs))
    (rid,) = seed_residents(store, wp, [insz]).values()
    (dwelling,) = entities(store, "dwelling")
    fid = _file(store, dwelling["_id"], ECONOBIS, "hf-1", build_year=1930, surface_m2=90.0,
                building_type="Tussenwoning", energy_label="G")  # fmt: skip
    coach = {"build_year": 1931, "surface_m2": 95.0, "roof_type": "Zadeldak", "energy_label": "E"}
    with store.begin() as conn:
        merge(store, conn, [Incoming(DwellingFile(id=fid, tenant=TENANT, dwelling_id=dwelling["_id"], **coach),
                                     HOOM_COACH, "b-1", utcnow(), fields=frozenset(coach))], MergeStats())  # fmt: skip
    pull(store, hub_tenant(wp, key_file), [rid], full=True)
    (f,) = entities(store, "dwelling_file")
    assert f["_id"] == fid, "Woningpas joined the dossier's own dwelling file"
    assert (f["build_year"], f["surface_m2"], f["building_type"], f["energy_label"]) == (
        unit.bouwjaar, float(unit.bruto_vloeroppervlakte), unit.building_type, unit.epcs[-1].label,
    )  # fmt: skip
    assert f["roof_type"] == "Zadeldak", "what Woningpas does not know stays the coach's"
    # Econobis and the coach say their values again: Woningpas' still stand
    _file(store, dwelling["_id"], ECONOBIS, "hf-1", build_year=1930, surface_m2=90.0, building_type="Tussenwoning",
          energy_label="G")  # fmt: skip
    with store.begin() as conn:
        merge(store, conn, [Incoming(DwellingFile(id=fid, tenant=TENANT, dwelling_id=dwelling["_id"], **coach),
                                     HOOM_COACH, "b-1", utcnow(), fields=frozenset(coach))], MergeStats())  # fmt: skip
    (f,) = entities(store, "dwelling_file")
    assert (f["build_year"], f["energy_label"]) == (unit.bouwjaar, unit.epcs[-1].label)
    with store.begin() as conn:
        owners = store.load_provenance(conn, [fid], tenant=TENANT)[fid]
    assert {owners[k]["source"] for k in ("build_year", "surface_m2", "building_type", "energy_label")} == {PARTNER}
    assert owners["roof_type"]["source"] == HOOM_COACH


def test_a_better_epc_after_the_dossier_opened_is_execution(wp, store, key_file):
    insz, unit = _one(wp, lambda u: bool(u.epcs) and u.epcs[-1].label in ("E", "F"))
    (rid,) = seed_residents(store, wp, [insz]).values()
    tenant = hub_tenant(wp, key_file)
    pull(store, tenant, [rid], full=True)
    (dossier,) = entities(store, "dossier")
    assert dossier["phase"] == "interest"
    admin(wp, "POST", "/changes", json={"gebouweenheidId": unit.gebouweenheid_id, "sectie": "energie"})
    pull(store, tenant, [rid])
    (dossier,) = entities(store, "dossier")
    assert dossier["phase"] == "execution"
    with store.begin() as conn:
        events = [e for e in store.journey_events(conn, TENANT) if e["phase"] == "execution"]
    assert len(events) == 1 and events[0]["occurred_at"].date() == wp.sandbox.now().date()


def test_a_near_renovation_deadline_on_an_early_dossier_goes_on_the_follow_up_list(
    wp, store, key_file, monkeypatch, tmp_path
):
    insz, unit = _one(wp, lambda u: bool(u.purchase and u.purchase.obligation and not u.obligation_met()[0]))
    (rid,) = seed_residents(store, wp, [insz]).values()
    deadline = unit.purchase.deadline
    tenant = hub_tenant(wp, key_file)
    today = deadline - timedelta(days=200)
    p = pull(store, tenant, [rid], full=True, warn_days=365, today=today)
    assert p.report.follow_ups_raised == 1
    with store.begin() as conn:
        (task,) = open_follow_ups(store, conn, TENANT, OBLIGATION_FOLLOW_UP)
    assert task["due_on"] == deadline.isoformat() and "200 days left" in task["reason"]
    again = pull(store, tenant, [rid], full=True, warn_days=365, today=today).report
    assert again.follow_ups_raised == 0
    far = pull(store, tenant, [rid], full=True, warn_days=30, today=today).report
    assert far.follow_ups_closed == 1  # no longer near by this tenant's setting: closed
    import duckdb

    from hub.config import HubConfig
    from hub.mart import build_mart

    monkeypatch.setenv("HUB_MART_PSEUDONYM_KEY", "test-key-" + "x" * 32)
    result = build_mart(store, HubConfig(tenants=[tenant], source="test"), tmp_path / "mart")
    con = duckdb.connect(str(result.path), read_only=True)
    try:
        row = con.sql("SELECT obligation_deadline, obligation_met FROM dossiers").fetchall()[0]
        assert row == (deadline, False)
        assert con.sql("SELECT count(*) FROM follow_ups").fetchall()[0][0] == 1
    finally:
        con.close()


def test_the_report_is_uploaded_once_with_consent_even_when_the_answer_is_lost(wp, store, key_file):
    insz, _unit = _one(wp, lambda u: True)
    (rid,) = seed_residents(store, wp, [insz]).values()
    tenant = hub_tenant(wp, key_file, budget_per_minute=1e6)
    pull(store, tenant, [rid], full=True)
    (f,) = entities(store, "dwelling_file")
    pdf = b"%PDF-1.4\n% coach report (test)\n%%EOF\n"
    with store.begin() as conn:
        store_document(store, conn, TENANT, f["_id"], pdf)
    assert plan_uploads(store, TENANT, ("desk-report",)) == 1
    assert plan_uploads(store, TENANT, ("desk-report",)) == 0

    def run():
        return WoningpasPush(store, WoningpasClient.for_tenant(tenant, store), TENANT).run()

    assert run().withheld == 1  # no consent to share with Woningpas yet
    with store.begin() as conn:
        record(store, conn, TENANT, rid, Purpose.SHARE_WITH_PARTNER, PARTNER, True, "coordinator", "coordinator:desk")
    # the first upload is stored but its answer is lost (a 503 after processing): the repeat, with the same
    # Idempotency-Key, answers the same document
    rule = {"route": "/woningpas/v1/gebouweenheden/*/documenten", "method": "POST", "burst_every": 1000,
            "burst_length": 1, "after_processing": True}  # fmt: skip
    admin(wp, "POST", "/faults", json={"rules": [rule]})
    sent = run()
    assert sent.sent == 1
    assert wp.sandbox.faults.injected.get("burst") == 1
    reports = [d for d in wp.sandbox.world.documents.values() if d.toegevoegd_door == CLIENT]
    assert len(reports) == 1 and reports[0].type == "verslag"
    assert run().claimed == 0
