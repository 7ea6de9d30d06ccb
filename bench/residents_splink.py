"""Benchmark: the tenant's residents scored as pairs with Splink (hub/identity/residents.py) after a full Econobis
pull of the sandbox (2,000 residents by default, its sloppy writing and households included).

    python bench/residents_splink.py                 # 2,000 residents
    python bench/residents_splink.py --sizes 500 2000

Prints a table and writes bench/results/residents_splink.json. Candidates are raised in the bench's own store."""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, TENANT, client_for


def inject(store, tenant: str, share: float = 0.03) -> dict[str, set[frozenset[str]]]:
    """What the sandbox does not write yet: a share of its residents written a second time by a desk (a typo in
    the first name with the same email; another email with the phone written another way; the same with the
    same BSN in both premium files) and as many housemates (same surname, home and landline, another first name
    and email). Returns the injected pairs by kind, to count what the scores found."""
    import random
    from datetime import UTC, datetime

    from hub.canonical import Intake, PremiumFile, Resident
    from hub.merge import Incoming, MergeStats, merge

    rng = random.Random(14)
    now = datetime(2026, 12, 1, tzinfo=UTC)
    truth: dict[str, set[frozenset[str]]] = {"typo": set(), "phone": set(), "bsn": set(), "housemate": set()}
    with store.begin() as conn:
        residents = {r["canonical_id"]: r for r in store.live_entities(conn, "resident", tenant)}
        homes = {d["parent_id"]: d for d in store.live_entities(conn, "dwelling", tenant)}
        people = sorted(rid for rid, r in residents.items() if r["data"].get("first_name") and rid in homes)
        chosen = rng.sample(people, int(len(people) * share) * 2)
        items = []
        for n, rid in enumerate(chosen):
            data, home = residents[rid]["data"], homes[rid]
            kind = "housemate" if n % 2 else ("typo", "phone", "bsn")[(n // 2) % 3]
            ext = f"bench-{n}"
            new = store.resolve_ids(conn, "desk", tenant, "contact", [ext])[ext]
            first, email, phone = data["first_name"], data.get("email"), data.get("phone")
            if kind == "typo" and len(first) > 3:
                first = first[:1] + first[2] + first[1] + first[3:]
            elif kind in ("phone", "bsn"):
                email = f"{first.lower()}{rng.randint(1, 99)}@werk.nl"
                phone = "+31 " + phone[1:] if phone else None
            elif kind == "housemate":
                first = rng.choice([f for f in ("Aaltje", "Berend", "Cornelis", "Dirkje", "Evert") if f != first])
                email = f"{first.lower()}@{(data.get('email') or 'x@thuis.nl').split('@')[1]}"
            items.append(Incoming(Resident(**{**data, "id": new, "tenant": tenant, "first_name": first,
                                              "email": email, "phone": phone}), "desk", f"c:{ext}", now))  # fmt: skip
            iid = store.resolve_ids(conn, "desk", tenant, "intake", [ext])[ext]
            items.append(Incoming(Intake(id=iid, tenant=tenant, resident_id=new, dwelling_id=home["canonical_id"],
                                         status="open"), "desk", f"i:{ext}", now))  # fmt: skip
            if kind == "bsn":
                bsn = f"{100000000 + n:09d}"
                for who, tag in ((rid, "a"), (new, "b")):
                    i2 = store.resolve_ids(conn, "desk", tenant, "intake", [f"{ext}{tag}"])[f"{ext}{tag}"]
                    pf = store.resolve_ids(conn, "desk", tenant, "premium", [f"{ext}{tag}"])[f"{ext}{tag}"]
                    items.append(Incoming(Intake(id=i2, tenant=tenant, resident_id=who, status="open"), "desk",
                                          f"i:{ext}{tag}", now))  # fmt: skip
                    items.append(Incoming(PremiumFile(id=pf, tenant=tenant, intake_id=i2, national_id=bsn), "desk",
                                          f"p:{ext}{tag}", now))  # fmt: skip
            truth[kind].add(frozenset((rid, new)))
        merge(store, conn, items, MergeStats())
    return truth


def run_size(residents: int) -> dict[str, object]:
    from connectors.econobis.sandbox.server import start_sandboxes, stop_sandboxes
    from connectors.econobis.sync import EconobisPull
    from hub.identity.residents import link_residents, residents_frame, score_pairs
    from hub.store import Store

    t0 = time.monotonic()
    [sb] = start_sandboxes(residents, tenants=(TENANT,), throttle_per_minute=10**9)
    seed_s = time.monotonic() - t0
    try:
        with tempfile.TemporaryDirectory() as tmp:
            store = Store.open(f"sqlite:///{tmp}/hub.sqlite")
            client, _ = client_for(sb.server.port, store)
            t1 = time.monotonic()
            EconobisPull(store, client, TENANT, page_size=500).run()
            pull_s = time.monotonic() - t1
            truth = inject(store, TENANT)
            with store.begin() as conn:
                frame = residents_frame(store, conn, TENANT)
            t2 = time.monotonic()
            fixed = score_pairs(frame, threshold=0.0, sample_u_from=10**9)
            fixed_s = time.monotonic() - t2
            t3 = time.monotonic()
            report = link_residents(store, TENANT)
            link_s = time.monotonic() - t3
            with store.begin() as conn:
                raised = store.candidates(conn, TENANT, kind="resident", status=None)
            found = {frozenset(c["subjects"]): c["status"] for c in raised}
            fixed_found = {frozenset((p.left, p.right)) for p in fixed if p.match_probability >= 0.8}
            store.dispose()
    finally:
        stop_sandboxes([sb])
    return {
        "residents": residents,
        "frame_rows": frame.num_rows,
        "sandbox_seed_s": round(seed_s, 2),
        "pull_s": round(pull_s, 2),
        "fixed_pairs_scored": len(fixed),
        "fixed_pairs_ge_0_8": sum(p.match_probability >= 0.8 for p in fixed),
        "fixed_splink_s": round(fixed_s, 2),
        "link_total_s": round(link_s, 2),
        **{f"link_{k}": v for k, v in report.metadata().items()},
        "injected": {k: len(v) for k, v in truth.items()},
        "fixed_found": {k: len(v & fixed_found) for k, v in truth.items()},
        "candidates_found": {k: sum(p in found for p in v) for k, v in truth.items()},
        "merged": {k: sum(found.get(p) == "merged" for p in v) for k, v in truth.items()},
        "candidates_not_injected": sum(p not in set().union(*truth.values()) for p in found),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="*", default=[2_000])
    args = ap.parse_args()
    results = [run_size(n) for n in args.sizes]
    cols = ["residents", "fixed_pairs_scored", "fixed_pairs_ge_0_8", "fixed_splink_s", "link_pairs_scored",
            "link_candidates", "link_auto_linked", "link_splink_seconds", "link_u_estimated"]  # fmt: skip
    print(" | ".join(cols))
    for r in results:
        print(" | ".join(str(r[c]) for c in cols))
        for k in ("link_outcomes", "injected", "fixed_found", "candidates_found", "merged", "candidates_not_injected"):
            print(f"   {k}:", r[k])
    out = ROOT / "bench" / "results" / "residents_splink.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
