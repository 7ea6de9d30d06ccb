"""Flows that join partners, between assets/ and connectors/: each declared as a `Coupling` (hub/connector.py)
that the asset layer wires into the partners' assets. One line per coupling."""

from couplings.bag_econobis import COUPLING as BAG_ECONOBIS
from couplings.econobis_hoomdossier import COUPLING as ECONOBIS_HOOMDOSSIER
from couplings.fluvius_econobis import COUPLING as FLUVIUS_ECONOBIS
from couplings.follow_up import COUPLING as FOLLOW_UP
from couplings.webform_econobis import COUPLING as WEBFORM_ECONOBIS
from hub.connector import Coupling

COUPLINGS: tuple[Coupling, ...] = (
    ECONOBIS_HOOMDOSSIER,
    FOLLOW_UP,
    WEBFORM_ECONOBIS,
    FLUVIUS_ECONOBIS,
    BAG_ECONOBIS,
)

__all__ = ["COUPLINGS"]
