"""EP-Online's declaration (hub/connector.py): RVO's register of energy labels (API v5), asked about the tenant's
Dutch dwellings after BAG gave them their verblijfsobject ids (stage 2), so a home has its label before and after
works (hub/labels.py)."""

from __future__ import annotations

from connectors.ep_online.pull import reread, run
from connectors.ep_online.sandbox.server import SANDBOX
from connectors.ep_online.settings import PARTNER, EpOnlineSettings
from hub.connector import Connector, Pull, Replay, ReplayRule

CONNECTOR = Connector(
    name=PARTNER,
    title="EP-Online (RVO)",
    summary="the Dutch register of energy labels: every registration of a home, the current one selected",
    secrets=("api_key",),
    settings=EpOnlineSettings,
    pull=Pull(
        run=run,
        reread=reread,
        stage=2,
        description=(
            "Asks EP-Online (API v5) about the tenant's Dutch dwellings after BAG's lookup: by verblijfsobject id "
            "where BAG resolved the dwelling, else by address; those never asked, those whose key or address "
            "changed, and on the nightly full run those answered longer ago than recheck_days. Registrations "
            "become EnergyCertificates (expired ones kept as history, the newest valid one current), the current "
            "label goes to the dwelling file; the placeholder id and registrations about another object are "
            "quarantined with their reason."
        ),
    ),
    # a quarantined answer (the placeholder id, registrations about another object) is asked again by the replay
    replay={PARTNER: ReplayRule(Replay.REREAD, partner=PARTNER)},
    sandbox=SANDBOX,
    demo_lines={
        "ep_online_pull": "EP-Online: {asked} of {dutch_dwellings} Dutch dwellings asked ({with_label} with a label, "
        "{registrations_quarantined} registrations quarantined)",
    },
)
