"""The sandbox's admin `POST /__sandbox/holders`: a demo resident becomes the holder of the unit at their
address (made with the seed's generators when none exists), with a checksum-valid INSZ that follows from the
input alone; the mandate and the pass then work as for a seeded holder."""

from __future__ import annotations

import requests

from connectors.woningpas.insz import valid_insz
from tests.connectors.woningpas.wp_helpers import CLIENT, admin, mandate

LOTTE = {
    "first_name": "Lotte",
    "last_name": "Peeters",
    "street": "Tervuursesteenweg",
    "number": "118",
    "box": "0101",
    "postcode": "3001",
    "municipality": "Heverlee",
}


def test_a_holder_is_made_deterministically_with_a_valid_insz_and_a_unit_at_the_address(start_wp):
    one, other = start_wp(), start_wp()
    made = admin(one, "POST", "/holders", json=LOTTE)
    assert valid_insz(made["insz"]) and made["created"] is True
    assert made == admin(other, "POST", "/holders", json=LOTTE)  # the same input, the same answer
    again = requests.post(f"{one.base_url}/__sandbox/holders", json=LOTTE, timeout=10)
    assert again.status_code == 200 and {**again.json(), "created": True} == made  # nothing new the second time
    unit = one.sandbox.world.units[made["gebouweenheid_id"]]
    assert (unit.address.straat, unit.address.huisnummer, unit.address.busnummer) == (
        "Tervuursesteenweg",
        "118",
        "0101",
    )
    assert (unit.address.postcode, unit.address.gemeente, unit.building_type) == ("3001", "Leuven", "appartement")
    assert unit.epcs and made["epc_labels"] == [e.label for e in unit.epcs]
    assert (made["insz"], "eigenaar") in unit.holders
    assert one.sandbox.world.by_address[made["adres_object_id"]] == made["gebouweenheid_id"]

    mandate(one, made["insz"])  # the admin mandates endpoint accepts the new holder
    assert [p["gebouweenheidId"] for p in one.sandbox.properties(CLIENT, made["insz"])] == [made["gebouweenheid_id"]]


def test_the_obligation_can_be_forced_and_bad_input_is_refused(wp):
    forced = admin(wp, "POST", "/holders", json={**LOTTE, "number": "7", "box": None, "obligation": True})
    assert forced["renovation_obligation"] is True
    unit = wp.sandbox.world.units[forced["gebouweenheid_id"]]
    assert unit.building_type == "eengezinswoning" and unit.purchase is not None
    assert unit.purchase.label_bij_akte in ("E", "F") and not unit.obligation_met()[0]
    none = admin(wp, "POST", "/holders", json={**LOTTE, "number": "9", "obligation": False})
    assert none["renovation_obligation"] is False
    for bad in ({**LOTTE, "postcode": "1000"}, {**LOTTE, "street": ""}, {**LOTTE, "obligation": "yes"}):
        resp = requests.post(f"{wp.base_url}/__sandbox/holders", json=bad, timeout=10)
        assert resp.status_code == 400, bad
