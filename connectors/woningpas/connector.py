"""Woningpas' declaration: everything the rest of the hub needs from this connector (hub/connector.py).

An authentic source, read only under the resident's mandate (`Pull.under_mandate`): their properties → canonical
dwellings, building facts, every EPC, the renovation obligation, inspections and permits; incremental through
the change feed, a full re-read nightly. Writes the coach's report to the resident's pass (with consent, once)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from connectors.woningpas.client import WoningpasClient, read_settings
from connectors.woningpas.erase import plan as erase_plan
from connectors.woningpas.mandates import holders
from connectors.woningpas.pull import PullReport, WoningpasPull
from connectors.woningpas.sandbox.server import SANDBOX
from connectors.woningpas.settings import (
    ERASE,
    FEED_CURSOR,
    HOLDER,
    PARTNER,
    PRIVATE_KEY_SECRET,
    QUARANTINE_SOURCE,
    UNIT,
    WoningpasSettings,
)
from connectors.woningpas.upload import CONSENT, WoningpasPush, plan_uploads
from hub.connector import (
    Connector,
    Erase,
    Freshness,
    JourneyRules,
    Mandate,
    PartnerRun,
    Pull,
    Push,
    Replay,
    ReplayRule,
)
from hub.http import PartnerAuthError
from hub.worker import PushOutcome


def client(run: PartnerRun) -> WoningpasClient:
    return WoningpasClient.for_tenant(run.tenant, run.store)


def puller(run: PartnerRun) -> WoningpasPull:
    settings = read_settings(run.tenant)
    return WoningpasPull(run.store, client(run), run.tenant_id, warn_days=settings.obligation_warn_days)


def subjects(run: PartnerRun) -> list[str]:
    """The tenant's residents whose INSZ the hub knows (a mandate was registered for them)."""
    with run.store.begin() as conn:
        return sorted(holders(run.store, conn, run.tenant_id))


@dataclass
class PullOutcome:
    report: PullReport

    def metadata(self) -> dict[str, Any]:
        return self.report.metadata()


def fetch(run: PartnerRun, residents: Any, full: bool) -> PullOutcome:
    return PullOutcome(puller(run).run(list(residents), full=full))


def detect(run: PartnerRun) -> str | None:
    """The change sensor's look: one page of one change from the pull's stored feed cursor. The newest change's
    id when the feed holds changes the pull has not read; None before the first pull (the sync reads all) or
    when nothing is new (the feed lists only mandated units)."""
    with run.store.begin() as conn:
        cursor = run.store.get_cursor(conn, PARTNER, run.tenant_id, FEED_CURSOR)
    if cursor is None:
        return None
    page = client(run).changes(cursor=cursor, limit=1)
    if not page.changes:
        return None
    return str(page.changes[0].get("wijziging_id"))


def reread(run: PartnerRun, records: dict[str, list[str]]) -> PullOutcome:
    return PullOutcome(puller(run).reread(records.get("unit", [])))


def reconcile(run: PartnerRun) -> list[dict[str, Any]]:
    """Units: what Woningpas lists for the mandated holders (one call per holder) against the units the hub holds
    as live dwellings plus those parked in quarantine."""
    wp = client(run)
    with run.store.begin() as conn:
        insz = holders(run.store, conn, run.tenant_id)
        hub = run.store.count_live_external_ids(conn, PARTNER, run.tenant_id, UNIT, "dwelling")
        parked = run.store.quarantine_open_count(conn, run.tenant_id, QUARANTINE_SOURCE, "unit")
    units: set[int] = set()
    for number in insz.values():
        try:
            units.update(int(p["gebouweenheidId"]) for p in wp.properties(number))
        except PartnerAuthError:
            continue  # no mandate (any more): not the hub's to hold
    partner = len(units)
    return [
        {"entity": "unit", "partner": partner, "hub": hub, "quarantined": parked, "difference": partner - hub - parked}
    ]


@dataclass
class UploadOutcome:
    """The push's figures plus the uploads it planned first."""

    push: PushOutcome
    planned: int

    def metadata(self) -> dict[str, Any]:
        return {**self.push.metadata(), "uploads_planned": self.planned}


def push(run: PartnerRun) -> UploadOutcome:
    settings = read_settings(run.tenant)
    planned = plan_uploads(run.store, run.tenant_id, tuple(settings.report_kinds))
    return UploadOutcome(PushOutcome.of(run.store, WoningpasPush(run.store, client(run), run.tenant_id).run()), planned)


# a better EPC after the dossier opened is evidence of execution (the works were done and certified)
JOURNEY = JourneyRules(certificate_execution=True)

CONNECTOR = Connector(
    name=PARTNER,
    title="Woningpas",
    summary="the Flemish housing passport (modelled): EPCs, renovation obligation, attests, inspections, permits",
    optional_secrets=(PRIVATE_KEY_SECRET,),
    settings=WoningpasSettings,
    pull=Pull.under_mandate(
        Mandate(partner=PARTNER, subjects=subjects, fetch=fetch),
        description=(
            "For each resident whose Woningpas mandate stands: their properties → canonical dwellings (keyed "
            "be:vl:geu:…, joined with the dwelling their intake named; a doubtful join is a match candidate on the "
            "follow-up list, never a merge), building facts (Woningpas ranks first for build year, type, floor "
            "area and label), every EPC (the current one marked), the renovation obligation (on the dossier), "
            "inspections and permits. A section reported unavailable keeps what the hub knew and is read again "
            "later. Incremental through the change feed; a full re-read when a person launches the run (UI, "
            "backfill) or at the nightly reconcile (run config `read` chooses). Dossiers re-derived; dossiers "
            "whose renovation deadline nears while still early go on the hub's follow-up list."
        ),
        reread=reread,
        detect=detect,
        reconcile=reconcile,
        reconcile_description=(
            "Reconciliation: the units Woningpas lists for the mandated holders against the units the hub holds as "
            "live dwellings plus those parked in quarantine. A difference means a unit was missed or is held "
            "back as a match candidate; the nightly full re-read repairs the rest."
        ),
    ),
    push=Push(
        run=push,
        description=(
            "The coach's report (Hoomdossier's PDF or the desk's own) uploaded to the resident's Woningpas as a "
            "verslag, with an Idempotency-Key so a replay never uploads twice; withheld without the resident's "
            "consent to share with Woningpas. An erasure deletes what the hub uploaded."
        ),
        consent=CONSENT,
    ),
    replay={QUARANTINE_SOURCE: ReplayRule(Replay.REREAD, partner=PARTNER)},
    journey=JOURNEY,
    freshness=Freshness(f"sync:{PARTNER}"),
    erase=Erase(
        plan=erase_plan,
        how="the reports the hub uploaded are deleted from the pass (the client's own uploads); the mandate is "
        "withdrawn in Woningpas by the resident or the desk",
        confirms="answer",
        operation=ERASE,
    ),
    sandbox=SANDBOX,
    one_to_one=("epc",),
    person_id_entities=(HOLDER,),  # a holder is keyed on the resident's INSZ
    demo_lines={
        "woningpas_pull": "Woningpas: {units_read} passes read for {fetched_for} residents ({created} new, "
        "{updated} updated, {unchanged} unchanged), {pending_units} to read again, {match_candidates} match "
        "candidates, {quarantined} quarantined",
        "woningpas_push": "Woningpas: {sent} reports uploaded ({withheld_without_consent} withheld without consent)",
    },
)
