"""Flemish addresses as residents write them and as the Adressenregister has them, made comparable, and the join
of a Woningpas unit with the dwelling an intake named (contracts/woningpas_premiums.md §1.6, §4.1-4.2).

Residents write "Stwg. op Mechelen 12 bus 3", "St.-Jansplein 4/0101" or "Kessel-Lo" for a sub-municipality; the
register has "Steenweg op Mechelen", huisnummer "12", busnummer "3", the official municipality and its
postcode. A join is **exact** only when the registry ids agree or the normalised street, number and box are
equal in the same postcode; a near miss (another postcode for the same street and number, a spelling
difference, a box on one side only) is **doubtful**: a match candidate for a person, never a merge."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from difflib import SequenceMatcher
from typing import Any, Literal

from hub.canonical.keys import fold

# abbreviations in Flemish street names, expanded (after folding: lower case, no accents)
_STREET_WORDS = (
    (r"\bstwg\b\.?", "steenweg"),
    (r"\bstw\b\.?", "steenweg"),
    (r"\bstr\b\.?", "straat"),
    (r"(?<=\w)str\.?$", "straat"),
    (r"(?<=\w)stwg\.?$", "steenweg"),
    (r"\bln\b\.?", "laan"),
    (r"\bpl\b\.?", "plein"),
    (r"\bst\b\.?[\s-]*", "sint "),
    (r"\bste\b\.?[\s-]*", "sint "),  # Sainte → sint (Brussels rim spellings)
    (r"\bo\.?\s*-?\s*l\.?\s*-?\s*v\b\.?", "onze lieve vrouw"),
    (r"\bo\.?\s*-?\s*l\.?\s*-?\s*(?=vrouw)", "onze lieve "),
    (r"\bdr\b\.?", "dokter"),
    (r"\bburg\b\.?", "burgemeester"),
)
_BOX = re.compile(r"^\s*(?:bus|bte|boite|b)?\s*[./-]?\s*([0-9a-z]+)\s*$")
_NUMBER = re.compile(r"^\s*(\d+)\s*[-/ ]?\s*([a-z]{0,3})\s*(?:(?:bus|bte|boite|b\b|/)\s*([0-9a-z]+))?\s*$")
_BOX_IN_NUMBER = re.compile(r"^(.*?)(?:\s+|\s*/\s*|\s*(?:bus|bte|boite)\s*)([0-9]+[a-z]?)$")


def normalise_street(street: str | None) -> str:
    """Folded, abbreviations expanded, punctuation and hyphens as spaces: "St.-Jansstr." → "sint jansstraat"."""
    s = fold(street or "")
    for pattern, word in _STREET_WORDS:
        s = re.sub(pattern, word + (" " if word.endswith("sint ") else ""), s)
    s = re.sub(r"[^\w ]", " ", s.replace("-", " "))
    return re.sub(r"\s+", " ", s).strip()


def normalise_box(box: str | None) -> str:
    """ "bus 3", "b3", "/3", "0003" → "3"; "0101" → "101" (leading zeros are not written alike by everyone)."""
    raw = fold(box or "")
    if not raw:
        return ""
    m = _BOX.match(raw)
    value = m.group(1) if m else re.sub(r"[^0-9a-z]", "", raw)
    return value.lstrip("0") or ("0" if value else "")


def split_number(number: str | None, box: str | None = None) -> tuple[str, str]:
    """(house number, box) from what was written: "12", "12A", "12 a", "12 bus 3", "12/3", "12b3" (a number
    with a letter and then digits: the digits are the box)."""
    raw = fold(str(number or ""))
    found_box = normalise_box(box)
    letter_box = re.match(r"^(\d+)\s*b\s*(\d+)$", raw)  # "12b3": box 3
    if letter_box:
        return letter_box.group(1), found_box or normalise_box(letter_box.group(2))
    m = _NUMBER.match(raw)
    if m:
        nr = m.group(1) + m.group(2).upper()
        if m.group(3) and not found_box:
            found_box = normalise_box(m.group(3))
        return nr, found_box
    b = _BOX_IN_NUMBER.match(raw)
    if b and not found_box:
        return split_number(b.group(1))[0], normalise_box(b.group(2))
    return re.sub(r"\s+", "", raw).upper(), found_box


@dataclass(frozen=True)
class Address:
    """A Flemish address made comparable."""

    postcode: str
    street: str
    number: str
    box: str

    @classmethod
    def of(cls, postcode: Any, street: Any, number: Any, box: Any = None) -> Address:
        nr, bus = split_number(None if number is None else str(number), None if box is None else str(box))
        return cls(str(postcode or "").strip(), normalise_street(str(street or "")), nr, bus)

    @property
    def key(self) -> str:
        return f"be:addr:{self.postcode}|{self.street}|{self.number}|{self.box.upper()}"


JoinKind = Literal["exact", "doubtful", "none"]


@dataclass(frozen=True)
class Join:
    kind: JoinKind
    dwelling_id: str | None = None
    reason: str = ""


def _similar(a: str, b: str) -> float:
    return SequenceMatcher(None, a, b).ratio() if a and b else 0.0


def compare(unit: Address, hub: Address) -> tuple[JoinKind, str]:
    """How a unit's register address and an address the hub holds relate."""
    if not unit.number or unit.number != hub.number:
        return "none", ""
    same_street = unit.street == hub.street
    near_street = same_street or _similar(unit.street, hub.street) >= 0.85
    if not near_street:
        return "none", ""
    reasons = []
    if unit.postcode != hub.postcode:
        reasons.append(f"postcode {hub.postcode or '?'} where the register has {unit.postcode}")
    if not same_street:
        reasons.append("street spelled differently")
    if unit.box != hub.box:
        if unit.box and hub.box:
            return "none", ""  # another box in the same building: another unit
        reasons.append("box number on one side only")
    return ("exact", "") if not reasons else ("doubtful", "; ".join(reasons))


def join_unit(unit_address: Address, unit_keys: Iterable[str], dwellings: Mapping[str, Mapping[str, Any]]) -> Join:
    """The hub dwelling (of the holder) a Woningpas unit is: `dwellings` canonical id → data. Registry keys first
    (the dwelling already carries the unit's gebouweenheid or address id), then the address; one exact match
    joins, a doubtful one (or several exact ones) is a candidate for a person, none is a dwelling of its own."""
    keys = set(unit_keys)
    by_key = [
        d
        for d, data in dwellings.items()
        if data.get("dwelling_key") in keys or keys & set(_ids(data.get("identifiers")))
    ]
    if len(by_key) == 1:
        return Join("exact", by_key[0])
    exact: list[str] = []
    doubtful: list[tuple[str, str]] = []
    for did, data in dwellings.items():
        if (data.get("country") or "BE") != "BE":
            continue
        box = data.get("box") or data.get("addition")  # BE: the busnummer (older intakes: in `addition`)
        hub = Address.of(data.get("postcode"), data.get("street"), data.get("number"), box)
        kind, why = compare(unit_address, hub)
        if kind == "exact":
            exact.append(did)
        elif kind == "doubtful":
            doubtful.append((did, why))
    if len(exact) == 1 and not doubtful:
        return Join("exact", exact[0])
    if exact or doubtful:
        did, why = (exact[0], "several dwellings of the resident have this address") if exact else doubtful[0]
        return Join("doubtful", did, why)
    return Join("none")


def _ids(identifiers: Any) -> list[str]:
    if not isinstance(identifiers, Mapping):
        return []
    out = []
    for scheme, value in identifiers.items():
        if scheme == "be:vl:geu":
            out.append(f"be:vl:geu:{value}")
        elif scheme == "be:vl:adr":
            out.append(f"be:vl:adr:{value}")
    return out
