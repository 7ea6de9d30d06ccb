"""The Dutch registers' sandboxes seeded from the Econobis sandboxes: BAG's register holds the true address of
every Econobis address (the Econobis sandbox writes a share of them as people write them), so the hub's lookup
meets the register a real cooperation would meet. Only sandbox seeding: at run time the BAG lookup reads the
canonical model, not Econobis."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from connectors.bag.settings import PARTNER as BAG
from connectors.econobis.connector import CONNECTOR as ECONOBIS_CONNECTOR
from hub.connector import Coupling

ECONOBIS = ECONOBIS_CONNECTOR.name


def true_addresses(started: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The true form of every address of every running Econobis sandbox (its own, sandbox-only state)."""
    out: list[dict[str, Any]] = []
    for r in started.get(ECONOBIS, []):
        truth = getattr(r.sandbox, "true_addresses", {}) or {}
        out += [dict(truth[aid]) for aid in sorted(truth)]
    return out


def _seed(partner: str, started: Mapping[str, Any]) -> dict[str, Any]:
    if partner == BAG and ECONOBIS in started:
        return {"addresses": true_addresses(started)}
    return {}


COUPLING = Coupling(
    name="bag_econobis",
    partners=(ECONOBIS, BAG),
    summary="sandboxes only: the BAG register holds the Econobis sandboxes' homes at their true addresses",
    sandbox_seed=_seed,
)
