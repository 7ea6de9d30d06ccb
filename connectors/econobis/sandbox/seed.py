"""Deterministic seed data for a sandbox Econobis: residents with addresses, intakes per campaign, kansen per
measure category, kansacties of all four types, housing files. Same (tenant, residents, seed) → same data.

Kansactie statuses are not drawn at random: each kansactie gets a history of dated writes and the status
engine (status_engine.py) derives its status and its kans' status, exactly as Econobis' observer would."""

from __future__ import annotations

import random
import string
import zlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from connectors.econobis.sandbox.db import SandboxDB
from connectors.econobis.sandbox.lookups import Lookups
from connectors.econobis.sandbox.status_engine import apply_kansactie_write

FIRST_NAMES = [
    "Jan",
    "Anna",
    "Piet",
    "Sanne",
    "Kees",
    "Fleur",
    "Henk",
    "Lotte",
    "Wim",
    "Eva",
    "Bram",
    "Noor",
    "Joost",
    "Iris",
    "Ruud",
    "Femke",
    "Gert",
    "Maaike",
    "Sem",
    "Lieke",
    "Daan",
    "Julia",
    "Tim",
    "Emma",
    "Luuk",
    "Sophie",
    "Thijs",
    "Sara",
    "Ahmed",
    "Fatima",
    "Mohamed",
    "Yara",
    "Dirk",
    "Ineke",
    "Marco",
    "Petra",
    "Rik",
    "Ilse",
]
PREFIXES = ("", "", "", "", "van", "de", "van der", "van den", "ter", "van 't")
LAST_NAMES = [
    "Jansen",
    "Bakker",
    "Visser",
    "Smit",
    "Meijer",
    "Mulder",
    "Bos",
    "Vos",
    "Peters",
    "Hendriks",
    "Dekker",
    "Brouwer",
    "Dijk",
    "Berg",
    "Vries",
    "Graaf",
    "Wit",
    "Linden",
    "Kok",
    "Jacobs",
    "Willems",
    "Vermeulen",
    "Schouten",
    "Hoekstra",
    "Koster",
    "Prins",
    "Huisman",
    "Kuipers",
    "Veenstra",
    "Post",
]
STREETS = (
    "Dorpsstraat",
    "Kerkstraat",
    "Molenweg",
    "Schoolstraat",
    "Stationsweg",
    "Julianastraat",
    "Beatrixlaan",
    "Wilhelminalaan",
    "Prinses Irenestraat",
    "Eikenlaan",
    "Berkenhof",
    "Lindenlaan",
    "Zonnebloemstraat",
    "Dijkweg",
    "Havenkade",
    "Weidepad",
    "Van der Veldestraat",
)
TENANT_REGIONS: dict[str, tuple[str, int, tuple[str, ...]]] = {
    # tenant → (postcode prefix range start, width, cities)
    "coop-noord": ("16", 80, ("Wognum", "Hoorn", "Medemblik", "Enkhuizen")),
    "coop-zuid": ("52", 90, ("Boxtel", "Vught", "Oisterwijk", "Sint-Michielsgestel")),
}
CAMPAIGN_THEMES = (
    ("Buurtaanpak {city} Noord", 6),
    ("Energiecafé {city}", 5),
    ("Warmtescan {city} 2026", 4),
    ("Huis aan huis isolatie {city}", 1),
    ("Zonnepanelen collectief {city}", 3),
)


@dataclass(frozen=True)
class SeedSpec:
    tenant: str
    residents: int
    seed: int = 42
    # "now" of the seed: records are created in the two years before it
    now: datetime = datetime(2026, 11, 1, 12, 0, 0)


def person_full_name(first: str | None, prefix: str | None, last: str | None) -> str:
    """contacts.full_name of a person as Econobis' PersonObserver writes it: "Last, First prefix"."""
    return f"{last or ''}, {first or ''} {prefix or ''}".strip().rstrip(",")


def _rng(spec: SeedSpec, salt: str) -> random.Random:
    return random.Random(zlib.crc32(f"{spec.tenant}|{spec.seed}|{salt}".encode()))


class SeedBuilder:
    """Fills a sandbox DB with one tenant's data."""

    def __init__(self, spec: SeedSpec, lookups: Lookups, db: SandboxDB):
        self.spec = spec
        self.lk = lookups
        self.db = db
        self.insert = db.insert
        self.rng = _rng(spec, "main")
        prefix, width, cities = TENANT_REGIONS.get(spec.tenant, ("10", 99, ("Amsterdam",)))
        self.pc_base = int(prefix) * 100
        self.pc_width = width
        self.cities = cities
        self.start = spec.now - timedelta(days=730)

    # --- helpers ------------------------------------------------------------------------------------------

    def _time(self, frac: float) -> datetime:
        """A timestamp `frac` of the way through the seed window, rounded to seconds (monotonic in frac)."""
        secs = int(frac * 730 * 86400)
        return (self.start + timedelta(seconds=secs)).replace(microsecond=0)

    def _later(self, t: datetime, min_days: int, max_days: int) -> datetime:
        d = t + timedelta(days=self.rng.randint(min_days, max_days), minutes=self.rng.randint(0, 600))
        return min(d, self.spec.now)

    def _person(self) -> tuple[str, str, str]:
        return self.rng.choice(FIRST_NAMES), self.rng.choice(PREFIXES), self.rng.choice(LAST_NAMES)

    def _address(self, contact_id: int, created: datetime, primary: bool = True) -> int:
        r = self.rng
        letters = r.choice(string.ascii_uppercase) + r.choice("ABCDEGHJKLMNPRSTVWXZ")
        pc = f"{self.pc_base + r.randrange(self.pc_width):04d} {letters}"
        addition = r.choice(["A", "B", "bis", "1", "2", "A-2"]) if r.random() < 0.12 else ""
        return self.insert(
            "addresses",
            {
                "contact_id": contact_id,
                "type_id": "visit",
                "street": r.choice(STREETS),
                "number": r.randint(1, 240),
                "addition": addition,
                "postal_code": pc,
                "city": r.choice(self.cities),
                "country_id": "NL",
                "primary": primary,
                "created_at": created,
                "updated_at": created,
                "deleted_at": None,
            },
        )

    def _contact(self, created: datetime, *, kind: str = "person", coach: bool = False, status: str = "") -> int:
        r = self.rng
        first, prefix, last = self._person()
        org_name = f"{last} Installatietechniek B.V." if kind == "organisation" else None
        cid = self.insert(
            "contacts",
            {
                "type_id": kind,
                "status_id": status or r.choice(["interested"] * 5 + ["member"] * 3 + ["webform"] * 2),
                "full_name": org_name or person_full_name(first, prefix, last),
                "first_name": None if kind == "organisation" else first,
                "last_name_prefix": None if kind == "organisation" else prefix,
                "last_name": None if kind == "organisation" else last,
                "organisation_name": org_name,
                "initials": f"{first[0]}.",
                "did_agree_avg": r.random() < 0.8,
                "inspection_person_type_id": "coach" if coach else None,
                "hoom_account_id": None,
                "created_at": created,
                "updated_at": created,
                "deleted_at": None,
            },
        )
        local = (first + "." + last).lower().replace(" ", "") if kind == "person" else f"info{cid}"
        self.insert(
            "email_addresses",
            {"contact_id": cid, "type_id": "home", "email": f"{local}.{cid}@example.nl", "primary": True},
        )
        if r.random() < 0.85:
            self.insert(
                "phone_numbers",
                {
                    "contact_id": cid,
                    "type_id": "home",
                    "number": f"06{r.randint(10000000, 99999999)}",
                    "primary": True,
                },
            )
        return cid

    # --- build --------------------------------------------------------------------------------------------

    def build(self) -> dict[str, int]:
        r, lk, n = self.rng, self.lk, self.spec.residents
        counts: dict[str, int] = {}
        cities = self.cities
        campaigns = []
        for i, (theme, type_id) in enumerate(CAMPAIGN_THEMES[: max(2, min(5, 2 + n // 2000))]):
            start = self.start.date() + timedelta(days=90 * i)
            campaigns.append(
                self.insert(
                    "campaigns",
                    {
                        "name": theme.format(city=cities[i % len(cities)]),
                        "status_id": lk.by_id("campaignStatuses", 2 + lk.id_shift)["id"],
                        "type_id": type_id + lk.id_shift,
                        "start_date": start,
                        "end_date": start + timedelta(days=540),
                        "hoom_campaign": i == 0,
                        "created_at": self._time(i * 0.001),
                    },
                )
            )
        # Staff contacts come first (ids below the residents), as in a real instance set up before a campaign.
        coaches = [self._contact(self._time(0.0), coach=True, status="member") for _ in range(max(3, n // 120))]
        orgs = [self._contact(self._time(0.0), kind="organisation", status="none") for _ in range(max(3, n // 250))]
        for i, c in enumerate(coaches):
            self.db_update("contacts", c, {"hoom_account_id": 900000 + i})
        for camp in campaigns:  # campaign_coach / campaign_organisation pivots
            self.db_update("campaigns", camp, {"coach_ids": list(coaches), "organisation_ids": list(orgs)})

        measures_by_cat: dict[int, list[dict[str, Any]]] = {}
        for m in lk.tables["measures"]:
            measures_by_cat.setdefault(m["measureCategoryId"], []).append(m)
        interest_cats = [c for c in measures_by_cat if c - lk.id_shift in (1, 2, 3, 4, 5, 6, 8, 11, 12, 18)]
        status_ids = {row["codeRef"]: row["id"] for row in lk.tables["intakeStatuses"]}
        intake_status_weights = [
            ("open", 20),
            ("in_progress", 35),
            ("closed_with_opportunity", 35),
            ("closed_without_opportunity", 10),
        ]
        source_ids = [s["id"] for s in lk.tables["intakeSources"]]
        reason_ids = [s["id"] for s in lk.tables["intakeReasons"]]

        for i in range(n):
            created = self._time(0.01 + 0.98 * i / max(1, n))
            cid = self._contact(created, kind="organisation" if r.random() < 0.03 else "person")
            aid = self._address(cid, created)
            n_intakes = 0 if r.random() < 0.06 else (2 if r.random() < 0.07 else 1)
            for k in range(n_intakes):
                it_created = self._later(created, 0, 3) if k == 0 else self._later(created, 60, 240)
                status_code = r.choices([s for s, _ in intake_status_weights], [w for _, w in intake_status_weights])[0]
                cats = r.sample(interest_cats, r.randint(1, 3))
                iid = self.insert(
                    "intakes",
                    {
                        "contact_id": cid,
                        "address_id": aid,
                        "campaign_id": campaigns[(i + k) % len(campaigns)] if r.random() < 0.9 else r.choice(campaigns),
                        "intake_status_id": status_ids[status_code],
                        "source_ids": r.sample(source_ids, r.randint(1, 2)),
                        "reason_ids": r.sample(reason_ids, r.randint(1, 2)),
                        "measure_category_ids": cats,
                        "note": "",
                        "external_code": None,
                        "created_at": it_created,
                        "updated_at": it_created,
                        "deleted_at": None,
                    },
                )
                if status_code == "closed_with_opportunity" or (status_code == "in_progress" and r.random() < 0.5):
                    for cat in cats[: r.randint(1, len(cats))]:
                        self._opportunity(iid, cat, measures_by_cat[cat], it_created, coaches, orgs)
            if n_intakes and r.random() < 0.4:
                self._housing_file(aid, created)
        for table in (
            "contacts",
            "addresses",
            "intakes",
            "opportunities",
            "quotation_requests",
            "housing_files",
        ):
            counts[table] = self.count(table)
        return counts

    def _opportunity(
        self,
        intake_id: int,
        cat: int,
        measures: list[dict[str, Any]],
        after: datetime,
        coaches: list[int],
        orgs: list[int],
    ) -> None:
        r, lk = self.rng, self.lk
        created = self._later(after, 1, 30)
        opp_status = {row["codeRef"]: row["id"] for row in lk.tables["opportunityStatus"]}
        oid = self.insert(
            "opportunities",
            {
                "intake_id": intake_id,
                "measure_category_id": cat,
                "measure_ids": [r.choice(measures)["id"]],
                "status_id": opp_status["inactive" if r.random() < 0.04 else "active"],
                "desired_date": (created + timedelta(days=r.randint(30, 365))).date() if r.random() < 0.3 else None,
                "amount": 0,
                "created_at": created,
                "updated_at": created,
                "deleted_at": None,
            },
        )
        plan: list[str] = []
        if r.random() < 0.75:
            plan.append("visit")
        if r.random() < 0.35:
            plan.append("quotation-request")
        if r.random() < 0.15:
            plan.append("subsidy-request")
        if r.random() < 0.05:
            plan.append("redirection")
        t = created
        for action in plan:
            t = self._later(t, 0, 20)
            who = r.choice(coaches) if action == "visit" else r.choice(orgs)
            self._kansactie(oid, action, who, t)

    def _kansactie(self, oid: int, action: str, who: int, created: datetime) -> None:
        """Create a kansactie in its default status, then replay a dated history of writes through the engine."""
        r, lk = self.rng, self.lk
        default = lk.qr_status(action, "default") or lk.qr_status(action, "not-made")
        assert default is not None
        qid = self.insert(
            "quotation_requests",
            {
                "opportunity_id": oid,
                "opportunity_action_id": lk.action_id(action),
                "status_id": default["id"],
                "contact_id": who,
                "date_planned": None,
                "date_recorded": None,
                "date_released": None,
                "date_under_review": None,
                "date_approved_client": None,
                "not_approved_client": False,
                "date_executed": None,
                "date_under_review_determination": None,
                "date_approved_determination": None,
                "not_approved_determination": False,
                "created_at": created,
                "updated_at": created,
                "deleted_at": None,
            },
        )
        apply_kansactie_write(self.db, self.lk, qid, {}, created, created=True)  # the create sets the kans status
        t = created
        steps: list[dict[str, Any]] = []
        if action == "visit":
            if r.random() < 0.8:
                t = self._later(t, 2, 25)
                steps.append({"date_planned": t})
                if r.random() < 0.7 and t < self.spec.now - timedelta(days=3):
                    steps.append({"date_recorded": self._later(t, 0, 2)})
                elif r.random() < 0.08:
                    steps.append({"status": "cancelled"})
            elif r.random() < 0.3:
                steps.append({"status": "not-made"})
        elif action == "quotation-request":
            if r.random() < 0.75:
                t = self._later(t, 5, 30)
                steps.append({"date_released": t})
                roll = r.random()
                if roll < 0.5:
                    t = self._later(t, 3, 40)
                    steps.append({"date_approved_client": t.date()})
                    if r.random() < 0.5:
                        steps.append({"date_executed": self._later(t, 20, 120).date()})
                elif roll < 0.65:
                    steps.append({"not_approved_client": True, "date_approved_client": self._later(t, 3, 40).date()})
        elif action == "subsidy-request":
            if r.random() < 0.7:
                t = self._later(t, 3, 30)
                steps.append({"date_under_review": t.date()})
                if r.random() < 0.5:
                    steps.append({"date_under_review_determination": self._later(t, 30, 90).date()})
                    if r.random() < 0.7:
                        steps.append({"date_approved_determination": self._later(t, 60, 150).date()})
        elif action == "redirection" and r.random() < 0.5:
            steps.append({"status": "handled"})
        for change in steps:
            at = next((v for v in change.values() if isinstance(v, datetime)), None)
            apply_kansactie_write(self.db, self.lk, qid, change, min(at or t, self.spec.now))

    def _housing_file(self, address_id: int, after: datetime) -> None:
        r, _lk, s = self.rng, self.lk, self.lk.id_shift
        created = self._later(after, 5, 120)
        self.insert(
            "housing_files",
            {
                "address_id": address_id,
                "building_type_id": r.choice([1, 2, 3, 3, 3, 4, 8, 9]) + s,
                "build_year": r.choice([None, *list(range(1905, 2021))]),
                "surface": round(r.uniform(55, 220), 1),
                "roof_type_id": r.choice([1, 1, 1, 3, 6, 8]) + s,
                "energy_label_id": r.choice([4, 5, 6, 6, 7, 7, 8, 9, 10, 11]) + s,
                "floors": r.choice([1, 2, 2, 3]),
                "energy_label_status_id": r.choice([None, 1, 2]),
                "is_monument": r.choice(["0", "0", "0", "2", "1"]),
                "is_house_for_sale": r.choice(["1", "1", "1", "0", "2"]),
                "number_of_residents": r.randint(1, 5),
                "hoom_building_id": 40000 + address_id if r.random() < 0.6 else None,
                "remark": "",
                "remark_coach": "",
                "created_at": created,
                "updated_at": created,
                "deleted_at": None,
            },
        )

    def db_update(self, table: str, row_id: int, change: dict[str, Any]) -> None:
        self.db.tables[table][row_id].update(change)

    def count(self, table: str) -> int:
        return len(self.db.tables[table])
