"""The declaration a partner connector makes, and the registry the rest of the hub loops over.

A connector (`connectors/<partner>/connector.py`) declares everything the hub needs from its partner: config
schema and secrets (URL-path secrets included, for redaction), receiver routes, pull and date-range re-read,
outbox push, inbox processing, quarantine-replay rules, journey-phase contributions, reconciliation, freshness
and its sandbox. Assets, sensors, the receiver, mart freshness, the replay and the sandbox stack are generated
from these declarations, so a new partner touches its own folder and one registry line (connectors/__init__.py).
Nothing here names a partner."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from hub.consent import ConsentNeed, Mandate, mandated_run

if TYPE_CHECKING:
    from fastapi import APIRouter

    from hub.config import HubConfig, PartnerConfig, TenantConfig
    from hub.store import Store


class Outcome(Protocol):
    """What a capability returns: its figures as plain values (the asset layer turns them into metadata)."""

    def metadata(self) -> dict[str, Any]: ...


@dataclass(frozen=True)
class Markdown:
    """A metadata value to show as a Markdown table (plain values stay JSON, numbers and strings as they are)."""

    text: str


# Run metadata in words a coordinator reads (the asset's `summary`, shown first in the UI); the keys stay
# as they are, for the scripts and tests that read them. A connector adds its own (`Connector.metadata_labels`).
METADATA_LABELS: Mapping[str, str] = {
    "read": "How the partner was read",
    "read_because": "Why this way",
    "records_seen": "Records read from the partner",
    "created": "New in the hub",
    "updated": "Changed in the hub",
    "unchanged": "Read again, unchanged",
    "quarantined": "Set aside in quarantine (see the quarantine replay)",
    "partner_calls": "Calls to the partner",
    "partner_writes": "Writes to the partner",
    "partner_retries": "Calls tried again",
    "journey_events_added": "Journey steps added",
    "sent": "Sent to the partner",
    "seconds": "Seconds taken",
}


@dataclass(frozen=True)
class PartnerRun:
    """What a capability gets for one tenant and run: the store, the whole config, the tenant, and the options
    of the partner's Dagster resource (e.g. page size), so connectors never see Dagster."""

    store: Store
    config: HubConfig
    tenant: TenantConfig
    options: Mapping[str, Any] = field(default_factory=dict)
    tags: Mapping[str, str] = field(default_factory=dict)

    @property
    def tenant_id(self) -> str:
        return self.tenant.id


Step = Callable[[PartnerRun], Outcome]


@dataclass(frozen=True)
class Pull:
    """Reading the partner into the canonical model (`<name>_pull`, per tenant). `full` is asked by the nightly
    reconcile and by backfills. `window` re-reads what was created on a range of days (`<name>_window`, tenant ×
    day); `reread` re-reads named records (the quarantine replay); `reconcile` counts per entity (the check)."""

    run: Callable[[PartnerRun, bool], Outcome]
    description: str
    window: Callable[[PartnerRun, date, date], Outcome] | None = None
    window_description: str = ""
    reread: Callable[[PartnerRun, dict[str, list[str]]], Outcome] | None = None
    reconcile: Callable[[PartnerRun], list[dict[str, Any]]] | None = None
    reconcile_description: str = ""
    # an authentic source read only under the resident's mandate (hub/consent.py): build it with `under_mandate`
    mandate: Mandate | None = None
    # a partner with a change feed: one cheap look whether it holds changes the pull has not read yet, as a
    # marker of the newest (None: nothing new, or the first run is still to come). The `<name>_change_sensor`
    # asks it per tenant and requests `<name>_pull_job` once per marker; the pull does the reading.
    detect: Callable[[PartnerRun], str | None] | None = None
    # a pull that reads the canonical model others fill (e.g. a register asked about the dwellings the partners
    # named) runs after every pull and inbox of a lower stage in the same run
    stage: int = 0

    @classmethod
    def under_mandate(cls, mandate: Mandate, description: str, **rest: Any) -> Pull:
        """A pull of an authentic source: `run` fetches for the residents whose mandate `hub.consent.check`
        finds granted, and only for them (the run's metadata counts the others as withheld)."""
        return cls(run=mandated_run(mandate), description=description, mandate=mandate, **rest)


@dataclass(frozen=True)
class Push:
    """Sending the partner's due outbox items (`<name>_push`, per tenant; the outbox sensor requests it).
    `consent`: operation → what it shares (hub/consent.py); the outbox worker checks it before every send of
    such an item and withholds the item without consent. Operations not named (an erasure, a write into the
    cooperation's own records) are not checked."""

    run: Step
    description: str
    consent: Mapping[str, ConsentNeed] = field(default_factory=dict)


@dataclass(frozen=True)
class Plan:
    """Deciding, from the canonical model, what the partner is to get (`<name>_plan`, per tenant): it runs after
    the model and before the push, and writes only the store (outbox items, records of what it decided and
    why, follow-ups). E.g. a premium application built from what the hub knows, or held back with the
    refusal it foresees."""

    run: Step
    description: str


@dataclass(frozen=True)
class Inbox:
    """Applying what the partner posted to the receiver (inbox `source`) to the canonical model
    (`<name>_inbox`, per tenant; the inbox sensor requests it). `unclaimed`: what the connector does itself
    with the applied messages of a tenant whose messages no coupling takes on (no coupling's `after_inbox`
    step for `source` has all its partners at the tenant), e.g. open the dossier in the hub; it runs after
    `apply`, in the same asset."""

    source: str
    apply: Step
    description: str
    unclaimed: Step | None = None
    unclaimed_description: str = ""


class Replay(StrEnum):
    """What the quarantine replay does with an open entry of a source."""

    REQUEUE_OUTBOX = "requeue-outbox"  # due again as `uncertain`: the push looks before it writes
    RETRY_INBOX = "retry-inbox"  # due to be sent on again
    REAPPLY_INBOX = "reapply-inbox"  # applied again (it did not parse)
    REREAD = "reread"  # re-read from the partner by its detail (the connector's `pull.reread`)
    REDETECT = "redetect"  # closed: the stage that parked it detects it again
    NOT_REPLAYABLE = "not-replayable"  # listed with the reason, left open


@dataclass(frozen=True)
class ReplayRule:
    action: Replay
    why: str = ""
    partner: str = ""  # REREAD: whose pull re-reads it


@dataclass(frozen=True)
class JourneyRules:
    """A partner's contribution to the journey phases (hub/journey.py): which canonical status values it
    writes mean which phase, and which partner facts count as evidence. Sets are merged over all connectors."""

    intake_contact: frozenset[str] = frozenset()
    intake_stopped: frozenset[str] = frozenset()
    opportunity_executed: frozenset[str] = frozenset()
    opportunity_stopped: frozenset[str] = frozenset()
    opportunity_financing: frozenset[str] = frozenset()
    opportunity_quotation: frozenset[str] = frozenset()
    # an opportunity status that means execution unless a visit on it was made (then it is advice)
    opportunity_in_progress: frozenset[str] = frozenset()
    visit_advice: frozenset[str] = frozenset()
    visit_made: frozenset[str] = frozenset()
    subsidy_rejected: frozenset[str] = frozenset()
    quotation_active: frozenset[str] = frozenset()
    quotation_executed: frozenset[str] = frozenset()
    # resident fields whose presence means the resident is in contact (e.g. an account at a partner)
    contact_fields: frozenset[str] = frozenset()
    # dwelling files (appointments, advices, scans) are evidence of advice
    dwelling_file_advice: bool = False
    # an energy certificate of the dossier's dwelling issued after the dossier opened, with a better label than
    # the one before it (or the first one), is evidence of execution (works were done and certified)
    certificate_execution: bool = False
    # premium applications of the dossier (canonical `premium_application` statuses): an open one is
    # financing, one with these statuses (paid) counts as evidence of execution (the works were invoiced)
    premium_financing: frozenset[str] = frozenset()
    premium_execution: frozenset[str] = frozenset()

    def __or__(self, other: JourneyRules) -> JourneyRules:
        values: dict[str, Any] = {}
        for name in self.__dataclass_fields__:
            a, b = getattr(self, name), getattr(other, name)
            values[name] = (a or b) if isinstance(a, bool) else a | b
        return JourneyRules(**values)


@dataclass(frozen=True)
class WebhookPolicy:
    """What one tenant accepts on a webhook source: the event types (`type` of the envelope; None: any), how
    far `webhook-timestamp` may be from now (at most the library's 5 minutes: narrowing only), and the largest
    body."""

    events: frozenset[str] | None = None
    tolerance_seconds: int = 300
    max_bytes: int = 256 * 1024


def _default_policy(pc: PartnerConfig) -> WebhookPolicy:
    return WebhookPolicy()


@dataclass(frozen=True)
class WebhookSource:
    """Signed webhooks (Standard Webhooks) a connector receives: `POST /webhooks/{tenant}/{source}`, verified
    against the tenant's active signing secrets (partner secret `secret`: one or more `whsec_…` values
    separated by whitespace — several while a key is rotated), stored in inbox `source` under the webhook-id
    before the 2xx (hub/receiver/webhooks.py). `policy` reads the tenant's accepted events, tolerance and
    size limit from its partner config."""

    source: str
    secret: str
    policy: Callable[[PartnerConfig], WebhookPolicy] = _default_policy


@dataclass(frozen=True)
class ErasureSubject:
    """What the core hands a connector about one resident being erased (hub/erasure.py), read before the purge
    and never stored: the canonical ids of the resident's records, their data, and the partner ids that map
    to them (system → entity → external ids)."""

    request_id: str
    tenant: str
    resident_id: str
    records: Mapping[str, Mapping[str, Any]]  # canonical id → {"entity": ..., "data": {...}}
    xref: Mapping[str, Mapping[str, tuple[str, ...]]]

    def ids(self, system: str, entity: str) -> tuple[str, ...]:
        return tuple(self.xref.get(system, {}).get(entity, ()))

    def of(self, entity: str) -> list[Mapping[str, Any]]:
        """The data of the subject's records of one entity type."""
        return [r["data"] for r in self.records.values() if r["entity"] == entity]


@dataclass(frozen=True)
class ErasurePlan:
    """A connector's part of one erasure.
    - `payload`: queued in its outbox as `Erase.operation` (its push sends it and the worker retries it);
      None when the partner gives the hub no way to tell it — then `manual` is the instruction for the
      coordinator, carried by a connector that declares a coordinator channel;
    - `watch`: (entity, external id) whose disappearance from the partner confirms the erasure there (the
      audit keeps only their keyed hashes);
    - `inbox`: (inbox source, stream prefix) of received messages about the subject; `idempotency`: (scope,
      key) of proxied calls; `outbox`: (operation, payload field, value) of this partner's queued work that
      names the subject only by a partner id (e.g. a registration by contact id), cancelled if unsent;
      `needles`: extra strings that mark a payload as the subject's. The core blanks every payload that
      matches, besides those carrying the subject's e-mail, phone or canonical ids."""

    payload: dict[str, Any] | None = None
    manual: str | None = None
    watch: tuple[tuple[str, str], ...] = ()
    inbox: tuple[tuple[str, str], ...] = ()
    idempotency: tuple[tuple[str, str], ...] = ()
    outbox: tuple[tuple[str, str, str], ...] = ()
    needles: tuple[str, ...] = ()


@dataclass(frozen=True)
class Erase:
    """How a partner is told that one resident is erased, as the partner allows it (`how`, shown in the audit
    and docs), and how the hub sees it done there (`confirms`: "pull" — a full pull no longer lists the
    watched ids; "inbox" — the partner's own deletion message arrives; "answer" — the send's success).
    `plan` returns None when the partner holds nothing of the resident. `coordinator_channel`: its payload
    also carries the manual instructions of partners the hub cannot tell itself (key `manual`)."""

    plan: Callable[[ErasureSubject], ErasurePlan | None]
    how: str
    confirms: str = "answer"
    operation: str = "erase-request"
    coordinator_channel: bool = False


@dataclass(frozen=True)
class Freshness:
    """The mart publishes only while every tenant of this partner pulled successfully within its
    `fresh_within_hours`; the pull asset records `last-success:<what>`."""

    what: str
    warn_hours: float = 1.0
    fail_hours: float = 3.0


@dataclass(frozen=True)
class SandboxStart:
    """What a sandbox is started with. `ports`: tenant → port for a per-tenant sandbox, `{"*": port}` for one
    shared by all tenants (0 = any free port). `options`: keywords for this partner's sandbox only (e.g. a
    seed); `seeds`: what couplings contribute from sandboxes started before it (e.g. another partner's users)."""

    tenants: tuple[str, ...]
    ports: Mapping[str, int]
    residents: int
    throttle: int
    options: Mapping[str, Any] = field(default_factory=dict)
    seeds: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SandboxFactory:
    """A partner's simulator for `hub sandbox`, `hub demo` and the tests.

    - `config(tenant_id, port, host, extra_settings)`: the tenant's PartnerConfig for a sandbox on that port
      (secrets by env-var name, demo values kept for the sandbox);
    - `start(SandboxStart)`: start it on loopback; returns an opaque running handle;
    - `ports(handle)`: tenant → port it listens on (`{"*": port}` when shared);
    - `describe(handle)`: base URLs and demo credentials, printed by `hub sandbox` (JSON-able);
    - `stop(handle)`.
    `per_tenant`: one server per tenant, else one for all; `port_offset`: its default port above
    HUB_SANDBOX_PORT_BASE (per tenant: offset + the tenant's number); `order`: start order, lower first;
    `regions`: the sandbox tenants' regions it serves (hub/config.py: `SANDBOX_REGIONS`, e.g. `{"nl"}` for a
    Dutch partner, `{"vl"}` for a Flemish one; None: every region): the embedded default gives a tenant only the
    sandboxes of its region, and the stack starts a sandbox only for those tenants.
    `wire(handle, receiver_url)`: point the sandbox's own calls to the hub (e.g. its webhooks) at the hub's
    receiver once that runs (the stack calls it after every receiver start)."""

    config: Callable[[str, int, str, Mapping[str, Any] | None], PartnerConfig]
    start: Callable[[SandboxStart], Any]
    ports: Callable[[Any], dict[str, int]]
    describe: Callable[[Any], dict[str, Any]]
    stop: Callable[[Any], None]
    port_offset: int
    per_tenant: bool = False
    order: int = 100
    regions: frozenset[str] | None = None
    wire: Callable[[Any, str], None] | None = None

    def serves(self, region: str) -> bool:
        return self.regions is None or region in self.regions


class PartnerSettings(BaseModel):
    """The settings every partner takes (the partner client's request budget, hub/http); a connector's own
    settings model extends it. Unknown keys are refused: a typo (`budget_per_minuut`) would otherwise be
    ignored silently, and a secret written under settings would pass."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    budget_per_minute: float | None = Field(default=None, gt=0)  # default: the connector's
    budget_burst: float | None = Field(default=None, ge=1)


def _keys(value: Any, path: str) -> Iterator[tuple[str, str]]:
    """(dotted path, key) of every key in a settings tree (mappings and lists of them)."""
    if isinstance(value, Mapping):
        for k, v in value.items():
            yield f"{path}.{k}", str(k)
            yield from _keys(v, f"{path}.{k}")
    elif isinstance(value, list | tuple):
        for i, v in enumerate(value):
            yield from _keys(v, f"{path}.{i}")


@dataclass(frozen=True)
class Connector:
    """Everything the hub needs from one partner. `name` is the partner's key in the tenants file, its xref
    system, its Dagster pool and asset-group name, and the prefix of its assets and jobs."""

    name: str
    title: str
    summary: str
    # its secret fields: given only under `secrets:` as environment-variable names; the same name anywhere
    # else in the partner's config (e.g. under settings) is refused without showing the value
    secrets: tuple[str, ...] = ()
    optional_secrets: tuple[str, ...] = ()
    # secrets whose value names the tenant on an inbound call (path keys, proxy tokens, webhook secrets): each
    # must be unique across tenants and partners, or a message could land in the wrong tenant
    inbound_secrets: tuple[str, ...] = ()
    # its settings model (typed ids, dates, durations; best extending PartnerSettings, which refuses extras)
    settings: type[BaseModel] | None = None
    path_secrets: tuple[re.Pattern[str], ...] = ()
    routes: Callable[[HubConfig, Store], Sequence[APIRouter]] | None = None
    # signed-webhook sources the receiver mounts for it (hub/receiver/webhooks.py)
    webhooks: tuple[WebhookSource, ...] = ()
    pull: Pull | None = None
    plan: Plan | None = None
    push: Push | None = None
    inbox: Inbox | None = None
    replay: Mapping[str, ReplayRule] = field(default_factory=dict)
    journey: JourneyRules = field(default_factory=JourneyRules)
    freshness: Freshness | None = None
    erase: Erase | None = None
    sandbox: SandboxFactory | None = None
    # an address register: its pull gives the dwellings of these countries their register key (the
    # `dutch_dwellings_keyed`-style check asks it of every tenant that has the partner)
    keys_dwellings_of: frozenset[str] = frozenset()
    # xref entities of this partner whose external ids are national person ids (a holder keyed on an INSZ/BSN):
    # resident linking compares them, as keyed hashes, as an authoritative id (hub/identity/residents.py)
    person_id_entities: tuple[str, ...] = ()
    # where the partner's ids are unique: (entity) kinds where one canonical record stands for one partner record
    one_to_one: tuple[str, ...] = ()
    # the figures the demo prints of each of its assets (asset name → format string over its metadata, or
    # several: the first whose fields the metadata all has)
    demo_lines: Mapping[str, str | tuple[str, ...]] = field(default_factory=dict)
    # its own metadata keys in a coordinator's words (beside METADATA_LABELS), e.g. "detail_calls"
    metadata_labels: Mapping[str, str] = field(default_factory=dict)
    # the bytes of a canonical document this partner delivered (store, tenant, the document's data) → bytes, or
    # None when it is not one of its own (hub/documents.py asks every connector that declares it)
    document_content: Callable[[Store, str, Mapping[str, Any]], bytes | None] | None = None

    @property
    def outbox_source(self) -> str:
        """The quarantine source of its parked pushes (hub/store: `outbox:<partner>`)."""
        return f"outbox:{self.name}"

    def replay_rules(self) -> dict[str, ReplayRule]:
        rules = dict(self.replay)
        if self.push is not None:
            rules.setdefault(self.outbox_source, ReplayRule(Replay.REQUEUE_OUTBOX))
        return rules

    def check_partner_config(self, tenant: str, pc: PartnerConfig) -> list[str]:
        """Problems of one tenant's config for this partner: missing or unknown secret names, one of its secret
        fields given anywhere under settings (the value is never shown), settings its schema refuses (each
        named by its key)."""
        where = f"tenants.{tenant}.partners.{self.name}"
        problems = [f"{where}.secrets.{s} is required" for s in self.secrets if s not in pc.secrets]
        declared = self.secrets + self.optional_secrets
        unknown = sorted(set(pc.secrets) - set(declared))
        if unknown:
            problems.append(f"{where}.secrets: unknown {unknown}; known: {list(declared)}")
        secret_paths = {path for path, key in _keys(pc.settings, "settings") if key in declared}
        problems += [
            f"{where}.{path} is a secret of {self.title}: give it under `secrets:` as the name of an environment"
            " variable (the value is not shown)"
            for path in sorted(secret_paths)
        ]
        if self.settings is None:
            return problems
        try:
            self.settings.model_validate(pc.settings)
        except ValidationError as exc:
            for e in exc.errors():
                loc = ".".join(["settings", *(str(p) for p in e["loc"])])
                if loc not in secret_paths:  # already named as a secret above
                    problems.append(f"{where}.{loc}: {e['msg'].removeprefix('Value error, ')}")
        return problems


class UnknownPartner(LookupError):
    """A partner name no registered connector declares."""


class Registry:
    """The connectors of this process, in registration order. `connectors/__init__.py` registers the hub's
    own; a test may register a throw-away one for the length of a `with registry.registered(...)` block."""

    def __init__(self) -> None:
        self._by_name: dict[str, Connector] = {}

    def register(self, connector: Connector) -> Connector:
        existing = self._by_name.get(connector.name)
        if existing is not None and existing is not connector:
            raise ValueError(f"a connector named {connector.name!r} is registered already")
        self._by_name[connector.name] = connector
        from hub.redact import register_path_pattern

        for pattern in connector.path_secrets:
            register_path_pattern(pattern)
        return connector

    def unregister(self, name: str) -> None:
        self._by_name.pop(name, None)

    @contextmanager
    def registered(self, *connectors: Connector) -> Iterator[Registry]:
        for c in connectors:
            self.register(c)
        try:
            yield self
        finally:
            for c in connectors:
                self.unregister(c.name)

    def __iter__(self) -> Iterator[Connector]:
        return iter(list(self._by_name.values()))

    def __len__(self) -> int:
        return len(self._by_name)

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    def names(self) -> tuple[str, ...]:
        return tuple(self._by_name)

    def get(self, name: str) -> Connector:
        try:
            return self._by_name[name]
        except KeyError:
            raise UnknownPartner(f"no connector {name!r} is registered; registered: {list(self._by_name)}") from None

    def with_pull(self) -> list[Connector]:
        return [c for c in self if c.pull is not None]

    def with_plan(self) -> list[Connector]:
        return [c for c in self if c.plan is not None]

    def with_push(self) -> list[Connector]:
        return [c for c in self if c.push is not None]

    def with_inbox(self) -> list[Connector]:
        return [c for c in self if c.inbox is not None]

    def with_erase(self) -> list[Connector]:
        return [c for c in self if c.erase is not None]

    def with_sandbox(self) -> list[Connector]:
        return sorted((c for c in self if c.sandbox is not None), key=lambda c: c.sandbox.order if c.sandbox else 0)

    def one_to_one(self) -> tuple[tuple[str, str], ...]:
        """(system, entity) pairs where one canonical record stands for exactly one partner record."""
        return tuple((c.name, kind) for c in self for kind in c.one_to_one)

    def journey_rules(self) -> JourneyRules:
        rules = JourneyRules()
        for c in self:
            rules = rules | c.journey
        return rules

    def replay_rules(self, extra: Mapping[str, ReplayRule] | None = None) -> dict[str, ReplayRule]:
        """Every quarantine source's replay rule: each connector's, plus `extra` (couplings, the core)."""
        rules: dict[str, ReplayRule] = {}
        for c in self:
            for source, rule in c.replay_rules().items():
                if source in rules:
                    raise ValueError(f"quarantine source {source!r} has two replay rules")
                rules[source] = rule
        rules.update(extra or {})
        return rules

    def routers(self, config: HubConfig, store: Store) -> list[APIRouter]:
        """The receiver's routes: every connector's, in registration order, then the signed-webhook sources."""
        routers = [r for c in self if c.routes is not None for r in c.routes(config, store)]
        sources = [(c.name, w) for c in self for w in c.webhooks]
        if sources:
            from hub.receiver.webhooks import webhook_router

            routers.append(webhook_router(config, store, sources))
        return routers

    def check_config(self, config: HubConfig) -> list[str]:
        """Every problem of a tenants file against the registered connectors (unknown partner, missing
        secret names, settings the partner's schema refuses)."""
        problems: list[str] = []
        for t in config.tenants:
            for name, pc in t.partners.items():
                if name not in self:
                    problems.append(f"tenants.{t.id}.partners: unknown partner {name!r}; known: {list(self.names())}")
                    continue
                problems.extend(self.get(name).check_partner_config(t.id, pc))
        return problems


# The process's registry (filled by connectors/__init__.py when anything under connectors/ is imported).
REGISTRY = Registry()


def known_partners() -> tuple[str, ...]:
    return REGISTRY.names()


def table(header: Iterable[str], rows: Iterable[Iterable[Any]]) -> Markdown:
    """A Markdown table for run metadata."""
    head = list(header)
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(str(v) for v in r) + " |" for r in rows]
    return Markdown("\n".join(lines))


@dataclass(frozen=True)
class CouplingStep:
    """A step of a cross-partner flow that runs inside a partner's asset: only for tenants that have all of
    `partners`; `pool` is the partner pool the step calls (the hosting asset runs in it)."""

    partners: tuple[str, ...]
    run: Step
    pool: str | None = None


@dataclass(frozen=True)
class FollowUpChannel:
    """Where a stalled dossier's follow-up goes (couplings/): `plan` queues one per stalled dossier; it runs in
    the `stalled_dossiers` asset for tenants that have `partner`, whose push then sends it."""

    partner: str
    plan: Step
    description: str


@dataclass(frozen=True)
class Coupling:
    """A flow that joins partners (couplings/), declared like a connector so the asset layer wires it in:
    - `after_inbox[source]`: runs after that inbox is applied (e.g. send the messages on to another partner);
    - `before_push[partner]`: runs before that partner's push (e.g. plan what it needs from the canonical model);
    - `feeds`: the outboxes its steps write into (the pushes of those partners run after its steps);
    - `follow_up`: a follow-up channel for stalled dossiers;
    - `replay`: replay rules of the quarantine sources it writes;
    - `sandbox_seed(partner, started)`: extra start keywords for `partner`'s sandbox, from those started before;
    - `sandbox_wire(stack)`: point the sandboxes at the hub's receiver once it runs;
    - `secrets`: partner → the secrets its steps need from a tenant that has all `partners` (the tenants
      file check requires them, so a run never meets a missing one)."""

    name: str
    partners: tuple[str, ...]
    summary: str
    after_inbox: Mapping[str, CouplingStep] = field(default_factory=dict)
    before_push: Mapping[str, CouplingStep] = field(default_factory=dict)
    feeds: tuple[str, ...] = ()
    follow_up: FollowUpChannel | None = None
    replay: Mapping[str, ReplayRule] = field(default_factory=dict)
    sandbox_seed: Callable[[str, Mapping[str, Any]], dict[str, Any]] | None = None
    sandbox_wire: Callable[[Any], None] | None = None
    secrets: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def check_config(self, config: HubConfig) -> list[str]:
        """The secrets it needs that a tenant with all its partners lacks."""
        return [
            f"tenants.{t.id}.partners.{partner}.secrets.{name} is required: the tenant has "
            f"{' and '.join(self.partners)} ({self.name})"
            for t in config.tenants
            if t.has(*self.partners)
            for partner, names in self.secrets.items()
            for name in names
            if name not in t.partner(partner).secrets
        ]
