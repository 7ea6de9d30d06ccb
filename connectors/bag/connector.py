"""BAG's declaration (hub/connector.py): Kadaster's BAG API Individuele Bevragingen v2, asked about the tenant's
Dutch dwellings after the partners' pulls (stage 1), so a home written two ways becomes one id and a dropped letter
never merges two (hub/identity/resolve.py decides; doubtful answers become match candidates)."""

from __future__ import annotations

from connectors.bag.lookup import run
from connectors.bag.sandbox.server import SANDBOX
from connectors.bag.settings import PARTNER, BagSettings
from hub.connector import Connector, Pull

CONNECTOR = Connector(
    name=PARTNER,
    title="BAG (Kadaster)",
    summary="the Dutch register of addresses and buildings: each home's verblijfsobject id, panden, build year, area",
    secrets=("api_key",),
    settings=BagSettings,
    pull=Pull(
        run=run,
        stage=1,
        description=(
            "Asks BAG (adressenuitgebreid) about the tenant's Dutch dwellings after the partners' pulls: those never "
            "asked, those whose address changed, and on the nightly full run those whose answer is older than "
            "recheck_days. A dwelling takes its verblijfsobject key (nl:bag:vbo:…), official address, pand and "
            "nummeraanduiding ids, and BAG's build year and floor area (ranked first for both) only when exactly "
            "one residential object is the address asked; several objects, a side address, no residential use, "
            "an unknown address, or a key another dwelling holds become match candidates for a person "
            "(match_candidates). A Hoomdossier nummeraanduiding id is translated, never used as the key. "
            "Calls go through the tenant's budget (50/s per key)."
        ),
    ),
    keys_dwellings_of=frozenset({"NL"}),
    sandbox=SANDBOX,
    demo_lines={
        "bag_pull": "BAG: {asked} of {dutch_dwellings} Dutch dwellings asked ({resolved} resolved, {confirmed} "
        "confirmed, {match_candidates} match candidates)",
    },
)
