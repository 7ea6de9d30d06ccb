"""Helpers for tests that pull a running sandbox Woningpas into a store: a Flemish tenant's config, residents with
the dwelling their intake named (as a web form would have it), their INSZ and mandate recorded consistently in
the hub and in the sandbox, and what the sandbox holds, to compare the store against."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from connectors.woningpas.client import WoningpasClient
from connectors.woningpas.mandates import register_mandate
from connectors.woningpas.pull import WoningpasPull
from connectors.woningpas.sandbox.server import RunningWoningpas
from connectors.woningpas.sandbox.views import epc_status
from connectors.woningpas.settings import PARTNER, SCOPES
from hub.canonical import Dwelling, Intake, Resident
from hub.canonical.keys import be_address_key
from hub.config import PartnerConfig, TenantConfig
from hub.journey import recompute_dossiers
from hub.merge import Incoming, MergeStats, merge
from hub.store import Store, utcnow
from tests.connectors.woningpas.wp_helpers import CLIENT

TENANT = "loket-test"
FORM = "webform"  # the source of the residents and intakes (a desk's web form)
OPENED = datetime(2024, 1, 15, 10, tzinfo=UTC)

Typed = Callable[[Any], tuple[str, str, str | None, str]]  # unit → (street, number, box, postcode) as typed


def as_registered(unit: Any) -> tuple[str, str, str | None, str]:
    a = unit.address
    return a.straat, a.huisnummer, a.busnummer, a.postcode


def hub_tenant(running: RunningWoningpas, key_file: Path, **settings: Any) -> TenantConfig:
    values = {
        "client_id": CLIENT,
        "scopes": list(SCOPES),
        "signing_key_file": str(key_file),
        "budget_per_minute": 1e6,
        "budget_burst": 1e6,
        **settings,
    }
    return TenantConfig(
        id=TENANT,
        name="Loket (test)",
        country="BE",
        timezone="Europe/Brussels",
        partners={PARTNER: PartnerConfig(base_url=running.base_url, settings=values)},
    )


def seed_residents(
    store: Store,
    running: RunningWoningpas,
    holders: list[str],
    *,
    typed: Typed = as_registered,
    mandate_in_sandbox: bool = True,
) -> dict[str, str]:
    """A resident per INSZ with the dwelling of their first unit (as typed) and an intake on it, their dossier,
    and the mandate: recorded in the hub (INSZ + consent) and given in the sandbox. Returns INSZ → resident id."""
    sb = running.sandbox
    out: dict[str, str] = {}
    now = utcnow()
    with store.begin() as conn:
        items: list[Incoming] = []
        intakes: list[str] = []
        for i, insz in enumerate(holders):
            unit = sb.world.units[sb.world.holdings[insz][0][0]]
            street, number, box, postcode = typed(unit)
            rid, iid = str(uuid.uuid4()), str(uuid.uuid4())
            key = be_address_key(postcode, street, number, box)
            assert key is not None
            did = store.resolve_ids(conn, "hub", TENANT, "dwelling", [key])[key]
            items += [
                Incoming(Resident(id=rid, tenant=TENANT, first_name="Test", last_name=f"Bewoner {i}"), FORM, rid, now),
                Incoming(
                    Dwelling(
                        id=did,
                        tenant=TENANT,
                        dwelling_key=key,
                        country="BE",
                        street=street,
                        number=number,
                        addition=box,
                        postcode=postcode,
                        city=unit.address.gemeente,
                        resident_id=rid,
                    ),
                    FORM,
                    rid,
                    now,
                    natural_key=key,
                ),
                Incoming(
                    Intake(id=iid, tenant=TENANT, resident_id=rid, dwelling_id=did, status="open", created_at=OPENED),
                    FORM,
                    iid,
                    now,
                ),
            ]
            intakes.append(iid)
            out[insz] = rid
        merge(store, conn, items, MergeStats())
        recompute_dossiers(store, conn, TENANT, intakes, FORM, now, MergeStats())
        for i, (insz, rid) in enumerate(out.items()):
            register_mandate(store, conn, TENANT, rid, insz, f"M-{i:04d}")
    if mandate_in_sandbox:
        for insz in holders:
            sb.add_mandate(CLIENT, insz)
    return out


def pull(store: Store, tenant: TenantConfig, residents: list[str], full: bool = False, **kw: Any) -> WoningpasPull:
    puller = WoningpasPull(store, WoningpasClient.for_tenant(tenant, store), TENANT, **kw)
    puller.run(residents, full=full)
    return puller


def sandbox_epcs(running: RunningWoningpas, holders: list[str]) -> dict[str, dict[str, Any]]:
    """attest number → (label, score, status, unit) of every EPC of the units these holders hold."""
    sb = running.sandbox
    today = sb.now().date()
    out: dict[str, dict[str, Any]] = {}
    for insz in holders:
        for unit_id, _ in sb.world.holdings[insz]:
            unit = sb.world.units[unit_id]
            for e in unit.epcs:
                out[e.attestnummer] = {
                    "label": e.label,
                    "score": float(e.score),
                    "status": epc_status(e, unit, today),
                    "unit": unit_id,
                }
    return out


def store_epcs(store: Store) -> dict[str, dict[str, Any]]:
    with store.begin() as conn:
        rows = store.live_entities(conn, "energy_certificate", TENANT)
    return {r["data"]["certificate_number"]: r["data"] for r in rows}


def entities(store: Store, entity: str) -> list[dict[str, Any]]:
    with store.begin() as conn:
        return [{**r["data"], "_id": r["canonical_id"]} for r in store.live_entities(conn, entity, TENANT)]
