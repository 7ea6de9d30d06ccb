"""The BAG lookup: the tenant's Dutch dwellings asked about in the register, their answers handed to the core
(hub/identity/resolve.py), which gives each dwelling its verblijfsobject key or raises a match candidate.

Which dwellings are asked: those never asked, those whose address changed since (the query's hash differs), and,
on a full run (the nightly reconcile, a backfill), those whose answer is older than `recheck_days`. A dwelling
carrying only a nummeraanduiding id (Hoomdossier's `bag_addressid`, contracts §3.4) is asked by that id and
translated to its verblijfsobject: the nummeraanduiding is kept as an identifier, never used as the key.
Every call goes through the tenant's request budget (50 calls/s per key by default)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from connectors.bag.client import BagClient
from connectors.bag.mapping import to_objects
from connectors.bag.settings import PARTNER, BagSettings
from hub import progress
from hub.canonical.keys import normalise_nl_postcode, split_nl_addition
from hub.connector import PartnerRun
from hub.http import PartnerAuthError, PartnerClientError, PartnerNotFound
from hub.identity.candidates import DWELLING, raise_candidate
from hub.identity.resolve import ResolveReport, apply_resolutions, is_due, is_register_key
from hub.identity.types import Resolution
from hub.store import utcnow

BATCH = 100
NUMBER_ID = "nl:bag:num"


def query_for(data: dict[str, Any]) -> dict[str, Any] | None:
    """What to ask the register about a dwelling (BAG's own parameter names), or None when its address cannot be
    asked (no valid postcode or house number)."""
    ids = data.get("identifiers") or {}
    if not is_register_key(data.get("dwelling_key")) and isinstance(ids.get(NUMBER_ID), str):
        return {"nummeraanduidingIdentificatie": ids[NUMBER_ID]}
    pc = normalise_nl_postcode(str(data.get("postcode") or ""))
    nr = str(data.get("number") or "").strip()
    if pc is None or not nr.isdigit() or not 0 < int(nr) <= 99999:
        return None
    letter, addition = split_nl_addition(data.get("addition"))
    q: dict[str, Any] = {"postcode": pc, "huisnummer": int(nr)}
    if letter:
        q["huisletter"] = letter
    if addition:
        q["huisnummertoevoeging"] = addition
    return q


@dataclass
class LookupReport:
    dwellings: int = 0
    asked: int = 0
    fresh: int = 0
    unusable: int = 0
    calls: int = 0
    resolve: ResolveReport = field(default_factory=ResolveReport)

    def metadata(self) -> dict[str, Any]:
        r = self.resolve.metadata()
        return {
            "dutch_dwellings": self.dwellings,
            "asked": self.asked,
            "fresh_answers_kept": self.fresh,
            "unusable_addresses": self.unusable,
            "register_calls": self.calls,
            **r,
        }


def _ask(client: BagClient, dwelling_id: str, query: dict[str, Any]) -> Resolution:
    now = utcnow()
    try:
        if "nummeraanduidingIdentificatie" in query:
            found = client.by_number_id(str(query["nummeraanduidingIdentificatie"]))
            adressen = [found] if found else []
        else:
            adressen = client.search(
                query["postcode"],
                query["huisnummer"],
                letter=query.get("huisletter"),
                addition=query.get("huisnummertoevoeging"),
                exact=False,
            )
    except PartnerAuthError:
        raise
    except PartnerNotFound:
        adressen = []
    except PartnerClientError as exc:  # 400: the register refused the query (the address as written is invalid)
        return Resolution(dwelling_id, PARTNER, "adressenuitgebreid", now, query, (), error=str(exc)[:300])
    return Resolution(dwelling_id, PARTNER, "adressenuitgebreid", now, query, to_objects(query, adressen))


def run(run: PartnerRun, full: bool) -> LookupReport:
    store, tenant = run.store, run.tenant_id
    settings = BagSettings.model_validate(run.tenant.partner(PARTNER).settings)
    client = BagClient.for_tenant(run.tenant, store)
    report = LookupReport()
    with store.begin() as conn:
        dwellings = [d for d in store.live_entities(conn, "dwelling", tenant) if d["data"].get("country") == "NL"]
        cache = store.lookups(conn, tenant, PARTNER, [d["canonical_id"] for d in dwellings])
    report.dwellings = len(dwellings)
    stale_before = utcnow() - timedelta(days=settings.recheck_days)
    due: list[tuple[str, dict[str, Any]]] = []
    unusable: list[Any] = []
    for d in sorted(dwellings, key=lambda r: r["canonical_id"]):
        q = query_for(d["data"])
        if q is None:
            unusable.append(d)
            continue
        cached = cache.get(d["canonical_id"])
        if is_due(cached, q, full=full, stale_before=stale_before):
            due.append((d["canonical_id"], q))
        else:
            report.fresh += 1
    if unusable:
        with store.begin() as conn:
            for d in unusable:
                raise_candidate(
                    store,
                    conn,
                    tenant,
                    DWELLING,
                    (d["canonical_id"],),
                    "address_unusable",
                    {"dwelling": {k: d["data"].get(k) for k in ("street", "number", "addition", "postcode", "city")}},
                )
        report.unusable = len(unusable)
        report.resolve.candidates["address_unusable"] += len(unusable)
    with progress.task("dwellings asked", total=len(due)) as shown:
        for i in range(0, len(due), BATCH):
            batch = [_ask(client, did, q) for did, q in due[i : i + BATCH]]
            report.asked += len(batch)
            with store.begin() as conn:
                part = apply_resolutions(store, conn, tenant, batch)
            _add(report.resolve, part)
            shown.advance(len(batch))
    report.calls = client.stats.calls if hasattr(client, "stats") else report.asked
    return report


def _add(total: ResolveReport, part: ResolveReport) -> None:
    total.answers += part.answers
    total.resolved += part.resolved
    total.confirmed += part.confirmed
    total.errors += part.errors
    total.facts += part.facts
    total.candidates.update(part.candidates)
    total.stats.merge(part.stats)
