"""Benchmark: premium applications against the sandbox portal — applications a minute through the outbox
(draft, two documents, submit) under the portal's 120 requests/minute limit with the hub's default budget
(100/minute, burst 10), the same with both limits lifted (what the hub itself can do), and webhook-to-visible
latency: from the portal's signed status event reaching the hub's receiver to the canonical application showing
the new status, with the webhook inbox applied by a loop as the inbox sensor would (interval `--apply-every`).

Everything runs in this process on loopback: the portal sandbox, the hub's receiver (its real webhook route:
signature check, stored before the 2xx), a SQLite state store. Interleaved sizes, medians of `--repeat` runs.

    python bench/premiums.py                  # 10, 30 applications; 60 webhooks
    python bench/premiums.py --sizes 20 60 --events 200

Prints a table and writes bench/results/premiums.json."""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import sys
import tempfile
import threading
import time
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TENANT = "loket-bench"
DECIDED = ("approved", "partly_approved", "rejected")
CLIENT, SECRET = "bench-desk", "bench-secret-premiums"
WHSEC = "whsec_YmVuY2gtcHJlbWl1bXMtd2ViaG9vay1zZWNyZXQtMzI="
INSZ = "85073003328"


def body(ref: str) -> dict[str, Any]:
    return {
        "regeling": "MVP_VL",
        "referentie": ref,
        "aanvrager": {"insz": INSZ, "naam": "Bench", "iban": "BE68539007547034", "hoedanigheid": "eigenaar_bewoner"},
        "gebouw": {"dwelling_key": f"be:bench:{ref}", "adres": "Naamsestraat 1, 3000 Leuven", "type": "woning",
                   "aansluitingsjaar": 1980},
        "inkomen": {"aanslagjaar": 2025, "gezamenlijk_belastbaar_inkomen": 40000, "personen_ten_laste": 1,
                    "gezinstype": "koppel"},
        "categorieen": [{
            "categorie": "dak", "subtype": "isolatie", "hoeveelheid": 60, "eenheid": "m2",
            "uitvoeringsdatum": datetime.now().date().isoformat(),
            "facturen": [{"nummer": f"F-{ref}", "datum": datetime.now().date().isoformat(), "is_voorschot": False,
                          "bedrag_excl_btw": 4800, "btw_pct": 6, "aannemer_kbo": "0403362424"}],
        }],
    }  # fmt: skip


def setup(throttle: int, lifted: bool) -> tuple[Any, Any, Any, Any]:
    from connectors.fluvius.sandbox.server import start_portal
    from connectors.fluvius.sandbox.state import PortalSandbox
    from hub.config import HubConfig, PartnerConfig, TenantConfig
    from hub.sandbox.runtime import SimClock

    sb = PortalSandbox(seed=3, clock=SimClock(), throttle_per_minute=throttle, aanvulling_share=0.0)
    sb.register_client(CLIENT, SECRET, "MVP_VL", "Bench desk")
    sb.put_mandaat(CLIENT, INSZ)
    running = start_portal(sb)
    os.environ["HUB_BENCH_FLUVIUS_SECRET"] = SECRET
    os.environ["HUB_BENCH_FLUVIUS_WHSEC"] = WHSEC
    settings: dict[str, Any] = {"client_id": CLIENT, "regeling": "MVP_VL"}
    if lifted:
        settings |= {"budget_per_minute": 1e9, "budget_burst": 1e9}
    tenant = TenantConfig(id=TENANT, name="bench", country="BE", timezone="Europe/Brussels", partners={
        "fluvius": PartnerConfig(base_url=running.base_url, settings=settings, secrets={
            "client_secret": "HUB_BENCH_FLUVIUS_SECRET", "webhook_secrets": "HUB_BENCH_FLUVIUS_WHSEC"})})  # fmt: skip
    return sb, running, tenant, HubConfig(tenants=[tenant], source="bench")


def queue(store: Any, n: int) -> list[dict[str, str]]:
    from connectors.fluvius.settings import APPLICATION_CATEGORY, APPLY, PARTNER
    from hub.canonical import PremiumApplication
    from hub.consent import Purpose, record
    from hub.documents import store_document
    from hub.merge import Incoming, MergeStats, merge
    from hub.store import utcnow
    from hub.worker import outbox_key

    out = []
    with store.begin() as conn:
        for i in range(n):
            ref = f"hub-bench-{uuid.uuid4().hex[:10]}"
            rid = f"r-{i}"
            [cid] = store.resolve_ids(conn, PARTNER, TENANT, APPLICATION_CATEGORY, [f"{ref}/dak"]).values()
            planned = PremiumApplication(
                id=cid, tenant=TENANT, dwelling_id=f"d-{i}", resident_id=rid, dossier_id=f"do-{i}", scheme="MVP_VL",
                category="dak", status="planned", reference=ref)  # fmt: skip
            merge(store, conn, [Incoming(planned, "fluvius", "plan", utcnow())], MergeStats())
            docs = [
                {"document_id": store_document(store, conn, TENANT, f"f-{i}", f"%PDF {ref} {k}".encode(), kind=k),
                 "kind": k, "category": "dak" if k == "factuur" else None}
                for k in ("factuur", "aanslagbiljet")
            ]  # fmt: skip
            record(store, conn, TENANT, rid, Purpose.APPLY_FOR_PREMIUM, PARTNER, True, "webform", f"mandate:{i}")
            payload = {"reference": ref, "dossier_id": f"do-{i}", "resident_id": rid, "body": body(ref),
                       "documents": docs, "applications": {"dak": cid}}  # fmt: skip
            store.outbox_enqueue(conn, TENANT, PARTNER, APPLY, outbox_key(PARTNER, "apply", ref), payload)
            out.append({"reference": ref, "id": cid})
    return out


def submit_run(n: int, lifted: bool) -> dict[str, Any]:
    from connectors.fluvius.client import PortalClient
    from connectors.fluvius.push import PremiumPush
    from hub.http.oauth import SHARED_TOKENS
    from hub.store import Store

    SHARED_TOKENS.clear()
    sb, running, tenant, _ = setup(throttle=10**9 if lifted else 120, lifted=lifted)
    with tempfile.TemporaryDirectory() as tmp:
        store = Store.open(f"sqlite:///{tmp}/hub.sqlite")
        queue(store, n)
        client = PortalClient.for_tenant(tenant, store)
        t0 = time.perf_counter()
        sent = 0
        while sent < n and time.perf_counter() - t0 < 900:
            report = PremiumPush(store, client, TENANT, backoff=0).run()
            sent += report.sent
            if report.sent == 0:
                time.sleep(0.5)
        seconds = time.perf_counter() - t0
        calls = client.http.stats.calls
        store.dispose()
    running.stop()
    assert len(sb.aanvragen) == n, (len(sb.aanvragen), n)  # none doubled
    return {
        "applications": n,
        "sent": sent,
        "seconds": round(seconds, 2),
        "per_minute": round(60 * sent / seconds, 1),
        "calls": calls,
        "calls_per_application": round(calls / max(sent, 1), 2),
        "portal_applications": len(sb.aanvragen),
    }


def latency_run(events: int, apply_every: float, trickle: bool = False) -> dict[str, Any]:
    """Submitted applications whose decisions fall due at once; the webhook of each reaches the receiver, a
    loop applies the inbox every `apply_every` seconds (as the inbox sensor would: its tick is the floor of the
    latency in production); latency = the canonical row's write − the receiver's storing of the event (the
    sandbox posts synchronously, so delivery ≈ storage)."""
    from sqlalchemy import select

    from connectors import REGISTRY
    from connectors.fluvius.client import PortalClient
    from connectors.fluvius.follow import apply_webhooks
    from connectors.fluvius.push import PremiumPush
    from hub.http.oauth import SHARED_TOKENS
    from hub.receiver import create_receiver
    from hub.sandbox.server import ThreadedServer
    from hub.store import Store
    from hub.store import tables as t

    SHARED_TOKENS.clear()
    sb, running, tenant, config = setup(throttle=10**9, lifted=True)
    with tempfile.TemporaryDirectory() as tmp:
        store = Store.open(f"sqlite:///{tmp}/hub.sqlite")
        receiver = ThreadedServer(create_receiver(config, store, REGISTRY.routers(config, store))).start()
        sb.webhooks.register(CLIENT, f"{receiver.base_url}/webhooks/{TENANT}/fluvius", WHSEC)
        apps = queue(store, events)
        client = PortalClient.for_tenant(tenant, store)
        while PremiumPush(store, client, TENANT, backoff=0).run().sent:
            pass
        apply_webhooks(store, client, TENANT)  # the submit's own events
        for n, a in enumerate(sorted(sb.aanvragen.values(), key=lambda a: a.id)):
            # a burst: every decision at once; a trickle: one decision per 0.01 sandbox day
            days = 1.5 + 0.01 * n if trickle else 1.0
            sb.set_plan(a.id, {"decision_days": days, "aanvulling": False, "inconsistent": None})
        done: set[str] = set()
        stop = threading.Event()

        def loop() -> None:
            while not stop.is_set():
                apply_webhooks(store, client, TENANT)
                with store.begin() as conn:
                    for r in store.live_entities(conn, "premium_application", TENANT):
                        if r["data"].get("status") in DECIDED:
                            done.add(r["data"]["reference"])
                stop.wait(apply_every)

        worker = threading.Thread(target=loop, daemon=True)
        worker.start()
        if trickle:  # one decision (one webhook) every 0.1 s of real time
            sb.advance(days=1.495)  # the 'in behandeling' events first, applied before the decisions come
            time.sleep(3)
            for _ in range(events + 5):
                sb.advance(days=0.01)
                time.sleep(0.1)
        else:
            sb.advance(days=2)  # every decision falls due: one webhook each, posted to the receiver now
        deadline = time.time() + 120
        while len(done) < events and time.time() < deadline:
            time.sleep(0.05)
        stop.set()
        worker.join()
        utc = __import__("datetime").UTC

        def stamp(when: Any) -> float:
            return float((when if when.tzinfo else when.replace(tzinfo=utc)).timestamp())

        with store.begin() as conn:
            rows = conn.execute(
                select(t.inbox.c.payload, t.inbox.c.received_at).where(t.inbox.c.tenant == TENANT)
            ).all()
            seen = conn.execute(
                select(t.entities.c.data, t.entities.c.updated_at).where(
                    t.entities.c.tenant == TENANT, t.entities.c.entity == "premium_application"
                )
            ).all()
        stored: dict[str, float] = {}
        for payload, received in rows:
            data = json.loads(payload).get("data") or {}
            if data.get("status") in ("goedgekeurd", "gedeeltelijk_goedgekeurd", "afgewezen"):
                stored.setdefault(str(data.get("referentie")), stamp(received))
        # when the canonical row took the decision (its own write time), not when the loop noticed it
        visible = {str(d["reference"]): stamp(u) for d, u in seen if d.get("status") in DECIDED and d.get("reference")}
        lat = sorted(1000 * (visible[r] - stored[r]) for r in visible if r in stored)
        receiver.stop()
        store.dispose()
    running.stop()
    del apps
    return {
        "arrival": "trickle (one every 0.1 s)" if trickle else "burst (all at once)",
        "events": events,
        "visible": len(lat),
        "apply_every_s": apply_every,
        "p50_ms": round(statistics.median(lat), 1) if lat else None,
        "p95_ms": round(lat[int(0.95 * (len(lat) - 1))], 1) if lat else None,
        "max_ms": round(lat[-1], 1) if lat else None,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[10, 30])
    ap.add_argument("--events", type=int, default=60)
    ap.add_argument("--apply-every", type=float, default=0.5)
    ap.add_argument("--repeat", type=int, default=1)
    args = ap.parse_args()
    import connectors  # noqa: F401  (registers the connectors: the receiver's webhook route)

    rows = []
    for _ in range(args.repeat):
        for n in args.sizes:  # interleaved: limited, lifted, limited, lifted
            for lifted in (False, True):
                r = submit_run(n, lifted)
                rows.append({"mode": "limits lifted" if lifted else "portal 120/min, hub budget 100/min", **r})
    latencies = [latency_run(args.events, args.apply_every), latency_run(30, args.apply_every, trickle=True)]
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{'mode':<38} {'apps':>5} {'s':>7} {'apps/min':>9} {'calls/app':>9}")
    for r in rows:
        print(f"{r['mode']:<38} {r['applications']:>5} {r['seconds']:>7} {r['per_minute']:>9} "
              f"{r['calls_per_application']:>9}")  # fmt: skip
    for lt in latencies:
        print(
            f"webhook → visible, {lt['arrival']}: {lt['visible']}/{lt['events']} events, inbox applied every "
            f"{lt['apply_every_s']} s: p50 {lt['p50_ms']} ms, p95 {lt['p95_ms']} ms, max {lt['max_ms']} ms"
        )
    print(f"peak RSS {peak_mb:.0f} MB")
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "premiums.json").write_text(json.dumps({
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
        "submit": rows, "latency": latencies, "peak_rss_mb": round(peak_mb, 1)}, indent=2))  # fmt: skip
    print(f"wrote {out / 'premiums.json'}")


if __name__ == "__main__":
    main()
