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
- **Registration** (`make-hoomdossier`): shares the resident's data with Hoomdossier, so the worker checks
  the resident's consent first (consent.py: Econobis' privacy agreement). When the hub has no statement yet
  it reads the contact and records what Econobis holds; without consent the item is withheld (not an
  attempt) until consent is recorded, and looks at the contact again after a day (CONSENT_WAIT_SECONDS).

The worker (hub/worker.py) decides retries, waits and quarantine by its one retry table; this module supplies
the sends, and connectors/econobis/errors.py says what each Econobis answer means. A 4xx that will not heal
(a bad campaign, an unknown coach, a validation error) goes to quarantine with Econobis' own log lines as the
reason (API key redacted); the per-webform limit (422 "Maximum aantal aanroepen") and 429s wait instead."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection

from connectors.econobis.client import EconobisClient
from connectors.econobis.commands import (
    KANSACTIE_CREATE,
    KANSACTIE_UPDATE,
    MAKE_HOOMDOSSIER,
    SIGNUP,
    KansactieCreate,
    KansactieUpdate,
    MakeHoomdossier,
    SignUp,
    enqueue_kansactie,
    enqueue_make_hoomdossier,
    enqueue_signup,
)
from connectors.econobis.consent import CONSENT, contact_resident, record_privacy_agreement
from connectors.econobis.erase import ERASE, EraseRequest, task_fields
from connectors.econobis.errors import classify, parse_webform_success
from connectors.econobis.mapping import SOURCE, parse_street_and_number, webform_fields
from connectors.econobis.settings import CONSENT_WAIT_SECONDS, LOOKUP_PAGE, PARTNER, PUSH_BATCH
from hub.http import PartnerError, PartnerNotFound
from hub.store import OutboxRow, Store, as_utc, utcnow
from hub.worker import (
    RETRY,
    Decision,
    Failure,
    OutboxWorker,
    Park,
    Quarantine,
    Retry,
    RetryLater,
    Sent,
    Withhold,
    WorkReport,
)

__all__ = [
    "PARTNER",
    "EconobisPush",
    "KansactieCreate",
    "KansactieUpdate",
    "MakeHoomdossier",
    "SignUp",
    "enqueue_kansactie",
    "enqueue_make_hoomdossier",
    "enqueue_signup",
]


class EconobisPush:
    """Send one tenant's due outbox items to its Econobis: the hub's outbox worker with Econobis' sends."""

    def __init__(
        self, store: Store, client: EconobisClient, tenant: str, webform_key: str, *, backoff: float | None = None
    ) -> None:
        self.store = store
        self.client = client
        self.tenant = tenant
        self.webform_key = webform_key
        self._data: dict[str, Any] | None = None
        client.http.add_secret(webform_key)
        self.worker = OutboxWorker(
            store,
            tenant,
            PARTNER,
            self._send,
            redact=client.http.redactor.text,
            schedule=RETRY.scaled(backoff),
            on_sent=self._link,
            consent=CONSENT,
            consent_ask=self._ask_consent,
        )
        self.report = self.worker.report
        self.lookups = 0
        # contact details read for the consent check, reused by the send that follows in the same run
        self._contacts: dict[int, dict[str, Any]] = {}
        self.handlers: dict[str, Callable[[OutboxRow], Sent | Withhold]] = {
            SIGNUP: self._signup,
            KANSACTIE_CREATE: self._kansactie_create,
            KANSACTIE_UPDATE: self._kansactie_update,
            MAKE_HOOMDOSSIER: self._make_hoomdossier,
            ERASE: self._erase_request,
        }

    def run(self, limit: int = PUSH_BATCH) -> WorkReport:
        self._look_again_at_withheld()
        return self.worker.run(limit, calls=self.client.http.stats.as_dict)

    def _send(self, item: OutboxRow) -> Decision:
        return self.handlers[str(item["operation"])](item)

    def _link(self, conn: Connection, item: OutboxRow, result: Any) -> None:
        """Tie Econobis' ids to the hub's: the later pull then merges into the same canonical records. A
        sign-up's `akkoord_privacybeleid` is what Econobis now holds for the contact: recorded as consent,
        `undated` (a sign-up may have been collected days before it was sent, `hub signup` from a file, a
        sign-up waiting while Econobis was down), so it does not lift a withdrawal it may predate, even though
        it changes the flag the hub saw before (the hub's own send changed it). The pull that then reads the
        flag meets a repeat of this statement."""
        if item["operation"] != SIGNUP:
            return
        key = item["payload"]["key"]
        intake_id = self.store.resolve_ids(conn, "hub", self.tenant, "signup", [key])[key]
        if result.get("intake_id"):
            self.store.link_ids(conn, SOURCE, self.tenant, "intake", {str(result["intake_id"]): intake_id})
        if result.get("contact_id"):
            contact = str(result["contact_id"])
            resident = self.store.resolve_ids(conn, SOURCE, self.tenant, "contact", [contact])[contact]
            consent = bool(item["payload"].get("consent"))
            record_privacy_agreement(
                self.store, conn, self.tenant, resident, consent, f"webform-signup:{key}", undated=True
            )

    # --- consent (consent.py) -------------------------------------------------------------------------------

    def _ask_consent(self, item: OutboxRow) -> None:
        """No statement yet: read the contact and record the privacy agreement Econobis holds."""
        if item["operation"] != MAKE_HOOMDOSSIER:
            return
        contact_id = int(item["payload"]["contact_id"])
        contact = self._detail("contact", contact_id, "contact")
        self._contacts[contact_id] = contact
        self._record_agreement(contact_id, contact)

    def _record_agreement(self, contact_id: int, contact: dict[str, Any]) -> None:
        with self.store.begin() as conn:
            resident = contact_resident(self.store, conn, self.tenant, contact_id)
            if resident is not None:
                agreed = bool(contact.get("didAgreeAvg"))
                record_privacy_agreement(self.store, conn, self.tenant, resident, agreed, f"contact:{contact_id}")

    def _look_again_at_withheld(self) -> None:
        """Registrations withheld for a day look at the contact again: a change of the privacy agreement that
        Econobis keeps no revision of (so the pull does not see it) is seen at the latest then. Looking releases
        nothing by itself: only a new statement that leaves consent granted makes an item due again
        (hub.consent.record). An unchanged agreement is a repeat, and a grant the hub cannot date after the
        withdrawal in force (the agreement read for the first time after a coordinator's withdrawal) does not
        lift it, so the item stays withheld."""
        cutoff = utcnow().timestamp() - CONSENT_WAIT_SECONDS
        with self.store.begin() as conn:
            items = [
                i
                for i in self.store.outbox_withheld(conn, self.tenant, PARTNER)
                if i["operation"] == MAKE_HOOMDOSSIER and as_utc(i["updated_at"]).timestamp() <= cutoff
            ]
        for item in items:
            try:
                self._ask_consent(item)
            except (Quarantine, RetryLater):
                continue  # Econobis did not answer: the next run looks again
            with self.store.begin() as conn:
                self.store.outbox_update(conn, item["tenant"], item["id"])  # looked at now

    def _detail(self, entity: str, record_id: int, label: str) -> dict[str, Any]:
        """A record's detail, read before a write: gone → quarantine, other failures → retry later."""
        try:
            return self.client.detail(entity, record_id)
        except PartnerNotFound:
            raise Quarantine(f"{label} {record_id} does not exist (any more) in Econobis") from None
        except PartnerError as exc:
            raise _failed(exc, may_have_landed=False) from None

    # --- sign-ups -----------------------------------------------------------------------------------------

    def _system_data(self) -> dict[str, Any]:
        """/api/system-data, read once per run (ids differ per instance; names and code_refs are stable)."""
        if self._data is None:
            try:
                self._data = self.client.system_data()
            except PartnerError as exc:
                raise _failed(exc, may_have_landed=False) from None
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

    def _signup(self, item: OutboxRow) -> Sent:
        s = SignUp.model_validate(item["payload"])
        if item["status"] == "uncertain":
            found = self._lookup_intake(s)
            if found is not None:
                return Sent({"intake_id": found, "via": "lookup"}, found_by_lookup=True)
        try:
            fields = webform_fields(s, self._system_ids())
        except ValueError as exc:
            raise Quarantine(str(exc)) from None
        try:
            logs = self.client.webform(self.webform_key, fields)
        except PartnerError as exc:
            raise _failed(exc, may_have_landed=True) from None
        return Sent(parse_webform_success(logs))

    def _lookup_intake(self, s: SignUp) -> int | None:
        """Did a lost webform call commit? The intake grid has no external-code filter, so look for an intake
        in the campaign for this name at this address that the hub does not know under another key, and
        confirm through its detail that it carries the kansen the sign-up asked for."""
        self.lookups += 1
        needle = s.last_name or s.organisation_name or ""
        filters: list[dict[str, Any]] = [
            {"field": "campaign", "data": s.campaign_id},
            {"field": "fullName", "data": needle},
        ]
        wanted = re.match(r"\d+", s.number)
        page = self.client.grid_page(
            "intake", limit=LOOKUP_PAGE, filters=filters, sorts=[{"field": "createdAt", "order": "desc"}]
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

    def _kansactie_create(self, item: OutboxRow) -> Sent:
        k = KansactieCreate.model_validate(item["payload"])
        marker = f"[hub:{k.key}]"
        opp = self._detail("opportunity", k.opportunity_id, "kans")
        for q in opp.get("quotationRequests", []):
            if (
                marker in str(q.get("quotationText") or "")
                and (q.get("opportunityAction") or {}).get("codeRef") == k.action
            ):
                return Sent({"quotation_request_id": q["id"], "via": "lookup"}, found_by_lookup=True)
        actions = {a["codeRef"]: a["id"] for a in self._system_data().get("opportunityActions", [])}
        if k.action not in actions:
            raise Quarantine(f"unknown kansactie type {k.action!r}")
        status = self._qr_status_id(actions[k.action], k.status)
        if status is None:
            raise Quarantine(f"unknown status {k.status!r} for kansactie type {k.action!r}")
        body = _spa_body(k.opportunity_id, status, actions[k.action], k.coach_id, f"{k.text} {marker}".strip())
        try:
            created = self.client.create_quotation_request(body)
        except PartnerError as exc:
            raise _failed(exc, may_have_landed=True) from None
        return Sent({"quotation_request_id": created.get("id")})

    def _kansactie_update(self, item: OutboxRow) -> Sent:
        u = KansactieUpdate.model_validate(item["payload"])
        qid = u.quotation_request_id if u.quotation_request_id is not None else self._by_marker(u)
        current = self._detail("quotation-request", qid, "kansactie")
        action_id = (current.get("opportunityAction") or {}).get("id")
        status_id = (current.get("status") or {}).get("id")
        if u.status is not None:
            status_id = self._qr_status_id(action_id, u.status)
            if status_id is None:
                raise Quarantine(f"unknown status {u.status!r} for this kansactie type")
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
        # a premium decision carried into a Budgetaanvraag: only what was asked changes
        for key, value in (
            ("dateUnderReview", u.date_under_review),
            ("dateApprovedExternal", u.date_approved_external),
            ("dateApprovedDetermination", u.date_approved_determination),
        ):
            if value is not None:
                body[key] = value
        for key, flag in (
            ("notApprovedExternal", u.not_approved_external),
            ("notApprovedDetermination", u.not_approved_determination),
        ):
            if flag is not None:
                body[key] = flag
        for key in ("quotationAmount", "costAdjustment", "awardAmount"):
            if current.get(key) is not None:
                body[key] = str(current[key])
        if u.award_amount is not None:
            body["awardAmount"] = f"{u.award_amount:.2f}"
        try:
            updated = self.client.update_quotation_request(qid, body)
        except PartnerError as exc:
            raise _failed(exc, may_have_landed=False) from None
        return Sent({"quotation_request_id": updated.get("id"), "status": (updated.get("status") or {}).get("codeRef")})

    def _by_marker(self, u: KansactieUpdate) -> int:
        """The kansactie the hub created with this marker on the kans (read from the kans' detail); not there
        yet (its create is still to be sent) → retried later."""
        if u.opportunity_id is None or not u.marker:
            raise Quarantine("a kansactie update needs the kansactie's id, or its kans and the hub's marker")
        marker = f"[hub:{u.marker}]"
        for q in self._detail("opportunity", u.opportunity_id, "kans").get("quotationRequests", []):
            if marker in str(q.get("quotationText") or ""):
                return int(q["id"])
        raise RetryLater(Failure.NOT_YET, f"the kansactie {marker} is not in Econobis yet")

    # --- erasure -----------------------------------------------------------------------------------------

    def _erase_request(self, item: OutboxRow) -> Sent:
        """The coordinator's task for an erasure (connectors/econobis/erase.py). Tasks are never de-duplicated
        by Econobis: a repeat after an unknown outcome may leave a second task, which says the same."""
        req = EraseRequest.model_validate(item["payload"])
        try:
            logs = self.client.webform(self.webform_key, task_fields(req))
        except PartnerError as exc:
            raise _failed(exc, may_have_landed=True) from None
        if not any("Taak" in line for line in logs):
            raise Quarantine("Econobis accepted the erasure request but created no task", logs)
        return Sent({"task": True})

    # --- Hoomdossier registration -------------------------------------------------------------------------

    def _make_hoomdossier(self, item: OutboxRow) -> Sent | Withhold:
        """Look first (the contact's `hoomAccountId`), then ask Econobis to register; a repeat after a lost
        answer is harmless: Econobis refuses a contact that has an account, and the hub's register proxy
        answers a register it has seen with the stored ids. The worker checked consent before; a contact that
        no longer agrees now is recorded as withdrawn and the item withheld."""
        m = MakeHoomdossier.model_validate(item["payload"])
        contact = self._contacts.pop(m.contact_id, None) or self._detail("contact", m.contact_id, "contact")
        if contact.get("hoomAccountId"):
            return Sent({"account_id": contact["hoomAccountId"], "via": "lookup"}, found_by_lookup=True)
        if not contact.get("didAgreeAvg"):
            self._record_agreement(m.contact_id, contact)
            decision = self.worker.consent_gate(item)
            if isinstance(decision, Withhold):
                return decision
            raise RetryLater(
                Failure.WAITING, "waiting for the resident's consent (akkoord privacybeleid)", CONSENT_WAIT_SECONDS
            )
        try:
            answer = self.client.make_hoomdossier(m.contact_id)
        except PartnerError as exc:
            decision = classify(exc, may_have_landed=True)
            if isinstance(decision, Park) and exc.body:
                decision = Park(f"Econobis/Hoomdossier refused ({exc.status}): {exc.body[:1000]}", exc.body)
            raise _raise(decision) from None
        return Sent({"account_id": answer})


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


def _raise(decision: Decision) -> Exception:
    """A worker decision as the exception a send raises."""
    if isinstance(decision, Park):
        return Quarantine(decision.reason, decision.detail)
    if isinstance(decision, Retry):
        return RetryLater(decision.failure, decision.reason, decision.delay, decision.metric)
    raise AssertionError("a failed call cannot be sent")


def _failed(exc: PartnerError, *, may_have_landed: bool) -> Exception:
    return _raise(classify(exc, may_have_landed=may_have_landed))
