"""Tenants configuration: which cooperations/municipalities the hub serves and how to reach their partners.

Owns the tenants file format, the embedded sandbox default, secret resolution from environment variables
and the hub's local paths (`.hub/`)."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from hub.canonical.phases import Phase

_SECRETISH = re.compile(r"(pass(word)?|secret|token|api[_-]?key|^key$)", re.IGNORECASE)
_ENV_NAME = re.compile(r"^[A-Z_][A-Z0-9_]*$")
SANDBOX_PORT_BASE_DEFAULT = 18100


class ConfigError(Exception):
    """The tenants file is malformed or a referenced secret is missing; the message names the key."""


class PartnerConfig(BaseModel):
    """One partner system of one tenant: where it lives, non-secret settings, and secrets by env-var name."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    base_url: str
    settings: dict[str, Any] = Field(default_factory=dict)
    secrets: dict[str, str] = Field(default_factory=dict)
    sandbox: bool = False
    # Only honoured for sandbox partners: the demo credentials the sandbox itself prints.
    sandbox_secret_values: dict[str, str] = Field(default_factory=dict, repr=False)

    @field_validator("base_url")
    @classmethod
    def _url(cls, value: str) -> str:
        if not re.match(r"^https?://[^/\s]+", value):
            raise ValueError("must be an http(s) URL such as https://crm.coop.example.nl")
        return value.rstrip("/")

    @field_validator("secrets")
    @classmethod
    def _env_names(cls, value: dict[str, str]) -> dict[str, str]:
        for name, env in value.items():
            if not _ENV_NAME.match(env):
                raise ValueError(
                    f"secrets.{name} must be the NAME of an environment variable (e.g. HUB_COOP_PASSWORD),"
                    " never the secret itself"
                )
        return value

    @field_validator("settings")
    @classmethod
    def _no_secret_settings(cls, value: dict[str, Any]) -> dict[str, Any]:
        for name in value:
            if _SECRETISH.search(name):
                raise ValueError(
                    f"settings.{name} looks like a secret; list it under `secrets:` as an environment variable name"
                )
        return value

    @model_validator(mode="after")
    def _sandbox_values_only_for_sandbox(self) -> PartnerConfig:
        if self.sandbox_secret_values and not self.sandbox:
            raise ValueError("sandbox_secret_values is only allowed when sandbox: true")
        return self


# The journey phases a dossier can stall in (done and stopped are terminal).
FOLLOW_UP_PHASES = tuple(p.value for p in Phase if p not in (Phase.DONE, Phase.STOPPED))


class FollowUpConfig(BaseModel):
    """When a stalled dossier gets a follow-up kansactie for the coordinator in Econobis ("als na 1 week niets
    gebeurt", DOMAIN.md). A dossier is stalled when its latest journey event is older than `after_days` and it
    is in one of `phases`; one follow-up per dossier and phase, ever. Stalls older than `look_back_days` are
    not followed up (at go-live the hub does not flood a campaign's backlog of long-cold dossiers; the mart
    lists them). The default kansactie is a Doorverwijzing "Nog doorverwijzen": the one type that does not
    change the kans status (contracts/econobis.md §1.8), with three call-attempt dates for the coordinator."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = True
    after_days: int = Field(default=7, ge=1, le=365)
    look_back_days: int = Field(default=28, ge=1, le=3650)
    phases: tuple[str, ...] = ("interest", "contact", "advice", "financing", "quotation")
    action: str = "redirection"
    status: str = "still_refer"
    max_per_run: int = Field(default=200, ge=1, le=10000)

    @model_validator(mode="after")
    def _window(self) -> FollowUpConfig:
        if self.look_back_days <= self.after_days:
            raise ValueError("look_back_days must be larger than after_days")
        unknown = sorted(set(self.phases) - set(FOLLOW_UP_PHASES))
        if unknown:
            raise ValueError(f"phases {unknown} cannot stall; choose from {list(FOLLOW_UP_PHASES)}")
        return self


class TenantConfig(BaseModel):
    """A cooperation or municipality: its partners and reporting preferences."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    name: str
    country: str = "NL"
    timezone: str = "Europe/Amsterdam"
    partners: dict[str, PartnerConfig]
    # Personal data in the mart is pseudonymised unless the tenant opts in.
    mart_personal_data: bool = False
    follow_up: FollowUpConfig = Field(default_factory=FollowUpConfig)
    # The mart does not publish while a tenant's last successful sync is older than this (blocking check).
    fresh_within_hours: float = Field(default=3.0, gt=0)
    # Personal data in processed payloads (inbox, outbox, quarantine, idempotency records) is blanked after
    # this many days by the retention purge (docs/erasure.md); rows, counts and times stay.
    retention_days: int = Field(default=30, ge=1, le=3650)

    @field_validator("id")
    @classmethod
    def _slug(cls, value: str) -> str:
        if not re.match(r"^[a-z0-9][a-z0-9-]{1,62}$", value):
            raise ValueError("must be a lower-case slug (letters, digits, dashes), e.g. coop-noord")
        return value

    @field_validator("partners")
    @classmethod
    def _known_partners(cls, value: dict[str, PartnerConfig]) -> dict[str, PartnerConfig]:
        from hub.connector import known_partners  # the registered connectors (hub/connector.py)

        known = known_partners()
        unknown = sorted(set(value) - set(known))
        # with no connector registered (the core used on its own) there is nothing to check names against
        if known and unknown:
            raise ValueError(f"unknown partner(s) {unknown}; known: {list(known)}")
        return value

    def has(self, *partners: str) -> bool:
        """Whether every one of `partners` is configured for this tenant."""
        return all(p in self.partners for p in partners)

    def partner(self, name: str) -> PartnerConfig:
        try:
            return self.partners[name]
        except KeyError:
            raise ConfigError(f"tenant {self.id!r} has no partner {name!r} configured") from None

    def secret(self, partner: str, name: str, env: Mapping[str, str] | None = None) -> str:
        """Resolve a partner secret from the environment; raise ConfigError naming tenant, key and variable."""
        env = os.environ if env is None else env
        pc = self.partner(partner)
        var = pc.secrets.get(name)
        if var is None:
            raise ConfigError(f"tenants.{self.id}.partners.{partner}.secrets.{name} is not configured")
        value = env.get(var)
        if value:
            return value
        if pc.sandbox and name in pc.sandbox_secret_values:
            return pc.sandbox_secret_values[name]
        raise ConfigError(
            f"missing secret: environment variable {var} (tenants.{self.id}.partners.{partner}.secrets.{name})"
            " is not set"
        )


class HubConfig(BaseModel):
    """The whole tenants file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    tenants: list[TenantConfig]
    source: str = "embedded sandbox default"

    @field_validator("tenants")
    @classmethod
    def _unique(cls, value: list[TenantConfig]) -> list[TenantConfig]:
        ids = [t.id for t in value]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"duplicate tenant id(s): {dupes}")
        if not value:
            raise ValueError("at least one tenant is required")
        return value

    def tenant(self, tenant_id: str) -> TenantConfig:
        for t in self.tenants:
            if t.id == tenant_id:
                return t
        raise ConfigError(f"unknown tenant {tenant_id!r}; configured: {[t.id for t in self.tenants]}")

    def tenants_with(self, partner: str) -> list[TenantConfig]:
        return [t for t in self.tenants if t.has(partner)]


# --- embedded default -------------------------------------------------------------------------------------

SANDBOX_TENANTS: tuple[tuple[str, str], ...] = (
    ("coop-noord", "Energiecoöperatie Noord (sandbox)"),
    ("coop-zuid", "Energiecoöperatie Zuid (sandbox)"),
)


def sandbox_port_base() -> int:
    raw = os.environ.get("HUB_SANDBOX_PORT_BASE", str(SANDBOX_PORT_BASE_DEFAULT))
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"HUB_SANDBOX_PORT_BASE must be a port number, got {raw!r}") from None


def env_prefix(tenant_id: str, partner: str) -> str:
    """The prefix of a tenant's partner secrets in the environment: HUB_<TENANT>_<PARTNER>_."""
    return "HUB_" + tenant_id.upper().replace("-", "_") + "_" + partner.upper().replace("-", "_") + "_"


def receiver_port() -> int:
    """The port `hub serve` / `hub sandbox` use for the receiver by default (HUB_RECEIVER_PORT)."""
    raw = os.environ.get("HUB_RECEIVER_PORT", str(sandbox_port_base()))
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"HUB_RECEIVER_PORT must be a port number, got {raw!r}") from None


def sandbox_ports() -> dict[str, dict[str, int]]:
    """Each registered sandbox's default ports above HUB_SANDBOX_PORT_BASE: partner → {tenant: port} for a
    per-tenant sandbox (its offset + the tenant's number), {"*": port} for one shared by all tenants."""
    from hub.connector import REGISTRY

    base = sandbox_port_base()
    out: dict[str, dict[str, int]] = {}
    for c in REGISTRY.with_sandbox():
        assert c.sandbox is not None
        if c.sandbox.per_tenant:
            out[c.name] = {tid: base + c.sandbox.port_offset + i for i, (tid, _) in enumerate(SANDBOX_TENANTS, 1)}
        else:
            out[c.name] = {"*": base + c.sandbox.port_offset}
    return out


def sandbox_config(
    ports: Mapping[str, Mapping[str, int] | int] | None = None,
    host: str = "127.0.0.1",
    extra_settings: Mapping[str, Any] | None = None,
) -> HubConfig:
    """Config pointing at every registered connector's sandbox on loopback, for the sandbox tenants. Ports:
    `ports[partner]` (per tenant: {tenant: port}, or one port for all tenants), else the connector's default
    above HUB_SANDBOX_PORT_BASE (a per-tenant sandbox: its offset + the tenant's number); the hub's receiver
    listens on the base port itself."""
    from hub.connector import REGISTRY

    defaults = sandbox_ports()
    tenants = []
    for tid, name in SANDBOX_TENANTS:
        partners: dict[str, PartnerConfig] = {}
        for c in REGISTRY.with_sandbox():
            assert c.sandbox is not None
            given = (ports or {}).get(c.name)
            if isinstance(given, Mapping):
                given = given.get(tid)
            default = defaults[c.name].get(tid, defaults[c.name].get("*"))
            partners[c.name] = c.sandbox.config(tid, int(given or default or 0), host, extra_settings)
        tenants.append(TenantConfig(id=tid, name=name, partners=partners))
    return HubConfig(tenants=tenants)


# --- loading ----------------------------------------------------------------------------------------------


def _format_validation_error(err: ValidationError, source: str) -> str:
    lines = [f"invalid tenants file {source}:"]
    for e in err.errors():
        loc = ".".join(str(p) for p in e["loc"])
        lines.append(f"  {loc}: {e['msg']}")
    return "\n".join(lines)


def parse_config(text: str, source: str = "<string>") -> HubConfig:
    """Parse a YAML tenants file. Accepts `tenants:` as a list or as a mapping keyed by tenant id."""
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"tenants file {source} is not valid YAML: {exc}") from None
    if not isinstance(raw, dict) or "tenants" not in raw:
        raise ConfigError(f"tenants file {source} must be a mapping with a top-level `tenants:` key")
    tenants = raw["tenants"]
    if isinstance(tenants, dict):
        tenants = [{"id": tid, **(body or {})} for tid, body in tenants.items()]
    try:
        return HubConfig(tenants=tenants, source=source)
    except ValidationError as exc:
        raise ConfigError(_format_validation_error(exc, source)) from None


def load_config(path: str | os.PathLike[str] | None = None) -> HubConfig:
    """Load `path`, else $HUB_CONFIG, else ./hub.yaml if present, else the embedded sandbox default."""
    chosen = path or os.environ.get("HUB_CONFIG")
    if chosen is None and Path("hub.yaml").exists():
        chosen = "hub.yaml"
    if chosen is None:
        return sandbox_config()
    p = Path(chosen)
    if not p.exists():
        raise ConfigError(f"tenants file {p} does not exist (from HUB_CONFIG or --config)")
    return parse_config(p.read_text(encoding="utf-8"), source=str(p))


# --- local paths ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class HubPaths:
    """Where the hub keeps its local state: the state store, the Dagster home and the mart."""

    root: Path

    @classmethod
    def from_env(cls) -> HubPaths:
        return cls(Path(os.environ.get("HUB_HOME", ".hub")).resolve())

    @cached_property
    def dagster_home(self) -> Path:
        return self.root / "dagster"

    @cached_property
    def mart_dir(self) -> Path:
        return self.root / "mart"

    @property
    def sqlite_path(self) -> Path:
        return self.root / "hub.sqlite"

    def database_url(self) -> str:
        return os.environ.get("HUB_DATABASE_URL") or f"sqlite:///{self.sqlite_path}"

    def ensure(self) -> None:
        for d in (self.root, self.dagster_home, self.mart_dir):
            d.mkdir(parents=True, exist_ok=True)
