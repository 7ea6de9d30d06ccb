"""Benchmark: one home, one id. A full Econobis pull of the sandbox (its sloppy addresses and households included),
then the BAG lookup (hub/identity/resolve.py decides) and the EP-Online lookup, against sandboxes seeded as the
demo seeds them (couplings/bag_econobis.py), at several sizes.

    python bench/identity.py                     # 200, 800 and 2,000 residents
    python bench/identity.py --sizes 400

Per size: Dutch dwellings and the true homes behind them, the share resolved to one verblijfsobject id, the
candidates raised by reason, dwellings with neither, wrong merges (a canonical dwelling holding two true homes:
must be 0), calls, lookup time and throughput (BAG's budget is 45 calls/s), EP-Online's labels, the renovated
dossiers with a label before and after, peak RSS. Prints a table and writes bench/results/identity.json."""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, TENANT, client_for


def run_size(residents: int) -> dict[str, object]:
    from connectors.bag.lookup import run as bag_run
    from connectors.bag.sandbox.server import sandbox_partner_config as bag_config
    from connectors.bag.sandbox.server import start_bag
    from connectors.econobis.sandbox.server import start_sandboxes, stop_sandboxes
    from connectors.econobis.sync import EconobisPull
    from connectors.ep_online.pull import run as ep_run
    from connectors.ep_online.sandbox.server import sandbox_partner_config as ep_config
    from connectors.ep_online.sandbox.server import start_ep_online
    from couplings.bag_econobis import renovations, true_addresses
    from hub.config import HubConfig
    from hub.connector import PartnerRun
    from hub.identity.checks import shared_dwelling_keys, unkeyed_dwellings
    from hub.labels import before_after
    from hub.store import Store
    from tests.connectors.bag.test_lookup import truth_by_dwelling

    [sb] = start_sandboxes(residents, tenants=(TENANT,), throttle_per_minute=10**9)
    bag = start_bag([TENANT], true_addresses({"econobis": [sb]}))
    ep = start_ep_online([TENANT], bag.sandbox.register.all_objects(), renovations({"econobis": [sb], "bag": bag}))
    try:
        with tempfile.TemporaryDirectory() as tmp:
            store = Store.open(f"sqlite:///{tmp}/hub.sqlite")
            client, tenant = client_for(sb.server.port, store)
            EconobisPull(store, client, TENANT, page_size=500).run()
            tenant.partners["bag"] = bag_config(TENANT, bag.server.port)
            tenant.partners["ep_online"] = ep_config(TENANT, ep.server.port)
            config = HubConfig(tenants=[tenant])
            t0 = time.monotonic()
            b = bag_run(PartnerRun(store, config, tenant), False).metadata()
            bag_s = time.monotonic() - t0
            t1 = time.monotonic()
            e = ep_run(PartnerRun(store, config, tenant), False).metadata()
            ep_s = time.monotonic() - t1
            again = bag_run(PartnerRun(store, config, tenant), False).metadata()
            figures = unkeyed_dwellings(store, TENANT, {"NL"})
            shared = shared_dwelling_keys(store, TENANT)
            truth = truth_by_dwelling(store, sb, TENANT)
            labels = before_after(store, TENANT).metadata()
            store.dispose()
    finally:
        ep.stop()
        bag.stop()
        stop_sandboxes([sb])
    homes = {h for hs in truth.values() for h in hs}
    asked = max(1, int(b["asked"]))
    return {
        "residents": residents,
        "dutch_dwellings": b["dutch_dwellings"],
        "true_homes": len(homes),
        "resolved": b["resolved"],
        "resolved_share": round(b["resolved"] / max(1, int(b["dutch_dwellings"])), 4),
        "candidates": b["match_candidates"],
        "candidates_by_reason": b.get("candidates_by_reason", {}),
        "neither_key_nor_candidate": figures["neither"],
        "shared_keys": len(shared),
        "wrong_merges": sum(1 for hs in truth.values() if len(hs) > 1),
        "bag_calls": b["register_calls"],
        "bag_seconds": round(bag_s, 2),
        "bag_dwellings_per_s": round(asked / bag_s, 1) if bag_s else None,
        "bag_rerun_asked": again["asked"],
        "ep_asked": e["asked"],
        "ep_by_object_id": e["asked_by_object_id"],
        "ep_with_label": e["with_label"],
        "ep_waiting_for_match": e["waiting_for_a_match_decision"],
        "ep_quarantined": e["registrations_quarantined"],
        "ep_seconds": round(ep_s, 2),
        "renovated_dossiers": labels["renovated_dossiers"],
        "label_before_and_after": labels["label_before_and_after"],
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="*", default=[200, 800, 2_000])
    args = ap.parse_args()
    results = [run_size(n) for n in args.sizes]
    cols = ["residents", "dutch_dwellings", "true_homes", "resolved_share", "candidates", "neither_key_nor_candidate",
            "wrong_merges", "bag_calls", "bag_dwellings_per_s", "ep_with_label", "label_before_and_after",
            "peak_rss_mb"]  # fmt: skip
    print(" | ".join(cols))
    for r in results:
        print(" | ".join(str(r[c]) for c in cols))
        print("   candidates by reason:", r["candidates_by_reason"])
    out = ROOT / "bench" / "results" / "identity.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
