"""Econobis endpoints, limits and sentinels: the constants of the connector, in one place (dlt-style)."""

from __future__ import annotations

PARTNER = "econobis"
# The inbox source of the messages Hoomdossier posts to the hub in Econobis' own contract (routes.py): the
# Econobis-shaped endpoints a Hoomdossier cooperation points its Econobis link at. It is also the partner
# name whose tenants' `inbound_key` those endpoints accept. The one place this connector names another.
HOOMDOSSIER_INBOX = "hoomdossier"
# Where a lost webform sign-up is looked for: the newest intakes of the campaign (a lost call is recent).
LOOKUP_PAGE = 50
# Pushes claimed per run.
PUSH_BATCH = 1000
# A registration waits this long for the resident's consent before it looks again (not a failed attempt).
CONSENT_WAIT_SECONDS = 86400.0
