"""The sandbox Econobis' demo credentials and the tenant config that points the hub at it (not secrets:
deterministic per tenant, printed by `hub sandbox`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from connectors.econobis.settings import PARTNER
from hub.config import PartnerConfig, env_prefix


def sandbox_credentials(tenant_id: str) -> dict[str, str]:
    """The demo credentials a sandbox Econobis accepts; deterministic per tenant, not secret."""
    return {
        "username": f"hub-sync@{tenant_id}.example",
        "password": f"sandbox-{tenant_id}-pw",
        "client_id": "2",
        "client_secret": f"sandbox-{tenant_id}-client-secret",
        "webform_key": f"sandbox-{tenant_id}-webform-key",
    }


def sandbox_partner_config(
    tenant_id: str, port: int, host: str = "127.0.0.1", extra_settings: Mapping[str, Any] | None = None
) -> PartnerConfig:
    """The tenant's Econobis config for a sandbox on `host:port` (secrets by env-var name, demo values kept)."""
    creds = sandbox_credentials(tenant_id)
    prefix = env_prefix(tenant_id, PARTNER)
    return PartnerConfig(
        base_url=f"http://{host}:{port}",
        settings={"username": creds["username"], "client_id": creds["client_id"], **(extra_settings or {})},
        secrets={
            "password": prefix + "PASSWORD",
            "client_secret": prefix + "CLIENT_SECRET",
            "webform_key": prefix + "WEBFORM_KEY",
            # the key of the webform row whose Hoomdossier endpoints the hub forwards to (§3 of the
            # Econobis contract); in the sandbox the sign-up webform row serves both
            "hoom_endpoint_key": prefix + "HOOM_ENDPOINT_KEY",
        },
        sandbox=True,
        sandbox_secret_values={
            "password": creds["password"],
            "client_secret": creds["client_secret"],
            "webform_key": creds["webform_key"],
            "hoom_endpoint_key": creds["webform_key"],
        },
    )
