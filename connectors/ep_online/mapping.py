"""EP-Online registrations → the dwelling's EnergyCertificates, by the selection rule consumers use (contracts
§3.2): registrations whose `Geldig_tot` passed are expired (kept as history), the not-expired one with the latest
`Registratiedatum` is the current label, other not-expired ones are replaced by it.

Guards: an answer by object id must be about that object (a registration naming another `BAGVerblijfsobjectID`,
as the placeholder id's answer does, is refused with its reason); an answer by address keeps only the
registrations at the dwelling's own letter and addition (EP-Online answers every home at the number when none
is given); a registration without a class or a registration date is refused as unreadable."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from pydantic import ValidationError

from connectors.ep_online.wire import PandEnergielabel

CLASSES = {"A++++", "A+++", "A++", "A+", "A", "B", "C", "D", "E", "F", "G"}


@dataclass
class Selection:
    certificates: list[dict[str, Any]] = field(default_factory=list)
    refused: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    other_homes: int = 0

    @property
    def current(self) -> dict[str, Any] | None:
        return next((c for c in self.certificates if c["current"]), None)


def plus_years(d: date, years: int) -> date:
    try:
        return d.replace(year=d.year + years)
    except ValueError:  # 29 February
        return d.replace(year=d.year + years, day=28)


def _day(v: str | None) -> date | None:
    if not v:
        return None
    try:
        return date.fromisoformat(v[:10])
    except ValueError:
        return None


def _up(v: Any) -> str:
    return str(v or "").replace(" ", "").replace("-", "").upper()


def certificate_number(rec: PandEnergielabel) -> str:
    """A stable number for a registration (v5 has none): the object (or address), registered and surveyed days."""
    where = rec.BAGVerblijfsobjectID or f"{_up(rec.Postcode)}{rec.Huisnummer}{_up(rec.Huisletter)}"
    where += "" if rec.BAGVerblijfsobjectID else _up(rec.Huisnummertoevoeging)
    return f"ep:{where}:{(rec.Registratiedatum or '')[:10]}:{(rec.Opnamedatum or '')[:10]}"


def select(
    records: list[dict[str, Any]],
    *,
    object_id: str | None = None,
    address: dict[str, Any] | None = None,
    today: date,
    valid_years: int = 10,
) -> Selection:
    """`object_id`: the verblijfsobject asked by id; `address`: {postcode, huisnummer, huisletter,
    huisnummertoevoeging} asked by address."""
    out = Selection()
    kept: list[tuple[PandEnergielabel, dict[str, Any]]] = []
    for raw in records:
        try:
            rec = PandEnergielabel.model_validate(raw)
        except ValidationError as exc:
            out.refused.append((f"unreadable: {exc.errors()[0]['msg']}", raw))
            continue
        if object_id is not None and rec.BAGVerblijfsobjectID != object_id:
            out.refused.append((f"other_object: asked {object_id}, answered {rec.BAGVerblijfsobjectID}", raw))
            continue
        if address is not None and (
            _up(rec.Postcode) != _up(address.get("postcode"))
            or rec.Huisnummer != address.get("huisnummer")
            or _up(rec.Huisletter) != _up(address.get("huisletter"))
            or _up(rec.Huisnummertoevoeging) != _up(address.get("huisnummertoevoeging"))
        ):
            out.other_homes += 1
            continue
        if rec.Energieklasse not in CLASSES or _day(rec.Registratiedatum) is None:
            out.refused.append((f"unreadable: class {rec.Energieklasse!r}, registered {rec.Registratiedatum!r}", raw))
            continue
        kept.append((rec, raw))
    rows: list[dict[str, Any]] = []
    for rec, _raw in kept:
        surveyed = _day(rec.Opnamedatum)
        until = _day(rec.Geldig_tot) or (plus_years(surveyed, valid_years) if surveyed else None)
        rows.append(
            {
                "label": rec.Energieklasse,
                "score_kwh_m2_year": rec.PrimaireFossieleEnergie,
                "certificate_number": certificate_number(rec),
                "issued_on": _day(rec.Registratiedatum),
                "valid_until": until,
                "status": "expired" if until is not None and until < today else "valid",
                "current": False,
            }
        )
    standing = [r for r in rows if r["status"] == "valid"]
    if standing:
        newest = max(standing, key=lambda r: (r["issued_on"], r["certificate_number"]))
        for r in standing:
            if r is newest:
                r["current"] = True
            else:
                r["status"] = "replaced"
    out.certificates = sorted(rows, key=lambda r: (r["issued_on"], r["certificate_number"]))
    return out
