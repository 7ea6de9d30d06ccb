"""The sandbox Woningpas's demo clients: one per tenant, with an RSA key pair made on this machine the first time
it is needed and kept under `$HUB_HOME/sandbox/woningpas/` (never in the repository), and the tenant config
that points the hub at the sandbox with `signing_key_file` naming that file.

The key files are SANDBOX-ONLY: the sandbox registers their public halves, nothing else trusts them."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

from connectors.woningpas.settings import SCOPES
from hub.config import HubPaths, PartnerConfig


def sandbox_client_id(tenant_id: str) -> str:
    return f"sandbox-{tenant_id}-hub"


def demo_key_path(tenant_id: str, root: Path | None = None) -> Path:
    base = root if root is not None else HubPaths.from_env().root / "sandbox" / "woningpas"
    return base / f"{tenant_id}.SANDBOX-ONLY.pem"


def new_private_key() -> RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def private_pem(key: RSAPrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def public_pem(key: RSAPrivateKey) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def ensure_key_file(path: Path) -> RSAPrivateKey:
    """The key in `path`, made (mode 0600) when the file does not exist yet. Safe when several processes ask
    at once: the file appears whole or not at all, and the first one written wins."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(private_pem(new_private_key()))
        try:
            os.link(tmp, path)  # fails when another process got there first: theirs stands
        except FileExistsError:
            pass
        finally:
            tmp.unlink(missing_ok=True)
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, RSAPrivateKey):
        raise ValueError(f"{path} does not hold an RSA private key")
    return key


def sandbox_partner_config(
    tenant_id: str, port: int, host: str = "127.0.0.1", extra_settings: Mapping[str, Any] | None = None
) -> PartnerConfig:
    """The tenant's Woningpas config for the shared sandbox on `host:port`: its demo client, both scopes, and
    the key file (made now if needed, so the sandbox and the hub agree on it)."""
    path = demo_key_path(tenant_id)
    ensure_key_file(path)
    return PartnerConfig(
        base_url=f"http://{host}:{port}",
        settings={
            "client_id": sandbox_client_id(tenant_id),
            "scopes": list(SCOPES),
            "signing_key_file": str(path),
            **(extra_settings or {}),
        },
        sandbox=True,
    )
