"""The premium portal's versioned parameter tables and amount logic (contracts/woningpas_premiums.md §2.3, §3.1).

Pure data and pure functions, no I/O: the sandbox decides with them and the hub pre-checks with them, so both
sides compute the same amount for the same application. Amounts are plausible, not official: the real tables
are published as PDFs and change every year (§7). What matters is their shape, which is real:

- Mijn VerbouwPremie (`MVP_VL`): a rate per (table version, income category, category, subtype): an amount per
  m², per piece or a lump sum, capped at a share of the invoice (incl. VAT) and at an absolute maximum, with a
  minimum invoice for some categories (roof ≥ €1,000 excl. VAT). The APPLICATION (submit) date picks the
  table version: a dossier submitted on 31 Dec 2024 gets the 2024 amounts, one submitted a day later the 2025
  ones. A category without a row for an income category is not open to it (interior works, electricity and
  sanitary only for the lowest category; windows and doors not for the highest).
- ISDE (`ISDE_NL`): a measure per meldcode (RVO's device and measure lists). Insulation per m² between a
  minimum and a maximum area, doubled when a second measure is done within 24 months; appliances per device,
  with the higher amounts for an installation after 31 Dec 2021. Never more than the invoice."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any, Literal

from connectors.fluvius.settings import ISDE, MVP

Unit = Literal["m2", "stuk", "forfait"]

LAAGSTE, MIDDELSTE, HOOGSTE = "laagste", "middelste", "hoogste"
INCOME_CATEGORIES = (LAAGSTE, MIDDELSTE, HOOGSTE)  # MVP
HOEDANIGHEDEN = ("eigenaar_bewoner", "verhuurder_svk", "verhuurder", "investeerder", "vme", "onderneming")
GEZINSTYPES = ("alleenstaande", "koppel")

# MVP_VL categories and their subtypes (None: the category has none)
MVP_CATEGORIES: Mapping[str, tuple[str | None, ...]] = {
    "dak": ("isolatie", "isolatie_asbest"),
    "buitenmuur": ("spouw", "buiten", "binnen"),
    "vloer": ("vloer", "kelder"),
    "ramen_deuren": ("glas", "raam", "deur"),
    "binnenafwerking": (None,),
    "elektriciteit": (None,),
    "sanitair": (None,),
    "warmtepomp": ("lucht_water", "geothermisch", "hybride"),
    "warmtepompboiler": (None,),
    "zonneboiler": (None,),
}
HEAT_PUMP_CATEGORIES = frozenset({"warmtepomp", "warmtepompboiler"})
ISDE_INSULATION: tuple[str, ...] = ("dakisolatie", "zoldervloerisolatie", "gevelisolatie", "spouwmuurisolatie")
ISDE_INSULATION += ("vloerisolatie", "bodemisolatie", "isolatieglas")
ISDE_APPLIANCES = ("warmtepomp", "warmtepomp_hybride", "zonneboiler", "warmtenet", "elektrisch_koken")
ISDE_CATEGORIES: tuple[str, ...] = ISDE_INSULATION + ISDE_APPLIANCES

CENT = Decimal("0.01")
# ISDE: appliances installed after this date get the higher amounts
ISDE_HIGHER_FROM = date(2022, 1, 1)
# ISDE: a second measure within this many months doubles the insulation rate
ISDE_COMBINATION_MONTHS = 24


@dataclass(frozen=True)
class Rate:
    """One row of a Mijn VerbouwPremie table. `income_category` None: the row holds for every category."""

    valid_from: date
    income_category: str | None
    categorie: str
    subtype: str | None
    unit_amount: Decimal
    unit: Unit
    cap_pct_of_invoice: Decimal | None
    cap_abs: Decimal | None
    min_invoice_excl_vat: Decimal | None


def _d(value: float | int | str | None) -> Decimal | None:
    return None if value is None else Decimal(str(value))


# (categorie, subtype, unit, min invoice excl. VAT, {income category: (unit amount, cap % of invoice, cap abs)})
_Row = tuple[str, str | None, Unit, int | None, Mapping[str, tuple[float, float, float | None]]]

_MVP_2024: tuple[_Row, ...] = (
    ("dak", "isolatie", "m2", 1000, {LAAGSTE: (16, 0.5, 4800), MIDDELSTE: (12, 0.4, 3600), HOOGSTE: (8, 0.3, 2400)}),
    (
        "dak",
        "isolatie_asbest",
        "m2",
        1000,
        {LAAGSTE: (26, 0.5, 7800), MIDDELSTE: (20, 0.4, 6000), HOOGSTE: (14, 0.3, 4200)},
    ),
    ("buitenmuur", "spouw", "m2", None, {LAAGSTE: (8, 0.5, 1600), MIDDELSTE: (6, 0.4, 1200), HOOGSTE: (4, 0.3, 800)}),
    (
        "buitenmuur",
        "buiten",
        "m2",
        None,
        {LAAGSTE: (60, 0.5, 9000), MIDDELSTE: (45, 0.4, 6750), HOOGSTE: (30, 0.3, 4500)},
    ),
    (
        "buitenmuur",
        "binnen",
        "m2",
        None,
        {LAAGSTE: (30, 0.5, 4500), MIDDELSTE: (23, 0.4, 3450), HOOGSTE: (15, 0.3, 2250)},
    ),
    ("vloer", "vloer", "m2", None, {LAAGSTE: (12, 0.5, 1800), MIDDELSTE: (9, 0.4, 1350), HOOGSTE: (6, 0.3, 900)}),
    ("vloer", "kelder", "m2", None, {LAAGSTE: (12, 0.5, 1800), MIDDELSTE: (9, 0.4, 1350), HOOGSTE: (6, 0.3, 900)}),
    ("ramen_deuren", "glas", "m2", None, {LAAGSTE: (100, 0.5, 5000), MIDDELSTE: (75, 0.4, 3850)}),
    ("ramen_deuren", "raam", "m2", None, {LAAGSTE: (150, 0.5, 5000), MIDDELSTE: (110, 0.4, 3850)}),
    ("ramen_deuren", "deur", "m2", None, {LAAGSTE: (150, 0.5, 5000), MIDDELSTE: (110, 0.4, 3850)}),
    ("binnenafwerking", None, "forfait", None, {LAAGSTE: (3500, 0.5, 3500)}),
    ("elektriciteit", None, "forfait", None, {LAAGSTE: (1800, 0.5, 1800)}),
    ("sanitair", None, "forfait", None, {LAAGSTE: (1500, 0.5, 1500)}),
    (
        "warmtepomp",
        "lucht_water",
        "stuk",
        None,
        {LAAGSTE: (4800, 0.5, 4800), MIDDELSTE: (3000, 0.4, 3000), HOOGSTE: (3000, 0.4, 3000)},
    ),
    (
        "warmtepomp",
        "geothermisch",
        "stuk",
        None,
        {LAAGSTE: (6400, 0.5, 6400), MIDDELSTE: (4000, 0.4, 4000), HOOGSTE: (4000, 0.4, 4000)},
    ),
    (
        "warmtepomp",
        "hybride",
        "stuk",
        None,
        {LAAGSTE: (1600, 0.5, 1600), MIDDELSTE: (1000, 0.4, 1000), HOOGSTE: (1000, 0.4, 1000)},
    ),
    (
        "warmtepompboiler",
        None,
        "stuk",
        None,
        {LAAGSTE: (1125, 0.5, 1125), MIDDELSTE: (300, 0.4, 300), HOOGSTE: (300, 0.4, 300)},
    ),
    (
        "zonneboiler",
        None,
        "m2",
        None,
        {LAAGSTE: (550, 0.5, 2750), MIDDELSTE: (550, 0.4, 2750), HOOGSTE: (550, 0.4, 2750)},
    ),
)

# From 1 Jan 2025 most amounts for the lowest and middle categories drop (windows, middle: max €3,850 → €2,750)
_MVP_2025: tuple[_Row, ...] = (
    ("dak", "isolatie", "m2", 1000, {LAAGSTE: (14, 0.5, 4200), MIDDELSTE: (10, 0.4, 3000), HOOGSTE: (8, 0.3, 2400)}),
    (
        "dak",
        "isolatie_asbest",
        "m2",
        1000,
        {LAAGSTE: (24, 0.5, 7200), MIDDELSTE: (18, 0.4, 5400), HOOGSTE: (14, 0.3, 4200)},
    ),
    ("buitenmuur", "spouw", "m2", None, {LAAGSTE: (7, 0.5, 1400), MIDDELSTE: (5, 0.4, 1000), HOOGSTE: (4, 0.3, 800)}),
    (
        "buitenmuur",
        "buiten",
        "m2",
        None,
        {LAAGSTE: (55, 0.5, 8250), MIDDELSTE: (40, 0.4, 6000), HOOGSTE: (30, 0.3, 4500)},
    ),
    (
        "buitenmuur",
        "binnen",
        "m2",
        None,
        {LAAGSTE: (27, 0.5, 4050), MIDDELSTE: (20, 0.4, 3000), HOOGSTE: (15, 0.3, 2250)},
    ),
    ("vloer", "vloer", "m2", None, {LAAGSTE: (11, 0.5, 1650), MIDDELSTE: (8, 0.4, 1200), HOOGSTE: (6, 0.3, 900)}),
    ("vloer", "kelder", "m2", None, {LAAGSTE: (11, 0.5, 1650), MIDDELSTE: (8, 0.4, 1200), HOOGSTE: (6, 0.3, 900)}),
    ("ramen_deuren", "glas", "m2", None, {LAAGSTE: (90, 0.5, 4125), MIDDELSTE: (60, 0.4, 2750)}),
    ("ramen_deuren", "raam", "m2", None, {LAAGSTE: (135, 0.5, 4125), MIDDELSTE: (90, 0.4, 2750)}),
    ("ramen_deuren", "deur", "m2", None, {LAAGSTE: (135, 0.5, 4125), MIDDELSTE: (90, 0.4, 2750)}),
    ("binnenafwerking", None, "forfait", None, {LAAGSTE: (3000, 0.5, 3000)}),
    ("elektriciteit", None, "forfait", None, {LAAGSTE: (1600, 0.5, 1600)}),
    ("sanitair", None, "forfait", None, {LAAGSTE: (1300, 0.5, 1300)}),
    (
        "warmtepomp",
        "lucht_water",
        "stuk",
        None,
        {LAAGSTE: (4800, 0.5, 4800), MIDDELSTE: (3000, 0.4, 3000), HOOGSTE: (3000, 0.4, 3000)},
    ),
    (
        "warmtepomp",
        "geothermisch",
        "stuk",
        None,
        {LAAGSTE: (6400, 0.5, 6400), MIDDELSTE: (4000, 0.4, 4000), HOOGSTE: (4000, 0.4, 4000)},
    ),
    (
        "warmtepomp",
        "hybride",
        "stuk",
        None,
        {LAAGSTE: (1600, 0.5, 1600), MIDDELSTE: (1000, 0.4, 1000), HOOGSTE: (1000, 0.4, 1000)},
    ),
    (
        "warmtepompboiler",
        None,
        "stuk",
        None,
        {LAAGSTE: (1000, 0.5, 1000), MIDDELSTE: (300, 0.4, 300), HOOGSTE: (300, 0.4, 300)},
    ),
    (
        "zonneboiler",
        None,
        "m2",
        None,
        {LAAGSTE: (550, 0.5, 2750), MIDDELSTE: (500, 0.4, 2500), HOOGSTE: (500, 0.4, 2500)},
    ),
)


def _rates(valid_from: date, rows: Iterable[_Row]) -> tuple[Rate, ...]:
    out = []
    for categorie, subtype, unit, minimum, by_income in rows:
        for income, (amount, pct, cap) in by_income.items():
            out.append(
                Rate(
                    valid_from=valid_from,
                    income_category=income,
                    categorie=categorie,
                    subtype=subtype,
                    unit_amount=Decimal(str(amount)),
                    unit=unit,
                    cap_pct_of_invoice=_d(pct),
                    cap_abs=_d(cap),
                    min_invoice_excl_vat=_d(minimum),
                )
            )
    return tuple(out)


MVP_RATES: tuple[Rate, ...] = _rates(date(2024, 1, 1), _MVP_2024) + _rates(date(2025, 1, 1), _MVP_2025)
MVP_VERSIONS: tuple[date, ...] = tuple(sorted({r.valid_from for r in MVP_RATES}))


def mvp_version(on: date) -> date:
    """The table version an application submitted `on` falls under (before the first version: the first)."""
    current = MVP_VERSIONS[0]
    for version in MVP_VERSIONS:
        if version <= on:
            current = version
    return current


def mvp_rate(income_category: str, categorie: str, subtype: str | None, on: date) -> Rate | None:
    """The rate of the table that applies on `on`; None when that table has no row (the category is not open to
    that income category, or the category/subtype is unknown)."""
    version = mvp_version(on)
    for rate in MVP_RATES:
        if (
            rate.valid_from == version
            and rate.categorie == categorie
            and rate.subtype == subtype
            and rate.income_category in (None, income_category)
        ):
            return rate
    return None


# --- income category (MVP) ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class IncomeThresholds:
    """The upper bounds of the lowest and middle categories for one aanslagjaar (§2.3): for a single person, and
    for a single person with one dependant or a couple; plus the amount added per further dependant."""

    single_low: Decimal
    single_mid: Decimal
    couple_low: Decimal
    couple_mid: Decimal
    per_dependant: Decimal


# The 2022 thresholds (§2.3), indexed yearly; the factors are the health-index trend, rounded to €10 below.
_BASE = (Decimal(32980), Decimal(46170), Decimal(46170), Decimal(65960), Decimal(3700))
_INDEX = {2022: "1", 2023: "1.0436", 2024: "1.0812", 2025: "1.0985", 2026: "1.1205"}


def _indexed(factor: str) -> IncomeThresholds:
    f = Decimal(factor)
    values = [(b * f / 10).to_integral_value(rounding="ROUND_FLOOR") * 10 for b in _BASE]
    return IncomeThresholds(*values)


INCOME_THRESHOLDS: Mapping[int, IncomeThresholds] = {year: _indexed(f) for year, f in _INDEX.items()}


def thresholds(aanslagjaar: int) -> IncomeThresholds:
    """The thresholds of that aanslagjaar (a year outside the table: the nearest year in it)."""
    year = min(max(aanslagjaar, min(INCOME_THRESHOLDS)), max(INCOME_THRESHOLDS))
    return INCOME_THRESHOLDS[year]


def income_category(
    aanslagjaar: int,
    gezamenlijk_belastbaar_inkomen: Decimal,
    personen_ten_laste: int,
    gezinstype: str,
    hoedanigheid: str,
) -> str:
    """The MVP income category (§2.3). A landlord renting to a social rental agency counts as the lowest, everyone
    else who does not live in the dwelling as the highest; an owner-occupier by the household's joint taxable
    income of the aanslagjaar: a single person without dependants against the single bounds, a couple or a single
    person with a dependant against the couple bounds, plus the per-dependant amount for every further
    dependant (a couple's every dependant, a single person's from the second)."""
    if hoedanigheid == "verhuurder_svk":
        return LAAGSTE
    if hoedanigheid != "eigenaar_bewoner":
        return HOOGSTE
    t = thresholds(aanslagjaar)
    dependants = max(0, int(personen_ten_laste))
    if gezinstype == "koppel":
        low, mid, extra = t.couple_low, t.couple_mid, dependants
    elif dependants >= 1:
        low, mid, extra = t.couple_low, t.couple_mid, dependants - 1
    else:
        low, mid, extra = t.single_low, t.single_mid, 0
    low += t.per_dependant * extra
    mid += t.per_dependant * extra
    income = Decimal(gezamenlijk_belastbaar_inkomen)
    if income <= low:
        return LAAGSTE
    if income <= mid:
        return MIDDELSTE
    return HOOGSTE


def income_category_of(body: Mapping[str, Any]) -> str | None:
    """The income category of an application body (MVP); None when it cannot be told (no income given for an
    owner-occupier), or for ISDE, which has none."""
    if body.get("regeling") != MVP:
        return None
    aanvrager = body.get("aanvrager") or {}
    hoedanigheid = str(aanvrager.get("hoedanigheid") or "")
    if hoedanigheid != "eigenaar_bewoner":
        return income_category(0, Decimal(0), 0, "alleenstaande", hoedanigheid) if hoedanigheid else None
    inkomen = body.get("inkomen") or {}
    try:
        return income_category(
            int(inkomen["aanslagjaar"]),
            to_decimal(inkomen["gezamenlijk_belastbaar_inkomen"]),
            int(inkomen.get("personen_ten_laste") or 0),
            str(inkomen.get("gezinstype") or "alleenstaande"),
            hoedanigheid,
        )
    except (KeyError, TypeError, ValueError, InvalidOperation):
        return None


# --- ISDE measures ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class IsdeMeasure:
    """One entry of RVO's device/measure list. Insulation (`isolatietype` set): `unit_amount` per m² for a single
    measure (doubled when combined), between `min_quantity` and `max_quantity` m². Appliances (`toestel` set):
    per device; `unit_amount_before_2022` for one installed on or before 31 Dec 2021."""

    meldcode: str
    categorie: str
    omschrijving: str
    unit: Unit
    unit_amount: Decimal
    unit_amount_before_2022: Decimal | None = None
    isolatietype: str | None = None
    toestel: str | None = None
    min_quantity: Decimal | None = None
    max_quantity: Decimal | None = None
    valid_from: date = date(2021, 1, 1)

    @property
    def is_insulation(self) -> bool:
        return self.isolatietype is not None


def _iso(code: str, categorie: str, text: str, isolatietype: str, amount: str, lo: int, hi: int) -> IsdeMeasure:
    return IsdeMeasure(
        code, categorie, text, "m2", Decimal(amount), isolatietype=isolatietype, min_quantity=Decimal(lo),
        max_quantity=Decimal(hi),
    )  # fmt: skip


def _dev(code: str, categorie: str, text: str, amount: int, before: int, valid_from: date | None = None) -> IsdeMeasure:
    return IsdeMeasure(
        code, categorie, text, "stuk", Decimal(amount), Decimal(before), toestel=text,
        valid_from=valid_from or date(2021, 1, 1),
    )  # fmt: skip


ISDE_MEASURES: Mapping[str, IsdeMeasure] = {
    m.meldcode: m
    for m in (
        _iso("ISO-DAK-01", "dakisolatie", "Dakisolatie hellend dak (Rd ≥ 3,5)", "dak", "16.25", 20, 200),
        _iso("ISO-DAK-02", "dakisolatie", "Dakisolatie plat dak (Rd ≥ 3,5)", "dak", "16.25", 20, 200),
        _iso("ISO-ZOL-01", "zoldervloerisolatie", "Zoldervloerisolatie (Rd ≥ 3,5)", "zoldervloer", "4.00", 20, 130),
        _iso("ISO-GEV-01", "gevelisolatie", "Gevelisolatie buitenzijde (Rd ≥ 3,5)", "gevel", "19.50", 10, 170),
        _iso("ISO-GEV-02", "gevelisolatie", "Binnengevelisolatie (Rd ≥ 3,5)", "gevel", "19.50", 10, 170),
        _iso("ISO-SPW-01", "spouwmuurisolatie", "Spouwmuurisolatie (Rd ≥ 1,1)", "spouwmuur", "5.25", 10, 170),
        _iso("ISO-VLR-01", "vloerisolatie", "Vloerisolatie (Rd ≥ 3,5)", "vloer", "5.50", 20, 130),
        _iso("ISO-BOD-01", "bodemisolatie", "Bodemisolatie (Rd ≥ 3,5)", "bodem", "3.00", 20, 130),
        _iso("ISO-GLS-01", "isolatieglas", "HR++ glas (U ≤ 1,2)", "glas", "23.00", 3, 45),
        _iso("ISO-GLS-02", "isolatieglas", "Triple glas (U ≤ 0,7)", "glas", "55.50", 3, 45),
        _iso("ISO-GLS-03", "isolatieglas", "Isolerende panelen in kozijn (U ≤ 1,2)", "glas", "9.00", 3, 45),
        _dev("KA10001", "warmtepomp", "Lucht-water warmtepomp 6 kW", 2775, 2100),
        _dev("KA10002", "warmtepomp", "Lucht-water warmtepomp 10 kW", 3375, 2500),
        _dev("KA10003", "warmtepomp", "Bodem-water warmtepomp 8 kW", 5100, 4500),
        _dev("KA10004", "warmtepomp", "Water-water warmtepomp 12 kW", 5850, 5000),
        _dev("KA20001", "warmtepomp_hybride", "Hybride warmtepomp 4 kW", 2400, 2025),
        _dev("KA20002", "warmtepomp_hybride", "Hybride warmtepomp 5 kW", 2550, 2175),
        _dev("KA30001", "zonneboiler", "Zonneboiler 2,5 m² apertuur", 1300, 1050),
        _dev("KA30002", "zonneboiler", "Zonneboiler 4 m² apertuur", 1800, 1500),
        _dev("KA40001", "warmtenet", "Aansluiting op een warmtenet", 3775, 3325),
        _dev("KA50001", "elektrisch_koken", "Inductiekookplaat (overstap van gas)", 400, 400, date(2024, 1, 1)),
    )
}


def isde_measure(meldcode: str | None, on: date | None = None) -> IsdeMeasure | None:
    """The measure of a meldcode (None: unknown, or not on the list yet on `on`)."""
    measure = ISDE_MEASURES.get(str(meldcode or "").strip().upper())
    if measure is None or (on is not None and on < measure.valid_from):
        return None
    return measure


# --- amounts ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AmountResult:
    """`bedrag`: the premium after every cap; `bruto`: before the caps; `plafond_toegepast`: a cap lowered it;
    `rate`/`measure`: what it was computed from (None when nothing applies, then `bedrag` is 0)."""

    bedrag: Decimal
    plafond_toegepast: bool
    bruto: Decimal = Decimal(0)
    rate: Rate | None = None
    measure: IsdeMeasure | None = None


def to_decimal(value: Any) -> Decimal:
    """A JSON number or numeric string as a Decimal (floats through their repr, so 0.1 stays 0.1)."""
    if isinstance(value, bool) or value is None:
        raise ValueError(f"not a number: {value!r}")
    if isinstance(value, Decimal):
        return value
    try:
        return Decimal(str(value))
    except InvalidOperation:
        raise ValueError(f"not a number: {value!r}") from None


def invoice_totals(item: Mapping[str, Any]) -> tuple[Decimal, Decimal]:
    """(total excl. VAT, total incl. VAT) of an item's invoices."""
    excl = incl = Decimal(0)
    for factuur in item.get("facturen") or []:
        amount = to_decimal(factuur.get("bedrag_excl_btw", 0))
        vat = to_decimal(factuur.get("btw_pct", 0) or 0)
        excl += amount
        incl += amount * (1 + vat / 100)
    return excl, incl


def work_date(item: Mapping[str, Any]) -> date | None:
    """The item's execution or installation date."""
    raw = item.get("uitvoeringsdatum") or item.get("installatiedatum")
    try:
        return date.fromisoformat(str(raw)) if raw else None
    except ValueError:
        return None


def amount(
    regeling: str,
    categorie_item: Mapping[str, Any],
    income_category: str | None,
    on: date,
    *,
    combined: bool = False,
) -> AmountResult:
    """The premium of one category item of an application submitted `on`.

    MVP: the rate's amount per unit × quantity (a lump sum once), capped at the rate's share of the invoice incl.
    VAT and at its absolute maximum. ISDE: the measure's amount per m² (doubled when `combined`: a second
    measure within 24 months, see `isde_combined`) for the area within its maximum, or per device; never more than
    the invoice incl. VAT. Below the minimum invoice (MVP) or area (ISDE), or with no rate at all: 0."""
    quantity = to_decimal(categorie_item.get("hoeveelheid", 1) or 0)
    excl, incl = invoice_totals(categorie_item)
    if regeling == MVP:
        if income_category is None:
            return AmountResult(Decimal(0), False)
        rate = mvp_rate(income_category, str(categorie_item.get("categorie")), categorie_item.get("subtype"), on)
        if rate is None:
            return AmountResult(Decimal(0), False)
        if rate.min_invoice_excl_vat is not None and excl < rate.min_invoice_excl_vat:
            return AmountResult(Decimal(0), False, rate=rate)
        gross = rate.unit_amount if rate.unit == "forfait" else rate.unit_amount * quantity
        caps = [c for c in (rate.cap_abs, rate.cap_pct_of_invoice * incl if rate.cap_pct_of_invoice else None) if c]
        return _capped(gross, caps, rate=rate)
    if regeling == ISDE:
        measure = isde_measure(categorie_item.get("meldcode"), on)
        if measure is None or measure.categorie != categorie_item.get("categorie"):
            return AmountResult(Decimal(0), False)
        if measure.is_insulation:
            if measure.min_quantity is not None and quantity < measure.min_quantity:
                return AmountResult(Decimal(0), False, measure=measure)
            unit_amount = measure.unit_amount * (2 if combined else 1)
            gross = unit_amount * quantity
            caps = [incl]
            if measure.max_quantity is not None and quantity > measure.max_quantity:
                caps.append(unit_amount * measure.max_quantity)
            return _capped(gross, caps, measure=measure)
        when = work_date(categorie_item)
        unit_amount = measure.unit_amount
        if when is not None and when < ISDE_HIGHER_FROM and measure.unit_amount_before_2022 is not None:
            unit_amount = measure.unit_amount_before_2022
        return _capped(unit_amount * max(quantity, Decimal(1)), [incl], measure=measure)
    raise ValueError(f"unknown regeling {regeling!r}")


def _capped(
    gross: Decimal, caps: list[Decimal], *, rate: Rate | None = None, measure: IsdeMeasure | None = None
) -> AmountResult:
    gross = gross.quantize(CENT, ROUND_HALF_UP)
    net = min([gross, *caps]).quantize(CENT, ROUND_HALF_UP)
    return AmountResult(net, net < gross, gross, rate, measure)


def _months_between(a: date, b: date) -> int:
    """Whole months from the earlier to the later date."""
    lo, hi = min(a, b), max(a, b)
    months = (hi.year - lo.year) * 12 + hi.month - lo.month
    return months - 1 if hi.day < lo.day else months


def isde_combined(item: Mapping[str, Any], others: Iterable[Mapping[str, Any]], earlier: Iterable[date] = ()) -> bool:
    """Whether an ISDE insulation item gets the doubled rate: another measure of the same application (insulation
    of another type, a heat pump, solar boiler or heat-network connection) or an earlier ISDE measure of the same
    dwelling (`earlier`: their dates) lies within 24 months of it."""
    measure = isde_measure(item.get("meldcode"))
    when = work_date(item)
    if measure is None or not measure.is_insulation or when is None:
        return False
    for other in others:
        if other is item:
            continue
        m = isde_measure(other.get("meldcode"))
        other_when = work_date(other)
        if m is None or other_when is None or m.categorie == "elektrisch_koken":
            continue
        if m.isolatietype == measure.isolatietype:
            continue
        if _months_between(when, other_when) < ISDE_COMBINATION_MONTHS:
            return True
    return any(_months_between(when, d) < ISDE_COMBINATION_MONTHS for d in earlier)


def amounts(body: Mapping[str, Any], on: date, earlier: Iterable[date] = ()) -> list[AmountResult]:
    """Every category item's amount of an application body, in order (ISDE combinations taken into account)."""
    regeling = str(body.get("regeling"))
    items = [i for i in body.get("categorieen") or [] if isinstance(i, Mapping)]
    income = income_category_of(body)
    earlier = tuple(earlier)
    out = []
    for item in items:
        combined = regeling == ISDE and isde_combined(item, items, earlier)
        try:
            out.append(amount(regeling, item, income, on, combined=combined))
        except (ValueError, TypeError, InvalidOperation):
            out.append(AmountResult(Decimal(0), False))
    return out
