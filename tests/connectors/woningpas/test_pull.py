"""The Woningpas pull against the sandbox over HTTP: every EPC and building fact of the mandated residents'
units in the store, joined with the dwelling the intake named; a re-read changes nothing; the change feed reads
only what changed; a section reported unavailable keeps what the hub knew and is read again; a doubtful join is a
match candidate; a pass that does not fit is quarantined; a missing mandate is recorded."""

from __future__ import annotations

import pytest

from connectors.woningpas.pull import decide_match
from connectors.woningpas.sandbox.credentials import private_pem
from connectors.woningpas.settings import MATCH_FOLLOW_UP, PARTNER
from hub.consent import Purpose, allowed_residents
from hub.followup import open_follow_ups
from tests.connectors.woningpas.hub_helpers import (
    TENANT,
    entities,
    hub_tenant,
    pull,
    sandbox_epcs,
    seed_residents,
    store_epcs,
)
from tests.connectors.woningpas.wp_helpers import admin


@pytest.fixture
def key_file(tmp_path, key):
    path = tmp_path / "woningpas.pem"
    path.write_bytes(private_pem(key))
    path.chmod(0o600)
    return path


def _holders(wp, n: int) -> list[str]:
    """n holders with one unit each (plus the example holder of several units)."""
    world = wp.sandbox.world
    several = wp.sandbox.examples()["holder_of_several"]
    taken = {u for u, _ in world.holdings[several]}
    chosen = []
    for insz, held in sorted(world.holdings.items()):
        units = {u for u, _ in held}
        if len(chosen) < n - 1 and len(held) == 1 and not units & taken:
            chosen.append(insz)
            taken |= units
    return [*chosen, several]


def _units(wp, holders: list[str]) -> int:
    return len({u for h in holders for u, _ in wp.sandbox.world.holdings[h]})


def test_full_pull_stores_every_epc_and_fact_joined_with_the_intakes_dwelling(wp, store, key_file):
    holders = _holders(wp, 12)
    residents = seed_residents(store, wp, holders)
    tenant = hub_tenant(wp, key_file)
    seeded = {d["resident_id"]: d["_id"] for d in entities(store, "dwelling")}
    report = pull(store, tenant, list(residents.values()), full=True).report
    assert report.units_read == _units(wp, holders)
    assert report.quarantined == report.match_candidates == report.pending_units == 0

    expected = sandbox_epcs(wp, holders)
    got = store_epcs(store)
    assert set(got) == set(expected)
    for number, e in expected.items():
        assert got[number]["label"] == e["label"] and got[number]["score_kwh_m2_year"] == e["score"]
        assert got[number]["current"] == (e["status"] == "Geldig")
    dwellings = {d["dwelling_key"]: d for d in entities(store, "dwelling")}
    world = wp.sandbox.world
    for insz, rid in residents.items():
        first = world.holdings[insz][0][0]
        d = dwellings[f"be:vl:geu:{first}"]
        assert d["_id"] == seeded[rid], "the unit is the dwelling the intake named (no second record)"
        assert d["identifiers"]["be:vl:adr"] == str(world.units[first].address.adres_object_id)
    files = {f["dwelling_id"]: f for f in entities(store, "dwelling_file")}
    for d in dwellings.values():
        unit = world.units[int(d["identifiers"]["be:vl:geu"])]
        f = files[d["_id"]]
        assert (f["build_year"], f["surface_m2"], f["building_type"]) == (
            unit.bouwjaar,
            unit.bruto_vloeroppervlakte,
            unit.building_type,
        )
        assert f["energy_label"] == (unit.epcs[-1].label if unit.epcs else None)
        assert len(f["permits"]) == len(unit.vergunningen)
        assert (f["electrical_inspection"] or {}).get("date") == (unit.elektriciteit or {}).get("keuringsdatum")

    again = pull(store, tenant, list(residents.values()), full=True).report
    assert again.merge.total("created") == again.merge.total("updated") == 0


def test_the_feed_reads_only_what_changed_and_the_obligation_reaches_the_dossier(wp, store, key_file):
    holders = _holders(wp, 6)
    residents = seed_residents(store, wp, holders)
    tenant = hub_tenant(wp, key_file)
    pull(store, tenant, list(residents.values()), full=True)
    unit = wp.sandbox.world.holdings[holders[0]][0][0]
    admin(wp, "POST", "/changes", json={"gebouweenheidId": unit, "sectie": "renovatieverplichting"})
    report = pull(store, tenant, list(residents.values())).report
    assert report.units_read == 1 and report.feed_changes >= 1
    dossier = next(d for d in entities(store, "dossier") if d["resident_id"] == residents[holders[0]])
    ob = wp.sandbox.world.units[unit].purchase
    if ob is not None and ob.obligation:
        assert dossier["renovation_obligation"]["deadline"] == ob.deadline.isoformat()
        assert dossier["renovation_obligation"]["required_label"] == "D"
    quiet = pull(store, tenant, list(residents.values())).report
    assert quiet.units_read == 0 and quiet.merge.total("updated") == 0


def test_a_section_unavailable_keeps_what_the_hub_knows_and_is_read_again(wp, store, key_file):
    holders = _holders(wp, 8)
    residents = seed_residents(store, wp, holders)
    tenant = hub_tenant(wp, key_file)
    pull(store, tenant, list(residents.values()), full=True)
    before = store_epcs(store)
    files_before = {f["_id"]: f for f in entities(store, "dwelling_file")}
    admin(wp, "POST", "/sources", json={"down": ["VEKA", "OVAM"]})
    down = pull(store, tenant, list(residents.values()), full=True).report
    assert down.pending_units == down.units_read > 0
    assert store_epcs(store) == before
    for f in entities(store, "dwelling_file"):
        assert f["energy_label"] == files_before[f["_id"]]["energy_label"]
        assert f["asbestos_inventory"] == files_before[f["_id"]]["asbestos_inventory"]
    admin(wp, "POST", "/sources", json={"down": []})
    healed = pull(store, tenant, list(residents.values())).report
    assert healed.units_read == down.units_read and healed.pending_units == 0
    assert healed.merge.total("updated") == 0  # nothing had changed meanwhile


def test_a_doubtful_join_is_a_match_candidate_until_a_coordinator_decides(wp, store, key_file):
    holders = _holders(wp, 3)[:2]

    def typed(unit):  # the sub-municipality's postcode and an abbreviated street
        a = unit.address
        return a.straat.replace("straat", "str."), a.huisnummer, a.busnummer, str(int(a.postcode) + 10)

    residents = seed_residents(store, wp, holders, typed=typed)
    tenant = hub_tenant(wp, key_file)
    report = pull(store, tenant, list(residents.values()), full=True).report
    assert report.match_candidates == 2 and report.units_read == 2
    assert not store_epcs(store), "nothing of a doubtful unit is imported"
    with store.begin() as conn:
        tasks = open_follow_ups(store, conn, TENANT, MATCH_FOLLOW_UP)
    assert len(tasks) == 2 and all("postcode" in t["reason"] for t in tasks)
    confirm, reject = tasks
    decide_match(store, TENANT, confirm["detail"]["gebouweenheid"], confirm["detail"]["candidate_dwelling"])
    decide_match(store, TENANT, reject["detail"]["gebouweenheid"], None)
    after = pull(store, tenant, list(residents.values()), full=True).report
    assert after.match_candidates == 0
    dwellings = {d["_id"]: d for d in entities(store, "dwelling")}
    assert dwellings[confirm["detail"]["candidate_dwelling"]]["dwelling_key"].startswith("be:vl:geu:")
    assert dwellings[reject["detail"]["candidate_dwelling"]]["dwelling_key"].startswith("be:addr:")
    assert len(dwellings) == 3
    with store.begin() as conn:
        assert not open_follow_ups(store, conn, TENANT, MATCH_FOLLOW_UP)


def test_a_pass_that_does_not_fit_is_quarantined_and_the_others_go_on(wp, store, key_file, monkeypatch):
    from connectors.woningpas.client import WoningpasClient

    holders = _holders(wp, 5)
    residents = seed_residents(store, wp, holders)
    tenant = hub_tenant(wp, key_file)
    bad = wp.sandbox.world.holdings[holders[0]][0][0]
    real = WoningpasClient.passport

    def broken(self, unit_id):
        body = real(self, unit_id)
        if unit_id == bad:
            body["adres"]["postcode"] = "30OO"
        return body

    monkeypatch.setattr(WoningpasClient, "passport", broken)
    report = pull(store, tenant, list(residents.values()), full=True).report
    assert report.quarantined == 1 and report.units_read == _units(wp, holders)
    with store.begin() as conn:
        (entry,) = store.open_quarantine(conn, TENANT)
    assert entry["source"] == PARTNER and entry["external_id"].startswith(f"{bad}@")
    assert "adres.postcode" in entry["reason"] and "30OO" not in entry["reason"]
    monkeypatch.setattr(WoningpasClient, "passport", real)
    from connectors.woningpas.client import WoningpasClient as C
    from connectors.woningpas.pull import WoningpasPull

    WoningpasPull(store, C.for_tenant(tenant, store), TENANT).reread([entry["external_id"]])
    with store.begin() as conn:
        assert not store.open_quarantine(conn, TENANT)
    assert f"be:vl:geu:{bad}" in {d["dwelling_key"] for d in entities(store, "dwelling")}


def test_a_mandate_woningpas_no_longer_knows_is_recorded_withdrawn(wp, store, key_file):
    holders = _holders(wp, 3)
    residents = seed_residents(store, wp, holders)
    gone = next(m for m in wp.sandbox.mandates.values() if m.insz == holders[0])
    wp.sandbox.revoke_mandate(gone.mandaat_id)
    tenant = hub_tenant(wp, key_file)
    report = pull(store, tenant, list(residents.values()), full=True).report
    assert report.mandates_missing == 1
    allowed, withheld = allowed_residents(store, TENANT, list(residents.values()), Purpose.FETCH_UNDER_MANDATE, PARTNER)
    assert withheld == [residents[holders[0]]] and len(allowed) == 2


def test_the_change_sensor_only_detects_and_asks_once_per_newest_change(wp, store, key_file, tmp_path, monkeypatch):
    """`woningpas_change_sensor`: nothing before the first pull (the sync reads everything), nothing while the
    feed holds nothing new, one run request per newest change (a duplicate tick asks for the same run), and
    nothing again once the pull has read it. It never reads a pass itself."""
    import yaml
    from dagster import DagsterInstance, build_sensor_context

    from assets import HubConfigResource, StateStoreResource
    from schedules import woningpas_change_sensor

    monkeypatch.setenv("HUB_MART_PSEUDONYM_KEY", "change-sensor-test-pseudonym-key")  # a real (loopback) tenant
    holders = _holders(wp, 3)
    residents = seed_residents(store, wp, holders)
    tenant = hub_tenant(wp, key_file)
    cfg = tmp_path / "hub.yaml"
    cfg.write_text(yaml.safe_dump({"tenants": [tenant.model_dump()]}), encoding="utf-8")
    url = store.engine.url.render_as_string(hide_password=False)
    resources = {
        "hub_config": HubConfigResource(config_path=str(cfg)),
        "state_store": StateStoreResource(database_url=url),
    }

    def tick(cursor=None):
        with DagsterInstance.ephemeral() as instance:
            return woningpas_change_sensor(build_sensor_context(instance=instance, cursor=cursor, resources=resources))

    assert not tick().run_requests  # no pull yet: the sync's first pull reads everything
    pull(store, tenant, list(residents.values()), full=True)
    assert not tick().run_requests
    served = wp.sandbox.requests_served
    unit = wp.sandbox.world.holdings[holders[0]][0][0]
    admin(wp, "POST", "/changes", json={"gebouweenheidId": unit, "sectie": "energie"})
    first = tick()
    [request] = first.run_requests
    assert request.partition_key == TENANT and request.job_name in (None, "woningpas_pull_job")
    assert [r.run_key for r in tick(first.cursor).run_requests] == [request.run_key]  # a duplicate tick
    assert wp.sandbox.requests_served - served <= 4  # a token and one feed page per tick, no pass read
    pull(store, tenant, list(residents.values()))
    assert not tick(first.cursor).run_requests


def test_a_read_pass_gives_the_dwelling_its_municipality_nis_code_and_deelgemeente(wp, store, key_file):
    holders = _holders(wp, 4)
    residents = seed_residents(store, wp, holders)
    pull(store, hub_tenant(wp, key_file), list(residents.values()), full=True)
    areas = [d["area"] for d in entities(store, "dwelling") if d.get("area")]
    assert areas
    for a in areas:
        nis, _, postcode = a["neighbourhood_code"].partition("-")
        assert (a["country"], a["level"], a["source"]) == ("BE", "deelgemeente", "woningpas")
        assert nis == a["municipality_code"] and len(nis) == 5 and len(postcode) == 4
        assert a["municipality_name"] and a["neighbourhood_name"]
