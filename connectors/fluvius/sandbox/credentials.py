"""The sandbox portal's demo credentials per tenant (not secrets: deterministic per tenant, printed by `hub
sandbox`) and the tenant config that points the hub at the sandbox: secrets by environment-variable name, with
the demo values kept for the sandbox (like the web form's and Woningpas')."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping
from typing import Any

from connectors.fluvius.settings import CLIENT_SECRET, ISDE, PARTNER, REGELING_BY_COUNTRY, WEBHOOK_SECRETS
from hub.config import PartnerConfig, env_prefix, sandbox_region


def _digest(label: str) -> bytes:
    return hashlib.sha256(label.encode("utf-8")).digest()


def sandbox_client_id(tenant_id: str) -> str:
    return f"sandbox-{tenant_id}-hub"


def sandbox_client_secret(tenant_id: str) -> str:
    return "sbx_" + _digest(f"sandbox-fluvius-client-{tenant_id}").hex()[:40]


def sandbox_webhook_secret(tenant_id: str) -> str:
    """The `whsec_…` the sandbox signs the tenant's webhooks with."""
    return "whsec_" + base64.b64encode(_digest(f"sandbox-fluvius-webhook-{tenant_id}")).decode("ascii")


def sandbox_regeling(tenant_id: str) -> str:
    """The regeling of a sandbox tenant: by its region's country (BE: MVP_VL, NL: ISDE_NL)."""
    return REGELING_BY_COUNTRY.get(sandbox_region(tenant_id).country, ISDE)


def sandbox_organisatie(tenant_id: str) -> str:
    return f"{tenant_id} (sandbox)"


def sandbox_partner_config(
    tenant_id: str, port: int, host: str = "127.0.0.1", extra_settings: Mapping[str, Any] | None = None
) -> PartnerConfig:
    """The tenant's portal config for the shared sandbox on `host:port`: its demo client and regeling, the
    client secret and the webhook signing secret by env-var name with their demo values."""
    prefix = env_prefix(tenant_id, PARTNER)
    return PartnerConfig(
        base_url=f"http://{host}:{port}",
        settings={
            "client_id": sandbox_client_id(tenant_id),
            "regeling": sandbox_regeling(tenant_id),
            **(extra_settings or {}),
        },
        secrets={CLIENT_SECRET: prefix + CLIENT_SECRET.upper(), WEBHOOK_SECRETS: prefix + WEBHOOK_SECRETS.upper()},
        sandbox=True,
        sandbox_secret_values={
            CLIENT_SECRET: sandbox_client_secret(tenant_id),
            WEBHOOK_SECRETS: sandbox_webhook_secret(tenant_id),
        },
    )
