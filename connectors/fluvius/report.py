"""What a coordinator (and `hub premiums`, and the demo) sees of a tenant's premiums: every application per
category with its status, amounts and reason codes, what each dossier still needs from the resident, and the
totals — applications per status, amounts requested, granted and paid, and the prefilled share (the feature's
measure: how much of each application the hub filled from what it already knew). No personal data: dossiers
and applications by their canonical ids, amounts, codes and dates only."""

from __future__ import annotations

from collections import Counter
from statistics import mean, median
from typing import Any

from sqlalchemy import Connection

from connectors.fluvius.plan import STILL_NEEDED
from hub.followup import open_follow_ups
from hub.store import Store


def overview(store: Store, conn: Connection, tenant: str) -> dict[str, Any]:
    rows = [r for r in store.live_entities(conn, "premium_application", tenant) if "scheme" in (r["data"] or {})]
    apps = []
    for r in sorted(rows, key=lambda r: (str(r["data"].get("dossier_id")), str(r["data"].get("category")))):
        d = r["data"]
        apps.append(
            {
                "application": r["canonical_id"],
                "dossier": d.get("dossier_id"),
                "scheme": d.get("scheme"),
                "category": d.get("category"),
                "status": d.get("status"),
                "dossier_number": d.get("dossier_number"),
                "requested": d.get("amount_requested"),
                "granted": d.get("amount_granted"),
                "paid": d.get("amount_paid"),
                "reason_codes": list(d.get("reason_codes") or []),
                "prefilled_share": d.get("prefilled_share"),
                "appeal_until": d.get("appeal_until"),
            }
        )
    # one share per portal application (its categories share it), refusals the hub foresaw excluded
    shares_by_ref = {
        str(r["data"].get("reference")): float(r["data"]["prefilled_share"])
        for r in rows
        if r["data"].get("prefilled_share") is not None and r["data"].get("status") != "refused_by_hub"
    }
    shares = sorted(shares_by_ref.values())
    needs = [
        {"dossier": t.get("dossier_id"), "items": list((t.get("detail") or {}).get("items") or [])}
        for t in open_follow_ups(store, conn, tenant, STILL_NEEDED)
    ]

    def total(field: str) -> float:
        return round(sum(float(str(a[field] or 0)) for a in apps), 2)

    return {
        "tenant": tenant,
        "applications": apps,
        "by_status": dict(sorted(Counter(str(a["status"]) for a in apps).items())),
        "portal_applications": len({str(r["data"].get("portal_id")) for r in rows if r["data"].get("portal_id")}),
        "requested": total("requested"),
        "granted": total("granted"),
        "paid": total("paid"),
        "prefilled_share": {
            "applications": len(shares),
            "median": round(median(shares), 3) if shares else None,
            "mean": round(mean(shares), 3) if shares else None,
            "min": round(shares[0], 3) if shares else None,
        },
        "still_needed": needs,
    }


def summary_line(o: dict[str, Any]) -> str:
    s = o["prefilled_share"]
    status = ", ".join(f"{k} {v}" for k, v in o["by_status"].items()) or "none"
    share = (
        f"prefilled share median {s['median']:.0%} (min {s['min']:.0%}, over {s['applications']} application(s))"
        if s["median"] is not None
        else "no application built yet"
    )
    schemes = "/".join(sorted({str(a["scheme"]) for a in o["applications"]})) or "premiums"
    return (
        f"{schemes}: {o['portal_applications']} application(s) at the portal; per category: {status}; "
        f"€{o['requested']:,.0f} requested, €{o['granted']:,.0f} granted, €{o['paid']:,.0f} paid; {share}; "
        f"{len(o['still_needed'])} dossiers still need something from the resident"
    )
