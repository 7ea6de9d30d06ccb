"""The sandbox Woningpas's state and rules, apart from HTTP: the seeded world, the registered clients and
their tokens, the mandates holders gave organisations, the sources that are up or down, users' documents and
idempotency records, share links, and the section-level change feed (contracts/woningpas_premiums.md §6.3).

Every answer is decided against the sandbox clock (`SimClock`, naive Europe/Brussels time)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import random
import re
import secrets
import threading
from collections import deque
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from connectors.woningpas.address import Address as AddressKey
from connectors.woningpas.insz import valid_insz
from connectors.woningpas.sandbox import seed as seeding
from connectors.woningpas.sandbox import views
from connectors.woningpas.sandbox.auth import AccessToken, RegisteredClient, TokenIssuer
from connectors.woningpas.sandbox.problems import Problem, invalid
from connectors.woningpas.sandbox.seed import Unit, World
from connectors.woningpas.settings import DOCUMENT_TYPES, FEED_MAX_PAGE_SIZE, FEED_PAGE_SIZE
from hub.canonical.keys import fold
from hub.sandbox.runtime import Faults, LaravelThrottle, SimClock

BRUSSELS = ZoneInfo("Europe/Brussels")
ALLOWED_MEDIA_TYPES = ("application/pdf", "image/jpeg", "image/png")
MAX_DOCUMENT_BYTES = 10 * 1024 * 1024
MAX_SHARE_DAYS = 90
_ID = re.compile(r"^[1-9]\d{0,11}$")
_ATTEST = re.compile(r"^\d{8}-\d{10}-\d{1,2}$")
_IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")


def parse_id(value: str, name: str) -> int:
    if not _ID.match(value):
        raise invalid(name, "ONGELDIG_ID", "moet een positief geheel getal zijn")
    return int(value)


@dataclass
class Mandate:
    """A holder of a real right (`insz`) lets an organisation (`client_id`) see their properties' passes: all
    of them, or the units named."""

    mandaat_id: str
    client_id: str
    insz: str
    gebouweenheden: frozenset[int] | None
    geldig_van: date
    geldig_tot: date | None
    ingetrokken: bool = False

    def active(self, today: date) -> bool:
        return (
            not self.ingetrokken and self.geldig_van <= today and (self.geldig_tot is None or today <= self.geldig_tot)
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "mandaat_id": self.mandaat_id,
            "client_id": self.client_id,
            "insz": self.insz,
            "gebouweenheden": sorted(self.gebouweenheden) if self.gebouweenheden is not None else None,
            "geldig_van": self.geldig_van.isoformat(),
            "geldig_tot": self.geldig_tot.isoformat() if self.geldig_tot else None,
            "ingetrokken": self.ingetrokken,
        }


@dataclass(frozen=True)
class Change:
    """One section-level change event of the feed."""

    seq: int
    gebouweenheid_id: int
    adres_object_id: int
    sectie: str
    soort: str  # toegevoegd | gewijzigd | verwijderd
    updated_at: datetime  # aware, Europe/Brussels

    def as_dict(self) -> dict[str, Any]:
        return {
            "wijziging_id": self.seq,
            "gebouweenheidId": self.gebouweenheid_id,
            "adresObjectId": self.adres_object_id,
            "sectie": self.sectie,
            "soort": self.soort,
            "updated_at": views.iso(self.updated_at),
        }


@dataclass
class ShareLink:
    token: str
    gebouweenheid_id: int
    client_id: str
    geldig_tot: datetime


@dataclass
class Upload:
    """A document upload as received: what an Idempotency-Key's fingerprint is taken over."""

    type: str
    titel: str
    bestandsnaam: str
    mediatype: str
    content: bytes

    def fingerprint(self, unit_id: int) -> str:
        h = hashlib.sha256()
        for part in (str(unit_id), self.type, self.titel, self.bestandsnaam, self.mediatype):
            h.update(part.encode() + b"\0")
        h.update(self.content)
        return h.hexdigest()


@dataclass
class WoningpasSandbox:
    """One sandbox Woningpas: `dwellings` seeded units (deterministic by `seed`), the clients it knows."""

    dwellings: int = 200
    seed: int = 12
    as_of: date = date(2026, 11, 1)
    clock: SimClock = field(default_factory=SimClock)
    throttle_per_minute: int = 300
    max_document_bytes: int = MAX_DOCUMENT_BYTES
    issuer: str = "http://127.0.0.1/op"
    faults: Faults = field(default_factory=Faults)

    def __post_init__(self) -> None:
        self.lock = threading.RLock()
        self.world: World = seeding.generate(self.dwellings, self.seed, self.as_of)
        self.auth = TokenIssuer(self.issuer)
        self.throttle = LaravelThrottle(self.throttle_per_minute)
        self.mandates: dict[str, Mandate] = {}
        self._mandates_of: dict[str, list[Mandate]] = {}  # insz → that holder's mandates (the per-request check)
        self.down: set[str] = set()
        self.idempotency: dict[tuple[str, str], tuple[str, str]] = {}  # (client, key) → (fingerprint, document)
        self.share_links: dict[str, ShareLink] = {}
        self.changes: list[Change] = []
        self.requests_served = 0
        # (method, path, query) of each API call (not the admin API's, not the token's): what tests read
        self.request_log: deque[tuple[str, str, str]] = deque(maxlen=10_000)
        self._rng = random.Random(self.seed * 7919 + 1)
        self._mandate_seq = 0
        self._seed_changes()

    # --- clock --------------------------------------------------------------------------------------------------

    def now(self) -> datetime:
        return self.clock.now().replace(tzinfo=BRUSSELS)

    def now_ts(self) -> float:
        return self.now().timestamp()

    def set_issuer(self, issuer: str) -> None:
        self.issuer = issuer.rstrip("/")
        self.auth.issuer = self.issuer

    # --- clients and tokens -------------------------------------------------------------------------------------

    def register_client(
        self, client_id: str, public_pem: bytes | str, scopes: Iterable[str] | None = None, kid: str | None = None
    ) -> RegisteredClient:
        client = RegisteredClient.from_pem(
            client_id, public_pem, frozenset(scopes) if scopes is not None else None, kid
        )
        self.auth.register(client)
        return client

    def token(self, form: Mapping[str, str]) -> dict[str, Any]:
        return self.auth.grant(form, self.now_ts())

    def authenticate(self, authorization: str | None) -> AccessToken:
        token = self.auth.bearer(authorization, self.now_ts())
        if token is None:
            raise Problem(
                401,
                "NIET_GEAUTHENTICEERD",
                "Geen geldig toegangstoken.",
                headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
            )
        allowed, _, retry_after = self.throttle.hit(f"client:{token.client_id}")
        if not allowed:
            raise Problem(
                429,
                "TE_VEEL_VERZOEKEN",
                f"Meer dan {self.throttle.limit} verzoeken per minuut.",
                headers={"Retry-After": str(retry_after)},
            )
        return token

    @staticmethod
    def require_scope(token: AccessToken, scope: str) -> None:
        if scope not in token.scopes:
            raise Problem(
                403,
                "ONVOLDOENDE_SCOPE",
                f"Het toegangstoken heeft de scope {scope} niet.",
                headers={"WWW-Authenticate": f'Bearer error="insufficient_scope", scope="{scope}"'},
            )

    # --- mandates -----------------------------------------------------------------------------------------------

    def add_mandate(
        self,
        client_id: str,
        insz: str,
        gebouweenheden: Collection[int] | None = None,
        geldig_van: date | None = None,
        geldig_tot: date | None = None,
    ) -> Mandate:
        """A mandate from a holder of a real right; refused (ValueError) for someone who holds nothing named."""
        with self.lock:
            held = {u for u, _ in self.world.holdings.get(insz, [])}
            if not held:
                raise ValueError("the mandate giver holds no real right on any unit")
            if gebouweenheden is not None and not set(gebouweenheden) <= held:
                raise ValueError("the mandate giver holds no real right on some of the units named")
            self._mandate_seq += 1
            mandate = Mandate(
                f"mandaat-{self._mandate_seq:06d}",
                client_id,
                insz,
                frozenset(gebouweenheden) if gebouweenheden is not None else None,
                geldig_van or self.now().date(),
                geldig_tot,
            )
            self.mandates[mandate.mandaat_id] = mandate
            self._mandates_of.setdefault(insz, []).append(mandate)
            return mandate

    def revoke_mandate(self, mandaat_id: str) -> Mandate:
        with self.lock:
            mandate = self.mandates[mandaat_id]
            mandate.ingetrokken = True
            return mandate

    def add_holder(
        self,
        first_name: str,
        last_name: str,
        street: str,
        number: str,
        box: str | None,
        postcode: str,
        municipality: str | None = None,
        obligation: bool | None = None,
    ) -> dict[str, Any]:
        """Make this person the holder of a real right (owner) on the unit at this address, for demos: the
        person's INSZ (checksum-valid) follows from their name and address alone, so the same call always gives
        the same INSZ. The unit is the seeded one at that address (street, number and box compared as the hub
        normalises them, same postcode), else one made with the seed's generators from an RNG of the input and
        the seed — with EPC(s), building facts and, when `obligation` is True or the input's hash says so
        (about one in three when None), a purchase under the renovation obligation (`seed.unit_at`).
        Repeating a call changes nothing. `municipality` is what the resident wrote (a deelgemeente too); the
        register's official name follows from the postcode. ValueError for a postcode the seed does not know
        or an empty field."""
        fields = {"first_name": first_name, "last_name": last_name, "street": street, "number": number}
        missing = [k for k, v in {**fields, "postcode": postcode}.items() if not str(v or "").strip()]
        if missing:
            raise ValueError(f"missing {', '.join(missing)}")
        where = AddressKey.of(postcode, street, number, box).key
        person = "|".join(fold(str(v)) for v in (first_name, last_name)) + "|" + where
        digest = hashlib.sha256(f"{self.seed}|{person}".encode()).digest()
        with self.lock:
            unit = next((u for u in self.world.units.values() if _address_key(u) == where), None)
            held_by = {i for i, _ in unit.holders} if unit is not None else set()
            person_rng = random.Random(digest)
            insz = seeding.holder_insz(person_rng, lambda v: v in self.world.holdings and v not in held_by)
            if unit is None:
                forced = obligation if obligation is not None else (True if digest[0] % 3 == 0 else None)
                unit_rng = random.Random(digest[8:])
                address = (street.strip(), number.strip(), (box or "").strip() or None, postcode.strip())
                unit = seeding.unit_at(self.world, unit_rng, address, insz, forced)
                created = True
            else:
                created = False
                if insz not in held_by:
                    unit.holders.append((insz, "eigenaar"))
                    self.world.holdings.setdefault(insz, []).append((unit.gebouweenheid_id, "eigenaar"))
            return {
                "insz": insz,
                "gebouweenheid_id": unit.gebouweenheid_id,
                "adres_object_id": unit.address.adres_object_id,
                "created": created,
                "epc_labels": [e.label for e in unit.epcs],
                "renovation_obligation": bool(unit.purchase and unit.purchase.obligation),
            }

    def seed_mandates(self, client_id: str, share: float, seed: int = 1) -> list[Mandate]:
        """Mandates for the given client from a deterministic `share` of all holders (for demos and benches)."""
        rng = random.Random(seed)
        return [self.add_mandate(client_id, insz) for insz in sorted(self.world.holdings) if rng.random() < share]

    def mandated_units(self, client_id: str) -> set[int]:
        today = self.now().date()
        out: set[int] = set()
        with self.lock:
            for m in self.mandates.values():
                if m.client_id != client_id or not m.active(today):
                    continue
                held = {u for u, _ in self.world.holdings.get(m.insz, [])}
                out |= held if m.gebouweenheden is None else held & m.gebouweenheden
        return out

    def has_mandate(self, client_id: str, unit: Unit) -> bool:
        """Whether a holder of a real right on `unit` gave `client_id` a mandate that is in force and reaches it:
        the unit's own holders' mandates only (a walk over every mandate per request made the sandbox, not the
        hub, the bottleneck of a 10k-dwelling bench)."""
        today = self.now().date()
        uid = unit.gebouweenheid_id
        with self.lock:
            return any(
                m.client_id == client_id and m.active(today) and (m.gebouweenheden is None or uid in m.gebouweenheden)
                for insz, _ in unit.holders
                for m in self._mandates_of.get(insz, ())
            )

    def require_mandate(self, client_id: str, unit: Unit) -> None:
        if not self.has_mandate(client_id, unit):
            raise Problem(
                403,
                "MANDAAT_ONTBREKEND",
                "Geen mandaat van een houder van een zakelijk recht op deze gebouweenheid.",
            )

    # --- reads --------------------------------------------------------------------------------------------------

    def unit(self, gebouweenheid_id: int) -> Unit:
        unit = self.world.units.get(gebouweenheid_id)
        if unit is None:
            raise Problem(404, "NIET_GEVONDEN", f"Gebouweenheid {gebouweenheid_id} is niet gekend.")
        return unit

    def unit_by_address(self, adres_object_id: int) -> Unit:
        unit_id = self.world.by_address.get(adres_object_id)
        if unit_id is None:
            raise Problem(404, "NIET_GEVONDEN", f"Adres {adres_object_id} is niet gekend.")
        return self.world.units[unit_id]

    def properties(self, client_id: str, insz: str) -> list[dict[str, Any]]:
        """The units `insz` holds a real right on that the client's mandates from `insz` cover."""
        if not valid_insz(insz):
            raise invalid("insz", "ONGELDIG_INSZ", "moet een geldig rijksregisternummer van 11 cijfers zijn")
        today = self.now().date()
        with self.lock:
            mandates = [
                m for m in self.mandates.values() if m.client_id == client_id and m.insz == insz and m.active(today)
            ]
            if not mandates:
                raise Problem(403, "MANDAAT_ONTBREKEND", "Geen mandaat van deze persoon.")
            if views.OWNERSHIP_SOURCE in self.down:
                raise Problem(
                    503, "BRON_ONBESCHIKBAAR", "Het kadaster is niet bereikbaar.", headers={"Retry-After": "30"}
                )
            covered: set[int] | None = set()
            for m in mandates:
                if m.gebouweenheden is None:
                    covered = None
                    break
                assert covered is not None
                covered |= m.gebouweenheden
            return [
                views.eigendom(self.world.units[u], rol)
                for u, rol in self.world.holdings.get(insz, [])
                if covered is None or u in covered
            ]

    def passport(self, client_id: str, unit: Unit) -> dict[str, Any]:
        self.require_mandate(client_id, unit)
        return self.passport_now(unit)

    def passport_now(self, unit: Unit) -> dict[str, Any]:
        with self.lock:
            if set(views.SOURCES) <= self.down:
                raise Problem(
                    503,
                    "ALLE_BRONNEN_ONBESCHIKBAAR",
                    "Geen enkele bron van de woningpas is bereikbaar.",
                    headers={"Retry-After": "60"},
                )
            return views.passport(unit, self.now(), set(self.down))

    def epc(self, client_id: str, attestnummer: str, with_attest: bool) -> dict[str, Any]:
        if not _ATTEST.match(attestnummer):
            raise invalid("attestnummer", "ONGELDIG_ATTESTNUMMER", "verwacht de vorm JJJJMMDD-NNNNNNNNNN-V")
        found = self.world.epcs.get(attestnummer)
        if found is None:
            raise Problem(404, "NIET_GEVONDEN", f"EPC {attestnummer} is niet gekend.")
        epc, unit_id = found
        unit = self.world.units[unit_id]
        self.require_mandate(client_id, unit)
        if "VEKA" in self.down:
            raise Problem(
                503, "BRON_ONBESCHIKBAAR", "De EPC-databank is niet bereikbaar.", headers={"Retry-After": "30"}
            )
        return views.magda_epc(self.world, epc, unit, self.now().date(), with_attest)

    # --- documents ----------------------------------------------------------------------------------------------

    def documents(self, client_id: str, unit: Unit) -> list[dict[str, Any]]:
        self.require_mandate(client_id, unit)
        with self.lock:
            docs = [d for d in self.world.documents.values() if d.gebouweenheid_id == unit.gebouweenheid_id]
            return [views.document(d) for d in docs if d.verwijderd_op is None]

    def upload(
        self, client_id: str, unit: Unit, upload: Upload, idempotency_key: str | None
    ) -> tuple[dict[str, Any], bool]:
        """(the document, replayed): a repeat with the same Idempotency-Key and the same upload answers the
        first document again; the same key with another upload is a 409."""
        self.require_mandate(client_id, unit)
        if idempotency_key is not None and not _IDEMPOTENCY_KEY.match(idempotency_key):
            raise invalid("Idempotency-Key", "ONGELDIGE_SLEUTEL", "1 tot 255 zichtbare ASCII-tekens")
        if upload.type not in DOCUMENT_TYPES:
            raise invalid("type", "ONGELDIG_TYPE", f"een van {', '.join(DOCUMENT_TYPES)}")
        if upload.mediatype not in ALLOWED_MEDIA_TYPES:
            raise Problem(415, "MEDIATYPE_NIET_ONDERSTEUND", f"Toegelaten bestanden: {', '.join(ALLOWED_MEDIA_TYPES)}.")
        if len(upload.content) > self.max_document_bytes:
            raise Problem(413, "DOCUMENT_TE_GROOT", f"Een document is hoogstens {self.max_document_bytes} bytes.")
        if not upload.content:
            raise invalid("bestand", "LEEG_BESTAND", "het bestand is leeg")
        fingerprint = upload.fingerprint(unit.gebouweenheid_id)
        with self.lock:
            if idempotency_key is not None:
                earlier = self.idempotency.get((client_id, idempotency_key))
                if earlier is not None:
                    if earlier[0] != fingerprint:
                        raise Problem(
                            409,
                            "IDEMPOTENCY_KEY_HERGEBRUIKT",
                            "Deze Idempotency-Key werd al gebruikt voor een ander document.",
                        )
                    return views.document(self.world.documents[earlier[1]]), True
            doc = seeding.add_document(
                self.world,
                unit.gebouweenheid_id,
                upload.type,
                upload.titel or upload.bestandsnaam,
                upload.bestandsnaam,
                upload.mediatype,
                len(upload.content),
                "gebruiker",
                client_id,
                views.iso(self.now()),
                hashlib.sha256(upload.content).hexdigest(),
            )
            if idempotency_key is not None:
                self.idempotency[(client_id, idempotency_key)] = (fingerprint, doc.document_id)
            self._change(unit, "documenten", "toegevoegd")
            return views.document(doc), False

    def delete_document(self, client_id: str, unit: Unit, document_id: str) -> None:
        self.require_mandate(client_id, unit)
        with self.lock:
            doc = self.world.documents.get(document_id)
            if doc is None or doc.gebouweenheid_id != unit.gebouweenheid_id:
                raise Problem(404, "NIET_GEVONDEN", f"Document {document_id} is niet gekend.")
            if doc.verwijderd_op is not None:
                raise Problem(409, "DOCUMENT_AL_VERWIJDERD", f"Document {document_id} werd al verwijderd.")
            if doc.bron != "gebruiker" or doc.toegevoegd_door != client_id:
                raise Problem(
                    403,
                    "DOCUMENT_NIET_EIGEN",
                    "Alleen documenten die deze toepassing zelf toevoegde, kunnen verwijderd worden.",
                )
            doc.verwijderd_op = views.iso(self.now())
            self._change(unit, "documenten", "verwijderd")

    # --- share links --------------------------------------------------------------------------------------------

    def share(self, client_id: str, unit: Unit, body: Any, base_url: str) -> dict[str, Any]:
        self.require_mandate(client_id, unit)
        raw = body.get("geldig_tot") if isinstance(body, dict) else None
        until = self._parse_until(raw)
        now = self.now()
        if until <= now:
            raise self._until_problem("ligt niet in de toekomst")
        if until > now + timedelta(days=MAX_SHARE_DAYS):
            raise self._until_problem(f"ligt meer dan {MAX_SHARE_DAYS} dagen in de toekomst")
        token = secrets.token_urlsafe(24)
        with self.lock:
            self.share_links[token] = ShareLink(token, unit.gebouweenheid_id, client_id, until)
        return {
            "url": f"{base_url.rstrip('/')}/woningpas/v1/gedeeld/{token}",
            "token": token,
            "geldig_tot": views.iso(until),
            "gebouweenheidId": unit.gebouweenheid_id,
        }

    @staticmethod
    def _until_problem(reason: str) -> Problem:
        return Problem(
            422,
            "ONGELDIGE_GELDIG_TOT",
            f"geldig_tot {reason}.",
            invalid_params=[{"name": "geldig_tot", "code": "ONGELDIGE_GELDIG_TOT", "reason": reason}],
        )

    def _parse_until(self, raw: Any) -> datetime:
        if not isinstance(raw, str) or not raw:
            raise self._until_problem("ontbreekt (een datum of een tijdstip met tijdzone)")
        try:
            if len(raw) == 10:
                day = date.fromisoformat(raw)
                return datetime(day.year, day.month, day.day, 23, 59, 59, tzinfo=BRUSSELS)
            when = datetime.fromisoformat(raw)
        except ValueError:
            raise self._until_problem("is geen ISO 8601-datum of -tijdstip") from None
        if when.tzinfo is None:
            raise self._until_problem("heeft geen tijdzone")
        return when.astimezone(BRUSSELS)

    def shared(self, token: str) -> dict[str, Any]:
        link = self.share_links.get(token)
        if link is None:
            raise Problem(404, "NIET_GEVONDEN", "Deze deellink is niet gekend.")
        if link.geldig_tot <= self.now():
            raise Problem(410, "DEELLINK_VERLOPEN", "Deze deellink is verlopen.")
        return {**self.passport_now(self.world.units[link.gebouweenheid_id]), "gedeeld_tot": views.iso(link.geldig_tot)}

    # --- the change feed ----------------------------------------------------------------------------------------

    def feed(self, client_id: str, updated_since: str | None, cursor: str | None, limit: str | None) -> dict[str, Any]:
        """A page of the changes to the units the client's mandates cover, in feed order (`wijziging_id`),
        from `cursor` (or the start), those at or after `updated_since`. The answer's `cursor` is where the next
        page starts — also when this one is the last, so a poller resumes there and misses nothing."""
        size = FEED_PAGE_SIZE
        if limit is not None:
            if not limit.isdigit() or not 1 <= int(limit) <= FEED_MAX_PAGE_SIZE:
                raise invalid("limit", "ONGELDIGE_LIMIET", f"een geheel getal van 1 tot {FEED_MAX_PAGE_SIZE}")
            size = int(limit)
        since = _parse_since(updated_since) if updated_since is not None else None
        position = 0
        if cursor is not None:
            position, cursor_since = _read_cursor(cursor)
            if updated_since is not None and cursor_since != updated_since:
                raise invalid("cursor", "CURSOR_PAST_NIET", "hoort bij een andere updated_since")
            since = _parse_since(cursor_since) if cursor_since is not None else None
            updated_since = cursor_since
        units = self.mandated_units(client_id)
        items: list[Change] = []
        with self.lock:
            end = len(self.changes)
            i = min(position, end)
            while i < end and len(items) < size:
                change = self.changes[i]
                i += 1
                if change.gebouweenheid_id in units and (since is None or change.updated_at >= since):
                    items.append(change)
            more = any(
                c.gebouweenheid_id in units and (since is None or c.updated_at >= since) for c in self.changes[i:end]
            )
        return {
            "wijzigingen": [c.as_dict() for c in items],
            "cursor": _write_cursor(i, updated_since),
            "meer": more,
        }

    def _change(self, unit: Unit, sectie: str, soort: str, when: datetime | None = None) -> Change:
        with self.lock:
            change = Change(
                len(self.changes) + 1,
                unit.gebouweenheid_id,
                unit.address.adres_object_id,
                sectie,
                soort,
                when or self.now(),
            )
            self.changes.append(change)
            return change

    def _seed_changes(self) -> None:
        """The seeded history as change events, oldest first: every EPC, deed, attest, inspection, permit and
        document at the moment it was registered."""
        rows: list[tuple[datetime, int, str]] = []

        def at(day: str | date, hour: int = 10) -> datetime:
            d = day if isinstance(day, date) else date.fromisoformat(day[:10])
            return datetime(d.year, d.month, d.day, hour, tzinfo=BRUSSELS)

        for u in self.world.units.values():
            rows += [(at(e.datum_ingediend), u.gebouweenheid_id, "energie") for e in u.epcs]
            if u.purchase is not None and u.purchase.obligation:
                rows.append((at(u.purchase.aktedatum, 11), u.gebouweenheid_id, "renovatieverplichting"))
            for sectie, value, key in (
                ("asbest", u.asbest, "datum"),
                ("bodem", u.bodem, "datum"),
                ("elektriciteit", u.elektriciteit, "keuringsdatum"),
            ):
                if value:
                    rows.append((at(value[key], 12), u.gebouweenheid_id, sectie))
            if u.woningkwaliteit:
                day = (u.woningkwaliteit["conformiteitsattest"] or u.woningkwaliteit["besluiten"][0])["datum"]
                rows.append((at(day, 13), u.gebouweenheid_id, "woningkwaliteit"))
            rows += [(at(v["datum"], 14), u.gebouweenheid_id, "vergunningen") for v in u.vergunningen]
        rows += [
            (datetime.fromisoformat(d.toegevoegd_op), d.gebouweenheid_id, "documenten")
            for d in self.world.documents.values()
        ]
        rows.sort(key=lambda r: (r[0], r[1], r[2]))
        for when, unit_id, sectie in rows:
            self._change(self.world.units[unit_id], sectie, "toegevoegd", when)

    # --- changes the admin API triggers -------------------------------------------------------------------------

    def trigger(self, unit_id: int | None = None, sectie: str | None = None, count: int = 1) -> list[dict[str, Any]]:
        """Make something happen now: a new EPC after a renovation (energie), a sale (renovatieverplichting), a
        new attest, inspection or permit. Without `unit_id`, on random units (of the sandbox's own RNG, so a
        run is repeatable); without `sectie`, a random kind. Returns the change events it caused."""
        kinds = (
            "energie",
            "renovatieverplichting",
            "asbest",
            "bodem",
            "elektriciteit",
            "woningkwaliteit",
            "vergunningen",
        )
        if sectie is not None and sectie not in kinds:
            raise ValueError(f"sectie must be one of {kinds}")
        made: list[Change] = []
        with self.lock:
            ids = sorted(self.world.units)
            for _ in range(count):
                unit = self.world.units[unit_id] if unit_id is not None else self.world.units[self._rng.choice(ids)]
                made += self._happen(unit, sectie or self._rng.choice(kinds))
        return [c.as_dict() for c in made]

    def _happen(self, unit: Unit, sectie: str) -> list[Change]:
        rng, today = self._rng, self.now().date()
        gen = seeding.Generator(rng, today + timedelta(days=1), seeding.PROPORTIONS)
        gen.attest_seq, gen.permit_seq = self.world.next_attest_seq, self.world.next_permit_seq
        made: list[Change] = []
        if sectie == "energie":
            was_met = unit.obligation_met()[0]
            before = len(unit.epcs)
            if unit.epcs:
                gen.renovate(unit, today)
            else:
                unit.epcs.append(gen.epc(unit, today, gen.first_label(unit)))
            if len(unit.epcs) == before:  # already an EPC today: nothing new to register
                return made
            epc = unit.epcs[-1]
            self.world.epcs[epc.attestnummer] = (epc, unit.gebouweenheid_id)
            self.world.next_attest_seq = gen.attest_seq
            made.append(self._change(unit, "energie", "toegevoegd" if before == 0 else "gewijzigd"))
            doc = seeding.add_document(
                self.world, unit.gebouweenheid_id, "attest", f"EPC {epc.attestnummer}",
                f"epc-{epc.attestnummer}.pdf", "application/pdf", 200_000, "VEKA", "VEKA", views.iso(self.now()),
            )  # fmt: skip
            del doc
            made.append(self._change(unit, "documenten", "toegevoegd"))
            if unit.obligation_met()[0] and not was_met:
                made.append(self._change(unit, "renovatieverplichting", "gewijzigd"))
        elif sectie == "renovatieverplichting":
            if not unit.epcs:
                made += self._happen(unit, "energie")
            unit.purchase = seeding.Purchase(today, unit.epcs[-1].label)
            if unit.purchase.obligation:
                made.append(self._change(unit, "renovatieverplichting", "toegevoegd"))
        elif sectie == "asbest":
            unit.asbest = {
                "attestnummer": f"AA-{today:%Y}-{rng.randrange(10**7):07d}",
                "datum": today.isoformat(),
                "asbestveilig": rng.random() < 0.4,
                "inventaris_items": [],
            }
            made.append(self._change(unit, "asbest", "gewijzigd"))
        elif sectie == "bodem":
            unit.bodem = {
                "attest_id": f"BA-{today:%Y}-{rng.randrange(10**6):06d}",
                "datum": today.isoformat(),
                "conclusie": "geen_gegevens_gekend",
            }
            made.append(self._change(unit, "bodem", "gewijzigd"))
        elif sectie == "elektriciteit":
            unit.elektriciteit = {
                "keuringsdatum": today.isoformat(),
                "conform": True,
                "volgende_keuring": seeding.add_years(today, 25).isoformat(),
            }
            made.append(self._change(unit, "elektriciteit", "gewijzigd"))
        elif sectie == "woningkwaliteit":
            unit.woningkwaliteit = {
                "conformiteitsattest": {
                    "datum": today.isoformat(),
                    "geldig_tot": seeding.add_years(today, 10).isoformat(),
                },
                "besluiten": [],
            }
            made.append(self._change(unit, "woningkwaliteit", "gewijzigd"))
        elif sectie == "vergunningen":
            self.world.next_permit_seq += 1 + rng.randrange(50)
            unit.vergunningen.append(
                {
                    "omgevingsvergunning_nr": f"OMV_{today:%Y}{self.world.next_permit_seq:06d}",
                    "datum": today.isoformat(),
                    "onderwerp": rng.choice(seeding.PERMIT_TOPICS),
                }
            )
            made.append(self._change(unit, "vergunningen", "toegevoegd"))
        return made

    # --- admin views --------------------------------------------------------------------------------------------

    def examples(self) -> dict[str, Any]:
        """Ids of seeded cases, for tests and demos: a holder, a unit with two EPCs, one with the obligation."""
        units = sorted(self.world.units.values(), key=lambda u: u.gebouweenheid_id)

        def first(pred: Any) -> Unit | None:
            return next((u for u in units if pred(u)), None)

        cases = {
            "two_epcs": first(lambda u: len(u.epcs) >= 2),
            "obligation": first(lambda u: u.purchase is not None and u.purchase.obligation),
            "obligation_met": first(lambda u: u.obligation_met()[0]),
            "no_epc": first(lambda u: not u.epcs),
            "apartment": first(lambda u: u.building_type == "appartement"),
            "house": first(lambda u: u.building_type == "eengezinswoning"),
        }
        out: dict[str, Any] = {
            name: {
                "gebouweenheidId": u.gebouweenheid_id,
                "adresObjectId": u.address.adres_object_id,
                "holders": [insz for insz, _ in u.holders],
                "attestnummers": [e.attestnummer for e in u.epcs],
            }
            for name, u in cases.items()
            if u is not None
        }
        several = next((insz for insz, held in sorted(self.world.holdings.items()) if len(held) >= 2), None)
        out["holder_of_several"] = several
        return out

    def describe(self) -> dict[str, Any]:
        return {
            "now": views.iso(self.now()),
            "issuer": self.issuer,
            "world": self.world.summary(),
            "clients": sorted(self.auth.clients),
            "tokens_issued": self.auth.issued,
            "mandates": len(self.mandates),
            "changes": len(self.changes),
            "sources_down": sorted(self.down),
            "requests_served": self.requests_served,
            "faults": self.faults.describe(),
        }


def _address_key(unit: Unit) -> str:
    a = unit.address
    return AddressKey.of(a.postcode, a.straat, a.huisnummer, a.busnummer).key


def _parse_since(raw: str) -> datetime:
    try:
        when = datetime.fromisoformat(raw)
    except ValueError:
        raise invalid("updated_since", "ONGELDIG_TIJDSTIP", "een ISO 8601-tijdstip met tijdzone") from None
    if when.tzinfo is None:
        raise invalid("updated_since", "ONGELDIG_TIJDSTIP", "een ISO 8601-tijdstip met tijdzone")
    return when


def _write_cursor(position: int, updated_since: str | None) -> str:
    raw = json.dumps({"p": position, "u": updated_since}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _read_cursor(cursor: str) -> tuple[int, str | None]:
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        position, since = data["p"], data["u"]
        if not isinstance(position, int) or position < 0 or not (since is None or isinstance(since, str)):
            raise ValueError
        return position, since
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise invalid("cursor", "ONGELDIGE_CURSOR", "geen cursor van deze feed") from None
