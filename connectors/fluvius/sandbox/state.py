"""The sandbox portal's state, in memory and thread-safe: clients and tokens, mandates, earlier subsidies, the
aanvragen with their status engine, idempotency memory, and the webhook outbox.

Time is the sandbox clock's (hub.sandbox.runtime.SimClock, read as Europe/Brussels). Nothing happens to an
aanvraag by itself between requests: `process_due` (run on every clock move and before every API request)
applies the transitions that fell due, each stamped with the time it fell due, in time order across all
aanvragen. The plan of a submitted aanvraag is drawn from an RNG seeded by its id: processing 1 day after
submit, the decision 5–60 days (MVP) / 7–56 days (ISDE) after submit, 10 % asked for more documents first,
a share refused for an attest that does not match the invoice, payment 5–20 days after a decision that grants
something. `POST /__sandbox/aanvragen/{id}/plan` overrides a plan for a test."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import random
import secrets
import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import unquote_plus
from zoneinfo import ZoneInfo

from connectors.fluvius import params, rules
from connectors.fluvius.sandbox.problems import Problem, invalid
from connectors.fluvius.sandbox.webhooks import WebhookOutbox
from connectors.fluvius.settings import (
    DOCUMENT_KINDS,
    FEED_MAX_PAGE_SIZE,
    FEED_PAGE_SIZE,
    IDEMPOTENCY_KEEP_SECONDS,
    ISDE,
    MAX_DOCUMENT_BYTES,
    MVP,
    REGELINGEN,
    SCOPES,
    STATUS_CHANGED,
)
from hub.sandbox.runtime import Faults, LaravelThrottle, SimClock

BRUSSELS = ZoneInfo("Europe/Brussels")
TOKEN_SECONDS = 3600
MEDIA_TYPES = ("application/pdf", "image/jpeg", "image/png")

CONCEPT, INGEDIEND, IN_BEHANDELING, AANVULLING = "concept", "ingediend", "in_behandeling", "aanvulling_gevraagd"
GOEDGEKEURD, GEDEELTELIJK, AFGEWEZEN = "goedgekeurd", "gedeeltelijk_goedgekeurd", "afgewezen"
UITBETAALD, INGETROKKEN, BEROEP, HERZIEN = "uitbetaald", "ingetrokken", "beroep_ingediend", "herzien"
STATUSES: tuple[str, ...] = (
    CONCEPT,
    INGEDIEND,
    IN_BEHANDELING,
    AANVULLING,
    GOEDGEKEURD,
    GEDEELTELIJK,
    AFGEWEZEN,
    UITBETAALD,
)
STATUSES += (INGETROKKEN, BEROEP, HERZIEN)
EDITABLE = (CONCEPT, AANVULLING)
DECIDED = (GOEDGEKEURD, GEDEELTELIJK, AFGEWEZEN)
WITHDRAWABLE = (CONCEPT, INGEDIEND, IN_BEHANDELING, AANVULLING)
MERGE_KEYS = ("aanvrager", "gebouw", "inkomen", "categorieen")
# an aanvulling not answered within this many days ends in a refusal (DOCUMENT_ONTBREEKT)
AANVULLING_DAYS = 30
# the documents the portal asks for when it asks for more
ASKED = {MVP: ["aannemersattest", "foto"], ISDE: ["foto", "productinfo"]}
APPEAL_ROUTE = {MVP: "beroep", ISDE: "bezwaar"}


class TokenError(Exception):
    """A refused token request (RFC 6749 §5.2)."""

    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.error = error
        self.description = description

    def body(self) -> dict[str, str]:
        return {"error": self.error, "error_description": self.description}


@dataclass
class Client:
    client_id: str
    client_secret: str
    regeling: str
    organisatie: str
    scopes: frozenset[str] = frozenset(SCOPES)


@dataclass(frozen=True)
class Token:
    token: str
    client_id: str
    scopes: frozenset[str]
    expires_at: datetime


@dataclass
class Mandaat:
    """MVP: a mandate person (`insz`) → the client's organisation; ISDE: a machtiging intermediair (`bsn`)."""

    client_id: str
    person: str
    regeling: str
    energielening_actief: bool = False
    ingetrokken: bool = False

    def as_dict(self) -> dict[str, Any]:
        key = "insz" if self.regeling == MVP else "bsn"
        return {
            "client_id": self.client_id,
            key: self.person,
            "soort": "mandaat" if self.regeling == MVP else "machtiging_intermediair",
            "energielening_actief": self.energielening_actief,
            "ingetrokken": self.ingetrokken,
        }


@dataclass
class Plan:
    """When the portal does what to a submitted aanvraag (seeded by its id)."""

    processing_at: datetime
    decide_at: datetime
    aanvulling_at: datetime | None
    inconsistent: str | None  # the categorie refused with ATTEST_FACTUUR_INCONSISTENT
    pay_days: int
    herzien_days: int
    pay_at: datetime | None = None
    herzien_at: datetime | None = None
    aanvulling_done: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "processing_at": _iso(self.processing_at),
            "decide_at": _iso(self.decide_at),
            "aanvulling_at": _iso(self.aanvulling_at),
            "inconsistent": self.inconsistent,
            "pay_days": self.pay_days,
            "herzien_days": self.herzien_days,
            "pay_at": _iso(self.pay_at),
            "herzien_at": _iso(self.herzien_at),
        }


@dataclass
class Aanvraag:
    id: str
    client_id: str
    regeling: str
    referentie: str
    data: dict[str, Any]  # aanvrager, gebouw, inkomen, categorieen as last written
    created_at: datetime
    updated_at: datetime
    status: str = CONCEPT
    documenten: list[dict[str, Any]] = field(default_factory=list)
    dossiernummer: str | None = None
    ontvangen_op: datetime | None = None
    beslist_op: datetime | None = None
    beroep_tot: datetime | None = None
    beslissingen: list[dict[str, Any]] | None = None  # per category, in order
    aanvulling: dict[str, Any] | None = None
    betaling: dict[str, Any] | None = None
    historiek: list[dict[str, Any]] = field(default_factory=list)
    plan: Plan | None = None
    beroep_gedaan: bool = False
    event_seq: int = 0

    def body(self) -> dict[str, Any]:
        return {"regeling": self.regeling, "referentie": self.referentie, **self.data}

    def person(self) -> str | None:
        key = rules.AANVRAGER_ID[self.regeling]
        value = (self.data.get("aanvrager") or {}).get(key)
        return str(value) if value else None


@dataclass
class Remembered:
    fingerprint: str
    status: int
    body: dict[str, Any]
    at: datetime


def _iso(when: datetime | None) -> str | None:
    return when.isoformat() if when is not None else None


def mask_iban(iban: str | None) -> str | None:
    """`BE68 **** **** 0707`: the country, check digits and last four; the full IBAN is never returned."""
    if not iban:
        return None
    compact = iban.replace(" ", "").upper()
    return f"{compact[:4]} **** **** {compact[-4:]}"


def _money(value: Decimal) -> float:
    return float(value.quantize(params.CENT))


def fingerprint(method: str, path: str, body: Any) -> str:
    raw = json.dumps([method, path, body], sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(raw.encode()).hexdigest()


@dataclass
class PortalSandbox:
    """One sandbox portal. `aanvulling_share` / `inconsistent_share`: the seeded shares of submitted aanvragen
    asked for more documents / refused for an attest that does not match the invoice."""

    seed: int = 20
    clock: SimClock = field(default_factory=SimClock)
    throttle_per_minute: int = 120
    aanvulling_share: float = 0.10
    inconsistent_share: float = 0.08
    max_document_bytes: int = MAX_DOCUMENT_BYTES

    def __post_init__(self) -> None:
        self.lock = threading.RLock()
        self.clients: dict[str, Client] = {}
        self.tokens: dict[str, Token] = {}
        self.mandaten: dict[tuple[str, str], Mandaat] = {}
        self.history: list[rules.Subsidy] = []
        self.aanvragen: dict[str, Aanvraag] = {}
        self.idempotency: dict[tuple[str, str], Remembered] = {}
        self._key_locks: dict[tuple[str, str], threading.Lock] = {}
        self.throttle = LaravelThrottle(self.throttle_per_minute)
        self.webhooks = WebhookOutbox(now=self.now, seed=self.seed + 1)
        self.faults = Faults(self.seed + 2)
        self._rng = random.Random(self.seed)
        self._dossier_seq: dict[str, int] = {}
        self.requests_served = 0

    # --- clock --------------------------------------------------------------------------------------------------

    def now(self) -> datetime:
        return self.clock.now().replace(tzinfo=BRUSSELS)

    def advance(self, days: float = 0, seconds: float = 0) -> dict[str, Any]:
        self.clock.advance(days * 86400 + seconds)
        return self.tick()

    def set_clock(self, when: datetime) -> dict[str, Any]:
        when = when.astimezone(BRUSSELS) if when.tzinfo else when.replace(tzinfo=BRUSSELS)
        self.clock.set(when.replace(tzinfo=None))
        return self.tick()

    def tick(self) -> dict[str, Any]:
        """Apply what fell due and send the webhooks that are due."""
        transitions = self.process_due()
        posts = self.webhooks.flush()
        return {"now": self.now().isoformat(), "transitions": transitions, "webhook_posts": posts}

    # --- clients and tokens -------------------------------------------------------------------------------------

    def register_client(
        self,
        client_id: str,
        client_secret: str,
        regeling: str,
        organisatie: str = "",
        scopes: list[str] | None = None,
    ) -> Client:
        if regeling not in REGELINGEN:
            raise ValueError(f"regeling must be one of {list(REGELINGEN)}")
        client = Client(client_id, client_secret, regeling, organisatie, frozenset(scopes or SCOPES))
        with self.lock:
            self.clients[client_id] = client
        return client

    def token(self, authorization: str | None, form: Mapping[str, str]) -> dict[str, Any]:
        """Client credentials with HTTP Basic (RFC 6749 §2.3.1, §4.4)."""
        client = self._basic(authorization)
        if form.get("grant_type") != "client_credentials":
            raise TokenError(400, "unsupported_grant_type", "only client_credentials is supported")
        wanted = set((form.get("scope") or "").split()) or set(client.scopes)
        if not wanted <= client.scopes:
            raise TokenError(400, "invalid_scope", f"not granted: {sorted(wanted - client.scopes)}")
        token = Token(
            secrets.token_urlsafe(32),
            client.client_id,
            frozenset(wanted),
            self.now() + timedelta(seconds=TOKEN_SECONDS),
        )
        with self.lock:
            now = self.now()
            self.tokens = {k: t for k, t in self.tokens.items() if t.expires_at > now}
            self.tokens[token.token] = token
        return {
            "access_token": token.token,
            "token_type": "Bearer",
            "expires_in": TOKEN_SECONDS,
            "scope": " ".join(sorted(wanted)),
        }

    def _basic(self, authorization: str | None) -> Client:
        refused = TokenError(401, "invalid_client", "client authentication failed")
        if not authorization or not authorization.lower().startswith("basic "):
            raise refused
        try:
            raw = base64.b64decode(authorization[6:].strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise refused from None
        client_id, _, client_secret = raw.partition(":")
        client = self.clients.get(unquote_plus(client_id))
        if client is None or not secrets.compare_digest(client.client_secret, unquote_plus(client_secret)):
            raise refused
        return client

    def authenticate(self, authorization: str | None, scope: str) -> Client:
        """The client of a bearer token holding `scope`, within its rate limit."""
        token = None
        if authorization and authorization.lower().startswith("bearer "):
            token = self.tokens.get(authorization[7:].strip())
        if token is None or token.expires_at <= self.now():
            raise Problem(
                401,
                "NIET_GEAUTHENTICEERD",
                "Geen geldig toegangstoken.",
                headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
            )
        allowed, _, retry_after = self.throttle.hit(token.client_id)
        if not allowed:
            raise Problem(
                429,
                "TE_VEEL_VERZOEKEN",
                f"Meer dan {self.throttle.limit} verzoeken per minuut.",
                headers={"Retry-After": str(retry_after)},
            )
        if scope not in token.scopes:
            raise Problem(
                403,
                "ONVOLDOENDE_SCOPE",
                f"Het toegangstoken heeft de scope {scope} niet.",
                headers={"WWW-Authenticate": f'Bearer error="insufficient_scope", scope="{scope}"'},
            )
        return self.clients[token.client_id]

    # --- mandates and history -----------------------------------------------------------------------------------

    def put_mandaat(
        self, client_id: str, person: str, energielening_actief: bool = False, ingetrokken: bool = False
    ) -> Mandaat:
        client = self.clients.get(client_id)
        if client is None:
            raise ValueError(f"unknown client {client_id!r}")
        mandaat = Mandaat(client_id, person, client.regeling, energielening_actief, ingetrokken)
        with self.lock:
            self.mandaten[(client_id, person)] = mandaat
        return mandaat

    def require_mandate(self, client: Client, body: Mapping[str, Any]) -> None:
        """MVP: a mandate of the person to the client's organisation, no energy loan running; ISDE: a machtiging
        intermediair of the BSN."""
        aanvrager = body.get("aanvrager") or {}
        if client.regeling == MVP and aanvrager.get("hoedanigheid") == "onderneming":
            raise Problem(
                403,
                rules.MANDAAT_ONTBREKEND,
                "Een mandaat kan alleen van een natuurlijke persoon aan een organisatie (only person → organisation).",
            )
        key = rules.AANVRAGER_ID[client.regeling]
        person = str(aanvrager.get(key) or "")
        mandaat = self.mandaten.get((client.client_id, person))
        if mandaat is None or mandaat.ingetrokken:
            what = "mandaat" if client.regeling == MVP else "machtiging intermediair"
            raise Problem(
                403, rules.MANDAAT_ONTBREKEND, f"Geen geldig {what} van deze aanvrager aan {client.organisatie}."
            )
        if client.regeling == MVP and mandaat.energielening_actief:
            raise Problem(
                403,
                rules.ENERGIELENING_LOOPT,
                "Er loopt een energielening: het Energiehuis is zelf aanvrager en begunstigde.",
            )

    def add_history(self, body: Mapping[str, Any]) -> rules.Subsidy:
        regeling = str(body.get("regeling"))
        if regeling not in REGELINGEN:
            raise ValueError(f"regeling must be one of {list(REGELINGEN)}")
        person = body.get("insz") or body.get("bsn")
        entry = rules.Subsidy(
            regeling=regeling,
            datum=date.fromisoformat(str(body["datum"])),
            person=str(person) if person else None,
            dwelling_key=str(body["dwelling_key"]) if body.get("dwelling_key") else None,
            categorie=str(body["categorie"]) if body.get("categorie") else None,
            isolatietype=str(body["isolatietype"]) if body.get("isolatietype") else None,
        )
        if not (entry.person or entry.dwelling_key) or not (entry.categorie or entry.isolatietype):
            raise ValueError("give insz|bsn|dwelling_key and categorie|isolatietype")
        with self.lock:
            self.history.append(entry)
        return entry

    def known_history(self) -> rules.History:
        with self.lock:
            return rules.History(tuple(self.history))

    # --- idempotency --------------------------------------------------------------------------------------------

    def idempotent(
        self, client_id: str, key: str | None, fingerprint: str, work: Callable[[], tuple[int, dict[str, Any]]]
    ) -> tuple[bool, int, dict[str, Any]]:
        """(replayed, status, body): the stored answer of `key`, else `work`'s (remembered when 2xx). Requests
        with the same key run one after the other, so a retry racing its original waits and gets its answer."""
        if key is None:
            status, body = work()
            return False, status, body
        with self.lock:
            key_lock = self._key_locks.setdefault((client_id, key), threading.Lock())
        with key_lock:
            stored = self.remembered(client_id, key, fingerprint)
            if stored is not None:
                return True, stored.status, stored.body
            status, body = work()
            if 200 <= status < 300:
                self.remember(client_id, key, fingerprint, status, body)
            return False, status, body

    def remembered(self, client_id: str, key: str | None, fingerprint: str) -> Remembered | None:
        """The stored answer of `key` (None: a new key). The same key with another request → 422."""
        if key is None:
            return None
        with self.lock:
            self._forget_old()
            entry = self.idempotency.get((client_id, key))
        if entry is None:
            return None
        if entry.fingerprint != fingerprint:
            raise Problem(
                422,
                "IDEMPOTENCY_KEY_HERGEBRUIKT",
                "Deze Idempotency-Key hoort bij een ander verzoek.",
            )
        return entry

    def remember(self, client_id: str, key: str | None, fingerprint: str, status: int, body: dict[str, Any]) -> None:
        if key is None:
            return
        with self.lock:
            self.idempotency[(client_id, key)] = Remembered(fingerprint, status, body, self.now())

    def _forget_old(self) -> None:
        limit = self.now() - timedelta(seconds=IDEMPOTENCY_KEEP_SECONDS)
        self.idempotency = {k: v for k, v in self.idempotency.items() if v.at > limit}

    # --- aanvragen ----------------------------------------------------------------------------------------------

    def _check_regeling(self, client: Client, body: Any) -> None:
        if isinstance(body, Mapping) and body.get("regeling") in REGELINGEN and body["regeling"] != client.regeling:
            raise Problem(
                403,
                rules.REGELING_NIET_TOEGELATEN,
                f"Deze client is geregistreerd voor {client.regeling}, niet voor {body['regeling']}.",
            )

    def create(self, client: Client, body: Any) -> dict[str, Any]:
        self._check_regeling(client, body)
        problems = rules.validate(body)
        if problems:
            raise invalid(problems)
        self.require_mandate(client, body)
        now = self.now()
        with self.lock:
            aid = str(uuid.UUID(int=self._rng.getrandbits(128), version=4))
            a = Aanvraag(
                id=aid,
                client_id=client.client_id,
                regeling=client.regeling,
                referentie=str(body["referentie"]),
                data={k: body[k] for k in MERGE_KEYS if k in body},
                created_at=now,
                updated_at=now,
            )
            a.historiek.append(
                {"van": None, "naar": CONCEPT, "op": now.isoformat(), "actor": "aanvrager", "reden_codes": []}
            )
            self.aanvragen[aid] = a
            return self.view(a)

    def get(self, client: Client, aid: str, check_mandate: bool = True) -> Aanvraag:
        a = self.aanvragen.get(aid)
        if a is None or a.client_id != client.client_id:
            raise Problem(404, "AANVRAAG_ONBEKEND", f"Geen aanvraag {aid} voor deze client.")
        if check_mandate:
            self.require_mandate(client, a.body())
        return a

    def read(self, client: Client, aid: str) -> dict[str, Any]:
        with self.lock:
            return self.view(self.get(client, aid))

    def patch(self, client: Client, aid: str, patch: Any) -> dict[str, Any]:
        if not isinstance(patch, Mapping):
            raise invalid([{"name": "body", "reason": "een JSON-object"}])
        with self.lock:
            a = self.get(client, aid)
            if a.status not in EDITABLE:
                raise Problem(409, rules.STATUS_CONFLICT, f"Een aanvraag in status {a.status} kan niet meer wijzigen.")
            bad = [
                {"name": k, "reason": "kan niet wijzigen"}
                for k in ("referentie", "regeling")
                if k in patch and patch[k] != getattr(a, k)
            ]
            unknown = [k for k in patch if k not in MERGE_KEYS and k not in ("referentie", "regeling")]
            bad += [{"name": k, "reason": "onbekend veld"} for k in unknown]
            if bad:
                raise invalid(bad)
            merged = {**a.body(), **{k: patch[k] for k in MERGE_KEYS if k in patch}}
            problems = rules.validate(merged)
            if problems:
                raise invalid(problems)
            self.require_mandate(client, merged)
            a.data = {k: merged[k] for k in MERGE_KEYS if k in merged}
            a.updated_at = self.now()
            return self.view(a)

    def upload(self, client: Client, aid: str, body: Any) -> tuple[int, dict[str, Any]]:
        if not isinstance(body, Mapping):
            raise invalid([{"name": "body", "reason": "een JSON-object"}])
        bad = []
        soort = body.get("soort")
        if soort not in DOCUMENT_KINDS:
            bad.append({"name": "soort", "reason": f"een van {list(DOCUMENT_KINDS)}"})
        if not body.get("bestandsnaam"):
            bad.append({"name": "bestandsnaam", "reason": "verplicht"})
        try:
            content = base64.b64decode(str(body.get("inhoud_base64") or ""), validate=True)
            if not content:
                bad.append({"name": "inhoud_base64", "reason": "leeg"})
        except binascii.Error:
            content = b""
            bad.append({"name": "inhoud_base64", "reason": "geen geldige base64"})
        if bad:
            raise invalid(bad)
        if str(body.get("mediatype")) not in MEDIA_TYPES:
            raise Problem(415, "MEDIATYPE_NIET_ONDERSTEUND", f"Alleen {', '.join(MEDIA_TYPES)}.")
        if len(content) > self.max_document_bytes:
            raise Problem(413, "DOCUMENT_TE_GROOT", f"Een document is hoogstens {self.max_document_bytes} bytes.")
        sha = hashlib.sha256(content).hexdigest()
        with self.lock:
            a = self.get(client, aid)
            if a.status not in EDITABLE:
                raise Problem(
                    409, rules.STATUS_CONFLICT, f"In status {a.status} kunnen geen documenten meer worden opgeladen."
                )
            categorie = body.get("categorie")
            cats = [str(i.get("categorie")) for i in a.data.get("categorieen") or [] if isinstance(i, Mapping)]
            if categorie is not None and categorie not in cats:
                raise invalid([{"name": "categorie", "reason": f"een categorie van de aanvraag: {cats}"}])
            for doc in a.documenten:
                # the same file for the same category is one document; one invoice covering two categories is
                # attached in each (as the portal's form asks per category)
                if doc["sha256"] == sha and doc["soort"] == soort and doc.get("categorie") == categorie:
                    return 200, dict(doc)
            now = self.now()
            doc = {
                "document_id": f"doc-{len(a.documenten) + 1:03d}-{sha[:8]}",
                "soort": soort,
                "categorie": categorie,
                "bestandsnaam": str(body["bestandsnaam"]),
                "mediatype": str(body["mediatype"]),
                "grootte": len(content),
                "sha256": sha,
                "ontvangen_op": now.isoformat(),
            }
            a.documenten.append(doc)
            a.updated_at = now
            self._maybe_answered(a, now)
            return 201, dict(doc)

    def _maybe_answered(self, a: Aanvraag, now: datetime) -> None:
        """In aanvulling_gevraagd: once every asked kind came in after the question, back to in_behandeling; the
        decision is then at least a week away."""
        if a.status != AANVULLING or a.aanvulling is None or a.plan is None:
            return
        since = a.aanvulling["gevraagd_op"]
        got = {d["soort"] for d in a.documenten if d["ontvangen_op"] >= since}
        if set(a.aanvulling["documenten_gevraagd"]) <= got:
            a.aanvulling["beantwoord_op"] = now.isoformat()
            a.plan.decide_at = max(a.plan.decide_at, now + timedelta(days=7))
            self._transition(a, IN_BEHANDELING, now, "aanvrager")

    def submit(self, client: Client, aid: str) -> dict[str, Any]:
        with self.lock:
            a = self.get(client, aid)
            if a.status != CONCEPT:
                raise Problem(409, rules.STATUS_CONFLICT, f"De aanvraag is al {a.status}.")
            body = a.body()
            problems = rules.validate(body, complete=True)
            if problems:
                raise invalid(problems)
            now = self.now()
            errors = rules.check(body, now.date(), self.known_history())
            errors += rules.missing_documents(body, a.documenten)
            if errors:
                order = {code: n for n, code in enumerate(rules.RULE_CODES)}
                errors.sort(key=lambda e: order[e.code])
                raise Problem(
                    422,
                    errors[0].code,
                    errors[0].detail,
                    invalid_params=[{"name": e.field, "reason": f"{e.code}: {e.detail}"} for e in errors],
                    extra={"fouten": [{"code": e.code, "categorie": e.categorie, "detail": e.detail} for e in errors]},
                )
            seq = self._dossier_seq.get(a.regeling, 0) + 1
            self._dossier_seq[a.regeling] = seq
            prefix = "MVP" if a.regeling == MVP else "ISDE"
            a.dossiernummer = f"{prefix}-{now.year}-{seq:06d}"
            a.ontvangen_op = now
            a.plan = self._plan(a, now)
            self._transition(a, INGEDIEND, now, "aanvrager")
            return self.view(a)

    def _plan(self, a: Aanvraag, now: datetime) -> Plan:
        rng = random.Random(f"{self.seed}:{a.id}")
        days = rng.randint(5, 60) if a.regeling == MVP else rng.randint(7, 56)
        asks = rng.random() < self.aanvulling_share
        ask_day = rng.randint(2, max(2, days - 1))
        inconsistent = rng.random() < self.inconsistent_share
        cats = [str(i.get("categorie")) for i in a.data.get("categorieen") or []]
        which = cats[rng.randrange(len(cats))] if cats else None
        return Plan(
            processing_at=now + timedelta(days=1),
            decide_at=now + timedelta(days=days),
            aanvulling_at=now + timedelta(days=ask_day) if asks else None,
            inconsistent=which if inconsistent else None,
            pay_days=rng.randint(5, 20),
            herzien_days=rng.randint(10, 30),
        )

    def set_plan(self, aid: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """Override a submitted aanvraag's plan (days counted from its submit): `decision_days`, `aanvulling`
        (bool or a day), `inconsistent` (a categorie or null), `pay_days`, `herzien_days`."""
        with self.lock:
            a = self.aanvragen[aid]
            if a.plan is None or a.ontvangen_op is None:
                raise ValueError("the aanvraag has not been submitted")
            start = a.ontvangen_op
            if "decision_days" in body:
                a.plan.decide_at = start + timedelta(days=float(body["decision_days"]))
            if "aanvulling" in body:
                value = body["aanvulling"]
                if value is False or value is None:
                    a.plan.aanvulling_at = None
                else:
                    day = 2.0 if value is True else float(value)
                    a.plan.aanvulling_at = start + timedelta(days=day)
            if "inconsistent" in body:
                a.plan.inconsistent = body["inconsistent"]
            if "pay_days" in body:
                a.plan.pay_days = int(body["pay_days"])
            if "herzien_days" in body:
                a.plan.herzien_days = int(body["herzien_days"])
            return a.plan.as_dict()

    def withdraw(self, client: Client, aid: str) -> dict[str, Any]:
        with self.lock:
            a = self.get(client, aid)
            if a.status not in WITHDRAWABLE:
                raise Problem(409, rules.STATUS_CONFLICT, f"Een aanvraag in status {a.status} kan niet meer intrekken.")
            self._transition(a, INGETROKKEN, self.now(), "aanvrager")
            return self.view(a)

    def appeal(self, client: Client, aid: str, route: str, body: Any) -> dict[str, Any]:
        """`beroep` (MVP, 1 month after the decision) / `bezwaar` (ISDE, 6 weeks); the wrong one is 404. Open
        from a decision, and from a payment that followed a partly approved decision (paying does not end the
        right to appeal); once per aanvraag."""
        with self.lock:
            a = self.get(client, aid)
            if APPEAL_ROUTE[a.regeling] != route:
                raise Problem(404, "ROUTE_ONBEKEND", f"{a.regeling} kent geen {route}; wel {APPEAL_ROUTE[a.regeling]}.")
            if not isinstance(body, Mapping) or not str(body.get("motivering") or "").strip():
                raise invalid([{"name": "motivering", "reason": "verplicht"}])
            last = self._decision_status(a)
            open_status = a.status in DECIDED or (a.status == UITBETAALD and last in (GEDEELTELIJK, AFGEWEZEN))
            if not open_status or a.beroep_gedaan:
                raise Problem(409, rules.STATUS_CONFLICT, f"Geen {route} mogelijk in status {a.status}.")
            now = self.now()
            if a.beroep_tot is None or now > a.beroep_tot:
                raise Problem(
                    422, "BEROEPSTERMIJN_VERSTREKEN", f"De termijn voor {route} liep af op {_iso(a.beroep_tot)}."
                )
            assert a.plan is not None
            a.beroep_gedaan = True
            a.plan.herzien_at = now + timedelta(days=a.plan.herzien_days)
            a.plan.pay_at = None
            self._transition(a, BEROEP, now, "aanvrager")
            return self.view(a)

    @staticmethod
    def _decision_status(a: Aanvraag) -> str | None:
        for step in reversed(a.historiek):
            if step["naar"] in DECIDED:
                return str(step["naar"])
        return None

    # --- the status engine --------------------------------------------------------------------------------------

    def _transition(
        self, a: Aanvraag, naar: str, when: datetime, actor: str, reden_codes: list[str] | None = None
    ) -> None:
        van = a.status
        a.status = naar
        a.updated_at = max(when, a.updated_at)
        a.historiek.append(
            {"van": van, "naar": naar, "op": when.isoformat(), "actor": actor, "reden_codes": reden_codes or []}
        )
        a.event_seq += 1
        event = {
            "type": STATUS_CHANGED,
            "timestamp": when.isoformat(),
            "data": {
                "id": a.id,
                "referentie": a.referentie,
                "regeling": a.regeling,
                "status": naar,
                "vorige_status": van,
                "updated_at": a.updated_at.isoformat(),
                "dossiernummer": a.dossiernummer,
            },
        }
        self.webhooks.enqueue(a.client_id, f"msg_{a.id}_{a.event_seq}", event)

    def _next(self, a: Aanvraag) -> tuple[datetime, str] | None:
        p = a.plan
        if p is None:
            return None
        if a.status == INGEDIEND:
            return p.processing_at, "process"
        if a.status == IN_BEHANDELING:
            if p.aanvulling_at is not None and not p.aanvulling_done and p.aanvulling_at < p.decide_at:
                return max(p.aanvulling_at, p.processing_at), "ask"
            return p.decide_at, "decide"
        if a.status == AANVULLING and a.aanvulling is not None:
            return datetime.fromisoformat(a.aanvulling["uiterlijk_op"]), "lapse"
        if a.status in (GOEDGEKEURD, GEDEELTELIJK) and p.pay_at is not None:
            return p.pay_at, "pay"
        if a.status == BEROEP and p.herzien_at is not None:
            return p.herzien_at, "review"
        return None

    def process_due(self) -> int:
        """Apply every transition due by now, oldest first; returns how many were applied."""
        done = 0
        with self.lock:
            now = self.now()
            while True:
                due = [(n[0], a.id, n[1], a) for a in self.aanvragen.values() if (n := self._next(a))]
                due = [d for d in due if d[0] <= now]
                if not due:
                    return done
                when, _, action, a = min(due, key=lambda d: (d[0], d[1]))
                self._apply(a, action, when)
                done += 1

    def _apply(self, a: Aanvraag, action: str, when: datetime) -> None:
        p = a.plan
        assert p is not None
        if action == "process":
            self._transition(a, IN_BEHANDELING, when, "portaal")
        elif action == "ask":
            p.aanvulling_done = True
            a.aanvulling = {
                "gevraagd_op": when.isoformat(),
                "documenten_gevraagd": list(ASKED[a.regeling]),
                "reden": "Het dossier is onvolledig: bezorg de gevraagde documenten.",
                "uiterlijk_op": (when + timedelta(days=AANVULLING_DAYS)).isoformat(),
            }
            self._transition(a, AANVULLING, when, "portaal")
        elif action == "lapse":
            self._decide(a, when, lapsed=True)
        elif action == "decide":
            self._decide(a, when)
        elif action == "pay":
            self._pay(a, when)
        elif action == "review":
            self._transition(a, HERZIEN, when, "portaal")
            self._decide(a, when, review=True)

    def _decide(self, a: Aanvraag, when: datetime, *, lapsed: bool = False, review: bool = False) -> None:
        p = a.plan
        assert p is not None and a.ontvangen_op is not None
        body = a.body()
        results = params.amounts(body, a.ontvangen_op.date(), rules.earlier_measure_dates(body, self.known_history()))
        beslissingen: list[dict[str, Any]] = []
        for item, result in zip(body.get("categorieen") or [], results, strict=False):
            categorie = str(item.get("categorie"))
            if lapsed:
                status, granted, codes = AFGEWEZEN, Decimal(0), [rules.DOCUMENT_ONTBREEKT]
            elif p.inconsistent == categorie and not review:
                status, granted, codes = AFGEWEZEN, Decimal(0), [rules.ATTEST_FACTUUR_INCONSISTENT]
            elif result.bedrag <= 0:
                status, granted, codes = AFGEWEZEN, Decimal(0), []
            elif result.plafond_toegepast:
                status, granted, codes = GEDEELTELIJK, result.bedrag, [rules.PLAFOND_TOEGEPAST]
            else:
                status, granted, codes = GOEDGEKEURD, result.bedrag, []
            beslissingen.append({"status": status, "toegekend_bedrag": _money(granted), "reden_codes": codes})
        statuses = {b["status"] for b in beslissingen}
        overall = GOEDGEKEURD if statuses == {GOEDGEKEURD} else AFGEWEZEN if statuses <= {AFGEWEZEN} else GEDEELTELIJK
        a.beslissingen = beslissingen
        a.beslist_op = when
        a.beroep_tot = when + (timedelta(weeks=6) if a.regeling == ISDE else _one_month(when))
        total = sum((Decimal(str(b["toegekend_bedrag"])) for b in beslissingen), Decimal(0))
        paid = Decimal(str((a.betaling or {}).get("bedrag", 0)))
        codes = sorted({c for b in beslissingen for c in b["reden_codes"]})
        self._transition(a, overall, when, "portaal", codes)
        p.pay_at = when + timedelta(days=p.pay_days) if total > paid else None
        if total <= paid and paid > 0:
            self._transition(a, UITBETAALD, when, "portaal")

    def _pay(self, a: Aanvraag, when: datetime) -> None:
        assert a.plan is not None and a.beslissingen is not None
        total = sum((Decimal(str(b["toegekend_bedrag"])) for b in a.beslissingen), Decimal(0))
        n = len([h for h in a.historiek if h["naar"] == UITBETAALD]) + 1
        a.betaling = {
            "bedrag": _money(total),
            "betaald_op": when.date().isoformat(),
            "iban_masked": mask_iban((a.data.get("aanvrager") or {}).get("iban")),
            "referentie": f"{a.dossiernummer}/{n}",
        }
        a.plan.pay_at = None
        self._transition(a, UITBETAALD, when, "portaal")

    # --- reading ------------------------------------------------------------------------------------------------

    def view(self, a: Aanvraag) -> dict[str, Any]:
        """The Aanvraag as the API answers it (the full IBAN never leaves)."""
        body = a.body()
        on = a.ontvangen_op.date() if a.ontvangen_op else self.now().date()
        results = params.amounts(body, on, rules.earlier_measure_dates(body, self.known_history()))
        aanvrager = {k: v for k, v in (a.data.get("aanvrager") or {}).items() if k != "iban"}
        aanvrager["iban_masked"] = mask_iban((a.data.get("aanvrager") or {}).get("iban"))
        categorieen = []
        for n, (item, result) in enumerate(zip(a.data.get("categorieen") or [], results, strict=False)):
            out = {**item, "aangevraagd_bedrag": _money(result.bruto)}
            out.setdefault(
                "eenheid", result.rate.unit if result.rate else (result.measure.unit if result.measure else None)
            )
            if a.beslissingen is not None and n < len(a.beslissingen):
                out["beslissing"] = dict(a.beslissingen[n])
            categorieen.append(out)
        view: dict[str, Any] = {
            "id": a.id,
            "referentie": a.referentie,
            "regeling": a.regeling,
            "status": a.status,
            "aanvrager": aanvrager,
            "gebouw": a.data.get("gebouw"),
            "inkomen": a.data.get("inkomen") if a.regeling == MVP else None,
            "inkomenscategorie": params.income_category_of(body),
            "categorieen": categorieen,
            "documenten": [
                {k: d[k] for k in ("document_id", "soort", "categorie", "sha256", "ontvangen_op")} for d in a.documenten
            ],
            "created_at": a.created_at.isoformat(),
            "updated_at": a.updated_at.isoformat(),
        }
        optional = {
            "dossiernummer": a.dossiernummer,
            "ontvangen_op": _iso(a.ontvangen_op),
            "beslist_op": _iso(a.beslist_op),
            "beroep_tot": _iso(a.beroep_tot),
            "aanvulling": dict(a.aanvulling) if a.aanvulling else None,
            "betaling": dict(a.betaling) if a.betaling else None,
        }
        view.update({k: v for k, v in optional.items() if v is not None})
        return view

    def historiek(self, client: Client, aid: str) -> dict[str, Any]:
        with self.lock:
            a = self.get(client, aid)
            return {"items": [dict(h) for h in a.historiek]}

    def poll(
        self,
        client: Client,
        updated_since: str | None,
        status: str | None,
        referentie: str | None,
        cursor: str | None,
        limit: str | None,
    ) -> dict[str, Any]:
        """The client's aanvragen by (updated_at, id), after `cursor`. The cursor names the last item's
        position and the filters, not an offset: new writes move an aanvraag to the end (it comes again), never
        shift a page. `next_cursor` is null on the last page. Aanvragen whose mandate is gone are left out."""
        size = FEED_PAGE_SIZE
        if limit is not None:
            if not limit.isdigit() or not 1 <= int(limit) <= FEED_MAX_PAGE_SIZE:
                raise invalid([{"name": "limit", "reason": f"een geheel getal van 1 tot {FEED_MAX_PAGE_SIZE}"}])
            size = int(limit)
        if status is not None and status not in STATUSES:
            raise invalid([{"name": "status", "reason": f"een van {list(STATUSES)}"}])
        filters = {"u": updated_since, "s": status, "r": referentie}
        after: tuple[datetime, str] | None = None
        if cursor is not None:
            try:
                data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
                at = datetime.fromisoformat(str(data["t"]))
                if at.tzinfo is None:
                    raise ValueError("a cursor's time has a zone")
                after = (at.astimezone(UTC), str(data["i"]))
                filters = {"u": data["u"], "s": data["s"], "r": data["r"]}
            except (ValueError, KeyError, TypeError, binascii.Error):
                raise invalid([{"name": "cursor", "reason": "geen cursor van deze lijst"}]) from None
        since = None
        if filters["u"] is not None:
            try:
                since = datetime.fromisoformat(str(filters["u"]))
            except ValueError:
                since = None
            if since is None or since.tzinfo is None:
                raise invalid([{"name": "updated_since", "reason": "een ISO 8601-tijdstip met tijdzone"}])
        with self.lock:
            rows = []
            for a in self.aanvragen.values():
                if a.client_id != client.client_id:
                    continue
                if since is not None and a.updated_at < since:
                    continue
                if filters["s"] is not None and a.status != filters["s"]:
                    continue
                if filters["r"] is not None and a.referentie != filters["r"]:
                    continue
                try:
                    self.require_mandate(client, a.body())
                except Problem:
                    continue
                key = (a.updated_at.astimezone(UTC), a.id)
                if after is not None and key <= after:
                    continue
                rows.append((key, a))
            rows.sort(key=lambda r: r[0])
            page = rows[:size]
            next_cursor = None
            if len(rows) > size:
                last_key = page[-1][0]
                raw = json.dumps({"t": last_key[0].isoformat(), "i": last_key[1], **filters}, separators=(",", ":"))
                next_cursor = base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")
            return {"items": [self.view(a) for _, a in page], "next_cursor": next_cursor}

    def simulate(self, client: Client, body: Any) -> dict[str, Any]:
        self._check_regeling(client, body)
        problems = rules.validate(body)
        if problems:
            raise invalid(problems)
        on = self.now().date()
        history = self.known_history()
        results = params.amounts(body, on, rules.earlier_measure_dates(body, history))
        errors = rules.check(body, on, history)
        items = []
        for n, (item, result) in enumerate(zip(body.get("categorieen") or [], results, strict=False)):
            prefix = f"categorieen[{n}]"
            codes = sorted(
                {e.code for e in errors if e.field.startswith(prefix) or (e.categorie == item.get("categorie"))}
            )
            items.append(
                {
                    "categorie": item.get("categorie"),
                    "subtype": item.get("subtype"),
                    "meldcode": item.get("meldcode"),
                    "bedrag": _money(result.bedrag),
                    "plafond_toegepast": result.plafond_toegepast,
                    "regels": codes,
                }
            )
        return {
            "regeling": body["regeling"],
            "inkomenscategorie": params.income_category_of(body),
            "categorieen": items,
            "totaal": _money(sum((r.bedrag for r in results), Decimal(0))),
        }

    # --- admin --------------------------------------------------------------------------------------------------

    def dump(self) -> list[dict[str, Any]]:
        with self.lock:
            return [
                {**self.view(a), "client_id": a.client_id, "plan": a.plan.as_dict() if a.plan else None}
                for a in sorted(self.aanvragen.values(), key=lambda a: (a.created_at, a.id))
            ]

    def reset(self) -> None:
        """Forget aanvragen, idempotency keys, earlier subsidies, tokens and the webhook log; clients, mandates
        and webhook endpoints stay."""
        with self.lock:
            self.aanvragen.clear()
            self.idempotency.clear()
            self._key_locks.clear()
            self.history.clear()
            self.tokens.clear()
            self._dossier_seq.clear()
            self.throttle.reset()
        self.webhooks.reset()
        self.faults.clear()


def _one_month(when: datetime) -> timedelta:
    later = rules.add_months(when.date(), 1)
    return timedelta(days=(later - when.date()).days)
