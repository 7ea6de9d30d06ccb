"""Deterministic Flemish seed data for the sandbox Woningpas: addresses, buildings, units, EPCs, holders,
purchases under the renovation obligation and the other sections of the pass (contracts/woningpas_premiums.md
§1.2, §1.4-1.6).

Identifiers follow the Flemish registers' shapes (Adressenregister `adresObjectId`, gebouw and gebouweenheid
ids, CaPaKey, MAGDA attest numbers); proportions are [MOD] estimates for Flanders, set in one table below so a
bench or test can read them. The same `(dwellings, seed, as_of)` always gives the same world."""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

# --- labels (§1.5) ----------------------------------------------------------------------------------------------

LABELS = ("A+", "A", "B", "C", "D", "E", "F")
# upper bound (exclusive) of each label's primary energy score in kWh/m²·yr, per building type: houses are
# [3P], apartments [INF, verify] (§1.5) — a parameter per building type, as the contract asks
SCALES: dict[str, tuple[float, ...]] = {
    "eengezinswoning": (0, 100, 200, 300, 400, 500, math.inf),
    "appartement": (0, 50, 150, 250, 350, 450, math.inf),
}
REQUIRED_LABEL = "D"  # renovation obligation: at least D within 5 years of the deed (§1.5)
OBLIGATION_FROM = date(2023, 1, 1)
OBLIGATION_YEARS = 5
EPC_VALID_YEARS = 10
COLOURS = {
    "A+": "#1A9641",
    "A": "#52B151",
    "B": "#A6D96A",
    "C": "#FFD94A",
    "D": "#FDAE61",
    "E": "#F46D43",
    "F": "#D7191C",
}


def label_for(score: float, building_type: str) -> str:
    """The label of a score on the building type's scale (a bound belongs to the worse label)."""
    for label, upper in zip(LABELS, SCALES[building_type], strict=True):
        if score < upper:
            return label
    return LABELS[-1]


def label_band(label: str, building_type: str) -> tuple[float, float]:
    """[low, high) of a label's scores; the open ends are closed at realistic values (A+ ≥ -60, F < 900/800)."""
    scale = SCALES[building_type]
    i = LABELS.index(label)
    low = scale[i - 1] if i else -60.0
    high = scale[i] if i < len(LABELS) - 1 else (900.0 if building_type == "eengezinswoning" else 800.0)
    return float(low), float(high)


def label_at_most(label: str, required: str = REQUIRED_LABEL) -> bool:
    """Whether `label` is `required` or better (A+ is best)."""
    return LABELS.index(label) <= LABELS.index(required)


# --- proportions [MOD] ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Proportions:
    """The shares the seed draws from; the defaults are estimates for the Flemish housing stock [MOD]."""

    house_share: float = 0.62  # units in single-family houses; the rest are apartments (4-12 per building)
    epc_share: float = 0.68  # units with at least one EPC
    second_epc_share: float = 0.15  # of those: an older EPC and a newer one after a renovation
    purchase_share: float = 0.09  # units sold since the obligation started (1 Jan 2023)
    obligation_renovated_share: float = 0.3  # obligated units that already have a new EPC after the deed
    asbestos_share: float = 0.2  # of units built before 2001 (required at sale since 23 Nov 2022)
    soil_share: float = 0.12
    electrical_share: float = 0.45
    conformity_share: float = 0.06
    unfit_share: float = 0.015
    permit_share: float = 0.3
    owner_document_share: float = 0.1
    # label of the (oldest) EPC for units built before 2006 and for newer builds, per building type
    labels_old: dict[str, tuple[float, ...]] = field(
        default_factory=lambda: {
            "eengezinswoning": (0.0, 0.02, 0.07, 0.16, 0.22, 0.19, 0.34),
            "appartement": (0.0, 0.04, 0.22, 0.31, 0.2, 0.12, 0.11),
        }
    )
    labels_new: dict[str, tuple[float, ...]] = field(
        default_factory=lambda: {
            "eengezinswoning": (0.08, 0.42, 0.38, 0.1, 0.02, 0.0, 0.0),
            "appartement": (0.05, 0.5, 0.38, 0.07, 0.0, 0.0, 0.0),
        }
    )


PROPORTIONS = Proportions()

# Flemish municipalities: (NIS code, official name, postcode, weight). Public facts, weights [MOD].
MUNICIPALITIES: tuple[tuple[str, str, str, int], ...] = (
    ("11002", "Antwerpen", "2000", 20),
    ("44021", "Gent", "9000", 15),
    ("31005", "Brugge", "8000", 7),
    ("24062", "Leuven", "3000", 6),
    ("12025", "Mechelen", "2800", 5),
    ("41002", "Aalst", "9300", 5),
    ("71022", "Hasselt", "3500", 4),
    ("34022", "Kortrijk", "8500", 4),
    ("46021", "Sint-Niklaas", "9100", 4),
    ("35013", "Oostende", "8400", 4),
    ("71016", "Genk", "3600", 4),
    ("36015", "Roeselare", "8800", 3),
    ("13040", "Turnhout", "2300", 3),
    ("42006", "Dendermonde", "9200", 3),
    ("12021", "Lier", "2500", 2),
    ("13008", "Geel", "2440", 2),
)
PROVINCES = {
    "1": "Antwerpen",
    "2": "Vlaams-Brabant",
    "3": "West-Vlaanderen",
    "4": "Oost-Vlaanderen",
    "7": "Limburg",
}
STREETS = (
    "Kerkstraat",
    "Stationsstraat",
    "Molenstraat",
    "Dorpsstraat",
    "Schoolstraat",
    "Nieuwstraat",
    "Kapelstraat",
    "Beekstraat",
    "Veldstraat",
    "Lindelaan",
    "Kouter",
    "Processiestraat",
    "Hoogstraat",
    "Brugstraat",
    "Tuinwijk",
    "Lange Nieuwstraat",
    "Sint-Jorisstraat",
    "Boomgaardstraat",
    "Vlasstraat",
    "Heidestraat",
)
BOUWVORMEN = (("open bebouwing", 0.35), ("halfopen bebouwing", 0.3), ("gesloten bebouwing", 0.35))
EXPERTS = (
    ("EP09950", "Energie-expert Noord", "0412345678"),
    ("EP10233", "EPC Advies Schelde", "0698765432"),
    ("EP11871", "Bureau Kempen Energie", "0723456781"),
    ("EP12004", "Vlaams EPC-kantoor", "0534567812"),
    ("EP13560", "Woonenergie Leie", "0845678123"),
)
# (Type, Subtype, HuidigeSituatie, Omschrijving, price low, price high, share of the remaining gap it closes)
MEASURES: tuple[tuple[str, str, str, str, int, int, float], ...] = (
    ("Dak", "Isolatie hellend dak", "Dak niet of onvoldoende geïsoleerd", "Isoleren tussen de kepers", 60, 110, 0.3),
    ("Buitenmuren", "Spouwmuurisolatie", "Spouw niet gevuld", "Spouw na-isoleren", 20, 35, 0.22),
    ("Vensters", "Hoogrendementsglas", "Dubbel glas van voor 2000", "Vervangen door HR++ glas", 250, 450, 0.12),
    ("Vloer", "Vloerisolatie", "Vloer op volle grond niet geïsoleerd", "Isoleren onder de dekvloer", 45, 80, 0.1),
    ("Verwarming", "Warmtepomp", "Gasketel ouder dan 15 jaar", "Lucht-water warmtepomp", 9000, 15000, 0.35),
    ("Hernieuwbare energie", "Zonnepanelen", "Geen zonnepanelen", "Fotovoltaïsche panelen 3 kWp", 4500, 7000, 0.15),
)
ROLES_HOUSE = (("eigenaar+eigenaar", 0.55), ("eigenaar", 0.34), ("vruchtgebruik", 0.08), ("erfpacht", 0.03))
PERMIT_TOPICS = (
    "verbouwen van een eengezinswoning",
    "plaatsen van een dakkapel",
    "uitbreiden van de woning",
    "slopen van een bijgebouw",
    "plaatsen van een warmtepomp aan de gevel",
)
ASBESTOS_ITEMS = (
    ("golfplaten", "dak bijgebouw"),
    ("leien", "hellend dak"),
    ("vinyltegels", "keukenvloer"),
    ("isolatie leidingen", "kelder"),
    ("gevelbekleding", "achtergevel"),
)
SOIL_CONCLUSIONS = (
    ("geen_gegevens_gekend", 0.8),
    ("risicogrond_onderzocht", 0.12),
    ("verontreiniging_gesaneerd", 0.08),
)
PDF = "application/pdf"
DOC_TYPES = ("attest", "keuring", "vergunning", "verslag", "renovatiebewijs", "plan", "foto")


# --- the world --------------------------------------------------------------------------------------------------


@dataclass
class Address:
    """One Adressenregister address."""

    adres_object_id: int
    straat: str
    huisnummer: str
    busnummer: str | None
    postcode: str
    gemeente: str
    nis: str
    status: str = "inGebruik"

    @property
    def volledig(self) -> str:
        bus = f" bus {self.busnummer}" if self.busnummer else ""
        return f"{self.straat} {self.huisnummer}{bus}, {self.postcode} {self.gemeente}"


@dataclass
class Recommendation:
    """One step of the EPC's new-style recommendations, with the score after it."""

    type: str
    subtype: str
    huidige_situatie: str
    omschrijving: str
    prijs_een: int
    prijs_twee: int
    prioriteit: int
    energiescore: int


@dataclass
class Epc:
    """One EPC (MAGDA GeefEpc 02.01 fields, §1.4)."""

    attestnummer: str
    datum_ingediend: date
    score: int
    label: str
    building_type: str
    expert: tuple[str, str, str]
    aanbevelingen: list[Recommendation]
    u_schil: float
    installatie: str

    @property
    def geldig_tot(self) -> date:
        return add_years(self.datum_ingediend, EPC_VALID_YEARS)

    @property
    def score_na_aanbevelingen(self) -> int:
        return self.aanbevelingen[-1].energiescore if self.aanbevelingen else self.score

    @property
    def label_na_aanbevelingen(self) -> str:
        return label_for(self.score_na_aanbevelingen, self.building_type)


@dataclass
class Purchase:
    """A notarial transfer in full ownership since 2023 (the renovation obligation's trigger)."""

    aktedatum: date
    label_bij_akte: str | None

    @property
    def obligation(self) -> bool:
        return self.label_bij_akte in ("E", "F") and self.aktedatum >= OBLIGATION_FROM

    @property
    def deadline(self) -> date:
        return add_years(self.aktedatum, OBLIGATION_YEARS)


@dataclass
class Unit:
    """One gebouweenheid with its address, building and everything the pass shows about it."""

    gebouweenheid_id: int
    gebouw_id: int
    address: Address
    building_type: str  # eengezinswoning | appartement
    bouwvorm: str
    bouwjaar: int
    bruto_vloeroppervlakte: int
    beschermd_volume: int
    percelen: list[str]
    holders: list[tuple[str, str]]  # (insz, rol)
    epcs: list[Epc] = field(default_factory=list)  # oldest first
    purchase: Purchase | None = None
    asbest: dict[str, Any] | None = None
    bodem: dict[str, Any] | None = None
    elektriciteit: dict[str, Any] | None = None
    woningkwaliteit: dict[str, Any] | None = None
    vergunningen: list[dict[str, Any]] = field(default_factory=list)

    def obligation_met(self) -> tuple[bool, date | None]:
        """(met, the date of the EPC that met it): a new EPC after the deed with label D or better."""
        if self.purchase is None or not self.purchase.obligation:
            return False, None
        for epc in self.epcs:
            if epc.datum_ingediend > self.purchase.aktedatum and label_at_most(epc.label):
                return True, epc.datum_ingediend
        return False, None


@dataclass
class Document:
    """A document on a unit's pass: an agency's (bron = the agency) or one a user uploaded."""

    document_id: str
    gebouweenheid_id: int
    type: str
    titel: str
    bestandsnaam: str
    mediatype: str
    grootte: int
    bron: str  # agency id, or "gebruiker"
    toegevoegd_door: str  # agency id, "eigenaar", or the client id that uploaded it
    toegevoegd_op: str
    sha256: str = ""
    verwijderd_op: str | None = None


@dataclass
class World:
    """The seeded registers, indexed the ways the API reads them."""

    as_of: date
    units: dict[int, Unit]
    by_address: dict[int, int]
    epcs: dict[str, tuple[Epc, int]]  # attestnummer → (epc, gebouweenheid id)
    holdings: dict[str, list[tuple[int, str]]]  # insz → [(gebouweenheid id, rol)]
    documents: dict[str, Document]
    averages: dict[str, float]  # "gemeente:<nis>", "provincie:<digit>", "vlaanderen" → mean house score
    next_attest_seq: int = 0
    next_permit_seq: int = 0
    next_document_seq: int = 0

    def summary(self) -> dict[str, Any]:
        """Counts and shares, for the admin API, tests and the bench."""
        units = list(self.units.values())
        with_epc = [u for u in units if u.epcs]
        latest = [u.epcs[-1].label for u in with_epc]
        return {
            "units": len(units),
            "buildings": len({u.gebouw_id for u in units}),
            "apartments": sum(u.building_type == "appartement" for u in units),
            "with_epc": len(with_epc),
            "with_two_epcs": sum(len(u.epcs) >= 2 for u in units),
            "purchases": sum(u.purchase is not None for u in units),
            "with_obligation": sum(bool(u.purchase and u.purchase.obligation) for u in units),
            "obligation_met": sum(u.obligation_met()[0] for u in units),
            "holders": len(self.holdings),
            "labels": {label: latest.count(label) for label in LABELS},
        }


# --- generation -------------------------------------------------------------------------------------------------


def generate(
    dwellings: int = 200, seed: int = 12, as_of: date = date(2026, 11, 1), p: Proportions = PROPORTIONS
) -> World:
    """A world of `dwellings` units (whole apartment buildings, so a few more may be made), fixed by `seed`."""
    if dwellings < 1:
        raise ValueError("dwellings must be at least 1")
    rng = random.Random(seed)
    g = Generator(rng, as_of, p)
    while len(g.units) < dwellings:
        # a building is one house or 4-12 apartments: choose by the units' running share, not per building
        houses = sum(u.building_type == "eengezinswoning" for u in g.units[-200:])
        share = houses / min(len(g.units), 200) if g.units else 0.0
        g.building(
            apartments=share > p.house_share or (share == p.house_share and rng.random() < 0.5),
            room=dwellings - len(g.units),
        )
    world = World(
        as_of=as_of,
        units={u.gebouweenheid_id: u for u in g.units},
        by_address={u.address.adres_object_id: u.gebouweenheid_id for u in g.units},
        epcs={e.attestnummer: (e, u.gebouweenheid_id) for u in g.units for e in u.epcs},
        holdings={},
        documents={},
        averages=_averages(g.units),
        next_attest_seq=g.attest_seq,
        next_permit_seq=g.permit_seq,
    )
    for u in g.units:
        for insz, rol in u.holders:
            world.holdings.setdefault(insz, []).append((u.gebouweenheid_id, rol))
    _seed_documents(world, rng, p)
    return world


class Generator:
    """Draws the world (and, for the admin API, later changes) from one RNG."""

    def __init__(self, rng: random.Random, as_of: date, p: Proportions) -> None:
        self.rng, self.as_of, self.p = rng, as_of, p
        self.units: list[Unit] = []
        self.adres_id = 2_400_000 + rng.randrange(10_000)
        self.unit_id = 14_000_000 + rng.randrange(10_000)
        self.gebouw_id = 6_100_000 + rng.randrange(10_000)
        self.attest_seq = 1_948_124
        self.permit_seq = 1_000
        self.insz_used: set[str] = set()
        self.investors: list[str] = []
        self.parcel_no: dict[str, int] = {}

    # ids
    def _next(self, attr: str) -> int:
        value: int = getattr(self, attr) + 1 + self.rng.randrange(3)
        setattr(self, attr, value)
        return value

    def insz(self) -> str:
        value = holder_insz(self.rng, self.insz_used.__contains__)
        self.insz_used.add(value)
        return value

    def capakey(self, nis: str) -> str:
        afdeling = f"{nis[:2]}{1 + self.rng.randrange(12):03d}"
        sectie = "ABCDEFGH"[self.rng.randrange(8)]
        key = afdeling + sectie
        self.parcel_no[key] = self.parcel_no.get(key, 0) + 1 + self.rng.randrange(4)
        return f"{key}{self.parcel_no[key]:04d}-00{'ABCDEFGHKL'[self.rng.randrange(10)]}{self.rng.randrange(1000):03d}"

    def building(self, apartments: bool, room: int) -> None:
        rng = self.rng
        nis, gemeente, postcode, _ = rng.choices(MUNICIPALITIES, weights=[m[3] for m in MUNICIPALITIES])[0]
        straat = rng.choice(STREETS)
        huisnummer = str(1 + rng.randrange(180))
        if rng.random() < 0.04:
            huisnummer += rng.choice("ABC")
        gebouw_id = self._next("gebouw_id")
        bouwjaar = self.build_year()
        percelen = [self.capakey(nis)] + ([self.capakey(nis)] if rng.random() < 0.08 else [])
        if not apartments:
            unit = self.unit(gebouw_id, nis, gemeente, postcode, straat, huisnummer, None, "eengezinswoning", bouwjaar)
            unit.bouwvorm = _weighted(rng, BOUWVORMEN)
            unit.percelen = percelen
            self.units.append(unit)
            return
        n = min(max(room, 1), 4 + rng.randrange(9))
        for i in range(n):
            floor, door = divmod(i, 4)
            bus = f"{floor:02d}{door + 1:02d}"
            unit = self.unit(gebouw_id, nis, gemeente, postcode, straat, huisnummer, bus, "appartement", bouwjaar)
            unit.bouwvorm = "appartementsgebouw"
            unit.percelen = list(percelen)
            self.units.append(unit)

    def build_year(self) -> int:
        bands = ((1880, 1945, 0.18), (1946, 1970, 0.22), (1971, 1990, 0.22), (1991, 2005, 0.18), (2006, 2024, 0.2))
        low, high, _ = self.rng.choices(bands, weights=[b[2] for b in bands])[0]
        return self.rng.randint(low, high)

    def unit(
        self,
        gebouw_id: int,
        nis: str,
        gemeente: str,
        postcode: str,
        straat: str,
        huisnummer: str,
        bus: str | None,
        building_type: str,
        bouwjaar: int,
    ) -> Unit:
        rng, p = self.rng, self.p
        address = Address(self._next("adres_id"), straat, huisnummer, bus, postcode, gemeente, nis)
        area = rng.randint(110, 260) if building_type == "eengezinswoning" else rng.randint(55, 130)
        unit = Unit(
            gebouweenheid_id=self._next("unit_id"),
            gebouw_id=gebouw_id,
            address=address,
            building_type=building_type,
            bouwvorm="",
            bouwjaar=bouwjaar,
            bruto_vloeroppervlakte=area,
            beschermd_volume=int(area * rng.uniform(2.6, 3.1)),
            percelen=[],
            holders=self.holders(building_type),
        )
        if rng.random() < p.epc_share:
            self.epcs(unit)
        if rng.random() < p.purchase_share:
            self.purchase(unit)
        self.other_sections(unit)
        return unit

    def holders(self, building_type: str) -> list[tuple[str, str]]:
        rng = self.rng
        if building_type == "appartement":
            roll = rng.random()
            if roll < 0.15:
                if not self.investors or rng.random() < 0.3:
                    self.investors.append(self.insz())
                return [(rng.choice(self.investors), "eigenaar")]
            if roll < 0.4:
                return [(self.insz(), "eigenaar"), (self.insz(), "eigenaar")]
            return [(self.insz(), "eigenaar")]
        kind = _weighted(rng, ROLES_HOUSE)
        if kind == "eigenaar+eigenaar":
            return [(self.insz(), "eigenaar"), (self.insz(), "eigenaar")]
        if kind == "vruchtgebruik":
            return [(self.insz(), "vruchtgebruiker"), (self.insz(), "blote_eigenaar")]
        if kind == "erfpacht":
            return [(self.insz(), "erfpachter")]
        return [(self.insz(), "eigenaar")]

    def epc(self, unit: Unit, when: date, label: str, below: int | None = None) -> Epc:
        """A new EPC with a score in `label`'s band (and under `below`, for one after a renovation)."""
        rng = self.rng
        low, high = label_band(label, unit.building_type)
        if below is not None:
            high = max(low + 1, min(high, below))
        score = int(rng.uniform(low, high - 1))
        self.attest_seq += 1 + rng.randrange(40)
        steps: list[Recommendation] = []
        target = label_band("A", unit.building_type)[1] - 10
        current = float(score)
        if current > target:
            for prio, m in enumerate(rng.sample(MEASURES, k=rng.randint(3, len(MEASURES))), 1):
                current -= (current - target) * m[6] * rng.uniform(0.8, 1.4)
                steps.append(Recommendation(m[0], m[1], m[2], m[3], m[4], m[5], prio, round(current)))
        installation = (
            "warmtepomp"
            if score < label_band("B", unit.building_type)[1]
            else rng.choice(
                ("condensatieketel gas", "niet-condensatieketel gas", "stookolieketel", "elektrische weerstand")
            )
        )
        return Epc(
            attestnummer=f"{when:%Y%m%d}-{self.attest_seq:010d}-1",
            datum_ingediend=when,
            score=score,
            label=label,
            building_type=unit.building_type,
            expert=rng.choice(EXPERTS),
            aanbevelingen=steps,
            u_schil=round(max(0.25, score / 380 + rng.uniform(-0.1, 0.1)), 2),
            installatie=installation,
        )

    def first_label(self, unit: Unit) -> str:
        table = self.p.labels_new if unit.bouwjaar >= 2006 else self.p.labels_old
        return self.rng.choices(LABELS, weights=table[unit.building_type])[0]

    def epcs(self, unit: Unit) -> None:
        rng = self.rng
        first_from = max(date(2009, 1, 1), date(unit.bouwjaar + 1, 1, 1))
        first_to = self.as_of - timedelta(days=30)
        if first_from >= first_to:
            return
        two = rng.random() < self.p.second_epc_share and unit.bouwjaar < 2006
        span = (first_to - first_from).days
        when = first_from + timedelta(days=rng.randrange(span // 2 if two else span))
        label = self.first_label(unit)
        if two and LABELS.index(label) < 3:
            label = rng.choice(("D", "E", "F"))  # a unit renovated afterwards started poor
        unit.epcs.append(self.epc(unit, when, label))
        if two:
            self.renovate(unit, when + timedelta(days=rng.randint(400, 2500)))

    def renovate(self, unit: Unit, when: date) -> None:
        """A newer EPC after a renovation: two to four labels better (not better than A)."""
        if when >= self.as_of:
            when = self.as_of - timedelta(days=self.rng.randint(5, 60))
        if unit.epcs and when <= unit.epcs[-1].datum_ingediend:
            return
        old = unit.epcs[-1].label if unit.epcs else "F"
        better = max(1, LABELS.index(old) - self.rng.randint(2, 4))
        unit.epcs.append(self.epc(unit, when, LABELS[better], below=unit.epcs[-1].score if unit.epcs else None))

    def purchase(self, unit: Unit) -> None:
        rng = self.rng
        span = (self.as_of - OBLIGATION_FROM).days - 60
        aktedatum = OBLIGATION_FROM + timedelta(days=rng.randrange(span))
        if not unit.epcs:
            # an EPC is needed to sell: drawn up shortly before the deed
            when = aktedatum - timedelta(days=rng.randint(20, 200))
            unit.epcs.append(self.epc(unit, when, self.first_label(unit)))
        before = [e for e in unit.epcs if e.datum_ingediend <= aktedatum]
        if not before:
            aktedatum = unit.epcs[0].datum_ingediend + timedelta(days=rng.randint(10, 90))
            if aktedatum >= self.as_of:
                return
            before = [unit.epcs[0]]
        unit.purchase = Purchase(aktedatum, before[-1].label)
        renovated = rng.random() < self.p.obligation_renovated_share
        if unit.purchase.obligation and unit.epcs[-1] is before[-1] and renovated:
            self.renovate(unit, aktedatum + timedelta(days=rng.randint(200, 900)))

    def other_sections(self, unit: Unit) -> None:
        rng, p = self.rng, self.p
        recent = (self.as_of - timedelta(days=8 * 365), self.as_of - timedelta(days=3))
        if unit.bouwjaar < 2001 and (rng.random() < p.asbestos_share or (unit.purchase and rng.random() < 0.7)):
            when = _between(rng, date(2022, 11, 23), recent[1])
            items = [
                {
                    "toepassing": kind,
                    "locatie": where,
                    "hechtgebonden": rng.random() < 0.8,
                    "toestand": rng.choice(("goed", "matig", "slecht")),
                }
                for kind, where in rng.sample(ASBESTOS_ITEMS, k=rng.randint(0, 3))
            ]
            unit.asbest = {
                "attestnummer": f"AA-{when:%Y}-{rng.randrange(10**7):07d}",
                "datum": when.isoformat(),
                "asbestveilig": not items or all(i["hechtgebonden"] and i["toestand"] == "goed" for i in items),
                "inventaris_items": items,
            }
        if rng.random() < p.soil_share:
            when = _between(rng, *recent)
            unit.bodem = {
                "attest_id": f"BA-{when:%Y}-{rng.randrange(10**6):06d}",
                "datum": when.isoformat(),
                "conclusie": _weighted(rng, SOIL_CONCLUSIONS),
            }
        if rng.random() < p.electrical_share:
            when = _between(rng, *recent)
            conform = rng.random() < 0.7
            unit.elektriciteit = {
                "keuringsdatum": when.isoformat(),
                "conform": conform,
                "volgende_keuring": (add_years(when, 25) if conform else when + timedelta(days=365)).isoformat(),
            }
        conformity = rng.random() < p.conformity_share
        unfit = rng.random() < p.unfit_share
        if conformity or unfit:
            when = _between(rng, *recent)
            unit.woningkwaliteit = {
                "conformiteitsattest": {
                    "datum": when.isoformat(),
                    "geldig_tot": add_years(when, 10).isoformat(),
                }
                if conformity and not unfit
                else None,
                "besluiten": [
                    {"soort": rng.choice(("ongeschikt", "ongeschikt", "onbewoonbaar")), "datum": when.isoformat()}
                ]
                if unfit
                else [],
            }
        if rng.random() < p.permit_share:
            for _ in range(rng.randint(1, 2)):
                when = _between(rng, date(2015, 1, 1), recent[1])
                self.permit_seq += 1 + rng.randrange(50)
                unit.vergunningen.append(
                    {
                        "omgevingsvergunning_nr": f"OMV_{when:%Y}{self.permit_seq:06d}",
                        "datum": when.isoformat(),
                        "onderwerp": rng.choice(PERMIT_TOPICS),
                    }
                )
            unit.vergunningen.sort(key=lambda v: str(v["datum"]))


# Postcodes of a municipality's deelgemeenten (the register names the municipality; residents write the
# deelgemeente): the Leuven desk's, beside the main postcodes of MUNICIPALITIES.
DEELGEMEENTEN: dict[str, tuple[str, str]] = {
    "3001": ("24062", "Leuven"),  # Heverlee
    "3010": ("24062", "Leuven"),  # Kessel-Lo
    "3012": ("24062", "Leuven"),  # Wilsele
    "3018": ("24062", "Leuven"),  # Wijgmaal
}


def municipality_of(postcode: str) -> tuple[str, str] | None:
    """(NIS code, official municipality) of a Flemish postcode the seed knows, else None."""
    for nis, name, code, _ in MUNICIPALITIES:
        if code == postcode:
            return nis, name
    return DEELGEMEENTEN.get(postcode)


def holder_insz(rng: random.Random, taken: Callable[[str], bool]) -> str:
    """A checksum-valid INSZ (born 1940-1999) drawn from `rng`, skipping the ones `taken` refuses."""
    while True:
        born = date(1940, 1, 1) + timedelta(days=rng.randrange(60 * 365))
        base = f"{born:%y%m%d}{rng.randrange(1, 998):03d}"
        value = base + f"{97 - int(base) % 97:02d}"
        if not taken(value):
            return value


def unit_at(
    world: World,
    rng: random.Random,
    address: tuple[str, str, str | None, str],
    holder: str,
    obligation: bool | None,
    p: Proportions = PROPORTIONS,
) -> Unit:
    """A new unit at `address` (street, number, box, postcode of a known municipality), drawn with the seed's
    own generators from `rng`: a house, or an apartment when there is a box; always at least one EPC (a
    resident who signs up at a desk usually has one); `holder` as its owner (beside a co-owner sometimes).
    `obligation` True forces a purchase since 2023 with label E or F at the deed and no new EPC yet (the
    renovation obligation open), False forces no purchase, None keeps the generator's own draw. The world's
    id counters continue after its highest ids, so nothing collides."""
    straat, huisnummer, bus, postcode = address
    known = municipality_of(postcode)
    if known is None:
        raise ValueError(f"postcode {postcode} is not a municipality the sandbox seeds")
    nis, gemeente = known
    g = Generator(rng, world.as_of, p)
    g.adres_id = max([a for a in world.by_address] + [g.adres_id])
    g.unit_id = max([*world.units, g.unit_id])
    g.gebouw_id = max([u.gebouw_id for u in world.units.values()] + [g.gebouw_id])
    g.attest_seq, g.permit_seq = world.next_attest_seq, world.next_permit_seq
    g.insz_used = set(world.holdings)
    apartment = bool(bus)
    unit = g.unit(
        g._next("gebouw_id"), nis, gemeente, postcode, straat, huisnummer, bus,
        "appartement" if apartment else "eengezinswoning", g.build_year(),
    )  # fmt: skip
    unit.bouwvorm = "appartementsgebouw" if apartment else _weighted(rng, BOUWVORMEN)
    unit.percelen = [g.capakey(nis)]
    co_owner = [h for h in unit.holders[1:] if h[1] == "eigenaar"][:1]
    unit.holders = [(holder, "eigenaar"), *co_owner]
    if obligation is True:
        span = (world.as_of - OBLIGATION_FROM).days - 60
        aktedatum = OBLIGATION_FROM + timedelta(days=rng.randrange(span))
        when = aktedatum - timedelta(days=rng.randint(20, 200))
        unit.epcs = [g.epc(unit, when, rng.choice(("E", "F")))]
        unit.purchase = Purchase(aktedatum, unit.epcs[0].label)
    elif obligation is False:
        unit.purchase = None
    if not unit.epcs:
        g.epcs(unit)
    if not unit.epcs:  # built too recently for the drawn dates: an EPC at completion
        unit.epcs.append(g.epc(unit, world.as_of - timedelta(days=rng.randint(30, 300)), g.first_label(unit)))
    world.units[unit.gebouweenheid_id] = unit
    world.by_address[unit.address.adres_object_id] = unit.gebouweenheid_id
    for epc in unit.epcs:
        world.epcs[epc.attestnummer] = (epc, unit.gebouweenheid_id)
        add_document(
            world, unit.gebouweenheid_id, "attest", f"EPC {epc.attestnummer}", f"epc-{epc.attestnummer}.pdf", PDF,
            180_000 + rng.randrange(90_000), "VEKA", "VEKA", f"{epc.datum_ingediend}T10:00:00+01:00",
        )  # fmt: skip
    for insz, rol in unit.holders:
        world.holdings.setdefault(insz, []).append((unit.gebouweenheid_id, rol))
    world.next_attest_seq, world.next_permit_seq = g.attest_seq, g.permit_seq
    return unit


def _seed_documents(world: World, rng: random.Random, p: Proportions) -> None:
    """The agencies' documents (every EPC's attest, the asbestos attest) and some owners' own uploads."""
    for unit in world.units.values():
        for epc in unit.epcs:
            size = 180_000 + rng.randrange(90_000)
            name = f"epc-{epc.attestnummer}.pdf"
            when = f"{epc.datum_ingediend}T10:00:00+01:00"
            add_document(
                world, unit.gebouweenheid_id, "attest", f"EPC {epc.attestnummer}", name, PDF, size, "VEKA", "VEKA", when
            )
        if unit.asbest:
            size = 250_000 + rng.randrange(200_000)
            name = f"{unit.asbest['attestnummer']}.pdf"
            when = f"{unit.asbest['datum']}T09:00:00+01:00"
            add_document(world, unit.gebouweenheid_id, "attest", "Asbestattest", name, PDF, size, "OVAM", "OVAM", when)
        if rng.random() < p.owner_document_share:
            kind = rng.choice(("foto", "plan", "renovatiebewijs"))
            ext, media = ("jpg", "image/jpeg") if kind == "foto" else ("pdf", "application/pdf")
            day = _between(rng, world.as_of - timedelta(days=900), world.as_of - timedelta(days=2))
            size = 40_000 + rng.randrange(2_000_000)
            name = f"{kind}.{ext}"
            add_document(
                world, unit.gebouweenheid_id, kind, kind.capitalize(), name, media, size, "gebruiker", "eigenaar",
                f"{day}T18:30:00+01:00",
            )  # fmt: skip


def add_document(
    world: World,
    unit_id: int,
    type_: str,
    titel: str,
    bestandsnaam: str,
    mediatype: str,
    grootte: int,
    bron: str,
    door: str,
    op: str,
    sha256: str = "",
) -> Document:
    world.next_document_seq += 1
    doc = Document(
        document_id=f"doc-{world.next_document_seq:08d}",
        gebouweenheid_id=unit_id,
        type=type_,
        titel=titel,
        bestandsnaam=bestandsnaam,
        mediatype=mediatype,
        grootte=grootte,
        bron=bron,
        toegevoegd_door=door,
        toegevoegd_op=op,
        sha256=sha256,
    )
    world.documents[doc.document_id] = doc
    return doc


def _averages(units: Sequence[Unit]) -> dict[str, float]:
    """Mean primary-energy score of houses' latest EPC per municipality, province and Flanders (MAGDA's
    GemiddeldeWaardeGemeente/Provincie/Vlaanderen)."""
    groups: dict[str, list[int]] = {}
    for u in units:
        if u.epcs and u.building_type == "eengezinswoning":
            s = u.epcs[-1].score
            for key in (f"gemeente:{u.address.nis}", f"provincie:{u.address.nis[0]}", "vlaanderen"):
                groups.setdefault(key, []).append(s)
    return {k: round(sum(v) / len(v), 1) for k, v in groups.items()}


def _weighted(rng: random.Random, table: Sequence[tuple[str, float]]) -> str:
    return rng.choices([t[0] for t in table], weights=[t[1] for t in table])[0]


def _between(rng: random.Random, low: date, high: date) -> date:
    return low + timedelta(days=rng.randrange(max(1, (high - low).days)))


def add_years(d: date, years: int) -> date:
    try:
        return d.replace(year=d.year + years)
    except ValueError:  # 29 February
        return d.replace(year=d.year + years, day=28)
