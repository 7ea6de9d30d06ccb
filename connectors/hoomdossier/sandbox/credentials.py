"""The sandbox Hoomdossier's demo secrets of each cooperation and the tenant config that points the hub at
it (not secrets: deterministic per tenant, printed by `hub sandbox`)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from connectors.hoomdossier.settings import PARTNER
from hub.config import SANDBOX_TENANTS, PartnerConfig, env_prefix

# the sandbox Econobis' Hoom campaign; only intakes from the seed's "now" on are registered
SANDBOX_CAMPAIGN_IDS = [11]
SANDBOX_REGISTER_FROM = "2026-11-01"
# a sandbox run on another clock (the demo's: the hub's own) names its own first day
REGISTER_FROM_ENV = "HUB_SANDBOX_HOOM_REGISTER_FROM"


def sandbox_register_from() -> str:
    """The first day whose intakes the sandbox tenants register in Hoomdossier: the seed's "now", or the day the
    demo sets (a month before its clock, so the window does not grow as real time passes)."""
    return os.environ.get(REGISTER_FROM_ENV) or SANDBOX_REGISTER_FROM


def sandbox_hoomdossier_credentials(tenant_id: str) -> dict[str, str]:
    """The demo secrets of the Hoomdossier coupling of a sandbox tenant; deterministic, not secret.

    `token`: the Sanctum token the hub uses at Hoomdossier (ability access:{slug}); `inbound_key`: the key
    Hoomdossier puts in the path when it posts to the hub (its "Econobis API key"); `inbound_token`: the
    Bearer that Econobis sends to the hub's register proxy (its `hoom_key`)."""
    ids = [t for t, _ in SANDBOX_TENANTS]
    index = 1 + ids.index(tenant_id) if tenant_id in ids else 1  # Sanctum's token id
    return {
        "token": f"{index}|sandbox-hoom-token-{tenant_id}",
        "inbound_key": f"sandbox-{tenant_id}-hub-inbound-key",
        "inbound_token": f"sandbox-{tenant_id}-hub-inbound-token",
    }


def sandbox_partner_config(
    tenant_id: str, port: int, host: str = "127.0.0.1", extra_settings: Mapping[str, Any] | None = None
) -> PartnerConfig:
    """The tenant's Hoomdossier config for the shared sandbox on `host:port` (cooperation by slug = tenant)."""
    creds = sandbox_hoomdossier_credentials(tenant_id)
    prefix = env_prefix(tenant_id, PARTNER)
    return PartnerConfig(
        base_url=f"http://{host}:{port}",
        settings={
            "slug": tenant_id,
            "campaign_ids": list(SANDBOX_CAMPAIGN_IDS),
            "register_from": sandbox_register_from(),
            **(extra_settings or {}),
        },
        secrets={name: prefix + name.upper() for name in creds},
        sandbox=True,
        sandbox_secret_values=creds,
    )
