"""The hub's measure categories → the premium portal's `categorie` and `subtype` per regeling (pure functions).

The hub's categories are the CRM's (Econobis' measure category names, hub-wide: "Dakisolatie", "Warmtepomp", …)
with its measure names ("Spouwmuurisolatie", "Hybride warmtepomp", …) to pick the subtype; a woonplan's advice
(Hoomdossier: a Dutch measure name such as "Schuin dak isoleren van binnenuit" and a category short such as
"vloerisolatie") is first brought to the same category (`advice_category`). A category the regeling does not
subsidise (ventilation, solar panels, a gas boiler, crack sealing) maps to None: no application for it.

The EPC: neither Mijn VerbouwPremie nor ISDE requires an energy certificate for any category the hub applies
for; the current EPC's number is attached to the building (`gebouw.epc`) whenever the hub knows it, because the
portal cross-checks it (`EPC_REQUIRED` is empty and `needs_epc` says so per category)."""

from __future__ import annotations

from dataclasses import dataclass

MVP = "MVP_VL"
ISDE = "ISDE_NL"


@dataclass(frozen=True)
class PortalCategory:
    """A portal category of one regeling: its `categorie`, `subtype` (MVP only) and the unit it counts in."""

    categorie: str
    subtype: str | None
    unit: str  # m2 | stuk | forfait


# --- Mijn VerbouwPremie (MVP_VL) ---------------------------------------------------------------------------

MVP_UNITS = {
    "dak": "m2",
    "buitenmuur": "m2",
    "vloer": "m2",
    "ramen_deuren": "m2",
    "binnenafwerking": "forfait",
    "elektriciteit": "forfait",
    "sanitair": "forfait",
    "warmtepomp": "stuk",
    "warmtepompboiler": "stuk",
    "zonneboiler": "stuk",
}
# canonical measure category → (categorie, default subtype)
MVP_CATEGORIES: dict[str, tuple[str, str | None]] = {
    "Dakisolatie": ("dak", "isolatie"),
    "Gevelisolatie": ("buitenmuur", "buiten"),
    "Spouwmuurisolatie": ("buitenmuur", "spouw"),
    "Vloerisolatie": ("vloer", "vloer"),
    "Bodemisolatie": ("vloer", "kelder"),
    "Isolatieglas": ("ramen_deuren", "glas"),
    "Ramen en deuren": ("ramen_deuren", "raam"),
    "Binnenafwerking": ("binnenafwerking", None),
    "Elektriciteit": ("elektriciteit", None),
    "Sanitair": ("sanitair", None),
    "Warmtepomp": ("warmtepomp", "lucht_water"),
    "Warm water toestel": ("warmtepompboiler", None),
    "Warmtepompboiler": ("warmtepompboiler", None),
    "Zonneboiler": ("zonneboiler", None),
}

# --- ISDE (ISDE_NL) ------------------------------------------------------------------------------------------

ISDE_UNITS = {
    "dakisolatie": "m2",
    "zoldervloerisolatie": "m2",
    "gevelisolatie": "m2",
    "spouwmuurisolatie": "m2",
    "vloerisolatie": "m2",
    "bodemisolatie": "m2",
    "isolatieglas": "m2",
    "warmtepomp": "stuk",
    "warmtepomp_hybride": "stuk",
    "zonneboiler": "stuk",
    "warmtenet": "stuk",
    "elektrisch_koken": "stuk",
}
ISDE_CATEGORIES: dict[str, str] = {
    "Dakisolatie": "dakisolatie",
    "Zoldervloerisolatie": "zoldervloerisolatie",
    "Gevelisolatie": "gevelisolatie",
    "Spouwmuurisolatie": "spouwmuurisolatie",
    "Vloerisolatie": "vloerisolatie",
    "Bodemisolatie": "bodemisolatie",
    "Isolatieglas": "isolatieglas",
    "Warmtepomp": "warmtepomp",
    "Zonneboiler": "zonneboiler",
    "Warmtenet": "warmtenet",
    "Elektrisch koken": "elektrisch_koken",
}

# Categories for which the regeling requires an EPC: none (see the module's docstring).
EPC_REQUIRED: dict[str, frozenset[str]] = {MVP: frozenset(), ISDE: frozenset()}

# words in a measure's name (the CRM's or a woonplan's, lower case) → the canonical category it belongs to,
# most specific first
_CATEGORY_WORDS: tuple[tuple[str, str], ...] = (
    ("spouw", "Spouwmuurisolatie"),
    ("gevel", "Gevelisolatie"),
    ("muurisolatie", "Gevelisolatie"),
    ("zoldervloer", "Zoldervloerisolatie"),
    ("bodemisolatie", "Bodemisolatie"),
    ("kruipruimte", "Bodemisolatie"),
    ("vloer", "Vloerisolatie"),
    ("warmtepompboiler", "Warmtepompboiler"),
    ("warmtepomp", "Warmtepomp"),
    ("zonneboiler", "Zonneboiler"),
    ("dak", "Dakisolatie"),
    ("glas", "Isolatieglas"),
    ("kozijn", "Ramen en deuren"),
    ("raam", "Ramen en deuren"),
    ("ramen", "Ramen en deuren"),
    ("warmtenet", "Warmtenet"),
    ("inductie", "Elektrisch koken"),
    ("koken", "Elektrisch koken"),
)
# a woonplan category short (Hoomdossier's measure categories) → the canonical category
_ADVICE_CATEGORY_SHORTS = {
    "vloerisolatie": "Vloerisolatie",
    "gevelisolatie": "Gevelisolatie",
    "dakisolatie": "Dakisolatie",
    "isolatieglas": "Isolatieglas",
    "warmtepomp": "Warmtepomp",
    "zonneboiler": "Zonneboiler",
}


def _words(text: str | None) -> str:
    return (text or "").strip().lower()


def canonical_category(category: str | None, measures: list[str] | tuple[str, ...] = ()) -> str | None:
    """The hub's category of an opportunity or invoice: its measure when that is more specific (an Econobis
    "Gevelisolatie" kans whose measure is "Spouwmuurisolatie" is cavity-wall insulation), else its category."""
    for m in measures:
        found = _from_words(m)
        if found and (category is None or _same_family(found, category)):
            return found
    if category and (category in MVP_CATEGORIES or category in ISDE_CATEGORIES):
        return category
    return _from_words(category)


def _from_words(text: str | None) -> str | None:
    t = _words(text)
    if not t:
        return None
    for word, cat in _CATEGORY_WORDS:
        if word in t:
            return cat
    return None


_FAMILIES = (
    {"Gevelisolatie", "Spouwmuurisolatie"},
    {"Vloerisolatie", "Bodemisolatie"},
    {"Dakisolatie", "Zoldervloerisolatie"},
    {"Isolatieglas", "Ramen en deuren"},
    {"Warmtepomp", "Warmtepompboiler", "Warm water toestel"},
)


def _same_family(a: str, b: str) -> bool:
    return a == b or any(a in f and b in f for f in _FAMILIES) or _from_words(b) == a


def advice_category(measure: str | None, name: str | None, category: str | None) -> str | None:
    """A woonplan advice (canonical Advice: `measure` like "measure:12", its `name`, a category short) → the hub's
    measure category; None for what no premium covers."""
    return _from_words(name) or _ADVICE_CATEGORY_SHORTS.get(_words(category)) or _from_words(category)


def _mvp_subtype(cat: str, default: str | None, measures: list[str] | tuple[str, ...]) -> str | None:
    text = " ".join(_words(m) for m in measures)
    if cat == "dak":
        return "isolatie_asbest" if "asbest" in text else "isolatie"
    if cat == "buitenmuur":
        if "spouw" in text:
            return "spouw"
        if "binnen" in text:
            return "binnen"
        return default or "buiten"
    if cat == "vloer":
        return "kelder" if ("kelder" in text or "bodem" in text or "kruipruimte" in text) else default or "vloer"
    if cat == "ramen_deuren":
        if "deur" in text:
            return "deur"
        if "kozijn" in text or "raam" in text or "ramen" in text:
            return "raam"
        return default or "glas"
    if cat == "warmtepomp":
        if "hybride" in text:
            return "hybride"
        if "bodem" in text or "geotherm" in text or "grond" in text:
            return "geothermisch"
        return "lucht_water"
    return default


def portal_category(
    regeling: str, category: str | None, measures: list[str] | tuple[str, ...] = ()
) -> PortalCategory | None:
    """The portal category (and subtype) of a canonical measure category and its measures under `regeling`;
    None when the regeling has nothing for it."""
    cat = canonical_category(category, measures)
    if cat is None:
        return None
    if regeling == MVP:
        found = MVP_CATEGORIES.get(cat)
        if found is None:
            return None
        categorie, default = found
        return PortalCategory(
            categorie, _mvp_subtype(categorie, default, [*measures, category or ""]), MVP_UNITS[categorie]
        )
    if regeling == ISDE:
        isde = ISDE_CATEGORIES.get(cat)
        if isde is None:
            return None
        text = " ".join(_words(m) for m in [*measures, category or ""])
        if isde == "warmtepomp" and "hybride" in text:
            isde = "warmtepomp_hybride"
        return PortalCategory(isde, None, ISDE_UNITS[isde])
    raise ValueError(f"unknown regeling {regeling!r}")


def needs_epc(regeling: str, categorie: str) -> bool:
    """Whether the regeling requires an EPC for this portal category (none does; the hub attaches the current
    EPC's number when it knows it)."""
    return categorie in EPC_REQUIRED.get(regeling, frozenset())


def is_appliance(regeling: str, categorie: str) -> bool:
    """A device (dated by its installation) rather than works (dated by their execution)."""
    units = MVP_UNITS if regeling == MVP else ISDE_UNITS
    return units.get(categorie) == "stuk"


def subject(categorie: str) -> str:
    """Plain English for a portal category, for what is still needed ("the invoice of the roof works")."""
    return _SUBJECTS.get(categorie, categorie.replace("_", " "))


_SUBJECTS = {
    "dak": "roof works",
    "buitenmuur": "wall insulation",
    "vloer": "floor insulation",
    "ramen_deuren": "windows and doors",
    "binnenafwerking": "interior finishing",
    "elektriciteit": "electrical works",
    "sanitair": "sanitary works",
    "warmtepomp": "heat pump",
    "warmtepompboiler": "heat-pump boiler",
    "zonneboiler": "solar water heater",
    "dakisolatie": "roof insulation",
    "zoldervloerisolatie": "attic floor insulation",
    "gevelisolatie": "facade insulation",
    "spouwmuurisolatie": "cavity wall insulation",
    "vloerisolatie": "floor insulation",
    "bodemisolatie": "crawl space insulation",
    "isolatieglas": "insulating glass",
    "warmtepomp_hybride": "hybrid heat pump",
    "warmtenet": "district heating connection",
    "elektrisch_koken": "electric cooking",
}
