"""The premium portal's PUBLISHED business rules as pure functions (contracts/woningpas_premiums.md §2.2–§2.4,
§3.1, §6.4; notes/premiums-design.md).

The sandbox refuses a submit (422) with them, and the hub runs the same functions before it submits, so a
refusal the portal would give is foreseen instead of provoked. No I/O: what the portal alone knows (earlier
subsidies) comes in as `History`; the hub passes None and those rules are skipped.

The rules, in the order `check` reports them (the portal's 422 names the FIRST failing one as `code`):

- `FACTUUR_TE_OUD`: an invoice dated more than 24 months before the submit date. MVP counts from the first
  invoice of the category, an advance invoice included (the first advance starts the window).
- `AANVRAAGTERMIJN_VERSTREKEN` (ISDE): submitted more than 24 months after the execution/installation date.
- `MINIMUM_FACTUURBEDRAG`: MVP: the category's invoices together (excl. VAT) below the rate's minimum (roof:
  €1,000). ISDE has no invoice minimum but a minimum area per insulation measure (roof ≥ 20 m², façade and
  cavity ≥ 10, floor ≥ 20, glass ≥ 3): below it the measure earns nothing, reported under this code with the
  `hoeveelheid` field.
- `GEBOUW_TE_RECENT` (MVP): a heat pump or heat-pump boiler in a building connected to the grid in 2014 or
  later whose building permit is less than 5 years older than the last invoice (or unknown).
- `WARMTEPOMP_10JAAR` (MVP, needs history): a heat-pump premium for the same person or dwelling in the 10
  years before the submit date.
- `INKOMENSCATEGORIE_NIET_TOEGELATEN` (MVP): the table of the submit date has no row for the category and the
  applicant's income category (interior works, electricity, sanitary: lowest only; windows: not the highest).
- `MELDCODE_ONBEKEND` (ISDE): the item's meldcode is not on the measure list (or belongs to another category).
- `ISOLATIETYPE_AL_GESUBSIDIEERD` (ISDE, needs history): that insulation type was subsidised for the dwelling
  (or the person) before; each type only once.
- `DOCUMENT_ONTBREEKT` (`missing_documents`, from the uploaded documents, not the body): MVP a `factuur` per
  category and the `aanslagbiljet` of an owner-occupier; ISDE a `factuur` and a `betaalbewijs` per category.

`validate` is the shape check (400 with `invalid-params`); `check` assumes a body that passed it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import InvalidOperation
from typing import Any

from connectors.fluvius import params
from connectors.fluvius.settings import ISDE, MVP, REGELINGEN

FACTUUR_TE_OUD = "FACTUUR_TE_OUD"
MINIMUM_FACTUURBEDRAG = "MINIMUM_FACTUURBEDRAG"
WARMTEPOMP_10JAAR = "WARMTEPOMP_10JAAR"
GEBOUW_TE_RECENT = "GEBOUW_TE_RECENT"
INKOMENSCATEGORIE_NIET_TOEGELATEN = "INKOMENSCATEGORIE_NIET_TOEGELATEN"
MELDCODE_ONBEKEND = "MELDCODE_ONBEKEND"
ISOLATIETYPE_AL_GESUBSIDIEERD = "ISOLATIETYPE_AL_GESUBSIDIEERD"
AANVRAAGTERMIJN_VERSTREKEN = "AANVRAAGTERMIJN_VERSTREKEN"
DOCUMENT_ONTBREEKT = "DOCUMENT_ONTBREEKT"
RULE_CODES = (
    FACTUUR_TE_OUD,
    AANVRAAGTERMIJN_VERSTREKEN,
    MINIMUM_FACTUURBEDRAG,
    GEBOUW_TE_RECENT,
    WARMTEPOMP_10JAAR,
    INKOMENSCATEGORIE_NIET_TOEGELATEN,
    MELDCODE_ONBEKEND,
    ISOLATIETYPE_AL_GESUBSIDIEERD,
    DOCUMENT_ONTBREEKT,
)
# decision-time reasons (not 422s): the portal finds them while processing
ATTEST_FACTUUR_INCONSISTENT = "ATTEST_FACTUUR_INCONSISTENT"
PLAFOND_TOEGEPAST = "PLAFOND_TOEGEPAST"
# the 403s and the 409
MANDAAT_ONTBREKEND = "MANDAAT_ONTBREKEND"
ENERGIELENING_LOOPT = "ENERGIELENING_LOOPT"
REGELING_NIET_TOEGELATEN = "REGELING_NIET_TOEGELATEN"
STATUS_CONFLICT = "STATUS_CONFLICT"

WINDOW_MONTHS = 24
HEAT_PUMP_YEARS = 10
PERMIT_YEARS = 5
GRID_YEAR = 2014
AANVRAGER_ID = {MVP: "insz", ISDE: "bsn"}
GEBOUW_TYPES = ("woning", "appartement", "gebouw")


@dataclass(frozen=True)
class RuleError:
    """One failed rule: `field` is the JSON path of the offending value (`categorieen[0].facturen[1].datum`)."""

    code: str
    categorie: str | None
    field: str
    detail: str

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "categorie": self.categorie, "field": self.field, "detail": self.detail}


@dataclass(frozen=True)
class Subsidy:
    """An earlier subsidy the portal knows: whose (`person`: INSZ or BSN), for which dwelling, which category
    (MVP categorie or ISDE categorie) or insulation type, when."""

    regeling: str
    datum: date
    person: str | None = None
    dwelling_key: str | None = None
    categorie: str | None = None
    isolatietype: str | None = None


@dataclass(frozen=True)
class History:
    """The earlier subsidies the portal knows (only the sandbox has them)."""

    entries: tuple[Subsidy, ...] = field(default_factory=tuple)

    def of(self, body: Mapping[str, Any]) -> list[Subsidy]:
        """The entries of this applicant or dwelling, under the body's regeling."""
        regeling = body.get("regeling")
        person = _person(body)
        dwelling = (body.get("gebouw") or {}).get("dwelling_key")
        return [
            s
            for s in self.entries
            if s.regeling == regeling and ((person and s.person == person) or (dwelling and s.dwelling_key == dwelling))
        ]


def _person(body: Mapping[str, Any]) -> str | None:
    aanvrager = body.get("aanvrager") or {}
    key = AANVRAGER_ID.get(str(body.get("regeling")), "insz")
    value = aanvrager.get(key)
    return str(value) if value else None


def add_months(day: date, months: int) -> date:
    """`day` plus whole months (the 31st of a shorter month falls back to its last day)."""
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    for d in (day.day, 30, 29, 28):
        try:
            return date(year, month, d)
        except ValueError:
            continue
    raise AssertionError("unreachable")


def _date(value: Any) -> date | None:
    try:
        return date.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


def _items(body: Mapping[str, Any]) -> list[tuple[int, Mapping[str, Any]]]:
    return [(i, item) for i, item in enumerate(body.get("categorieen") or []) if isinstance(item, Mapping)]


# --- the shape (400) --------------------------------------------------------------------------------------------


def validate(body: Any, *, complete: bool = False) -> list[dict[str, str]]:
    """The shape problems of an application body as `invalid-params` (`{name, reason}`); empty when fine.
    A draft may lack its categories, income and bank account; `complete` (on submit) requires them."""
    out: list[dict[str, str]] = []

    def bad(name: str, reason: str) -> None:
        out.append({"name": name, "reason": reason})

    if not isinstance(body, Mapping):
        return [{"name": "body", "reason": "een JSON-object"}]
    regeling = body.get("regeling")
    if regeling not in REGELINGEN:
        bad("regeling", f"een van {list(REGELINGEN)}")
        return out
    ref = body.get("referentie")
    if not isinstance(ref, str) or not 1 <= len(ref) <= 100:
        bad("referentie", "verplicht, 1 tot 100 tekens")
    aanvrager = body.get("aanvrager")
    if not isinstance(aanvrager, Mapping):
        bad("aanvrager", "verplicht object")
    else:
        id_key = AANVRAGER_ID[str(regeling)]
        ident = aanvrager.get(id_key)
        if not isinstance(ident, str) or not ident.isdigit() or len(ident) not in (9, 11):
            bad(f"aanvrager.{id_key}", "verplicht, 11 cijfers (INSZ) of 9 cijfers (BSN)")
        if aanvrager.get("hoedanigheid") not in params.HOEDANIGHEDEN:
            bad("aanvrager.hoedanigheid", f"een van {list(params.HOEDANIGHEDEN)}")
        if complete and not aanvrager.get("naam"):
            bad("aanvrager.naam", "verplicht")
        iban = aanvrager.get("iban")
        if iban is not None and (not isinstance(iban, str) or not 15 <= len(iban.replace(" ", "")) <= 34):
            bad("aanvrager.iban", "een IBAN")
        elif complete and not iban:
            bad("aanvrager.iban", "verplicht bij indienen")
    gebouw = body.get("gebouw")
    if gebouw is not None and not isinstance(gebouw, Mapping):
        bad("gebouw", "een object")
    elif isinstance(gebouw, Mapping):
        if not gebouw.get("dwelling_key"):
            bad("gebouw.dwelling_key", "verplicht")
        if gebouw.get("type") is not None and gebouw.get("type") not in GEBOUW_TYPES:
            bad("gebouw.type", f"een van {list(GEBOUW_TYPES)}")
        year = gebouw.get("aansluitingsjaar")
        if year is not None and (not isinstance(year, int) or isinstance(year, bool) or not 1850 <= year <= 2100):
            bad("gebouw.aansluitingsjaar", "een jaartal")
        if gebouw.get("vergunningsdatum") is not None and _date(gebouw.get("vergunningsdatum")) is None:
            bad("gebouw.vergunningsdatum", "een datum (JJJJ-MM-DD)")
    elif complete:
        bad("gebouw", "verplicht bij indienen")
    inkomen = body.get("inkomen")
    owner = isinstance(aanvrager, Mapping) and aanvrager.get("hoedanigheid") == "eigenaar_bewoner"
    if regeling == MVP and inkomen is not None:
        if not isinstance(inkomen, Mapping):
            bad("inkomen", "een object")
        else:
            if not isinstance(inkomen.get("aanslagjaar"), int):
                bad("inkomen.aanslagjaar", "een jaartal")
            try:
                params.to_decimal(inkomen.get("gezamenlijk_belastbaar_inkomen"))
            except (ValueError, InvalidOperation):
                bad("inkomen.gezamenlijk_belastbaar_inkomen", "een bedrag")
            if not isinstance(inkomen.get("personen_ten_laste", 0), int):
                bad("inkomen.personen_ten_laste", "een geheel getal")
            if inkomen.get("gezinstype", "alleenstaande") not in params.GEZINSTYPES:
                bad("inkomen.gezinstype", f"een van {list(params.GEZINSTYPES)}")
    elif regeling == MVP and complete and owner:
        bad("inkomen", "verplicht voor een eigenaar-bewoner")
    categorieen = body.get("categorieen")
    if categorieen is None:
        if complete:
            bad("categorieen", "minstens één categorie")
        return out
    if not isinstance(categorieen, list) or (complete and not categorieen):
        bad("categorieen", "een lijst met minstens één categorie")
        return out
    for i, item in enumerate(categorieen):
        _validate_item(str(regeling), f"categorieen[{i}]", item, bad)
    return out


def _validate_item(regeling: str, at: str, item: Any, bad: Any) -> None:
    if not isinstance(item, Mapping):
        bad(at, "een object")
        return
    categorie = item.get("categorie")
    if regeling == MVP:
        if categorie not in params.MVP_CATEGORIES:
            bad(f"{at}.categorie", f"een van {list(params.MVP_CATEGORIES)}")
        elif item.get("subtype") not in params.MVP_CATEGORIES[str(categorie)]:
            bad(f"{at}.subtype", f"een van {list(params.MVP_CATEGORIES[str(categorie)])}")
    elif categorie not in params.ISDE_CATEGORIES:
        bad(f"{at}.categorie", f"een van {list(params.ISDE_CATEGORIES)}")
    try:
        if params.to_decimal(item.get("hoeveelheid", 1)) <= 0:
            bad(f"{at}.hoeveelheid", "groter dan 0")
    except (ValueError, InvalidOperation):
        bad(f"{at}.hoeveelheid", "een getal")
    if params.work_date(item) is None:
        bad(f"{at}.uitvoeringsdatum", "verplicht: uitvoeringsdatum of installatiedatum (JJJJ-MM-DD)")
    facturen = item.get("facturen")
    if not isinstance(facturen, list) or not facturen:
        bad(f"{at}.facturen", "minstens één factuur")
        return
    for j, factuur in enumerate(facturen):
        fat = f"{at}.facturen[{j}]"
        if not isinstance(factuur, Mapping):
            bad(fat, "een object")
            continue
        if not factuur.get("nummer"):
            bad(f"{fat}.nummer", "verplicht")
        if _date(factuur.get("datum")) is None:
            bad(f"{fat}.datum", "een datum (JJJJ-MM-DD)")
        for key in ("bedrag_excl_btw", "btw_pct"):
            try:
                if params.to_decimal(factuur.get(key)) < 0:
                    bad(f"{fat}.{key}", "niet negatief")
            except (ValueError, InvalidOperation):
                bad(f"{fat}.{key}", "een getal")


# --- the business rules (422) -----------------------------------------------------------------------------------


def check(body: Mapping[str, Any], submit_on: date, history: History | None = None) -> list[RuleError]:
    """Every business rule the portal runs on submit except DOCUMENT_ONTBREEKT, in RULE_CODES order (the first
    is the 422's `code`). `history` None (the hub's side): the rules that need it are skipped."""
    regeling = body.get("regeling")
    items = _items(body)
    out: list[RuleError] = []
    for rule in _RULES:
        out.extend(rule(str(regeling), body, items, submit_on, history))
    order = {code: n for n, code in enumerate(RULE_CODES)}
    return sorted(out, key=lambda e: order[e.code])


Items = list[tuple[int, Mapping[str, Any]]]


def _invoice_too_old(
    regeling: str, body: Mapping[str, Any], items: Items, on: date, history: History | None
) -> list[RuleError]:
    limit = add_months(on, -WINDOW_MONTHS)
    out = []
    for i, item in items:
        raw = [(_date(f.get("datum")), j) for j, f in enumerate(item.get("facturen") or []) if isinstance(f, Mapping)]
        dated = [(d, j) for d, j in raw if d is not None]
        if not dated:
            continue
        first, j = min(dated)
        if first < limit:
            what = "de eerste (voorschot)factuur" if regeling == MVP else "een factuur"
            out.append(
                RuleError(
                    FACTUUR_TE_OUD,
                    item.get("categorie"),
                    f"categorieen[{i}].facturen[{j}].datum",
                    f"{what} dateert van {first}, meer dan {WINDOW_MONTHS} maanden voor de aanvraag ({on})",
                )
            )
    return out


def _term_expired(
    regeling: str, body: Mapping[str, Any], items: Items, on: date, history: History | None
) -> list[RuleError]:
    if regeling != ISDE:
        return []
    out = []
    for i, item in items:
        when = params.work_date(item)
        if when is not None and on > add_months(when, WINDOW_MONTHS):
            key = "installatiedatum" if item.get("installatiedatum") else "uitvoeringsdatum"
            out.append(
                RuleError(
                    AANVRAAGTERMIJN_VERSTREKEN,
                    item.get("categorie"),
                    f"categorieen[{i}].{key}",
                    f"aanvragen kan tot {WINDOW_MONTHS} maanden na {key} {when}",
                )
            )
    return out


def _minimum(
    regeling: str, body: Mapping[str, Any], items: Items, on: date, history: History | None
) -> list[RuleError]:
    out = []
    income = params.income_category_of(body)
    for i, item in items:
        if regeling == MVP:
            rate = params.mvp_rate(income or params.HOOGSTE, str(item.get("categorie")), item.get("subtype"), on)
            if rate is None or rate.min_invoice_excl_vat is None:
                continue
            excl, _ = params.invoice_totals(item)
            if excl < rate.min_invoice_excl_vat:
                out.append(
                    RuleError(
                        MINIMUM_FACTUURBEDRAG,
                        item.get("categorie"),
                        f"categorieen[{i}].facturen",
                        f"facturen samen € {excl} excl. btw, minimum € {rate.min_invoice_excl_vat}",
                    )
                )
        else:
            measure = params.isde_measure(item.get("meldcode"), on)
            if measure is None or measure.min_quantity is None:
                continue
            quantity = params.to_decimal(item.get("hoeveelheid", 0))
            if quantity < measure.min_quantity:
                out.append(
                    RuleError(
                        MINIMUM_FACTUURBEDRAG,
                        item.get("categorie"),
                        f"categorieen[{i}].hoeveelheid",
                        f"{quantity} m², minimum {measure.min_quantity} m² voor {measure.meldcode}",
                    )
                )
    return out


def _building_too_recent(
    regeling: str, body: Mapping[str, Any], items: Items, on: date, history: History | None
) -> list[RuleError]:
    if regeling != MVP:
        return []
    gebouw = body.get("gebouw") or {}
    year = gebouw.get("aansluitingsjaar")
    if not isinstance(year, int) or year < GRID_YEAR:
        return []
    permit = _date(gebouw.get("vergunningsdatum"))
    out = []
    for _i, item in items:
        if item.get("categorie") not in params.HEAT_PUMP_CATEGORIES:
            continue
        dates = [_date(f.get("datum")) for f in item.get("facturen") or [] if isinstance(f, Mapping)]
        last = max((d for d in dates if d is not None), default=on)
        if permit is None or permit > add_months(last, -12 * PERMIT_YEARS):
            out.append(
                RuleError(
                    GEBOUW_TE_RECENT,
                    item.get("categorie"),
                    "gebouw.vergunningsdatum",
                    f"aangesloten in {year} en vergunning ({permit or 'onbekend'}) minder dan {PERMIT_YEARS} jaar "
                    f"voor de laatste factuur ({last})",
                )
            )
    return out


def _heat_pump_10y(
    regeling: str, body: Mapping[str, Any], items: Items, on: date, history: History | None
) -> list[RuleError]:
    if regeling != MVP or history is None:
        return []
    since = add_months(on, -12 * HEAT_PUMP_YEARS)
    earlier = [s for s in history.of(body) if s.categorie in params.HEAT_PUMP_CATEGORIES and s.datum > since]
    if not earlier:
        return []
    return [
        RuleError(
            WARMTEPOMP_10JAAR,
            item.get("categorie"),
            f"categorieen[{i}].categorie",
            f"een warmtepomppremie op {earlier[0].datum}, minder dan {HEAT_PUMP_YEARS} jaar geleden",
        )
        for i, item in items
        if item.get("categorie") in params.HEAT_PUMP_CATEGORIES
    ]


def _income_not_allowed(
    regeling: str, body: Mapping[str, Any], items: Items, on: date, history: History | None
) -> list[RuleError]:
    if regeling != MVP:
        return []
    income = params.income_category_of(body)
    if income is None:
        return []
    return [
        RuleError(
            INKOMENSCATEGORIE_NIET_TOEGELATEN,
            item.get("categorie"),
            f"categorieen[{i}].categorie",
            f"{item.get('categorie')} ({item.get('subtype') or '-'}) staat niet open voor inkomenscategorie {income} "
            f"(tabel {params.mvp_version(on)})",
        )
        for i, item in items
        if params.mvp_rate(income, str(item.get("categorie")), item.get("subtype"), on) is None
    ]


def _meldcode(
    regeling: str, body: Mapping[str, Any], items: Items, on: date, history: History | None
) -> list[RuleError]:
    if regeling != ISDE:
        return []
    out = []
    for i, item in items:
        measure = params.isde_measure(item.get("meldcode"), on)
        if measure is None or measure.categorie != item.get("categorie"):
            out.append(
                RuleError(
                    MELDCODE_ONBEKEND,
                    item.get("categorie"),
                    f"categorieen[{i}].meldcode",
                    f"meldcode {item.get('meldcode')!r} staat niet op de lijst voor {item.get('categorie')}",
                )
            )
    return out


def _insulation_done(
    regeling: str, body: Mapping[str, Any], items: Items, on: date, history: History | None
) -> list[RuleError]:
    if regeling != ISDE or history is None:
        return []
    done = {_insulation_type(s) for s in history.of(body)} - {None}
    out = []
    for i, item in items:
        measure = params.isde_measure(item.get("meldcode"))
        if measure is not None and measure.isolatietype in done:
            out.append(
                RuleError(
                    ISOLATIETYPE_AL_GESUBSIDIEERD,
                    item.get("categorie"),
                    f"categorieen[{i}].meldcode",
                    f"isolatietype {measure.isolatietype} werd voor deze woning al gesubsidieerd",
                )
            )
    return out


def _insulation_type(s: Subsidy) -> str | None:
    if s.isolatietype:
        return s.isolatietype
    types = {m.categorie: m.isolatietype for m in params.ISDE_MEASURES.values() if m.isolatietype}
    return types.get(s.categorie or "")


_RULES = (
    _invoice_too_old,
    _term_expired,
    _minimum,
    _building_too_recent,
    _heat_pump_10y,
    _income_not_allowed,
    _meldcode,
    _insulation_done,
)


def earlier_measure_dates(body: Mapping[str, Any], history: History | None) -> list[date]:
    """The dates of the dwelling's earlier ISDE measures (for the doubled insulation rate)."""
    if history is None or body.get("regeling") != ISDE:
        return []
    return [s.datum for s in history.of(body)]


# --- documents --------------------------------------------------------------------------------------------------


def required_documents(body: Mapping[str, Any]) -> list[tuple[str, str | None]]:
    """(soort, categorie) of every document a submit needs; categorie None: one for the application."""
    regeling = body.get("regeling")
    out: list[tuple[str, str | None]] = []
    per_category = ("factuur",) if regeling == MVP else ("factuur", "betaalbewijs")
    for _, item in _items(body):
        for soort in per_category:
            out.append((soort, str(item.get("categorie"))))
    hoedanigheid = (body.get("aanvrager") or {}).get("hoedanigheid")
    if regeling == MVP and hoedanigheid == "eigenaar_bewoner":
        out.append(("aanslagbiljet", None))
    return out


def missing_documents(body: Mapping[str, Any], documents: Iterable[Mapping[str, Any]]) -> list[RuleError]:
    """DOCUMENT_ONTBREEKT for every required document not among `documents` (`{soort, categorie?}`). A document
    for a category counts for that category only; one without a category counts for every category when the
    application has a single one (the portal cannot tell which category an untagged invoice belongs to)."""
    docs = [(str(d.get("soort")), d.get("categorie")) for d in documents]
    single = len(_items(body)) == 1
    out = []
    for soort, categorie in required_documents(body):
        found = any(s == soort and (categorie is None or c == categorie or (c is None and single)) for s, c in docs)
        if not found:
            out.append(
                RuleError(
                    DOCUMENT_ONTBREEKT,
                    categorie,
                    "documenten",
                    f"{soort} ontbreekt" + (f" voor {categorie}" if categorie else ""),
                )
            )
    return out
