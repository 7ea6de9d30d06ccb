"""Flow test: the Woningpas connector as the registry runs it (its declared mandated pull and its push), against
the sandbox over HTTP under faults — 429s with Retry-After, 503 bursts, a source down during the first read, a
lost answer on an upload — ends with exactly the sandbox's EPCs and building facts in the store and one upload
per report."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from connectors.woningpas.client import SHARED_TOKENS
from connectors.woningpas.connector import CONNECTOR
from connectors.woningpas.sandbox.credentials import new_private_key, private_pem, public_pem
from connectors.woningpas.sandbox.server import start_woningpas
from connectors.woningpas.sandbox.state import WoningpasSandbox
from connectors.woningpas.settings import PARTNER
from hub.config import HubConfig
from hub.connector import PartnerRun
from hub.consent import Purpose, record
from hub.documents import store_document
from hub.sandbox.runtime import SimClock
from tests.connectors.woningpas.hub_helpers import (
    TENANT,
    entities,
    hub_tenant,
    sandbox_epcs,
    seed_residents,
    store_epcs,
)
from tests.connectors.woningpas.wp_helpers import CLIENT, admin


@pytest.fixture
def wp() -> Iterator:
    key = new_private_key()
    sb = WoningpasSandbox(dwellings=120, clock=SimClock())
    sb.register_client(CLIENT, public_pem(key))
    running = start_woningpas(sb)
    running.key = key  # type: ignore[attr-defined]
    SHARED_TOKENS.clear()
    yield running
    running.stop()
    SHARED_TOKENS.clear()


def _holders(wp, n):
    world, chosen, taken = wp.sandbox.world, [], set()
    for insz, held in sorted(world.holdings.items()):
        units = {u for u, _ in held}
        if len(chosen) < n and not units & taken and all(len(world.units[u].holders) == 1 for u in units):
            chosen.append(insz)
            taken |= units
    return chosen


def test_pull_and_upload_under_faults_end_with_exactly_the_sandboxs_data(wp, store, tmp_path):
    key_file = tmp_path / "wp.pem"
    key_file.write_bytes(private_pem(wp.key))
    holders = _holders(wp, 15)
    residents = seed_residents(store, wp, holders)
    # one resident withdrew the mandate at the desk: never fetched, even though Woningpas would answer
    with store.begin() as conn:
        record(store, conn, TENANT, residents[holders[-1]], Purpose.FETCH_UNDER_MANDATE, PARTNER, False,
               "coordinator", "coordinator:desk")  # fmt: skip
    tenant = hub_tenant(wp, key_file)
    run = PartnerRun(store=store, config=HubConfig(tenants=[tenant], source="test"), tenant=tenant)
    faults = [
        {"route": "/woningpas/v1/*", "method": "GET", "throttle_rate": 0.15, "retry_after": 1},
        {"route": "/woningpas/v1/gebouweenheden/*", "method": "GET", "burst_every": 9, "burst_length": 1},
    ]
    admin(wp, "POST", "/faults", json={"rules": faults})
    admin(wp, "POST", "/sources", json={"down": ["OVAM"]})

    assert CONNECTOR.pull is not None and CONNECTOR.pull.mandate is not None
    first = CONNECTOR.pull.run(run, True).metadata()
    assert first["fetched_for"] == len(holders) - 1 and first["withheld_without_mandate"] == 1
    assert first["pending_units"] > 0  # OVAM's sections were unavailable
    assert first["partner_retries"] > 0

    admin(wp, "POST", "/sources", json={"down": []})
    unit = wp.sandbox.world.holdings[holders[0]][0][0]
    admin(wp, "POST", "/changes", json={"gebouweenheidId": unit, "sectie": "energie"})
    second = CONNECTOR.pull.run(run, False).metadata()
    assert second["pending_units"] == 0

    mandated = holders[:-1]
    expected = sandbox_epcs(wp, mandated)
    got = store_epcs(store)
    assert set(got) == set(expected)
    assert all(got[n]["label"] == e["label"] and got[n]["current"] == (e["status"] == "Geldig")
               for n, e in expected.items())  # fmt: skip
    world = wp.sandbox.world
    files = {f["dwelling_id"]: f for f in entities(store, "dwelling_file")}
    dwellings = {d["_id"]: d for d in entities(store, "dwelling")}
    units = {int(d["identifiers"]["be:vl:geu"]): did for did, d in dwellings.items() if d.get("identifiers")}
    assert set(units) == {u for h in mandated for u, _ in world.holdings[h]}
    for u, did in units.items():
        f, s = files[did], world.units[u]
        assert (f["build_year"], f["surface_m2"], f["building_type"]) == (s.bouwjaar, s.bruto_vloeroppervlakte,
                                                                          s.building_type)  # fmt: skip
        assert (f["asbestos_inventory"] or {}).get("reference") == (s.asbest or {}).get("attestnummer")
        assert (f["soil_certificate"] or {}).get("reference") == (s.bodem or {}).get("attest_id")
        assert [p["reference"] for p in f["permits"]] == [v["omgevingsvergunning_nr"] for v in s.vergunningen]

    # two reports, consent to share them with Woningpas; the first answer of each upload is lost
    with_report = [residents[h] for h in holders[:2]]
    for rid in with_report:
        did = next(d for d in dwellings.values() if d.get("resident_id") == rid)["_id"]
        with store.begin() as conn:
            store_document(store, conn, TENANT, files[did]["_id"], f"%PDF-1.4\n% report {rid}\n%%EOF\n".encode())
            record(store, conn, TENANT, rid, Purpose.SHARE_WITH_PARTNER, PARTNER, True, "coordinator", "c:desk")
    admin(wp, "POST", "/faults", json={"rules": [
        {"route": "/woningpas/v1/gebouweenheden/*/documenten", "method": "POST", "burst_every": 2, "burst_length": 1,
         "after_processing": True},
    ]})  # fmt: skip
    assert CONNECTOR.push is not None
    pushed = CONNECTOR.push.run(run).metadata()
    assert pushed["uploads_planned"] == 2 and pushed["sent"] == 2
    again = CONNECTOR.push.run(run).metadata()
    assert again["uploads_planned"] == 0 and again["sent"] == 0
    uploads = [d for d in world.documents.values() if d.toegevoegd_door == CLIENT and d.verwijderd_op is None]
    assert len(uploads) == 2 and {d.type for d in uploads} == {"verslag"}

    # and a re-read changes nothing
    quiet = CONNECTOR.pull.run(run, True).metadata()
    assert quiet["created"] == quiet["updated"] == 0
