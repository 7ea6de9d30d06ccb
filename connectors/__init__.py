"""The connector registry: one line per partner. Everything else (assets, sensors, the receiver's routes,
mart freshness, the quarantine replay, the sandbox stack) is generated from these declarations."""

from connectors.bag.connector import CONNECTOR as BAG
from connectors.econobis.connector import CONNECTOR as ECONOBIS
from connectors.ep_online.connector import CONNECTOR as EP_ONLINE
from connectors.fluvius.connector import CONNECTOR as PREMIUMS
from connectors.hoomdossier.connector import CONNECTOR as HOOMDOSSIER
from connectors.webform.connector import CONNECTOR as WEBFORM
from connectors.woningpas.connector import CONNECTOR as WONINGPAS
from hub.connector import REGISTRY, Connector, Registry

CONNECTORS: tuple[Connector, ...] = (ECONOBIS, HOOMDOSSIER, WEBFORM, WONINGPAS, PREMIUMS, BAG, EP_ONLINE)

for _c in CONNECTORS:
    REGISTRY.register(_c)


def registry() -> Registry:
    """The process's registry (the hub's connectors, plus any a test registered for a while)."""
    return REGISTRY


__all__ = ["CONNECTORS", "REGISTRY", "registry"]
