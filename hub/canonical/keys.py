"""The natural dwelling key of contracts/woningpas_premiums.md §4.2.

Registry keys (BAG verblijfsobject, Flemish gebouweenheid/adres) win; otherwise a normalised address key."""

from __future__ import annotations

import re
import unicodedata

_NL_POSTCODE = re.compile(r"^\s*(\d{4})\s*([A-Za-z]{2})\s*$")
_BAG_ID = re.compile(r"^\d{16}$")
# NL: huisletter is one letter, huisnummertoevoeging up to 4 alphanumerics (BAG); Econobis stores both
# together in `addition` ("A", "bis", "A-2", "2 hoog").
_NL_ADDITION = re.compile(r"([A-Za-z])(?:[\s\-/]+|(?=\d))([A-Za-z0-9]{1,4})")
_BAG_TYPES = {"01": "vbo", "02": "lig", "03": "sta"}


def fold(text: str) -> str:
    """Lower-case, accents folded, whitespace collapsed."""
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c))
    return re.sub(r"\s+", " ", text).strip().lower()


def normalise_street(street: str) -> str:
    s = fold(street)
    s = re.sub(r"\bstr\.?(?=\s|$)", "straat", s)
    s = re.sub(r"(?<=\w)str\.?$", "straat", s)
    return re.sub(r"[^\w ]", "", s).strip()


def normalise_nl_postcode(postcode: str) -> str | None:
    m = _NL_POSTCODE.match(postcode or "")
    return f"{m.group(1)}{m.group(2).upper()}" if m else None


def split_nl_addition(addition: str | None) -> tuple[str, str]:
    """Econobis' single `addition` → (huisletter, huisnummertoevoeging) as far as it can be told apart.

    "A" → letter; "A-2"/"A2" → letter + toevoeging; "bis", "2", "2hg" → toevoeging (max 4, as in BAG)."""
    raw = re.sub(r"\s+", " ", (addition or "").strip())
    if not raw:
        return "", ""
    if re.fullmatch(r"[A-Za-z]", raw):
        return raw.upper(), ""
    m = _NL_ADDITION.fullmatch(raw)
    if m:
        return m.group(1).upper(), m.group(2).upper()
    return "", re.sub(r"[^A-Za-z0-9]", "", raw).upper()[:4]


def bag_dwelling_key(object_id: str) -> str:
    """`nl:bag:vbo:{id}` (or lig/sta) from a 16-digit BAG adresseerbaar object id."""
    if not _BAG_ID.match(object_id):
        raise ValueError(f"not a 16-digit BAG object id: {object_id!r}")
    kind = _BAG_TYPES.get(object_id[4:6])
    if kind is None:
        raise ValueError(f"BAG id {object_id!r} is not a verblijfsobject, ligplaats or standplaats")
    return f"nl:bag:{kind}:{object_id}"


def flemish_dwelling_key(gebouweenheid_id: str | None = None, adres_object_id: str | None = None) -> str:
    if gebouweenheid_id:
        return f"be:vl:geu:{gebouweenheid_id}"
    if adres_object_id:
        return f"be:vl:adr:{adres_object_id}"
    raise ValueError("need a gebouweenheid id or an adresObjectId")


def nl_address_key(postcode: str, number: int | str, addition: str | None = None) -> str | None:
    """Fallback key `nl:addr:{POSTCODE}|{nr}|{LETTER}|{TOEV}`; None when postcode or number is unusable."""
    pc = normalise_nl_postcode(postcode)
    nr = str(number).strip() if number is not None else ""
    if pc is None or not nr.isdigit() or int(nr) <= 0:
        return None
    letter, toev = split_nl_addition(addition)
    return f"nl:addr:{pc}|{int(nr)}|{letter}|{toev}"


def be_address_key(postcode: str, street: str, number: str, box: str | None = None) -> str | None:
    """Fallback key `be:addr:{postcode}|{norm(street)}|{NR}|{BUS}`."""
    pc = (postcode or "").strip()
    if not re.match(r"^\d{4}$", pc) or not street or not str(number).strip():
        return None
    nr = re.sub(r"\s+", "", str(number)).upper()
    bus = re.sub(r"\s+", "", box or "").upper()
    return f"be:addr:{pc}|{normalise_street(street)}|{nr}|{bus}"


def dwelling_key(
    *,
    country: str,
    postcode: str | None = None,
    number: int | str | None = None,
    addition: str | None = None,
    street: str | None = None,
    bag_object_id: str | None = None,
    gebouweenheid_id: str | None = None,
    adres_object_id: str | None = None,
) -> str | None:
    """The best natural key available for a dwelling, by the precedence of §4.2; None if nothing usable."""
    country = (country or "NL").upper()
    if country == "NL":
        if bag_object_id:
            return bag_dwelling_key(bag_object_id)
        if postcode and number is not None:
            return nl_address_key(postcode, number, addition)
        return None
    if country == "BE":
        if gebouweenheid_id or adres_object_id:
            return flemish_dwelling_key(gebouweenheid_id, adres_object_id)
        if postcode and street and number is not None:
            return be_address_key(postcode, street, str(number), addition)
        return None
    return None
