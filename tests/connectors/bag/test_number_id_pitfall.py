"""Hoomdossier's pitfall (contracts §3.4): its `bag_addressid` is a nummeraanduiding (type 20), not the
verblijfsobject (type 01) EP-Online and the hub key on. A dwelling that carries only that id is asked of BAG by it
and translated; the nummeraanduiding is kept as an identifier, never used as the key, and EP-Online is asked by
the verblijfsobject id."""

from __future__ import annotations

from datetime import date

import pytest

from connectors.bag.lookup import query_for
from connectors.bag.lookup import run as bag_run
from connectors.bag.sandbox.server import sandbox_partner_config as bag_config
from connectors.bag.sandbox.server import start_bag
from connectors.ep_online.pull import run as ep_run
from connectors.ep_online.sandbox.server import sandbox_partner_config as ep_config
from connectors.ep_online.sandbox.server import start_ep_online
from hub.canonical import Dwelling
from hub.canonical.keys import bag_dwelling_key
from hub.config import HubConfig, TenantConfig
from hub.connector import PartnerRun
from hub.merge import Incoming, MergeStats, merge
from hub.store import utcnow

HOMES = [{"postcode": "2594AN", "number": n, "letter": "", "addition": "", "street": "Laan", "city": "Den Haag"}
         for n in range(1, 30)]  # fmt: skip


def test_a_nummeraanduiding_id_is_refused_as_a_dwelling_key():
    with pytest.raises(ValueError, match="not a verblijfsobject"):
        bag_dwelling_key("0518200000000101")
    assert bag_dwelling_key("0518010000000101") == "nl:bag:vbo:0518010000000101"


def test_a_dwelling_with_only_a_number_id_is_translated_and_ep_online_asked_by_object(store):
    bag = start_bag(["t1"], HOMES, seed=1)
    ep = None
    try:
        reg = bag.sandbox.register
        home = next(a for a in reg.index if not a.side and "woonfunctie" in a.obj.gebruiksdoelen)
        ep = start_ep_online(["t1"], [o for o in reg.all_objects() if o["vbo_id"] == home.obj.vbo_id],
                             today=date(2026, 11, 1))  # fmt: skip
        # make sure the object has a label to find
        ep.sandbox.register.add(home.obj.vbo_id, "2024-05-01", 120.0)
        tenant = TenantConfig(
            id="t1",
            name="Coöperatie t1",
            partners={"bag": bag_config("t1", bag.server.port), "ep_online": ep_config("t1", ep.server.port)},
        )
        config = HubConfig(tenants=[tenant])
        with store.begin() as conn:
            d = Dwelling(id="dw1", tenant="t1", dwelling_key="nl:addr:HOOM|1", country="NL",
                         identifiers={"nl:bag:num": home.nummeraanduiding_id})  # fmt: skip
            merge(store, conn, [Incoming(d, "hoomdossier", "building:1", utcnow())], MergeStats())
        assert query_for(
            {"dwelling_key": "nl:addr:HOOM|1", "identifiers": {"nl:bag:num": home.nummeraanduiding_id}}
        ) == {"nummeraanduidingIdentificatie": home.nummeraanduiding_id}
        r = bag_run(PartnerRun(store, config, tenant), False).metadata()
        assert r["resolved"] == 1
        with store.begin() as conn:
            row = store.load_entities(conn, ["dw1"], tenant="t1")["dw1"]
        assert row["data"]["dwelling_key"] == f"nl:bag:vbo:{home.obj.vbo_id}"
        assert row["data"]["identifiers"]["nl:bag:num"] == home.nummeraanduiding_id
        assert row["data"]["postcode"] == "2594AN" and row["data"]["number"] == str(home.huisnummer)
        assert any(p.endswith(f"/adressenuitgebreid/{home.nummeraanduiding_id}") for _, p, _ in bag.sandbox.request_log)
        e = ep_run(PartnerRun(store, config, tenant), False).metadata()
        assert e["asked_by_object_id"] == 1 and e["with_label"] == 1
        paths = [p for _, p, _ in ep.sandbox.request_log]
        assert paths == [f"/api/v5/PandEnergielabel/AdresseerbaarObject/{home.obj.vbo_id}"]
        assert not any(home.nummeraanduiding_id in p for p in paths)
    finally:
        bag.stop()
        if ep is not None:
            ep.stop()
