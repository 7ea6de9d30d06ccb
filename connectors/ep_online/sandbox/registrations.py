"""The sandbox EP-Online's registrations: energy labels for the BAG sandbox's objects (the same verblijfsobject ids,
addresses and panden), deterministic for the same objects, renovations and seed.

Each record carries the v5 field names of contracts §3.2. `Energieklasse` follows from `PrimaireFossieleEnergie`
(EP2, kWh/m²·yr) by the NTA 8800 thresholds, `Geldig_tot` is `Opnamedatum` + 10 years. Seed cases, listed by
`cases()` (the admin API's `GET /__sandbox/cases`):
- `several`: an object with two registrations, an older one (expired, or still valid but superseded) and a
  newer one: the selection rule (drop expired, take the latest `Registratiedatum`) decides;
- `renovated`: a home of an Econobis sandbox whose works were executed: a registration from before its dossier
  opened, and a newer, better one registered after the works (the "label before and after" an analyst asks for);
- `no_label`: a residential object without any registration (404 by id and by address);
- `placeholder`: `0000000000000000` answers several unrelated registrations (consumers must refuse it)."""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping
from datetime import date, datetime, time, timedelta
from typing import Any

from connectors.ep_online.mapping import plus_years

PLACEHOLDER = "0000000000000000"
# shares [MOD]
LABELLED = 0.6  # of residential objects: at least one registration
SEVERAL = 0.25  # of labelled objects: an older registration too
UTILITY_LABELLED = 0.3  # of non-residential objects
# NTA 8800 classes by EP2 upper bound (contracts §3.2); G above the last
CLASSES = (
    ("A++++", 0.0),
    ("A+++", 50.0),
    ("A++", 75.0),
    ("A+", 105.0),
    ("A", 160.0),
    ("B", 190.0),
    ("C", 250.0),
    ("D", 290.0),
    ("E", 335.0),
    ("F", 380.0),
)
CERTIFICATE_HOLDERS = ("Energielabel Direct B.V.", "Woonlabel Nederland", "EPA-adviesbureau Groen", "Label & Co")
DWELLING_TYPES = (
    ("Eengezinswoning", "Tussenwoning"),
    ("Eengezinswoning", "Hoekwoning"),
    ("Eengezinswoning", "Twee-onder-een-kap"),
    ("Eengezinswoning", "Vrijstaande woning"),
    ("Meergezinswoning", "Galerijflat"),
    ("Meergezinswoning", "Portiekflat"),
)


def energy_class(ep2: float) -> str:
    for cls, upper in CLASSES:
        if ep2 <= upper:
            return cls
    return "G"


def _stamp(d: date, r: random.Random) -> str:
    return datetime.combine(d, time(r.randint(8, 17), r.randint(0, 59), r.randint(0, 59))).isoformat()


class EpRegister:
    def __init__(
        self,
        objects: Iterable[Mapping[str, Any]],
        renovations: Iterable[Mapping[str, Any]] = (),
        *,
        today: date = date(2026, 11, 1),
        seed: int = 14,
    ) -> None:
        self.today = today
        self.seed = seed
        self.by_object: dict[str, list[dict[str, Any]]] = {}
        self.objects: dict[str, dict[str, Any]] = {}
        self._cases: dict[str, list[dict[str, Any]]] = {k: [] for k in ("several", "renovated", "no_label")}
        works = {str(w["vbo_id"]): w for w in renovations}
        for o in sorted(objects, key=lambda o: str(o["vbo_id"])):
            vbo = str(o["vbo_id"])
            self.objects[vbo] = dict(o)
            r = random.Random(f"{seed}:{vbo}")
            residential = "woonfunctie" in (o.get("gebruiksdoelen") or [])
            if vbo in works:
                self._renovated(o, works[vbo], r)
            elif r.random() < (LABELLED if residential else UTILITY_LABELLED):
                self._labelled(o, r, residential)
            elif residential:
                self._cases["no_label"].append({"vbo_id": vbo})

    # --- building -----------------------------------------------------------------------------------------

    def _record(
        self, o: Mapping[str, Any], r: random.Random, opname: date, ep2: float, *, residential: bool = True
    ) -> dict[str, Any]:
        registered = min(opname + timedelta(days=r.randint(0, 40)), self.today)
        new_method = opname >= date(2021, 1, 1)
        kind, sub = r.choice(DWELLING_TYPES) if residential else ("Utiliteitsgebouw", None)
        surface = float(o.get("oppervlakte") or r.randint(50, 200))
        rec: dict[str, Any] = {
            "Registratiedatum": _stamp(registered, r),
            "Opnamedatum": opname.isoformat() + "T00:00:00",
            "Geldig_tot": plus_years(opname, 10).isoformat() + "T00:00:00",
            "Certificaathouder": r.choice(CERTIFICATE_HOLDERS),
            "Soort_opname": "Basisopname" if r.random() < 0.8 else "Detailopname",
            "Status": "Bestaand",
            "Berekeningstype": ("NTA 8800:2024" if opname >= date(2024, 1, 1) else "NTA 8800:2020")
            if new_method
            else "ISSO82.3, versie 3.0, oktober 2011",
            "IsVereenvoudigdLabel": not new_method and r.random() < 0.3,
            "Op_basis_van_referentiegebouw": False,
            "Gebouwklasse": "Woningbouw" if residential else "Utiliteitsbouw",
            "Gebouwtype": kind,
            "Gebouwsubtype": sub,
            "SBIcode": None,
            "Postcode": o.get("postcode"),
            "Huisnummer": o.get("huisnummer"),
            "Huisletter": o.get("huisletter") or None,
            "Huisnummertoevoeging": o.get("huisnummertoevoeging") or None,
            "Detailaanduiding": None,
            "BAGVerblijfsobjectID": o.get("vbo_id"),
            "BAGLigplaatsID": None,
            "BAGStandplaatsID": None,
            "BAGPandIDs": list(o.get("pand_ids") or []),
            "Bouwjaar": o.get("bouwjaar"),
            "Gebruiksoppervlakte_thermische_zone": round(surface * r.uniform(0.9, 1.05), 1),
            "Compactheid": round(r.uniform(0.8, 2.6), 2),
            "Energieklasse": energy_class(ep2),
            "EnergieIndex": None if new_method else round(0.6 + ep2 / 180, 2),
            "EnergieIndex_EMG_forfaitair": None,
            "Energiebehoefte": round(ep2 * r.uniform(0.35, 0.6), 2) if new_method else None,
            "PrimaireFossieleEnergie": round(ep2, 2),
            "Primaire_fossiele_energie_EMG_forfaitair": None,
            "Aandeel_hernieuwbare_energie": round(r.uniform(0, 35) if ep2 > 105 else r.uniform(30, 80), 1),
            "Aandeel_hernieuwbare_energie_EMG_forfaitair": None,
            "Temperatuuroverschrijding": round(r.uniform(0, 2.5), 2) if new_method else None,
            "Warmtebehoefte": round(ep2 * r.uniform(0.3, 0.5), 2) if new_method else None,
            "BerekendeCO2Emissie": round(surface * ep2 * 0.0002, 1),
            "BerekendeEnergieverbruik": round(surface * ep2 * 0.55, 0),
        }
        self.by_object.setdefault(str(o["vbo_id"]), []).append(rec)
        return rec

    def _ep2(self, o: Mapping[str, Any], r: random.Random) -> float:
        year = int(o.get("bouwjaar") or 1960)
        base = 420 - (year - 1900) * 2.6 if year < 2000 else 150 - (year - 2000) * 6
        return max(-10.0, r.gauss(base, 45))

    def _labelled(self, o: Mapping[str, Any], r: random.Random, residential: bool) -> None:
        ep2 = self._ep2(o, r)
        if r.random() < SEVERAL:
            old = date(r.randint(2010, 2016), r.randint(1, 12), r.randint(1, 28))
            self._record(o, r, old, ep2 * r.uniform(1.05, 1.3), residential=residential)
            new = date(r.randint(max(old.year + 2, 2018), self.today.year), r.randint(1, 12), r.randint(1, 28))
            new = min(new, self.today - timedelta(days=50))
            self._record(o, r, new, ep2, residential=residential)
            self._cases["several"].append({"vbo_id": o["vbo_id"], "registrations": 2})
        else:
            opname = date(r.randint(2012, self.today.year), r.randint(1, 12), r.randint(1, 28))
            self._record(o, r, min(opname, self.today - timedelta(days=45)), ep2, residential=residential)

    def _renovated(self, o: Mapping[str, Any], w: Mapping[str, Any], r: random.Random) -> None:
        started = _day(w["dossier_started"])
        done = _day(w["works_done"])
        ep2 = self._ep2(o, r)
        # the label the home had when its dossier opened: taken a few months to a few years before
        before = started - timedelta(days=r.randint(60, 5 * 365))
        self._record(o, r, before, ep2)
        case: dict[str, Any] = {"vbo_id": o["vbo_id"], "dossier_started": started.isoformat()}
        after = done + timedelta(days=r.randint(14, 60))
        if after <= self.today - timedelta(days=2):
            rec = self._record(o, r, after, max(-5.0, ep2 * r.uniform(0.35, 0.7)))
            case["after"] = rec["Energieklasse"]
        case["before"] = self.by_object[str(o["vbo_id"])][0]["Energieklasse"]
        self._cases["renovated"].append(case)

    def add(self, vbo_id: str, opnamedatum: str, ep2: float) -> dict[str, Any]:
        """A new registration for a known object (the admin API's re-label after works)."""
        o = self.objects[vbo_id]
        r = random.Random(f"{self.seed}:{vbo_id}:{opnamedatum}")
        return dict(self._record(o, r, date.fromisoformat(opnamedatum[:10]), ep2))

    # --- reading ------------------------------------------------------------------------------------------

    def cases(self) -> dict[str, list[dict[str, Any]]]:
        out = {k: list(v) for k, v in self._cases.items()}
        out["placeholder"] = [{"id": PLACEHOLDER, "registrations": len(self.placeholder())}]
        return out

    def by_id(self, object_id: str) -> list[dict[str, Any]]:
        if object_id == PLACEHOLDER:
            return self.placeholder()
        return [dict(x) for x in self.by_object.get(object_id, [])]

    def placeholder(self) -> list[dict[str, Any]]:
        """What the real API answers for the all-zero id: old registrations of unrelated objects (kept in the
        bulk data under a missing id), here the oldest registrations of the first objects with a label."""
        out: list[dict[str, Any]] = []
        for vbo in sorted(self.by_object)[:6]:
            rec = dict(self.by_object[vbo][0])
            rec["BAGVerblijfsobjectID"] = None  # registered before the BAG link was made
            out.append(rec)
        return out

    def by_address(
        self, postcode: str, huisnummer: int, huisletter: str | None, toevoeging: str | None
    ) -> list[dict[str, Any]]:
        """Registrations at postcode + number; a letter or addition given filters on it, one not given does
        not (so a number with several homes answers all of them: the caller must compare) [MOD]."""
        pc = postcode.replace(" ", "").upper()
        out: list[dict[str, Any]] = []
        for vbo, recs in self.by_object.items():
            o = self.objects.get(vbo) or {}
            if o.get("postcode") != pc or int(o.get("huisnummer") or 0) != huisnummer:
                continue
            if huisletter and (o.get("huisletter") or "").upper() != huisletter.upper():
                continue
            if toevoeging and (o.get("huisnummertoevoeging") or "").upper() != toevoeging.upper():
                continue
            out += [dict(x) for x in recs]
        return out


def _day(v: Any) -> date:
    if isinstance(v, datetime):
        return v.date()
    if isinstance(v, date):
        return v
    return date.fromisoformat(str(v)[:10])
