"""Hoomdossier endpoints, limits and sentinels: the constants of the connector, in one place (dlt-style)."""

from __future__ import annotations

PARTNER = "hoomdossier"
# The sandbox tenants its sandbox serves (hub/config.py: SANDBOX_REGIONS): the Dutch cooperations.
SANDBOX_REGIONS = frozenset({"nl"})
# Hoomdossier's contract names residents and coaches by their Econobis contact ids (contracts/hoomdossier.md
# §1.6-1.7): the xref system those ids are kept under. The one place this connector names another partner.
ECONOBIS_CONTACTS = "econobis"
# The inbox source of the messages Hoomdossier posts to the hub (received by the Econobis-shaped endpoints).
INBOX_SOURCE = "hoomdossier"
COACH_LINK_OPERATION = "coach-link"
PUSH_BATCH = 500
# A coach link waits this long for the resident's registration before it looks again (not a failed attempt).
REGISTRATION_WAIT_SECONDS = 300.0
DEFAULT_BUDGET_PER_MINUTE = 55.0
DEFAULT_BUDGET_BURST = 5.0
