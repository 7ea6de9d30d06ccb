"""Submitting premium applications through the outbox: draft → documents → submit, one outbox item per
application (`premium-apply`), resumable at every step and never doubled, whatever the network does.

Why a repeat never makes a second application:
- the draft is created with `Idempotency-Key` = the item's key: within the portal's 24 hours a repeat gets the
  first answer back;
- after an attempt whose outcome is unknown (the item is `uncertain`), or after the portal forgot the key, the
  next attempt first LOOKS for the application by its `referentie` (the hub's key, in the draft) and resumes
  the one it finds;
- documents carry a key per document and the portal keeps one copy of the same content; the submit carries a
  key too, and an application found already submitted is not submitted again.

What a refusal means: a business-rule 422 the hub did not foresee parks the item in quarantine with the
portal's codes and puts the refusal on the coordinator's follow-up list (the canonical application shows
`refused` codes); 403 `MANDAAT_ONTBREKEND` records that the portal holds no mandate (the resident's consent to
apply is then withdrawn as far as the hub knows, until the desk records a new one) and the item waits;
403 `ENERGIELENING_LOOPT` parks it (while an energy loan runs the Energiehuis itself applies)."""

from __future__ import annotations

import logging
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from connectors.fluvius.client import PortalClient
from connectors.fluvius.consent import CONSENT
from connectors.fluvius.settings import (
    APPLICATION_CATEGORY,
    APPLY,
    FOLLOW_UP_MANDATE,
    FOLLOW_UP_REFUSAL,
    MORE_DOCUMENTS,
    PARTNER,
    PUSH_BATCH,
)
from connectors.fluvius.wire import codes, day, when
from hub.canonical import PremiumApplication
from hub.consent import Purpose, record
from hub.documents import document_content
from hub.followup import Task, raise_follow_ups
from hub.http import (
    OutcomeUnknown,
    PartnerAuthError,
    PartnerNotFound,
    PartnerRateLimited,
    PartnerRejected,
    PartnerServerError,
    PartnerUnavailable,
)
from hub.journey import recompute_dossiers
from hub.merge import Incoming, MergeStats, merge
from hub.store import OutboxRow, Store, utcnow
from hub.worker import RETRY, Decision, Failure, OutboxWorker, Park, Quarantine, Retry, Sent, WorkReport

log = logging.getLogger(__name__)
MANDATE_WAIT_SECONDS = 24 * 3600.0
# the portal's statuses at or past submission: found there, the application is not submitted again
SUBMITTED = frozenset(
    {
        "ingediend",
        "in_behandeling",
        "aanvulling_gevraagd",
        "goedgekeurd",
        "gedeeltelijk_goedgekeurd",
        "afgewezen",
        "uitbetaald",
        "beroep_ingediend",
        "herzien",
    }
)
EDITABLE = frozenset({"concept", "aanvulling_gevraagd"})


class UploadDoc(BaseModel):
    """A document to upload with the application: the canonical document and what the portal calls it."""

    model_config = ConfigDict(extra="forbid")

    document_id: str
    kind: str
    category: str | None = None
    filename: str = "document.pdf"
    media_type: str = "application/pdf"


class DocumentsItem(BaseModel):
    """The payload of a `premium-documents` item: the documents the portal asked for, for one application."""

    model_config = ConfigDict(extra="forbid")

    portal_id: str
    reference: str | None = None
    dossier_id: str | None = None
    resident_id: str | None = None
    documents: list[UploadDoc]
    applications: dict[str, str]


class ApplyItem(BaseModel):
    """The payload of a `premium-apply` item (connectors/fluvius/plan.py writes it)."""

    model_config = ConfigDict(extra="forbid")

    reference: str
    dossier_id: str
    intake_id: str | None = None
    resident_id: str | None = None
    body: dict[str, Any]
    documents: list[UploadDoc] = Field(default_factory=list)
    # portal category → the canonical premium application of it
    applications: dict[str, str]


def idempotency_header(key: str, step: str = "") -> str:
    """The Idempotency-Key the portal gets for one step of an item (at most 128 characters)."""
    value = f"{key}:{step}" if step else key
    return value[-128:]


class PremiumPush:
    """Send one tenant's due premium-portal items: the hub's outbox worker with the portal's send."""

    def __init__(self, store: Store, client: PortalClient, tenant: str, *, backoff: float | None = None) -> None:
        self.store = store
        self.client = client
        self.tenant = tenant
        self.worker = OutboxWorker(
            store,
            tenant,
            PARTNER,
            self._send,
            redact=client.http.redactor.text,
            schedule=RETRY.scaled(backoff),
            consent=CONSENT,
        )
        self.report = self.worker.report

    def run(self, limit: int = PUSH_BATCH) -> WorkReport:
        return self.worker.run(limit, calls=self.client.http.stats.as_dict)

    def _send(self, item: OutboxRow) -> Decision:
        key = str(item["idempotency_key"])
        if item["operation"] == MORE_DOCUMENTS:
            return self._more_documents(DocumentsItem.model_validate(item["payload"]), key)
        if item["operation"] != APPLY:
            return Park(f"unknown operation {item['operation']!r}")
        job = ApplyItem.model_validate(item["payload"])
        try:
            return self._apply(item, job, key)
        except PartnerRateLimited as exc:
            return Retry(Failure.RATE_LIMITED, str(exc), exc.retry_after)
        except OutcomeUnknown as exc:
            return Retry(Failure.OUTCOME_UNKNOWN, str(exc))
        except (PartnerServerError, PartnerUnavailable) as exc:
            return Retry(Failure.UNAVAILABLE, str(exc))
        except PartnerAuthError as exc:
            return self._refused_access(job, exc)
        except PartnerRejected as exc:
            return self._rejected(job, exc)
        except PartnerNotFound as exc:
            return Retry(Failure.NOT_YET, str(exc))

    def _apply(self, item: OutboxRow, job: ApplyItem, key: str) -> Decision:
        app: dict[str, Any] | None = None
        portal_id = self._known_portal_id(job)
        if portal_id is not None:
            app = self.client.get(portal_id)
        else:
            # always looked up first (one filtered list call): a create whose answer was lost, or whose record
            # did not commit here, may be there, and the portal forgets an Idempotency-Key after 24 hours
            found_apps = self.client.find_all_by_reference(job.reference)
            if len(found_apps) > 1:
                return Park(f"the portal holds {len(found_apps)} applications with this reference: a person decides")
            app = found_apps[0] if found_apps else None
        found = app is not None
        if app is None:
            app = self.client.create(job.body, idempotency_header(key))
        self._record(job, app, "draft")
        status = str(app.get("status"))
        if status in SUBMITTED:
            return Sent({"portal_id": app.get("id"), "dossiernummer": app.get("dossiernummer")}, found_by_lookup=True)
        if status not in EDITABLE:
            return Park(f"the application is {status} in the portal; not submitted")
        if found:  # resumed: make it say what the hub means to send now (a merge, safe to repeat)
            app = self.client.patch(str(app["id"]), {k: v for k, v in job.body.items() if k != "referentie"})
        uploaded = self._upload(job.documents, str(app["id"]), key)
        submitted = self.client.submit(str(app["id"]), idempotency_header(key, "submit"))
        self._record(job, submitted, "submitted")
        return Sent(
            {
                "portal_id": submitted.get("id"),
                "dossiernummer": submitted.get("dossiernummer"),
                "documents": uploaded,
                "resumed": found,
            },
            found_by_lookup=found and submitted.get("dossiernummer") == app.get("dossiernummer"),
        )

    def _more_documents(self, job: DocumentsItem, key: str) -> Decision:
        """Upload what the portal asked for; it takes the application back into review once all are there. An
        application no longer waiting for documents (decided meanwhile) needs none: done without an upload."""
        try:
            app = self.client.get(job.portal_id)
            if app.get("status") != "aanvulling_gevraagd":
                return Sent({"skipped": f"the application is {app.get('status')}"})
            uploaded = self._upload(job.documents, job.portal_id, key)
        except PartnerRateLimited as exc:
            return Retry(Failure.RATE_LIMITED, str(exc), exc.retry_after)
        except (OutcomeUnknown, PartnerServerError, PartnerUnavailable) as exc:
            return Retry(Failure.UNAVAILABLE, str(exc))  # every upload carries its key: safe to repeat
        except PartnerAuthError as exc:
            return Retry(Failure.WAITING, str(exc), MANDATE_WAIT_SECONDS, "waiting_for_mandate")
        except PartnerRejected as exc:
            if exc.status == 409:
                return Sent({"skipped": "the application no longer takes documents"})
            return Park(f"the premium portal refused a document: {exc.message}", exc.body)
        except PartnerNotFound as exc:
            return Park(f"the premium portal does not know the application: {exc.message}")
        return Sent({"portal_id": job.portal_id, "documents": uploaded})

    def _known_portal_id(self, job: ApplyItem) -> str | None:
        with self.store.begin() as conn:
            rows = self.store.load_entities(conn, list(job.applications.values()), tenant=self.tenant)
        ids = {str(r["data"].get("portal_id")) for r in rows.values() if r["data"].get("portal_id")}
        return next(iter(ids)) if len(ids) == 1 else None

    def _upload(self, documents: list[UploadDoc], portal_id: str, key: str) -> int:
        uploaded = 0
        for doc in documents:
            with self.store.begin() as conn:
                row = self.store.load_entities(conn, [doc.document_id], tenant=self.tenant).get(doc.document_id)
            if row is None or row["deleted_at"] is not None:
                raise Quarantine("a document planned for the application is no longer in the hub (erased?)")
            content = document_content(self.store, self.tenant, row["data"])
            if content is None:
                raise Quarantine(
                    "the bytes of a document planned for the application are no longer held (purged after the "
                    "retention period, or changed): the resident supplies it again"
                )
            self.client.upload(
                portal_id,
                kind=doc.kind,
                filename=doc.filename,
                media_type=doc.media_type,
                content=content,
                idempotency_key=idempotency_header(key, f"doc:{doc.document_id}"),
                category=doc.category,
            )
            uploaded += 1
        return uploaded

    def _record(self, job: ApplyItem, app: dict[str, Any], status: str) -> None:
        """The portal's id and dossier number on the canonical applications, and the status the send reached
        (later statuses come from the follow: webhooks and polls)."""
        at = when(app.get("updated_at")) or utcnow()
        stats = MergeStats()
        with self.store.begin() as conn:
            rows = self.store.load_entities(conn, list(job.applications.values()), tenant=self.tenant)
            requested = {str(c.get("categorie")): c.get("aangevraagd_bedrag") for c in app.get("categorieen") or []}
            items = []
            for cat, cid in job.applications.items():
                row = rows.get(cid)
                if row is None or row["deleted_at"] is not None:
                    continue
                data = {k: v for k, v in (row["data"] or {}).items() if k in PremiumApplication.model_fields}
                known = when(data.get("status_at"))
                if known is not None and known > at:
                    continue  # the follow already holds a newer state
                data.update(
                    status=status
                    if status == "submitted" or data.get("status") in ("planned", None)
                    else data["status"],
                    portal_id=str(app.get("id")),
                    dossier_number=app.get("dossiernummer") or data.get("dossier_number"),
                    amount_requested=requested.get(cat, data.get("amount_requested")),
                    submitted_on=day(app.get("ontvangen_op")) or data.get("submitted_on"),
                    status_at=at.isoformat(),
                )
                data.pop("id", None)
                data.pop("tenant", None)
                items.append(
                    Incoming(
                        PremiumApplication(id=cid, tenant=self.tenant, **data),
                        PARTNER,
                        f"push:{app.get('id')}",
                        utcnow(),
                    )
                )
            merge(self.store, conn, items, stats)
            self.store.link_ids(
                conn,
                PARTNER,
                self.tenant,
                APPLICATION_CATEGORY,
                {f"{job.reference}/{c}": i for c, i in job.applications.items()},
            )
            if job.intake_id and status == "submitted":
                recompute_dossiers(self.store, conn, self.tenant, [job.intake_id], PARTNER, utcnow(), stats)

    def _rejected(self, job: ApplyItem, exc: PartnerRejected) -> Decision:
        """A 4xx on content: the portal's codes on the canonical applications and a follow-up; parked."""
        found = codes(exc)
        with self.store.begin() as conn:
            raise_follow_ups(
                self.store,
                conn,
                self.tenant,
                [
                    Task(
                        key=f"{FOLLOW_UP_REFUSAL}:portal:{job.reference}:{'+'.join(found)}",
                        kind=FOLLOW_UP_REFUSAL,
                        reason=f"the premium portal refused the application ({', '.join(found) or exc.status}): "
                        "see its reason and correct what the resident supplied",
                        dossier_id=job.dossier_id,
                        detail={"reference": job.reference, "codes": found, "by": "portal"},
                    )
                ],
                PARTNER,
            )
            self._mark(conn, job, "refused_by_portal", found)
        return Park(f"the premium portal refused the application: {exc.message}", exc.body)

    def _refused_access(self, job: ApplyItem, exc: PartnerAuthError) -> Decision:
        found = codes(exc)
        if "ENERGIELENING_LOOPT" in found:
            with self.store.begin() as conn:
                self._mark(conn, job, "refused_by_portal", found)
                raise_follow_ups(
                    self.store,
                    conn,
                    self.tenant,
                    [
                        Task(
                            key=f"{FOLLOW_UP_MANDATE}:{job.reference}:loan",
                            kind=FOLLOW_UP_MANDATE,
                            reason="an energy loan runs for this resident: the Energiehuis applies for the premium "
                            "itself (a mandate is not possible)",
                            dossier_id=job.dossier_id,
                            detail={"reference": job.reference, "codes": found},
                        )
                    ],
                    PARTNER,
                )
            return Park(f"the premium portal refused: {exc.message}", exc.body)
        if "MANDAAT_ONTBREKEND" in found and job.resident_id:
            with self.store.begin() as conn:
                record(
                    self.store,
                    conn,
                    self.tenant,
                    job.resident_id,
                    Purpose.APPLY_FOR_PREMIUM,
                    PARTNER,
                    granted=False,
                    source=PARTNER,
                    source_ref=f"portal:{job.reference}",
                )
                raise_follow_ups(
                    self.store,
                    conn,
                    self.tenant,
                    [
                        Task(
                            key=f"{FOLLOW_UP_MANDATE}:{job.reference}:missing",
                            kind=FOLLOW_UP_MANDATE,
                            reason="the premium portal holds no mandate of the resident for the desk: ask the "
                            "resident to give it, then record it",
                            dossier_id=job.dossier_id,
                            detail={"reference": job.reference, "codes": found},
                        )
                    ],
                    PARTNER,
                )
            return Retry(Failure.WAITING, str(exc), MANDATE_WAIT_SECONDS, "waiting_for_mandate")
        return Retry(Failure.WAITING, str(exc), MANDATE_WAIT_SECONDS, "waiting_for_access")

    def _mark(self, conn: Any, job: ApplyItem, status: str, codes: list[str]) -> None:
        rows = self.store.load_entities(conn, list(job.applications.values()), tenant=self.tenant)
        items = []
        now = utcnow()
        for cid, row in rows.items():
            data = {k: v for k, v in (row["data"] or {}).items() if k in PremiumApplication.model_fields}
            data.pop("id", None)
            data.pop("tenant", None)
            data.update(status=status, reason_codes=codes)  # status_at stays the portal's (ordering)
            items.append(Incoming(PremiumApplication(id=cid, tenant=self.tenant, **data), PARTNER, "push:refused", now))
        merge(self.store, conn, items, MergeStats())
