"""The sandbox BAG's register: the addressable objects at the true addresses of the Econobis sandboxes, plus the
seed cases of contracts/woningpas_premiums.md §6.2, deterministic for the same addresses and seed.

Ids follow BAG's shape (§3.3): 16 digits, the 4-digit municipality code, the 2-digit object type (`01`
verblijfsobject, `10` pand, `20` nummeraanduiding, `30` openbare ruimte) and a 10-digit sequence; woonplaats ids
4 digits. Strings always (leading zeros).

Seed cases, each listed by `cases()` (the admin API's `GET /__sandbox/cases`) so tests and the bench find them:
- `letters`: at some numbers more homes than the one given (12, 12A, 12A-1): a letter or an addition dropped
  makes the number ambiguous;
- `side_address`: the address is a side address (nevenadres) of an object whose main address is another number;
- `shared_pand`: objects at one number with letters or additions (apartments) share one pand;
- `no_build_year`: the pand's `oorspronkelijkBouwjaar` is empty;
- `non_residential`: the object's use has no woonfunctie (an office, a shop);
- `typo`: an address written with a postcode typo is not in the register at all (the Econobis sandbox marks it)."""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

# shares [MOD]
EXTRA_HOMES = 0.08  # of addresses: more homes at the same number (letters / additions)
SIDE_ADDRESS = 0.02
NO_BUILD_YEAR = 0.03
NON_RESIDENTIAL = 0.02
OTHER_USES = ("kantoorfunctie", "winkelfunctie", "bijeenkomstfunctie", "industriefunctie")


@dataclass
class BagObject:
    """One current verblijfsobject with its main nummeraanduiding (and side addresses)."""

    vbo_id: str
    nummeraanduiding_id: str
    openbare_ruimte_id: str
    woonplaats_id: str
    pand_ids: list[str]
    postcode: str
    huisnummer: int
    huisletter: str
    huisnummertoevoeging: str
    street: str
    city: str
    bouwjaar: int | None
    oppervlakte: int
    gebruiksdoelen: list[str]
    # side addresses: (nummeraanduiding id, postcode, huisnummer, huisletter, toevoeging)
    side: list[tuple[str, str, int, str, str]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "vbo_id": self.vbo_id,
            "nummeraanduiding_id": self.nummeraanduiding_id,
            "pand_ids": list(self.pand_ids),
            "postcode": self.postcode,
            "huisnummer": self.huisnummer,
            "huisletter": self.huisletter,
            "huisnummertoevoeging": self.huisnummertoevoeging,
            "street": self.street,
            "city": self.city,
            "woonplaats_id": self.woonplaats_id,
            "bouwjaar": self.bouwjaar,
            "oppervlakte": self.oppervlakte,
            "gebruiksdoelen": list(self.gebruiksdoelen),
            "nevenadres": False,
        }


@dataclass(frozen=True)
class Address:
    """One row of the register's address index: a main or side address of an object."""

    nummeraanduiding_id: str
    postcode: str
    huisnummer: int
    huisletter: str
    huisnummertoevoeging: str
    obj: BagObject
    side: bool


def municipality(postcode: str) -> str:
    """A 4-digit municipality code for a postcode (deterministic; real codes are not derivable from it)."""
    return f"{(int(postcode[:4]) // 10) % 9000 + 100:04d}"


class BagRegister:
    def __init__(self, addresses: Iterable[Mapping[str, Any]], seed: int = 14) -> None:
        self.rng = random.Random(seed)
        self.objects: dict[str, BagObject] = {}
        self.index: list[Address] = []
        self.by_number_id: dict[str, Address] = {}
        self._cases: dict[str, list[dict[str, Any]]] = {
            k: [] for k in ("letters", "side_address", "shared_pand", "no_build_year", "non_residential", "typo")
        }
        self._seq: dict[tuple[str, str], int] = {}
        self._woonplaats: dict[str, str] = {}
        self._streets: dict[tuple[str, str], str] = {}
        self._panden: dict[tuple[str, int], str] = {}
        self._by_key: dict[tuple[str, int, str, str], BagObject] = {}
        self._at: dict[tuple[str, int], list[Address]] | None = None
        seen: set[tuple[str, int, str, str]] = set()
        for a in addresses:
            if a.get("typo"):
                self._cases["typo"].append(dict(a))
                continue
            key = (
                str(a["postcode"]).replace(" ", "").upper(),
                int(a["number"]),
                a.get("letter", ""),
                a.get("addition", ""),
            )
            if key in seen:
                continue
            seen.add(key)
            self._add(key, str(a["street"]), str(a["city"]))
        self._seed_cases(sorted(seen))

    # --- building ---------------------------------------------------------------------------------------

    def _id(self, gem: str, kind: str) -> str:
        n = self._seq.get((gem, kind), 0) + 1
        self._seq[(gem, kind)] = n
        return f"{gem}{kind}{n:010d}"

    def _add(self, key: tuple[str, int, str, str], street: str, city: str, **over: Any) -> BagObject:
        pc, nr, letter, toev = key
        gem = municipality(pc)
        wpl = self._woonplaats.setdefault(city, f"{(int(gem) * 7 + len(self._woonplaats)) % 9000 + 1000:04d}")
        opr = self._streets.setdefault((gem, street), self._id(gem, "30"))
        pand = self._panden.get((pc, nr)) or self._id(gem, "10")
        self._panden[(pc, nr)] = pand
        r = random.Random(f"{pc}{nr}{letter}{toev}")
        obj = BagObject(
            vbo_id=self._id(gem, "01"),
            nummeraanduiding_id=self._id(gem, "20"),
            openbare_ruimte_id=opr,
            woonplaats_id=wpl,
            pand_ids=[pand],
            postcode=pc,
            huisnummer=nr,
            huisletter=letter,
            huisnummertoevoeging=toev,
            street=street,
            city=city,
            bouwjaar=over.get("bouwjaar", r.randint(1900, 2015)),
            oppervlakte=over.get("oppervlakte", r.randint(40, 220)),
            gebruiksdoelen=over.get("gebruiksdoelen", ["woonfunctie"]),
        )
        self.objects[obj.vbo_id] = obj
        addr = Address(obj.nummeraanduiding_id, pc, nr, letter, toev, obj, False)
        self._by_key[key] = obj
        self.index.append(addr)
        self.by_number_id[obj.nummeraanduiding_id] = addr
        return obj

    def _seed_cases(self, keys: list[tuple[str, int, str, str]]) -> None:
        r = self.rng
        taken = set(keys)
        for pc, nr, letter, toev in keys:
            obj = self._main(pc, nr, letter, toev)
            roll = r.random()
            if roll < EXTRA_HOMES:
                # more homes at this number: letters, or additions on the same letter
                extra = (
                    [(pc, nr, "A", ""), (pc, nr, "A", "1")] if not letter else [(pc, nr, "", ""), (pc, nr, letter, "1")]
                )
                for k in extra:
                    if k not in taken:
                        taken.add(k)
                        self._add(k, obj.street, obj.city)
                self._cases["letters"].append({"postcode": pc, "huisnummer": nr})
            elif roll < EXTRA_HOMES + SIDE_ADDRESS:
                # the given address is a side address of an object whose main address is the next number
                main_key = (pc, nr + 1, "", "")
                if main_key in taken:
                    continue
                taken.add(main_key)
                self._retire(obj)
                host = self._add(main_key, obj.street, obj.city)
                side_id = self._id(municipality(pc), "20")
                addr = Address(side_id, pc, nr, letter, toev, host, True)
                host.side.append((side_id, pc, nr, letter, toev))
                self.index.append(addr)
                self.by_number_id[side_id] = addr
                self._cases["side_address"].append(
                    {"postcode": pc, "huisnummer": nr, "huisletter": letter, "main_huisnummer": nr + 1}
                )
            elif roll < EXTRA_HOMES + SIDE_ADDRESS + NO_BUILD_YEAR:
                for pid in obj.pand_ids:
                    for o in self.objects.values():
                        if pid in o.pand_ids:
                            o.bouwjaar = None
                self._cases["no_build_year"].append({"postcode": pc, "huisnummer": nr, "vbo_id": obj.vbo_id})
            elif roll < EXTRA_HOMES + SIDE_ADDRESS + NO_BUILD_YEAR + NON_RESIDENTIAL:
                obj.gebruiksdoelen = [r.choice(OTHER_USES)]
                self._cases["non_residential"].append({"postcode": pc, "huisnummer": nr, "vbo_id": obj.vbo_id})
        by_pand: dict[str, list[BagObject]] = {}
        for o in self.objects.values():
            for p in o.pand_ids:
                by_pand.setdefault(p, []).append(o)
        for pid, objs in sorted(by_pand.items()):
            if len(objs) > 1:
                self._cases["shared_pand"].append({"pand_id": pid, "vbo_ids": sorted(o.vbo_id for o in objs)})

    def _main(self, pc: str, nr: int, letter: str, toev: str) -> BagObject:
        return self._by_key[(pc, nr, letter, toev)]

    def _retire(self, obj: BagObject) -> None:
        self.objects.pop(obj.vbo_id, None)
        self.index = [a for a in self.index if a.obj is not obj]
        self.by_number_id.pop(obj.nummeraanduiding_id, None)

    def add_homes(self, addresses: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """Homes the register knows beyond the seed (the admin API's `POST /__sandbox/addresses`: a sandbox
        register knows only the homes it was told of, the real one every home). One already known is left."""
        added: list[dict[str, Any]] = []
        for a in addresses:
            key = (
                str(a["postcode"]).replace(" ", "").upper(),
                int(a["number"]),
                str(a.get("letter") or "").upper(),
                str(a.get("addition") or "").upper(),
            )
            if key in self._by_key:
                continue
            added.append(self._add(key, str(a["street"]), str(a["city"])).as_dict())
        self._at = None
        return added

    # --- reading ----------------------------------------------------------------------------------------

    def cases(self) -> dict[str, list[dict[str, Any]]]:
        return {k: list(v) for k, v in self._cases.items()}

    def all_objects(self) -> list[dict[str, Any]]:
        """Every current object (the EP-Online sandbox's seed reads it)."""
        return [o.as_dict() for o in sorted(self.objects.values(), key=lambda o: o.vbo_id)]

    def search(
        self, postcode: str, huisnummer: int, huisletter: str | None, toevoeging: str | None, exact: bool
    ) -> list[Address]:
        """adressenuitgebreid's search: current addresses at postcode + number; with `exact`, only those whose
        letter and addition equal the ones given (absent = empty); without, those that start with what was
        given, or else every address at the number."""
        pc = postcode.replace(" ", "").upper()
        if self._at is None:
            self._at = {}
            for a in self.index:
                self._at.setdefault((a.postcode, a.huisnummer), []).append(a)
        at = self._at.get((pc, huisnummer), [])
        letter, toev = (huisletter or "").upper(), (toevoeging or "").upper()
        if exact:
            return [a for a in at if a.huisletter.upper() == letter and a.huisnummertoevoeging.upper() == toev]
        near = [
            a for a in at if a.huisletter.upper().startswith(letter) and a.huisnummertoevoeging.upper().startswith(toev)
        ]
        return sorted(near or at, key=lambda a: (a.huisletter, a.huisnummertoevoeging, a.side))
