"""The push into Woningpas: the coach's report uploaded to the resident's pass as a `verslag`, and an erasure's
deletion of what the hub uploaded — both through the outbox.

- **Planned** from the canonical model: every report document (`settings.report_kinds`: Hoomdossier's PDF, a
  desk's own) of a dwelling the hub read from Woningpas gets one `upload-report` item (outbox key per document).
- **Consent**: an upload shares the resident's report with Woningpas (`share-with-partner` / `woningpas`); the
  outbox worker withholds it without a granted statement.
- **Once**: the upload carries an `Idempotency-Key` made from the outbox key, so a repeat after a lost answer
  (the core client's retry, or the next run's) answers the first document and never uploads twice; a document the
  hub knows it uploaded (xref `uploaded`) is not sent again at all."""

from __future__ import annotations

import hashlib
from typing import Any

from connectors.woningpas.client import WoningpasClient
from connectors.woningpas.settings import (
    ERASE,
    PARTNER,
    PUSH_BATCH,
    REPORT_DOCUMENT_TYPE,
    UNIT,
    UPLOAD_REPORT,
    UPLOADED,
)
from hub.consent import ConsentNeed, Purpose
from hub.documents import document_content
from hub.http import (
    OutcomeUnknown,
    PartnerAuthError,
    PartnerNotFound,
    PartnerRateLimited,
    PartnerRejected,
    PartnerServerError,
    PartnerUnavailable,
)
from hub.store import OutboxRow, Store
from hub.worker import Decision, Failure, OutboxWorker, Park, Retry, Sent, WorkReport, outbox_key

MANDATE_WAIT_SECONDS = 24 * 3600.0


def upload_key(tenant: str, document_id: str) -> str:
    return outbox_key(PARTNER, UPLOAD_REPORT, tenant, document_id)


def idempotency_header(key: str) -> str:
    """The `Idempotency-Key` of an upload: stable per outbox item, printable, without the tenant's name."""
    return "hub-" + hashlib.sha256(key.encode()).hexdigest()[:48]


def _upload_subjects(store: Store, conn: Any, tenant: str, payload: Any) -> list[str] | None:
    rid = payload.get("resident_id")
    return [str(rid)] if rid else None


# operation → what it shares (`Push.consent`; the outbox worker checks it before every send)
CONSENT = {UPLOAD_REPORT: ConsentNeed(Purpose.SHARE_WITH_PARTNER, PARTNER, _upload_subjects)}


def plan_uploads(store: Store, tenant: str, kinds: tuple[str, ...]) -> int:
    """Queue an upload for every report document of a dwelling that is a Woningpas unit; returns how many are new."""
    queued = 0
    with store.begin() as conn:
        docs = [r for r in store.live_entities(conn, "document", tenant) if r["data"].get("kind") in kinds]
        if not docs:
            return 0
        files = store.load_entities(conn, {str(r["data"].get("dwelling_file_id")) for r in docs}, tenant=tenant)
        dwelling_of = {fid: f["data"].get("dwelling_id") for fid, f in files.items() if f["deleted_at"] is None}
        dwellings = store.load_entities(conn, {d for d in dwelling_of.values() if d}, tenant=tenant)
        units = store.external_ids(conn, PARTNER, tenant, UNIT, list(dwellings))
        for r in docs:
            did = dwelling_of.get(str(r["data"].get("dwelling_file_id")))
            if not did or did not in units:
                continue
            payload = {
                "document_id": r["canonical_id"],
                "gebouweenheid_id": int(units[did]),
                "resident_id": dwellings[did]["data"].get("resident_id"),
            }
            item = store.outbox_enqueue(
                conn, tenant, PARTNER, UPLOAD_REPORT, upload_key(tenant, r["canonical_id"]), payload
            )
            queued += int(item.created)
    return queued


class WoningpasPush:
    """Send one tenant's due Woningpas items: the hub's outbox worker with Woningpas' send."""

    def __init__(self, store: Store, client: WoningpasClient, tenant: str) -> None:
        self.store = store
        self.client = client
        self.tenant = tenant
        self.worker = OutboxWorker(
            store, tenant, PARTNER, self._send, redact=client.http.redactor.text, consent=CONSENT
        )
        self.report = self.worker.report

    def run(self, limit: int = PUSH_BATCH) -> WorkReport:
        return self.worker.run(limit, calls=self.client.http.stats.as_dict)

    def _send(self, item: OutboxRow) -> Decision:
        if item["operation"] == ERASE:
            return self._erase(item)
        payload = item["payload"]
        doc_id, unit = str(payload["document_id"]), int(payload["gebouweenheid_id"])
        with self.store.begin() as conn:
            if self.store.external_ids(conn, PARTNER, self.tenant, UPLOADED, [doc_id]):
                return Sent({"via": "lookup"}, found_by_lookup=True)
            row = self.store.load_entities(conn, [doc_id], tenant=self.tenant).get(doc_id)
        if row is None or row["deleted_at"] is not None:
            return Park("the report is no longer in the hub (deleted or erased)")
        content = document_content(self.store, self.tenant, row["data"])
        if content is None:
            return Park("the report's bytes are no longer held (purged after the retention period, or changed)")
        digest = str(row["data"].get("sha256") or hashlib.sha256(content).hexdigest())
        try:
            answer = self.client.upload_document(
                unit,
                type=REPORT_DOCUMENT_TYPE,
                filename=f"verslag-{digest[:12]}.pdf",
                content=content,
                media_type="application/pdf",
                idempotency_key=idempotency_header(str(item["idempotency_key"])),
                title="Verslag van de energiecoach",
            )
        except PartnerRateLimited as exc:
            return Retry(Failure.RATE_LIMITED, str(exc), exc.retry_after)
        except (OutcomeUnknown, PartnerServerError, PartnerUnavailable) as exc:
            # safe to repeat: the same Idempotency-Key answers the first document
            return Retry(Failure.UNAVAILABLE, str(exc))
        except PartnerAuthError as exc:
            # the mandate does not (or no longer) cover the unit: the desk renews it, then it is sent
            return Retry(Failure.WAITING, str(exc), MANDATE_WAIT_SECONDS, "waiting_for_mandate")
        except PartnerRejected as exc:
            return Park(f"Woningpas refused the upload: {exc.message}", exc.body)
        remote = str(answer.get("document_id"))
        with self.store.begin() as conn:
            self.store.link_ids(conn, PARTNER, self.tenant, UPLOADED, {f"{unit}/{remote}": doc_id})
        return Sent({"document_id": remote})

    def _erase(self, item: OutboxRow) -> Decision:
        """Delete what the hub uploaded for the erased resident (a 404 or 409: already gone)."""
        deleted = 0
        for unit, remote in item["payload"].get("uploads", []):
            try:
                self.client.delete_document(int(unit), str(remote))
                deleted += 1
            except (PartnerNotFound, PartnerRejected):
                continue
            except PartnerRateLimited as exc:
                return Retry(Failure.RATE_LIMITED, str(exc), exc.retry_after)
            except (OutcomeUnknown, PartnerServerError, PartnerUnavailable) as exc:
                return Retry(Failure.UNAVAILABLE, str(exc))
            except PartnerAuthError as exc:
                return Park(f"Woningpas refused the deletion: {exc.message}")
        return Sent({"deleted": deleted})
