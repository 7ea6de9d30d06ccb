"""Pushes into Econobis through the outbox: sign-ups as webform calls, follow-up kansacties and kansactie
updates as SPA calls — none of them sent twice, whatever the network does.

Why each is safe to retry:
- **Sign-up** (`webform-signup`): sent with `intake_id_extern` = the hub's stable intake key, so a repeat reuses
  the intake — but Econobis creates the kansen (and a task) AGAIN on a repeat (contracts/econobis.md §4.5). So
  after any answer that leaves the outcome unknown (a timeout after the request went out, a plain Laravel 500
  after commit, a dropped connection) the item is marked `uncertain`, and the next attempt first LOOKS in the
  intake grid for the intake the lost call may have created; only when it is not there is the call repeated.
- **Follow-up kansactie** (`kansactie-create`): its description carries `[hub:<key>]`; before every send the
  kans' detail is read, and a kansactie of that type with that marker means it was already created.
- **Kansactie update** (`kansactie-update`): read-modify-write of the full SPA body; the same body twice gives
  the same state, so the call is idempotent.

A 4xx that will not heal (a bad campaign, an unknown coach, a validation error) goes to quarantine with
Econobis' own log lines as the reason (API key redacted); the per-webform limit (422 "Maximum aantal
aanroepen") and 429s are retried later instead."""

from __future__ import annotations

import json
import logging
import re
import time
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from pydantic import BaseModel, Field

from connectors.econobis.client import EconobisClient
from connectors.econobis.mapping import INTAKE_STATUS_NAMES, SOURCE, parse_street_and_number
from hub.http import (
    OutcomeUnknown,
    PartnerError,
    PartnerNotFound,
    PartnerRateLimited,
    PartnerRejected,
    PartnerServerError,
    PartnerUnavailable,
)
from hub.logs import log_event
from hub.reports import RunReport
from hub.store import OutboxRow, Store, utcnow

log = logging.getLogger("connectors.econobis.push")
PARTNER = "econobis"
ROLLED_BACK = "Gehele API aanroep is ongedaan gemaakt!"
RATE_LIMITED = "Maximum aantal aanroepen per minuut is bereikt."
MAX_ATTEMPTS = 12
_INTAKE_ID = re.compile(r"^Intake met id (\d+) (aangemaakt|gevonden bij intake_id_extern)")
_CONTACT_ID = re.compile(r"^(?:Actie bij contact: (\d+)|Contact .* \((\d+)\) aangemaakt\.)$")
_KANS_ID = re.compile(r"^Kans met id (\d+) aangemaakt")


class SignUp(BaseModel):
    """A resident's sign-up for a campaign, as the hub received it (any web form, any channel)."""

    key: str = Field(min_length=4, max_length=64, pattern=r"^[A-Za-z0-9._:-]+$")
    first_name: str | None = None
    last_name_prefix: str | None = None
    last_name: str | None = None
    organisation_name: str | None = None
    email: str | None = None
    phone: str | None = None
    street: str | None = None
    number: str
    addition: str | None = None
    postcode: str
    city: str | None = None
    campaign_id: int  # the tenant's Econobis campaign id
    measures: list[str] = Field(default_factory=list)  # measure names, resolved per instance
    sources: list[str] = Field(default_factory=list)  # intake source names
    consent: bool = False
    note: str | None = None
    # a visit kansactie with this coach (an Econobis contact id that is a coach of the campaign)
    visit_coach_id: int | None = None


class KansactieCreate(BaseModel):
    """A follow-up kansactie on an existing kans (e.g. "call the resident" for a stalled dossier)."""

    key: str = Field(min_length=4, max_length=64)
    opportunity_id: int  # Econobis kans id
    action: str  # opportunity action code_ref: visit, quotation-request, subsidy-request, redirection
    status: str = "default"
    coach_id: int | None = None
    text: str = ""


class MakeHoomdossier(BaseModel):
    """Register a resident in Hoomdossier through Econobis' own `make-hoomdossier` (contracts/econobis.md §2.1),
    so Econobis stores the account id its Hoomdossier endpoints check. Pointed at the hub's register proxy,
    the register call behind it is idempotent too."""

    contact_id: int


class KansactieUpdate(BaseModel):
    key: str = Field(min_length=4, max_length=64)
    quotation_request_id: int
    status: str | None = None  # code_ref within the action type
    date_planned: str | None = None  # "YYYY-MM-DD HH:MM"
    date_recorded: str | None = None
    coach_id: int | None = None


def enqueue_signup(store: Store, tenant: str, signup: SignUp) -> int:
    """Queue a sign-up once (the key is the idempotency key); returns the outbox id."""
    with store.begin() as conn:
        item = store.outbox_enqueue(
            conn, tenant, PARTNER, "webform-signup", f"econobis:webform:{signup.key}", signup.model_dump()
        )
    return item.id


def enqueue_make_hoomdossier(store: Store, conn: Any, tenant: str, contact_id: int) -> bool:
    """Queue a registration in the caller's transaction (once per contact); True when newly queued."""
    item = store.outbox_enqueue(
        conn,
        tenant,
        PARTNER,
        "make-hoomdossier",
        f"econobis:make-hoomdossier:{tenant}:{contact_id}",
        MakeHoomdossier(contact_id=contact_id).model_dump(),
    )
    return item.created


def enqueue_kansactie(store: Store, tenant: str, request: KansactieCreate | KansactieUpdate) -> int:
    op = "kansactie-create" if isinstance(request, KansactieCreate) else "kansactie-update"
    with store.begin() as conn:
        item = store.outbox_enqueue(conn, tenant, PARTNER, op, f"econobis:{op}:{request.key}", request.model_dump())
    return item.id


@dataclass
class PushReport(RunReport):
    tenant: str
    claimed: int = 0
    sent: int = 0
    found_by_lookup: int = 0
    retry_later: int = 0
    uncertain: int = 0
    quarantined: int = 0
    lookups: int = 0
    seconds: float = 0.0
    by_operation: dict[str, int] = field(default_factory=dict)
    calls: dict[str, Any] = field(default_factory=dict)


class _Retry(Exception):
    """Try again later: after `delay` seconds exactly (the partner said so) or backing off from it."""

    def __init__(
        self, reason: str, delay: float, uncertain: bool = False, exact: bool = False, count: bool = True
    ) -> None:
        super().__init__(reason)
        self.delay = delay
        self.uncertain = uncertain
        self.exact = exact
        self.count = count  # False: waiting for a condition (consent), not a failed attempt


class _Quarantine(Exception):
    def __init__(self, reason: str, detail: Any = None) -> None:
        super().__init__(reason)
        self.detail = detail


class EconobisPush:
    """Send one tenant's due outbox items to its Econobis."""

    def __init__(
        self, store: Store, client: EconobisClient, tenant: str, webform_key: str, *, backoff: float = 30.0
    ) -> None:
        self.store = store
        self.client = client
        self.tenant = tenant
        self.webform_key = webform_key
        self.backoff = backoff
        self.report = PushReport(tenant)
        self._data: dict[str, Any] | None = None
        client.http.add_secret(webform_key)

    # --- entry --------------------------------------------------------------------------------------------

    def run(self, limit: int = 1000) -> PushReport:
        started = time.monotonic()
        items = self.store.outbox_claim(self.tenant, PARTNER, limit=limit)
        self.report.claimed = len(items)
        for item in items:
            self._one(item)
        self.report.seconds = time.monotonic() - started
        self.report.calls = self.client.http.stats.as_dict()
        log_event(
            log,
            "econobis push finished",
            tenant=self.tenant,
            partner=PARTNER,
            sent=self.report.sent,
            found_by_lookup=self.report.found_by_lookup,
            retry_later=self.report.retry_later,
            quarantined=self.report.quarantined,
        )
        return self.report

    def _one(self, item: OutboxRow) -> None:
        op = item["operation"]
        self.report.by_operation[op] = self.report.by_operation.get(op, 0) + 1
        attempts = int(item["attempts"]) + 1
        handler = {
            "webform-signup": self._signup,
            "kansactie-create": self._kansactie_create,
            "kansactie-update": self._kansactie_update,
            "make-hoomdossier": self._make_hoomdossier,
        }[op]
        try:
            result = handler(item)
        except _Quarantine as exc:
            self._park(item, attempts, str(exc), exc.detail)
            return
        except _Retry as exc:
            if not exc.count:
                attempts -= 1
            if attempts >= MAX_ATTEMPTS:
                self._park(item, attempts, f"gave up after {attempts} attempts: {exc}", None)
                return
            # once a call may have landed, every later attempt starts with a lookup
            status = "uncertain" if exc.uncertain or item["status"] == "uncertain" else "retry"
            delay = exc.delay if exc.exact else exc.delay * 2 ** min(attempts - 1, 5)
            with self.store.begin() as conn:
                self.store.outbox_update(
                    conn,
                    item["id"],
                    status=status,
                    attempts=attempts,
                    next_attempt_at=utcnow() + timedelta(seconds=delay),
                    last_error=self.client.http.redactor.text(str(exc))[:2000],
                )
            self.report.retry_later += 1
            if status == "uncertain":
                self.report.uncertain += 1
            return
        with self.store.begin() as conn:
            self.store.outbox_update(
                conn, item["id"], status="sent", attempts=attempts, sent_at=utcnow(), result=result, last_error=None
            )
            self._link(conn, item, result)
        self.report.sent += 1

    def _park(self, item: OutboxRow, attempts: int, reason: str, detail: Any) -> None:
        with self.store.begin() as conn:
            self.store.outbox_park(conn, item, attempts, self.client.http.redactor.text(reason), detail)
        self.report.quarantined += 1

    def _link(self, conn: Any, item: OutboxRow, result: dict[str, Any]) -> None:
        """Tie Econobis' ids to the hub's: the later pull then merges into the same canonical records."""
        if item["operation"] != "webform-signup":
            return
        key = item["payload"]["key"]
        intake_id = self.store.resolve_ids(conn, "hub", self.tenant, "signup", [key])[key]
        if result.get("intake_id"):
            self.store.link_ids(conn, SOURCE, self.tenant, "intake", {str(result["intake_id"]): intake_id})

    # --- failures → retry / uncertain / quarantine ----------------------------------------------------------

    def _classify(self, exc: PartnerError, outcome_unknown_possible: bool) -> Exception:
        if isinstance(exc, OutcomeUnknown):
            return _Retry(str(exc), delay=self.backoff / 10, uncertain=True)
        if isinstance(exc, PartnerRateLimited):
            return _Retry(str(exc), delay=exc.retry_after or self.backoff, exact=exc.retry_after is not None)
        if isinstance(exc, PartnerUnavailable):
            return _Retry(str(exc), delay=self.backoff)
        logs = _log_lines(exc.body)
        if isinstance(exc, PartnerServerError):
            if logs and ROLLED_BACK in logs:
                return _Retry(f"Econobis rolled back: {' | '.join(logs[-4:])}", delay=self.backoff)
            # a plain Laravel 500 (or a 5xx without Econobis' log): the data may be committed
            return _Retry(str(exc), delay=self.backoff / 10, uncertain=outcome_unknown_possible)
        if isinstance(exc, PartnerRejected | PartnerNotFound):
            if logs and any(RATE_LIMITED in line for line in logs):
                return _Retry("per-webform limit reached", delay=60.0, exact=True)
            reason = " | ".join(line for line in logs if line.startswith("Fout opgetreden")) or str(exc)
            return _Quarantine(f"Econobis refused ({exc.status}): {reason}", logs or exc.body)
        return _Quarantine(f"Econobis refused ({exc.status}): {exc}", exc.body)

    def _detail(self, entity: str, record_id: int, label: str) -> dict[str, Any]:
        """A record's detail, read before a write: gone → quarantine, other failures → retry later."""
        try:
            return self.client.detail(entity, record_id)
        except PartnerNotFound:
            raise _Quarantine(f"{label} {record_id} does not exist (any more) in Econobis") from None
        except PartnerError as exc:
            raise self._classify(exc, outcome_unknown_possible=False) from None

    # --- sign-ups -----------------------------------------------------------------------------------------

    def _system_data(self) -> dict[str, Any]:
        """/api/system-data, read once per run (ids differ per instance; names and code_refs are stable)."""
        if self._data is None:
            try:
                self._data = self.client.system_data()
            except PartnerError as exc:
                raise self._classify(exc, outcome_unknown_possible=False) from None
        return self._data

    def _system_ids(self) -> dict[str, dict[str, int]]:
        """Per-instance ids by name for the lookups a sign-up names."""
        data = self._system_data()
        return {
            table: {str(r["name"]): int(r["id"]) for r in data.get(table, []) if "name" in r and "id" in r}
            for table in ("measures", "intakeSources", "intakeStatuses")
        }

    def _qr_status_id(self, action_id: Any, code: str) -> int | None:
        """The instance's id of kansactie status `code` (code_refs are only unique per action type)."""
        return next(
            (
                int(r["id"])
                for r in self._system_data().get("quotationRequestStatus", [])
                if r.get("opportunityActionId") == action_id and r.get("codeRef") == code
            ),
            None,
        )

    def _webform_fields(self, s: SignUp) -> dict[str, Any]:
        ids = self._system_ids()
        open_names = [n for n, code in INTAKE_STATUS_NAMES.items() if code == "open"]
        status_id = next((ids["intakeStatuses"][n] for n in open_names if n in ids["intakeStatuses"]), None)
        if status_id is None:
            raise _Quarantine("no intake status 'open' in this Econobis' system-data")
        unknown = [m for m in s.measures if m not in ids["measures"]]
        if unknown:
            raise _Quarantine(f"measure(s) not known in this Econobis: {', '.join(unknown)}")
        fields: dict[str, Any] = {
            "voornaam": s.first_name or "",
            "tussenvoegsel": s.last_name_prefix or "",
            "achternaam": s.last_name or "",
            "organisatienaam": s.organisation_name or "",
            "emailadres": s.email or "",
            "telefoonnummer": s.phone or "",
            "adres_straat": s.street or "",
            "adres_huisnummer": s.number,
            "adres_toevoeging": s.addition or "",
            "adres_postcode": s.postcode,
            "adres_plaats": s.city or "",
            "akkoord_privacybeleid": "1" if s.consent else "0",
            "intake_campagne_id": str(s.campaign_id),
            "intake_status_id": str(status_id),
            "intake_id_extern": s.key,
            "intake_maatregel_ids": ",".join(str(ids["measures"][m]) for m in s.measures),
            "intake_aanmeldingsbron_ids": ",".join(
                str(ids["intakeSources"][x]) for x in s.sources if x in ids["intakeSources"]
            ),
            "contact_opmerkingen": s.note or "",
        }
        if s.visit_coach_id is not None:
            fields["kansactie_aanmaken"] = "visit"
            fields["kansactie_org_of_coach"] = str(s.visit_coach_id)
        return fields

    def _signup(self, item: OutboxRow) -> dict[str, Any]:
        s = SignUp.model_validate(item["payload"])
        if item["status"] == "uncertain":
            found = self._lookup_intake(s)
            if found is not None:
                self.report.found_by_lookup += 1
                return {"intake_id": found, "via": "lookup"}
        fields = self._webform_fields(s)
        try:
            logs = self.client.webform(self.webform_key, fields)
        except PartnerError as exc:
            raise self._classify(exc, outcome_unknown_possible=True) from None
        return _parse_success(logs)

    def _lookup_intake(self, s: SignUp) -> int | None:
        """Did a lost webform call commit? The intake grid has no external-code filter, so look for an intake
        in the campaign for this name at this address that the hub does not know under another key, and
        confirm through its detail that it carries the kansen the sign-up asked for."""
        self.report.lookups += 1
        needle = s.last_name or s.organisation_name or ""
        filters: list[dict[str, Any]] = [
            {"field": "campaign", "data": s.campaign_id},
            {"field": "fullName", "data": needle},
        ]
        wanted = re.match(r"\d+", s.number)
        page = self.client.grid_page(
            "intake", limit=50, filters=filters, sorts=[{"field": "createdAt", "order": "desc"}]
        )  # the newest 50 are enough: a lost call is recent
        candidates: list[int] = []
        for row in page.rows:
            _street, number, _addition = parse_street_and_number(str(row.get("fullAddress") or ""))
            if wanted is None or number == wanted.group():
                candidates.append(int(row["id"]))
        if not candidates:
            return None
        with self.store.begin() as conn:
            known = self.store.lookup_ids(conn, SOURCE, self.tenant, "intake", [str(c) for c in candidates])
            mine = self.store.resolve_ids(conn, "hub", self.tenant, "signup", [s.key])[s.key]
        for cid in candidates:
            if str(cid) in known and known[str(cid)] != mine:
                continue  # another sign-up's (or a pulled) intake
            try:
                detail = self.client.detail("intake", cid)
            except PartnerNotFound:
                continue
            names = {m.get("name") for o in detail.get("opportunities", []) for m in o.get("measures", [])}
            if set(s.measures) <= names:
                return cid
        return None

    # --- kansacties ---------------------------------------------------------------------------------------

    def _kansactie_create(self, item: OutboxRow) -> dict[str, Any]:
        k = KansactieCreate.model_validate(item["payload"])
        marker = f"[hub:{k.key}]"
        opp = self._detail("opportunity", k.opportunity_id, "kans")
        for q in opp.get("quotationRequests", []):
            if (
                marker in str(q.get("quotationText") or "")
                and (q.get("opportunityAction") or {}).get("codeRef") == k.action
            ):
                self.report.found_by_lookup += 1
                return {"quotation_request_id": q["id"], "via": "lookup"}
        actions = {a["codeRef"]: a["id"] for a in self._system_data().get("opportunityActions", [])}
        if k.action not in actions:
            raise _Quarantine(f"unknown kansactie type {k.action!r}")
        status = self._qr_status_id(actions[k.action], k.status)
        if status is None:
            raise _Quarantine(f"unknown status {k.status!r} for kansactie type {k.action!r}")
        body = _spa_body(k.opportunity_id, status, actions[k.action], k.coach_id, f"{k.text} {marker}".strip())
        try:
            created = self.client.create_quotation_request(body)
        except PartnerError as exc:
            raise self._classify(exc, outcome_unknown_possible=True) from None
        return {"quotation_request_id": created.get("id")}

    def _kansactie_update(self, item: OutboxRow) -> dict[str, Any]:
        u = KansactieUpdate.model_validate(item["payload"])
        current = self._detail("quotation-request", u.quotation_request_id, "kansactie")
        action_id = (current.get("opportunityAction") or {}).get("id")
        status_id = (current.get("status") or {}).get("id")
        if u.status is not None:
            status_id = self._qr_status_id(action_id, u.status)
            if status_id is None:
                raise _Quarantine(f"unknown status {u.status!r} for this kansactie type")
        body = _spa_body(
            (current.get("opportunity") or {}).get("id"),
            status_id,
            action_id,
            u.coach_id if u.coach_id is not None else current.get("organisationOrCoachId"),
            current.get("quotationText"),
        )
        # keep what is there; change only what was asked
        for key, (date_key, time_key) in {
            "datePlanned": ("date_planned", "timePlanned"),
            "dateRecorded": ("date_recorded", "timeRecorded"),
        }.items():
            value = getattr(u, date_key) or current.get(key)
            if value:
                body[key], body[time_key] = str(value)[:10], str(value)[11:16] or "08:00"
        body["dateReleased"] = (current.get("dateReleased") or "")[:10]
        if body["dateReleased"]:
            body["timeReleased"] = current["dateReleased"][11:16]
        for key in (
            "datePlannedAttempt1",
            "datePlannedAttempt2",
            "datePlannedAttempt3",
            "dateApprovedClient",
            "dateApprovedProjectManager",
            "dateApprovedExternal",
            "dateUnderReview",
            "dateExecuted",
            "dateUnderReviewDetermination",
            "dateApprovedDetermination",
        ):
            body[key] = current.get(key) or ""
        for key in (
            "notApprovedClient",
            "notApprovedProjectManager",
            "notApprovedExternal",
            "notApprovedDetermination",
        ):
            body[key] = bool(current.get(key))
        try:
            updated = self.client.update_quotation_request(u.quotation_request_id, body)
        except PartnerError as exc:
            raise self._classify(exc, outcome_unknown_possible=False) from None
        return {"quotation_request_id": updated.get("id"), "status": (updated.get("status") or {}).get("codeRef")}

    # --- Hoomdossier registration -------------------------------------------------------------------------

    def _make_hoomdossier(self, item: OutboxRow) -> dict[str, Any]:
        """Look first (the contact's `hoomAccountId`), then ask Econobis to register; a repeat after a lost
        answer is harmless: Econobis refuses a contact that has an account, and the hub's register proxy
        answers a register it has seen with the stored ids."""
        m = MakeHoomdossier.model_validate(item["payload"])
        contact = self._detail("contact", m.contact_id, "contact")
        if contact.get("hoomAccountId"):
            self.report.found_by_lookup += 1
            return {"account_id": contact["hoomAccountId"], "via": "lookup"}
        if not contact.get("didAgreeAvg"):
            raise _Retry("waiting for the resident's consent (akkoord privacybeleid)", 86400.0, exact=True, count=False)
        try:
            answer = self.client.make_hoomdossier(m.contact_id)
        except PartnerError as exc:
            err = self._classify(exc, outcome_unknown_possible=True)
            if isinstance(err, _Quarantine) and exc.body:
                err = _Quarantine(f"Econobis/Hoomdossier refused ({exc.status}): {exc.body[:1000]}", exc.body)
            raise err from None
        return {"account_id": answer}


def _spa_body(opportunity_id: Any, status_id: Any, action_id: Any, coach_id: Any, text: Any) -> dict[str, Any]:
    """The body the SPA sends: every key the controller reads without isset() is present."""
    return {
        "opportunityId": opportunity_id,
        "statusId": status_id,
        "opportunityActionId": action_id,
        "organisationOrCoachId": coach_id,
        "projectManagerId": None,
        "externalPartyId": None,
        "quotationText": text or "",
        "dateRecorded": "",
        "dateReleased": "",
        "datePlanned": "",
        "dateApprovedClient": "",
        "dateApprovedProjectManager": "",
        "dateApprovedExternal": "",
    }


def _log_lines(body: str | None) -> list[str]:
    try:
        value = json.loads(body or "")
    except ValueError:
        return []
    return [str(v) for v in value] if isinstance(value, list) else []


def _parse_success(logs: list[str]) -> dict[str, Any]:
    result: dict[str, Any] = {"intake_id": None, "contact_id": None, "opportunity_ids": []}
    for line in logs:
        if m := _INTAKE_ID.match(line):
            result["intake_id"] = int(m.group(1))
        elif m := _CONTACT_ID.match(line):
            result["contact_id"] = int(m.group(1) or m.group(2))
        elif m := _KANS_ID.match(line):
            result["opportunity_ids"].append(int(m.group(1)))
    if result["intake_id"] is None:
        raise _Quarantine("Econobis accepted the sign-up but created no intake (no address or campaign?)", logs)
    return result
