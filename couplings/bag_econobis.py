"""The Dutch registers' sandboxes seeded from the Econobis sandboxes: BAG's register holds the true address of
every Econobis address (the Econobis sandbox writes a share of them as people write them), so the hub's lookup
meets the register a real cooperation would meet; EP-Online holds labels for BAG's objects, and for each home
whose works Econobis records as executed a label from before its dossier opened and a better one registered
after the works. Only sandbox seeding: at run time the lookups read the canonical model, not Econobis."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from connectors.bag.settings import PARTNER as BAG
from connectors.econobis.connector import CONNECTOR as ECONOBIS_CONNECTOR
from connectors.ep_online.settings import PARTNER as EP_ONLINE
from hub.connector import Coupling

ECONOBIS = ECONOBIS_CONNECTOR.name


def true_addresses(started: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The true form of every address of every running Econobis sandbox (its own, sandbox-only state)."""
    out: list[dict[str, Any]] = []
    for r in started.get(ECONOBIS, []):
        truth = getattr(r.sandbox, "true_addresses", {}) or {}
        out += [dict(truth[aid]) for aid in sorted(truth)]
    return out


EXECUTED = ("executed", "executed-do-it-yourself")  # the kans' statuses that say its works were done


def renovations(started: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Per BAG object whose home had works done (a kans with an executed status, or a kansactie with
    `date_executed`): when its dossier opened (the intake's creation) and when the last works were done."""
    bag = started.get(BAG)
    if bag is None:
        return []
    out: dict[str, dict[str, Any]] = {}
    for r in started.get(ECONOBIS, []):
        sb = r.sandbox
        db, truth = sb.db, getattr(sb, "true_addresses", {}) or {}
        executed = {sb.lookups.by_code("opportunityStatus", c)["id"] for c in EXECUTED}
        done: list[tuple[Any, Any]] = [
            (q.get("opportunity_id"), q["date_executed"])
            for q in db.tables["quotation_requests"].values()
            if q.get("date_executed") and not q.get("deleted_at")
        ]
        done += [
            (oid, o.get("updated_at"))
            for oid, o in db.tables["opportunities"].items()
            if o.get("status_id") in executed and not o.get("deleted_at")
        ]
        for oid, when in done:
            opp = db.get("opportunities", oid) or {}
            intake = db.get("intakes", opp.get("intake_id")) or {}
            home = truth.get(intake.get("address_id"))
            if not home or home.get("typo") or not when:
                continue
            found = bag.sandbox.register.search(
                str(home["postcode"]), int(home["number"]), home.get("letter", ""), home.get("addition", ""), True
            )
            if not found:
                continue
            vbo = found[0].obj.vbo_id
            day = when.date() if hasattr(when, "date") else when
            w = out.setdefault(vbo, {"vbo_id": vbo, "dossier_started": intake["created_at"], "works_done": day})
            w["dossier_started"] = min(w["dossier_started"], intake["created_at"])
            w["works_done"] = max(w["works_done"], day)
    return [out[k] for k in sorted(out)]


def _seed(partner: str, started: Mapping[str, Any]) -> dict[str, Any]:
    if partner == BAG and ECONOBIS in started:
        return {"addresses": true_addresses(started)}
    if partner == EP_ONLINE and BAG in started:
        return {"objects": started[BAG].sandbox.register.all_objects(), "renovations": renovations(started)}
    return {}


COUPLING = Coupling(
    name="bag_econobis",
    partners=(ECONOBIS, BAG, EP_ONLINE),
    summary=(
        "sandboxes only: the BAG register holds the Econobis sandboxes' homes at their true addresses, EP-Online "
        "their labels (before and after the works Econobis records as executed)"
    ),
    sandbox_seed=_seed,
)
