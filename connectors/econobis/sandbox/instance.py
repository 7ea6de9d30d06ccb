"""One tenant's sandbox Econobis as Python state: seeded tables and lookups, users and tokens, throttles, the
webform row, and the coordinator edits the admin API performs. `app.py` serves it over HTTP."""

from __future__ import annotations

import random
import re
import secrets
import threading
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from connectors.econobis.sandbox.areas import area_columns
from connectors.econobis.sandbox.db import REVISIONABLE, SandboxDB
from connectors.econobis.sandbox.hoom_links import seed_hoom_links
from connectors.econobis.sandbox.lookups import Lookups
from connectors.econobis.sandbox.outbound import Cooperation
from connectors.econobis.sandbox.seed import SeedBuilder, SeedSpec, person_full_name
from connectors.econobis.sandbox.sloppy import write_as_residents
from connectors.econobis.sandbox.status_engine import apply_kansactie_write
from connectors.econobis.sandbox.webforms import webform_row
from hub.sandbox.runtime import Faults, LaravelThrottle, SimClock

TOKEN_TTL = timedelta(days=1)
REFRESH_TTL = timedelta(days=90)


@dataclass
class SandboxUser:
    id: int
    username: str
    password: str
    two_factor: bool = False


@dataclass
class EconobisSandbox:
    """All state of one tenant's sandbox Econobis."""

    tenant: str
    residents: int
    username: str
    password: str
    client_id: str = "2"
    client_secret: str = "sandbox-client-secret"
    seed: int = 42
    id_shift: int = 0
    throttle_per_minute: int = 60
    login_throttle_per_minute: int = 5
    # MySQL orders rows with equal sort keys arbitrarily per query; False gives a kinder, stable order.
    unstable_ties: bool = True
    clock: SimClock = field(default_factory=lambda: SimClock(datetime(2026, 11, 1, 12, 0, 0)))
    faults: Faults = field(default_factory=Faults)

    webform_key: str = ""
    webform_max_per_minute: int = 60

    def __post_init__(self) -> None:
        self.lookups = Lookups(id_shift=self.id_shift)
        self.db = SandboxDB(now=self.clock.now)
        self.db.address_area = lambda row: area_columns(self.tenant, row.get("postal_code"), row.get("number"))
        self.counts = SeedBuilder(
            SeedSpec(self.tenant, self.residents, self.seed, self.clock.now()), self.lookups, self.db
        ).build()
        # a share written as people write addresses; the true forms stay here for the BAG sandbox's seed
        self.true_addresses = write_as_residents(self.db, self.seed)
        for row in self.db.tables["addresses"].values():  # the observer on the residents' own writing
            row.update(area_columns(self.tenant, row.get("postal_code"), row.get("number")))
        self.rng = random.Random(self.seed)
        self.write_lock = threading.RLock()
        first_campaign = self.db.ids["campaigns"][0]
        self.cooperation = Cooperation(hoom_campaigns=[(first_campaign, None)])
        seed_hoom_links(self.db)
        self.webform_key = self.webform_key or f"sandbox-webform-{self.tenant}"
        # One webform row serves the webform API and the Hoomdossier endpoints (§1.11).
        self.db.insert(
            "webforms",
            webform_row(
                "Aanmelding hub", self.webform_key, self.clock.now(), max_per_minute=self.webform_max_per_minute
            ),
        )
        self.db.record_revisions = True  # from here on, edits are changes the audit trail shows
        self.users = {self.username: SandboxUser(1, self.username, self.password)}
        self.tokens: dict[str, tuple[int, datetime]] = {}
        self.refresh_tokens: dict[str, tuple[int, datetime]] = {}
        self.throttle = LaravelThrottle(self.throttle_per_minute)
        self.login_throttle = LaravelThrottle(self.login_throttle_per_minute)
        self.requests_served = 0
        self.failed_logins: dict[str, int] = {}
        self.login_blocked_until: dict[str, datetime] = {}
        self._lock = threading.Lock()

    def register_failed_login(self, username: str) -> None:
        """5 failures block the user for 15 minutes, 10 for an hour (Econobis' LoginAttemptThrottle)."""
        n = self.failed_logins.get(username, 0) + 1
        self.failed_logins[username] = n
        if n in (5, 10):
            self.login_blocked_until[username] = self.clock.now() + timedelta(minutes=15 if n == 5 else 60)

    # --- auth ---------------------------------------------------------------------------------------------

    def issue_token(self, user_id: int) -> dict[str, Any]:
        access, refresh = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        now = self.clock.now()
        with self._lock:
            self.tokens[access] = (user_id, now + TOKEN_TTL)
            self.refresh_tokens[refresh] = (user_id, now + REFRESH_TTL)
        return {
            "token_type": "Bearer",
            "expires_in": int(TOKEN_TTL.total_seconds()),
            "access_token": access,
            "refresh_token": refresh,
        }

    def user_for(self, authorization: str | None) -> int | None:
        if not authorization or not authorization.lower().startswith("bearer "):
            return None
        entry = self.tokens.get(authorization[7:].strip())
        if entry is None or entry[1] <= self.clock.now():
            return None
        return entry[0]

    def edit(self, table: str, row_id: int, change: dict[str, Any], raw: bool = False) -> dict[str, Any]:
        """Change a record as a coordinator in the UI would (a kansactie goes through the status engine)."""
        values = _from_json(change)
        with self.write_lock:
            self.db.acting_user = 1
            if raw:
                self.db.raw_update(table, row_id, values)
            elif table == "quotation_requests":
                apply_kansactie_write(self.db, self.lookups, row_id, values)
            else:
                if table not in REVISIONABLE:
                    raise KeyError(table)
                self.db.update(table, row_id, values)
            return plain_row(self.db.tables[table][row_id])

    def coordinators_edit(self, fraction: float, seed: int) -> dict[str, int]:
        rng = random.Random(seed)
        db, lk = self.db, self.lookups
        residents = [c for c in db.where("contacts", type_id="person") if not c.get("inspection_person_type_id")]
        chosen = rng.sample(residents, max(1, int(len(residents) * fraction)))
        intakes_by_contact: dict[int, list[dict[str, Any]]] = {}
        for i in db.tables["intakes"].values():
            if i.get("deleted_at") is None:
                intakes_by_contact.setdefault(i["contact_id"], []).append(i)
        opportunities_by_intake: dict[int, list[dict[str, Any]]] = {}
        for o in db.tables["opportunities"].values():
            if o.get("deleted_at") is None:
                opportunities_by_intake.setdefault(o["intake_id"], []).append(o)
        statuses = [r["id"] for r in lk.tables["intakeStatuses"]]
        visit = lk.action_id("visit")
        done = {"contacts": 0, "intakes": 0, "quotation_requests": 0}
        with self.write_lock:
            self.db.acting_user = 1
            for c in chosen:
                first = rng.choice(["Anna", "Bas", "Cor", "Dewi", "Eef"])
                self.db.update(
                    "contacts",
                    c["id"],
                    {
                        "first_name": first,
                        "full_name": person_full_name(first, c.get("last_name_prefix"), c.get("last_name")),
                    },
                )
                done["contacts"] += 1
                for intake in intakes_by_contact.get(c["id"], [])[:1]:
                    self.db.update("intakes", intake["id"], {"intake_status_id": rng.choice(statuses)})
                    done["intakes"] += 1
                    for opp in opportunities_by_intake.get(intake["id"], [])[:1]:
                        for q in db.kansacties_of(opp["id"]):
                            if q["opportunity_action_id"] == visit and not q.get("date_planned"):
                                when = self.clock.now() + timedelta(days=rng.randint(1, 20))
                                apply_kansactie_write(db, lk, q["id"], {"date_planned": when})
                                done["quotation_requests"] += 1
                                break
        return done

    def expected(self) -> dict[str, list[int]]:
        """Ids of every live record per table (what a complete pull must end with)."""
        return {
            table: [i for i, row in self.db.tables[table].items() if row.get("deleted_at") is None]
            for table in (
                "contacts",
                "intakes",
                "opportunities",
                "quotation_requests",
                "housing_files",
                "campaigns",
            )
        }


def plain_row(row: dict[str, Any]) -> dict[str, Any]:
    """A row for the admin API's JSON: dates and datetimes as ISO strings ("YYYY-MM-DD[ HH:MM:SS]")."""
    return {
        k: (v.isoformat(sep=" ") if isinstance(v, datetime) else v.isoformat() if isinstance(v, date) else v)
        for k, v in row.items()
    }


DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}( \d{2}:\d{2}(:\d{2})?)?$")


def _from_json(change: dict[str, Any]) -> dict[str, Any]:
    """Admin-API values: "YYYY-MM-DD[ HH:MM[:SS]]" strings in date columns become dates/datetimes."""
    out: dict[str, Any] = {}
    for key, value in change.items():
        if isinstance(value, str) and DATE_RE.match(value) and (key.startswith("date") or key.endswith("_at")):
            out[key] = datetime.fromisoformat(value) if " " in value else date.fromisoformat(value)
        else:
            out[key] = value
    return out
