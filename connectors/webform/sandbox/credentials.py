"""The sandbox web form's demo signing secrets per tenant and the tenant config that points the hub at it
(not secrets: deterministic per tenant, printed by `hub sandbox`)."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping
from typing import Any

from connectors.webform.settings import EVENTS, PARTNER, SIGNING_SECRETS
from hub.config import PartnerConfig, env_prefix

# The campaign code the sandbox form signs residents up for when no CRM campaign was seeded for the tenant (a
# desk without a CRM), and the name the hub keeps it under (settings.hub_campaigns).
SANDBOX_CAMPAIGN = "energieloket"
SANDBOX_CAMPAIGN_NAME = "Energieloket: renovatiebegeleiding (sandbox)"


def _whsec(label: str) -> str:
    return "whsec_" + base64.b64encode(hashlib.sha256(label.encode("utf-8")).digest()).decode("ascii")


def sandbox_webform_secrets(tenant_id: str) -> dict[str, str]:
    """`current`: the secret the sandbox form signs with; `previous`: the one it signed with before the last
    rotation, still active at the hub (a rotation in progress: the hub accepts either)."""
    return {
        "current": _whsec(f"sandbox-webform-{tenant_id}-2"),
        "previous": _whsec(f"sandbox-webform-{tenant_id}-1"),
    }


def premium_connectors() -> list[str]:
    """The registered connectors that apply for premiums in a resident's name (their push declares the
    apply-for-premium purpose): the sandbox tenants' form records its consent tick for them. Found by what they
    declare, so the web form never names a premium partner."""
    from hub.connector import REGISTRY
    from hub.consent import Purpose

    return [
        c.name
        for c in REGISTRY
        if c.push is not None and any(n.purpose is Purpose.APPLY_FOR_PREMIUM for n in c.push.consent.values())
    ]


def sandbox_partner_config(
    tenant_id: str, port: int, host: str = "127.0.0.1", extra_settings: Mapping[str, Any] | None = None
) -> PartnerConfig:
    """The tenant's web-form config for the shared sandbox form on `host:port`: both secrets active, and the
    sandbox form's own campaign code as a campaign the hub keeps (used by a tenant without a CRM), and the premium
    connectors its consent tick to apply for premiums is recorded for."""
    secrets = sandbox_webform_secrets(tenant_id)
    return PartnerConfig(
        base_url=f"http://{host}:{port}",
        settings={
            "events": list(EVENTS),
            "tolerance_seconds": 300,
            "hub_campaigns": {SANDBOX_CAMPAIGN: SANDBOX_CAMPAIGN_NAME},
            "premium_partners": premium_connectors(),
            **(extra_settings or {}),
        },
        secrets={SIGNING_SECRETS: env_prefix(tenant_id, PARTNER) + SIGNING_SECRETS.upper()},
        sandbox=True,
        sandbox_secret_values={SIGNING_SECRETS: f"{secrets['current']} {secrets['previous']}"},
    )
