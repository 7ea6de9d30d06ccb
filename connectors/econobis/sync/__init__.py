"""The Econobis pull: `EconobisPull` runs the streams, the audit-trail change pass and the reconcile in order
and re-derives the dossiers of what changed; the parts live in this package's modules."""

from __future__ import annotations

import json
import logging
import time
from datetime import date

from connectors.econobis.client import EconobisClient
from connectors.econobis.mapping import SOURCE, StatusNames
from connectors.econobis.settings import AUDIT_CURSOR, NAMES_CURSOR, PAGE_SIZE, STREAMS, WINDOW_STREAMS
from connectors.econobis.sync.changes import AuditTrailChanges
from connectors.econobis.sync.context import PullContext, PullReport, Rejected
from connectors.econobis.sync.paging import GridPager
from connectors.econobis.sync.reconcile import reconcile_counts, reconcile_deletions
from connectors.econobis.sync.streams import Stream, build_streams
from hub.erasure import observe_listing
from hub.journey import recompute_dossiers
from hub.logs import log_event
from hub.store import Store, utcnow

__all__ = ["EconobisPull", "PullReport", "Rejected", "reconcile_counts"]

log = logging.getLogger(__name__)


class EconobisPull:
    """Pull one tenant's Econobis into the canonical store: every grid in pages, streamed, mapped to canonical,
    merged, cursors committed with the data in the same transaction; dossiers re-derived for what changed.

    - New records: by id (contacts), createdAt day windows (intakes, kansen, kansacties) and newest-first paging
      (housing files) — the audit trail does not record creations.
    - Updates and soft-deletes: the audit-trail grid since its cursor; each changed record is re-read through its
      detail endpoint and merged; soft-deleted ones are marked deleted (kept, never forgotten).
    - A full run (`full=True`, the nightly reconcile) re-reads every grid — catching changes made outside
      Eloquent and pivot changes, which leave no revision — and checks records no grid delivers any more."""

    def __init__(self, store: Store, client: EconobisClient, tenant: str, page_size: int = PAGE_SIZE) -> None:
        self.store = store
        self.client = client
        self.tenant = tenant
        self.page_size = page_size
        self.report = PullReport(tenant)
        self.ctx = PullContext(store, client, tenant, page_size, self.report)
        pager = GridPager(self.ctx)
        self.handlers: dict[str, Stream] = build_streams(self.ctx, pager)
        self.audit = AuditTrailChanges(self.ctx, pager, self.handlers)

    def run(self, streams: tuple[str, ...] = STREAMS, full: bool = False, changes: bool = True) -> PullReport:
        """New records per stream (all records when `full`), then updates and deletions from the audit trail;
        a full run also reconciles deletions the audit trail cannot show."""
        started = time.monotonic()
        with self.store.begin() as conn:
            cursors = self.store.cursors(conn, SOURCE, self.tenant)
        self.ctx.names = StatusNames(json.loads(cursors.get(NAMES_CURSOR, "{}")))
        if cursors.get(AUDIT_CURSOR) is None:
            self.audit.init_cursor()
        self.ctx.full = full
        for stream in streams:
            self.handlers[stream].scan(None if full else cursors.get(stream))
        if changes:
            self.audit.run()
        if full and set(streams) == set(STREAMS):
            reconcile_deletions(self.ctx)
            # a complete listing: an erased resident's contact that is no longer listed is erased in Econobis
            self.report.reconcile["erasures_confirmed"] = len(
                observe_listing(self.store, self.tenant, SOURCE, "contact", self.ctx.seen_ids.get("contact", set()))
            )
        self.report.dossiers_recomputed = len(self.ctx.touched_intakes)
        self._finish(started)
        log_event(
            log,
            "econobis pull finished",
            tenant=self.tenant,
            partner=SOURCE,
            created=self.report.merge.total("created"),
            updated=self.report.merge.total("updated"),
            unchanged=self.report.merge.total("unchanged"),
            quarantined=self.report.quarantined,
            calls=self.report.calls.get("calls"),
        )
        return self.report

    def run_window(self, first_day: date, last_day: date) -> PullReport:
        """Re-read the intakes, kansen and kansacties created from `first_day` to `last_day` (whole days in
        Econobis' timezone, both included) and merge them, leaving the incremental cursors alone: a coordinator's
        backfill of a date range. Their contacts are known from the contact scan; unchanged records stay
        unchanged, so running the same window twice changes nothing."""
        self.ctx.window = (first_day, last_day)
        try:
            return self.run(streams=WINDOW_STREAMS, full=True, changes=False)
        finally:
            self.ctx.window = None

    def reread(self, records: dict[str, list[str]]) -> PullReport:
        """Fetch named records again by their detail and merge them (a quarantine replay): one that maps now
        leaves the quarantine, one that still does not stays there with its (new) reason."""
        started = time.monotonic()
        with self.store.begin() as conn:
            cursors = self.store.cursors(conn, SOURCE, self.tenant)
        self.ctx.names = StatusNames(json.loads(cursors.get(NAMES_CURSOR, "{}")))
        for stream, external_ids in sorted(records.items()):
            if stream in STREAMS:
                self.handlers[stream].reread(sorted({int(e) for e in external_ids if str(e).isdigit()}))
        self._finish(started)
        return self.report

    def _finish(self, started: float) -> None:
        """Re-derive the dossiers of the touched intakes and close the report."""
        with self.store.begin() as conn:
            self.report.journey_events = recompute_dossiers(
                self.store, conn, self.tenant, self.ctx.touched_intakes, SOURCE, utcnow(), self.report.merge
            )
        self.report.seconds = time.monotonic() - started
        self.report.calls = self.client.http.stats.as_dict()
