"""Tenants configuration: which cooperations/municipalities the hub serves and how to reach their partners.

Owns the tenants file format, the embedded sandbox default, secret resolution from environment variables
and the hub's local paths (`.hub/`)."""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import parse_qsl, urlsplit

import yaml
from pydantic import BaseModel, ConfigDict, Field, StrictBool, ValidationError, field_validator, model_validator

from hub.canonical.phases import Phase
from hub.pseudonym import key_problem
from hub.redact import SECRET_QUERY_KEYS

if TYPE_CHECKING:
    from hub.connector import Coupling, Registry

SettingsT = TypeVar("SettingsT", bound=BaseModel)

# A key that names a secret, wherever it appears in a partner's config (settings, the partner entry itself, a
# URL's query): such a value may only be given under `secrets:`, as the name of an environment variable.
SECRETISH = re.compile(
    r"pass(word|phrase|wd)?|pwd|secret|token|bearer|credential|auth(?!or)|api[_-]?key|apikey|private[_-]?key"
    r"|(^|[_-])key$|^key[_-]|cookie|hmac|jwt|signature",
    re.IGNORECASE,
)
# What an environment-variable name in `secrets:` must look like: upper-case words joined by underscores
# (HUB_COOP_CRM_PASSWORD). A single word (XK7QPZ9WLMNB4RT2) is refused without being shown: it is more
# likely the secret itself than a name.
ENV_NAME = re.compile(r"^[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+$")
ENV_NAME_MAX = 128
SANDBOX_PORT_BASE_DEFAULT = 18100
# Guards for reading a tenants file: its size, and the YAML nodes it may expand to (aliases count each time
# they are used, so a "billion laughs" file is refused before anything walks it) and how deep it may nest.
MAX_CONFIG_BYTES = 1_000_000
MAX_YAML_NODES = 100_000
MAX_YAML_DEPTH = 40


class ConfigError(Exception):
    """The tenants file is unreadable or malformed, or a referenced secret is missing or shared; the message
    names the file and the keys, never a secret value."""


def plausible_env_name(name: str) -> bool:
    """Whether an environment-variable name may be printed in an error. It passed ENV_NAME already, but a
    secret could still look like one (HUB_K7QPZ9WLMNB4RT2X): a word longer than 24 characters, or with more
    than two digits among letters, or with six or more letters and no vowel (AEIOUY) among them, makes it
    unprintable. Real names are words (HUB_COOP2_OAUTH2_SECRET, HUB_2026_KEY) and pass."""
    for word in name.split("_"):
        digits = sum(ch.isdigit() for ch in word)
        letters = [ch for ch in word if ch.isalpha()]
        if len(word) > 24 or (digits > 2 and letters):
            return False
        if len(letters) >= 6 and not set(letters) & set("AEIOUY"):
            return False
    return True


def shown_env_name(name: str) -> str:
    """The name as an error may show it: itself when plausible, else a placeholder."""
    return name if ENV_NAME.match(name) and plausible_env_name(name) else "(name not shown: it looks like a secret)"


def _secret_keys(value: Any, path: str) -> Iterator[str]:
    """The dotted paths of every secret-looking key in a settings tree (mappings and lists of mappings)."""
    if isinstance(value, Mapping):
        for k, v in value.items():
            here = f"{path}.{k}"
            if isinstance(k, str) and SECRETISH.search(k):
                yield here
            yield from _secret_keys(v, here)
    elif isinstance(value, list | tuple):
        for i, v in enumerate(value):
            yield from _secret_keys(v, f"{path}.{i}")


def check_base_url(value: str) -> str:
    """Why a partner's base URL is refused, or "" when it is fine. Parsed with urllib.parse; the message never
    repeats the URL (it might carry a credential)."""
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in value):
        return "must not contain whitespace or control characters"
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 (raises ValueError for a port out of range or not a number)
    except ValueError:
        return "is not a valid URL (host or port malformed)"
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return "must be an http(s) URL such as https://crm.coop.example.nl"
    if "@" in parts.netloc:
        return "must not carry a user name or password (user:password@); give credentials under `secrets:`"
    host = parts.hostname or ""
    if not _valid_host(host, bracketed="[" in parts.netloc):
        return "must name a valid host (letters, digits, dots and dashes, or an IP address)"
    if parts.query:
        names = [k for k, _ in parse_qsl(parts.query, keep_blank_values=True)]
        secretish = sorted({k for k in names if SECRETISH.search(k) or k.lower() in SECRET_QUERY_KEYS})
        if secretish:
            return f"must not carry a secret in its query string (parameter(s) {secretish}); give it under `secrets:`"
        return "must not have a query string (the hub appends paths to it)"
    if parts.fragment:
        return "must not have a #fragment"
    return ""


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _valid_host(host: str, bracketed: bool) -> bool:
    if bracketed:
        try:
            return ipaddress.ip_address(host).version == 6
        except ValueError:
            return False
    try:
        ascii_host = host.encode("idna").decode("ascii")
    except UnicodeError:
        return False
    labels = ascii_host.rstrip(".").split(".")
    return bool(ascii_host) and all(re.fullmatch(r"[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?", lab) for lab in labels)


class PartnerConfig(BaseModel):
    """One partner system of one tenant: where it lives, non-secret settings, and secrets by env-var name."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    base_url: str
    settings: dict[str, Any] = Field(default_factory=dict)
    secrets: dict[str, str] = Field(default_factory=dict)
    sandbox: StrictBool = False
    # Only honoured for sandbox partners: the demo credentials the sandbox itself prints.
    sandbox_secret_values: dict[str, str] = Field(default_factory=dict, repr=False)

    @model_validator(mode="before")
    @classmethod
    def _no_secret_keys(cls, data: Any) -> Any:
        """A secret-looking key next to base_url/settings/secrets (`inbound_key: …`) is refused as a secret,
        not merely as an unknown key, and its value is never shown."""
        if isinstance(data, Mapping):
            known = set(cls.model_fields)
            found = sorted(str(k) for k in data if k not in known and isinstance(k, str) and SECRETISH.search(k))
            if found:
                raise ValueError(
                    f"{', '.join(found)}: a secret may only be given under `secrets:`, as the name of an environment"
                    " variable (the value is not shown)"
                )
        return data

    @field_validator("base_url")
    @classmethod
    def _url(cls, value: str) -> str:
        problem = check_base_url(value)
        if problem:
            raise ValueError(problem)
        return value.rstrip("/")

    @field_validator("secrets")
    @classmethod
    def _env_names(cls, value: dict[str, str]) -> dict[str, str]:
        for name, env in value.items():
            if len(env) > ENV_NAME_MAX or not ENV_NAME.match(env):
                raise ValueError(
                    f"{name} must be the NAME of an environment variable: upper-case words joined by"
                    " underscores, such as HUB_COOP_CRM_PASSWORD, never the secret itself (the value given"
                    " is not shown)"
                )
        return value

    @field_validator("settings")
    @classmethod
    def _no_secret_settings(cls, value: dict[str, Any]) -> dict[str, Any]:
        found = [path.removeprefix("settings.") for path in _secret_keys(value, "settings")]
        if found:
            raise ValueError(
                f"{', '.join(found)} {'looks like a secret' if len(found) == 1 else 'look like secrets'}: a secret"
                " may only be given under `secrets:`, as the name of an environment variable (the value is not shown)"
            )
        return value

    @model_validator(mode="after")
    def _sandbox_values_only_for_sandbox(self) -> PartnerConfig:
        if self.sandbox_secret_values and not self.sandbox:
            raise ValueError("sandbox_secret_values is only allowed when sandbox: true")
        if self.sandbox and not _is_loopback(urlsplit(self.base_url).hostname or ""):
            # the sandbox's demo values are written in the file: never for a system off this machine
            raise ValueError("sandbox: true is only allowed for a loopback base_url (127.0.0.1, localhost, ::1)")
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

    enabled: StrictBool = True
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
    mart_personal_data: StrictBool = False
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

    def settings_of(self, partner: str, model: type[SettingsT]) -> SettingsT:
        """The partner's settings validated against its connector's model; a refusal names each key and why,
        never the value given (a ConfigError)."""
        try:
            return model.model_validate(self.partner(partner).settings)
        except ValidationError as exc:
            where = f"tenants.{self.id}.partners.{partner}.settings"
            problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
            raise ConfigError(f"{where}: {problems}") from None

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
            f"missing secret: environment variable {shown_env_name(var)}"
            f" (tenants.{self.id}.partners.{partner}.secrets.{name}) is not set"
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
    ("loket-leuven", "Energieloket Leuven (sandbox)"),
)


@dataclass(frozen=True)
class SandboxRegion:
    """Where a sandbox tenant works: its region code (what a connector's `SandboxFactory.regions` names), the
    country and timezone of its tenant config."""

    code: str
    country: str
    timezone: str


NL = SandboxRegion("nl", "NL", "Europe/Amsterdam")  # the Dutch energy cooperatives (Econobis, Hoomdossier)
VL = SandboxRegion("vl", "BE", "Europe/Brussels")  # the Flemish energy desks (energieloket)
# Each sandbox tenant's region: the embedded default gives a tenant the sandboxes that serve its region
# (`SandboxFactory.regions`), so a partner joins the tenants of a region by its own declaration.
SANDBOX_REGIONS: Mapping[str, SandboxRegion] = {"coop-noord": NL, "coop-zuid": NL, "loket-leuven": VL}


def sandbox_region(tenant_id: str) -> SandboxRegion:
    """A sandbox tenant's region (a tenant the embedded default does not list counts as Dutch)."""
    return SANDBOX_REGIONS.get(tenant_id, NL)


def sandbox_tenant_ids(regions: Iterable[str] | None = None) -> tuple[str, ...]:
    """The sandbox tenants of `regions` (None: all), in the embedded default's order."""
    wanted = None if regions is None else set(regions)
    return tuple(tid for tid, _ in SANDBOX_TENANTS if wanted is None or sandbox_region(tid).code in wanted)


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
            # numbered over all sandbox tenants, so a tenant keeps its port whichever regions a sandbox serves
            out[c.name] = {
                tid: base + c.sandbox.port_offset + i
                for i, (tid, _) in enumerate(SANDBOX_TENANTS, 1)
                if c.sandbox.serves(sandbox_region(tid).code)
            }
        else:
            out[c.name] = {"*": base + c.sandbox.port_offset}
    return out


def sandbox_config(
    ports: Mapping[str, Mapping[str, int] | int] | None = None,
    host: str = "127.0.0.1",
    extra_settings: Mapping[str, Any] | None = None,
) -> HubConfig:
    """Config pointing at the registered connectors' sandboxes on loopback, for the sandbox tenants: each
    tenant gets the sandboxes that serve its region (`SANDBOX_REGIONS`, `SandboxFactory.regions`). Ports:
    `ports[partner]` (per tenant: {tenant: port}, or one port for all tenants), else the connector's default
    above HUB_SANDBOX_PORT_BASE (a per-tenant sandbox: its offset + the tenant's number); the hub's receiver
    listens on the base port itself."""
    from hub.connector import REGISTRY

    defaults = sandbox_ports()
    tenants = []
    for tid, name in SANDBOX_TENANTS:
        region = sandbox_region(tid)
        partners: dict[str, PartnerConfig] = {}
        for c in REGISTRY.with_sandbox():
            assert c.sandbox is not None
            if not c.sandbox.serves(region.code):
                continue
            given = (ports or {}).get(c.name)
            if isinstance(given, Mapping):
                given = given.get(tid)
            default = defaults[c.name].get(tid, defaults[c.name].get("*"))
            partners[c.name] = c.sandbox.config(tid, int(given or default or 0), host, extra_settings)
        tenants.append(
            TenantConfig(id=tid, name=name, country=region.country, timezone=region.timezone, partners=partners)
        )
    return HubConfig(tenants=tenants)


# --- loading ---------------------------------------------------------------------------------------------


def _clean_msg(msg: str) -> str:
    return msg.removeprefix("Value error, ").replace("\n", " ")


def _problems(err: ValidationError, prefix: str) -> list[str]:
    """One line per refused key, named by its dotted path; pydantic's messages never repeat the input."""
    out = []
    for e in err.errors():
        loc = ".".join([prefix, *(str(p) for p in e["loc"])]) if prefix else ".".join(str(p) for p in e["loc"])
        out.append(f"{loc}: {_clean_msg(e['msg'])}")
    return out


def _yaml_problem(exc: BaseException) -> str:
    """A YAML error in one line, with its position but without the snippet PyYAML prints (it would repeat
    the file's text, a literal secret included)."""
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        return f"{exc.problem or exc.context or 'malformed YAML'}{where}"
    if isinstance(exc, yaml.reader.ReaderError):
        return f"unacceptable character #x{exc.character:04x} at position {exc.position}"
    if isinstance(exc, RecursionError):
        return "nested too deeply"
    # a value YAML could not build (an impossible date, a 5,000-digit number, `!!int` on text): its message
    # may quote the value, so only its kind is told
    return f"a value could not be read ({type(exc).__name__})"


def _check_yaml_size(root: yaml.Node, source: str) -> None:
    """Refuse a node graph that expands past MAX_YAML_NODES (aliases counted at each use), nests deeper than
    MAX_YAML_DEPTH, or refers to itself (a recursive alias)."""
    sizes: dict[int, int] = {}
    active: set[int] = set()

    def size(node: yaml.Node, depth: int) -> int:
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in active:
            raise ConfigError(f"tenants file {source}: a YAML alias refers to itself (recursive structure)")
        if depth > MAX_YAML_DEPTH:
            raise ConfigError(f"tenants file {source}: YAML nested more than {MAX_YAML_DEPTH} levels deep")
        active.add(key)
        total = 1
        if isinstance(node, yaml.SequenceNode):
            total += sum(size(child, depth + 1) for child in node.value)
        elif isinstance(node, yaml.MappingNode):
            total += sum(size(k, depth + 1) + size(v, depth + 1) for k, v in node.value)
        if total > MAX_YAML_NODES:
            raise ConfigError(
                f"tenants file {source}: YAML expands to more than {MAX_YAML_NODES} nodes (aliases counted at each use)"
            )
        active.discard(key)
        sizes[key] = total
        return total

    size(root, 0)


def _load_yaml(text: str, source: str) -> Any:
    loader = None
    try:
        loader = yaml.SafeLoader(text)  # its reader refuses control characters already
        node = loader.get_single_node()
        if node is None:
            return None
        _check_yaml_size(node, source)
        return loader.construct_document(node)
    except (yaml.YAMLError, ValueError, TypeError, OverflowError, RecursionError) as exc:
        raise ConfigError(f"tenants file {source} is not valid YAML: {_yaml_problem(exc)}") from None
    finally:
        if loader is not None:
            loader.dispose()


def _kind(value: Any) -> str:
    kinds = {list: "a list", dict: "a mapping", str: "a string", type(None): "empty", bool: "true/false"}
    return kinds.get(
        type(value), "an integer" if isinstance(value, int) else "a number" if isinstance(value, float) else "a scalar"
    )


def _tenant_entries(tenants: Any, problems: list[str]) -> list[tuple[str, Any]]:
    """(label, raw tenant) for each entry of `tenants:`, a list or a mapping keyed by tenant id; the label is
    the tenant id where there is one, so errors say tenants.coop-a.… rather than tenants.0.…"""
    entries: list[tuple[str, Any]] = []
    if isinstance(tenants, dict):
        for tid, body in tenants.items():
            label = str(tid)
            if not isinstance(tid, str):
                problems.append(f"tenants.{label}: a tenant id must be a string (a lower-case slug)")
                continue
            if body is None:
                body = {}
            if not isinstance(body, dict):
                problems.append(f"tenants.{label}: must be a mapping (name, partners, …), not {_kind(body)}")
                continue
            if "id" in body and body["id"] != tid:
                problems.append(f"tenants.{label}.id: differs from the key it is listed under")
                continue
            entries.append((label, {**body, "id": tid}))
    elif isinstance(tenants, list):
        for i, body in enumerate(tenants):
            if not isinstance(body, dict):
                problems.append(f"tenants.{i}: must be a mapping (id, name, partners, …), not {_kind(body)}")
                continue
            tid = body.get("id")
            label = tid if isinstance(tid, str) and re.fullmatch(r"[a-z0-9][a-z0-9-]{1,62}", tid) else str(i)
            entries.append((label, body))
    else:
        problems.append(f"tenants: must be a list of tenants or a mapping keyed by tenant id, not {_kind(tenants)}")
    return entries


def parse_config(text: str, source: str = "<string>") -> HubConfig:
    """Parse a YAML tenants file into its structure: every key typed and checked, each problem named by its
    key; raises one ConfigError listing them all. Accepts `tenants:` as a list or as a mapping keyed by tenant
    id; other top-level keys must start with `x-` (a place for YAML anchors). What the registered connectors
    and the environment say about it is `validate_config`'s (load_config does both)."""
    raw = _load_yaml(text, source)
    if raw is None:
        raise ConfigError(f"tenants file {source} is empty")
    if not isinstance(raw, dict) or "tenants" not in raw:
        raise ConfigError(
            f"tenants file {source} must be a mapping with a top-level `tenants:` key, not {_kind(raw)}"
            if not isinstance(raw, dict)
            else f"tenants file {source} must be a mapping with a top-level `tenants:` key"
        )
    problems: list[str] = []
    unknown = sorted(str(k) for k in raw if k != "tenants" and not (isinstance(k, str) and k.startswith("x-")))
    if unknown:
        problems.append(f"unknown top-level key(s) {unknown}: only `tenants:` (and `x-…` keys for anchors)")
    tenants: list[TenantConfig] = []
    for label, body in _tenant_entries(raw["tenants"], problems):
        try:
            tenants.append(TenantConfig.model_validate(body))
        except ValidationError as exc:
            problems.extend(_problems(exc, f"tenants.{label}"))
    if not problems:
        try:
            return HubConfig(tenants=tenants, source=source)
        except ValidationError as exc:
            problems.extend(_problems(exc, ""))
    raise ConfigError(_invalid(source, problems))


def _invalid(source: str, problems: list[str]) -> str:
    """One line for one problem, else a list under the file's name."""
    if len(problems) == 1:
        return f"invalid tenants file {source}: {problems[0]}"
    return f"invalid tenants file {source}:\n  " + "\n  ".join(problems)


def read_config_file(path: Path) -> str:
    """The text of a tenants file, or a one-line ConfigError: missing, a directory, unreadable, too large, not
    UTF-8 (a UTF-8 byte-order mark is accepted), or empty."""
    try:
        if path.is_dir():
            raise ConfigError(f"tenants file {path} is a directory, not a file")
        if not path.exists():
            raise ConfigError(f"tenants file {path} does not exist (from HUB_CONFIG or --config)")
        with path.open("rb") as f:
            data = f.read(MAX_CONFIG_BYTES + 1)
    except PermissionError:
        raise ConfigError(f"tenants file {path} cannot be read: permission denied") from None
    except OSError as exc:
        raise ConfigError(f"tenants file {path} cannot be read: {exc.strerror or type(exc).__name__}") from None
    if len(data) > MAX_CONFIG_BYTES:
        raise ConfigError(f"tenants file {path} is larger than {MAX_CONFIG_BYTES} bytes")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"tenants file {path} is not UTF-8 text (byte {exc.start} cannot be decoded)") from None
    if not text.strip():
        raise ConfigError(f"tenants file {path} is empty")
    return text


def _inbound_slots(
    config: HubConfig, registry: Registry, env: Mapping[str, str]
) -> list[tuple[str, str, frozenset[str] | None, str]]:
    """(key path, env-var name, resolved values or None, tenant) of every inbound credential of the file. A
    variable may hold several credentials separated by whitespace (a webhook source's active secrets during a
    key rotation): each counts on its own."""
    slots = []
    for t in config.tenants:
        for name, pc in t.partners.items():
            if name not in registry:
                continue
            for secret in registry.get(name).inbound_secrets:
                var = pc.secrets.get(secret)
                if var is None:
                    continue
                try:
                    value: frozenset[str] | None = frozenset(t.secret(name, secret, env).split())
                except ConfigError:
                    value = None
                slots.append((f"tenants.{t.id}.partners.{name}.secrets.{secret}", var, value, t.id))
    return slots


def shared_inbound_credentials(config: HubConfig, registry: Registry, env: Mapping[str, str]) -> list[str]:
    """An inbound credential (a path key, a proxy token, a webhook secret: each connector's `inbound_secrets`)
    names the tenant a call is for, so each must be unique across tenants, partners and kinds of secret: two
    slots naming the same environment variable, or whose variables hold the same value, are refused. The
    message names both keys, never the value."""
    problems = []
    slots = _inbound_slots(config, registry, env)
    for i, (path_a, var_a, value_a, tenant_a) in enumerate(slots):
        for path_b, var_b, value_b, tenant_b in slots[i + 1 :]:
            if var_a == var_b:
                why = f"both name the environment variable {shown_env_name(var_a)}"
            elif value_a and value_b and value_a & value_b:
                why = "their environment variables hold the same value"
            else:
                continue
            if tenant_a != tenant_b:
                problems.append(
                    f"{path_a} and {path_b}: tenants {tenant_a} and {tenant_b} share an inbound credential ({why});"
                    " a call carrying it could be stored as the wrong tenant's: give each its own"
                )
            else:
                problems.append(
                    f"{path_a} and {path_b}: tenant {tenant_a} uses one inbound credential twice ({why}); give each"
                    " inbound route its own"
                )
    return problems


def validate_config(
    config: HubConfig,
    registry: Registry | None = None,
    env: Mapping[str, str] | None = None,
    couplings: Iterable[Coupling] = (),
) -> list[str]:
    """Every problem of a parsed tenants file that `hub serve`, Dagster or a CLI command would otherwise meet
    later: what the registered connectors refuse (unknown partner, missing or unknown secret names, a secret
    field under settings, settings their schema refuses), the secrets `couplings` need, every secret that does
    not resolve, and inbound credentials shared between tenants. The one check every entry point runs
    (through load_config)."""
    from hub.connector import REGISTRY

    registry = REGISTRY if registry is None else registry
    env = os.environ if env is None else env
    problems = registry.check_config(config)
    for coupling in couplings:
        problems += coupling.check_config(config)
    for t in config.tenants:
        for partner, pc in t.partners.items():
            for name in pc.secrets:
                try:
                    t.secret(partner, name, env)
                except ConfigError as exc:
                    problems.append(str(exc))
    problems.extend(shared_inbound_credentials(config, registry, env))
    key = key_problem(config, "the hub", env)
    if key:
        problems.append(key)
    return problems


def ensure_valid(
    config: HubConfig,
    registry: Registry | None = None,
    env: Mapping[str, str] | None = None,
    couplings: Iterable[Coupling] = (),
) -> HubConfig:
    """`config` itself, or ConfigError listing every problem `validate_config` finds."""
    problems = validate_config(config, registry, env, couplings)
    if problems:
        raise ConfigError(_invalid(config.source, problems))
    return config


def config_path(path: str | os.PathLike[str] | None = None) -> Path | None:
    """Which tenants file: `path`, else $HUB_CONFIG, else ./hub.yaml if present; None: the embedded default."""
    chosen = path or os.environ.get("HUB_CONFIG")
    if not chosen and Path("hub.yaml").exists():
        chosen = "hub.yaml"
    return Path(chosen) if chosen else None


def load_config(
    path: str | os.PathLike[str] | None = None,
    *,
    registry: Registry | None = None,
    env: Mapping[str, str] | None = None,
    couplings: Iterable[Coupling] = (),
) -> HubConfig:
    """The one way in: load `path`, else $HUB_CONFIG, else ./hub.yaml if present, else the embedded sandbox
    default; parse it and validate it against the registered connectors and the environment. Raises one
    ConfigError listing every problem, so `hub check-config`, `hub serve`, Dagster and every command refuse
    the same file with the same message."""
    p = config_path(path)
    config = sandbox_config() if p is None else parse_config(read_config_file(p), source=str(p))
    return ensure_valid(config, registry, env, couplings)


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
        """$HUB_MART_DIR (e.g. a volume PowerBI's gateway reads), else `mart/` in the hub's home."""
        moved = os.environ.get("HUB_MART_DIR")
        return Path(moved).resolve() if moved else self.root / "mart"

    @property
    def sqlite_path(self) -> Path:
        return self.root / "hub.sqlite"

    def database_url(self) -> str:
        return os.environ.get("HUB_DATABASE_URL") or f"sqlite:///{self.sqlite_path}"

    def ensure(self) -> None:
        for d in (self.root, self.dagster_home, self.mart_dir):
            d.mkdir(parents=True, exist_ok=True)
