"""Field-level survivorship, declared once as data: for each canonical field, which sources win.

A source earlier in a field's list beats a later one; a source not listed ranks after every listed one.
Within the same rank the newest observation wins. An empty value never overwrites a filled one from another
source (only the owning source may clear its own value)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

# Source names: partner systems, refined where one partner speaks with different authority.
ECONOBIS = "econobis"
HOOM_COACH = "hoomdossier_coach"
HOOM_RESIDENT = "hoomdossier_resident"
HOOMDOSSIER = "hoomdossier"
WONINGPAS = "woningpas"
EP_ONLINE = "ep_online"
BAG = "bag"
FLUVIUS = "fluvius"
HUB = "hub"

_BUILDING_FACTS = (WONINGPAS, EP_ONLINE, BAG, HOOM_COACH, HOOM_RESIDENT, HOOMDOSSIER, ECONOBIS)

RULES: dict[str, dict[str, tuple[str, ...]]] = {
    "dwelling_file": {
        "build_year": (WONINGPAS, BAG, HOOM_COACH, HOOM_RESIDENT, HOOMDOSSIER, ECONOBIS),
        "energy_label": (WONINGPAS, EP_ONLINE, HOOM_COACH, HOOM_RESIDENT, HOOMDOSSIER, ECONOBIS),
        "surface_m2": (WONINGPAS, BAG, HOOM_COACH, HOOM_RESIDENT, HOOMDOSSIER, ECONOBIS),
        "building_type": _BUILDING_FACTS,
        "roof_type": (HOOM_COACH, HOOM_RESIDENT, HOOMDOSSIER, ECONOBIS),
        "floors": (HOOM_COACH, HOOM_RESIDENT, HOOMDOSSIER, ECONOBIS),
        "is_monument": (BAG, WONINGPAS, HOOM_COACH, HOOM_RESIDENT, HOOMDOSSIER, ECONOBIS),
        "residents": (HOOM_RESIDENT, HOOM_COACH, HOOMDOSSIER, ECONOBIS),
        "hoomdossier_building_id": (HOOMDOSSIER, ECONOBIS),
    },
    "dwelling": {
        # a register's key (BAG verblijfsobject, Flemish gebouweenheid) beats an address key a form made
        "dwelling_key": (BAG, WONINGPAS),
        "street": (BAG, WONINGPAS, ECONOBIS, HOOMDOSSIER),
        "number": (BAG, WONINGPAS, ECONOBIS, HOOMDOSSIER),
        "addition": (BAG, WONINGPAS, ECONOBIS, HOOMDOSSIER),
        "box": (WONINGPAS,),
        "identifiers": (BAG, WONINGPAS),
        "postcode": (BAG, WONINGPAS, ECONOBIS, HOOMDOSSIER),
        "city": (BAG, WONINGPAS, ECONOBIS, HOOMDOSSIER),
        # The register's deelgemeente and NIS code beat a CRM's; the CRM's buurt (derived from postcode and
        # number) beats the municipality alone that a building register's id gives, so that one only fills
        # an area nobody else knows.
        "area": (WONINGPAS, ECONOBIS, BAG, HOOMDOSSIER),
    },
    "resident": {
        # The CRM is where coordinators correct contact details.
        "first_name": (ECONOBIS, HOOMDOSSIER, FLUVIUS),
        "last_name": (ECONOBIS, HOOMDOSSIER, FLUVIUS),
        "email": (ECONOBIS, HOOMDOSSIER, FLUVIUS),
        "phone": (ECONOBIS, HOOMDOSSIER, FLUVIUS),
        "hoomdossier_account_id": (HOOMDOSSIER, ECONOBIS),
    },
    "energy_certificate": {
        "label": (WONINGPAS, EP_ONLINE, HOOMDOSSIER),
        "score_kwh_m2_year": (WONINGPAS, EP_ONLINE),
    },
}


@dataclass(frozen=True)
class Observation:
    """Where a field value came from."""

    source: str
    source_ref: str
    observed_at: datetime


def _rank(entity: str, field: str, source: str) -> int:
    order = RULES.get(entity, {}).get(field)
    if order is None:
        return 0  # no rule: all sources equal, newest wins
    try:
        return order.index(source)
    except ValueError:
        return len(order)


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def new_value_wins(
    entity: str,
    field: str,
    current_value: Any,
    current: Observation | None,
    new_value: Any,
    new: Observation,
) -> bool:
    """Decide whether `new_value` observed by `new` replaces the stored value owned by `current`."""
    if current is None:
        return True
    if current.source == new.source:
        return new.observed_at >= current.observed_at
    if _empty(new_value):
        return _empty(current_value)
    if _empty(current_value):
        return True
    rank_new, rank_cur = _rank(entity, field, new.source), _rank(entity, field, current.source)
    if rank_new != rank_cur:
        return rank_new < rank_cur
    return new.observed_at >= current.observed_at
