"""The BAG lookup against the sandbox register built from the Econobis sandbox's true addresses: the sloppy
addresses resolve to one id, the seed cases become candidates, no wrong merge, a re-run asks nothing new."""

from __future__ import annotations

from collections import defaultdict

from connectors.bag.lookup import run
from connectors.bag.sandbox.server import sandbox_partner_config, start_bag
from connectors.econobis.client import EconobisClient
from connectors.econobis.mapping import dwelling_key_for
from connectors.econobis.sandbox.serializers import street_and_number
from connectors.econobis.sync import EconobisPull
from couplings.bag_econobis import true_addresses
from hub.connector import PartnerRun
from hub.identity.checks import shared_dwelling_keys, unkeyed_dwellings
from tests.conftest import sandbox_hub_config


def _world(store, start_sandbox, residents=150):
    running = start_sandbox(residents, throttle_per_minute=100000)[:1]
    config = sandbox_hub_config(running)
    tenant = running[0].tenant
    EconobisPull(store, EconobisClient.for_tenant(config.tenant(tenant), store), tenant).run()
    bag = start_bag([tenant], true_addresses({"econobis": running}))
    t = config.tenant(tenant)
    t.partners["bag"] = sandbox_partner_config(tenant, bag.server.port)
    return running[0], bag, config, t


def truth_by_dwelling(store, econobis, tenant) -> dict[str, set]:
    """canonical dwelling (following merges) → the true homes of the Econobis addresses behind it."""
    out: dict[str, set] = defaultdict(set)
    with store.begin() as conn:
        for aid, a in econobis.sandbox.db.tables["addresses"].items():
            key = dwelling_key_for(a["postal_code"], street_and_number(a))
            if key is None:
                continue
            did = store.lookup_ids(conn, "hub", tenant, "dwelling", [key]).get(key)
            if did is None:
                continue
            t = econobis.sandbox.true_addresses[aid]
            out[did].add((t["postcode"], t["number"], t["letter"], t["addition"]))
    return out


def test_lookup_resolves_sloppy_addresses_and_raises_candidates_without_a_wrong_merge(store, start_sandbox):
    econobis, bag, config, tenant = _world(store, start_sandbox)
    try:
        r = run(PartnerRun(store, config, tenant), False).metadata()
        assert r["asked"] == r["dutch_dwellings"] - r["unusable_addresses"] > 100
        assert r["resolved"] > 0.7 * r["asked"]
        assert r["match_candidates"] > 0
        figures = unkeyed_dwellings(store, tenant.id, {"NL"})
        assert figures["neither"] == 0, figures  # every Dutch dwelling: a BAG key or an open candidate
        assert shared_dwelling_keys(store, tenant.id) == {}
        wrong = {d: homes for d, homes in truth_by_dwelling(store, econobis, tenant.id).items() if len(homes) > 1}
        assert wrong == {}, "a canonical dwelling holds two true homes"
        again = run(PartnerRun(store, config, tenant), False).metadata()
        assert again["asked"] == 0 and again["fresh_answers_kept"] == r["asked"]
        full = run(PartnerRun(store, config, tenant), True).metadata()
        assert full["asked"] == 0  # answers younger than recheck_days are kept even on a full run
    finally:
        bag.stop()
