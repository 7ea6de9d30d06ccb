"""What there is to do, read from the state store only — for the sensors (whose ticks must stay fast and never
call a partner) and for the quarantine replay a coordinator launches.

Every piece of work has an identity in the store (an inbox row, an outbox row, a stalled dossier's follow-up
key) and a *version*: its attempts and the time it next falls due, which a run moves when it leases, retries
or parks it. A fingerprint of the due work's identities and versions is therefore a run key that
- is the same on a duplicate tick or after a cursor reset (the same due work → no second run), and
- changes as soon as the work changes (a new message, a retry falling due, a crashed run's lease ending), so
  work is never dropped because a key was used before."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from hub.connector import Replay, ReplayRule
from hub.store import Store, utcnow


@dataclass(frozen=True)
class DueWork:
    """Due items of one kind for one tenant: how many, the newest id, and a fingerprint of their versions."""

    tenant: str
    kind: str
    count: int
    newest_id: int
    fingerprint: str

    @property
    def run_key(self) -> str:
        return f"{self.kind}:{self.tenant}:{self.newest_id}:{self.fingerprint[:16]}"


def fingerprint(rows: list[tuple[Any, ...]]) -> str:
    h = hashlib.sha256()
    for row in rows:
        h.update("|".join("" if v is None else str(v) for v in row).encode())
        h.update(b"\n")
    return h.hexdigest()


def _due(tenant: str, kind: str, rows: list[tuple[Any, ...]]) -> DueWork | None:
    if not rows:
        return None
    return DueWork(tenant, kind, len(rows), max(int(r[0]) for r in rows), fingerprint(rows))


def due_inbox(store: Store, tenant: str, source: str, now: datetime | None = None) -> DueWork | None:
    """Received messages still to apply, or to forward and due (not leased, not waiting for a retry)."""
    with store.begin() as conn:
        rows = store.inbox_due_versions(conn, tenant, source, now or utcnow())
    return _due(tenant, f"inbox-{source}", rows)


def due_outbox(store: Store, tenant: str, partner: str, now: datetime | None = None) -> DueWork | None:
    """Outbox items the push would claim now (`Store.outbox_due`)."""
    with store.begin() as conn:
        rows = store.outbox_due_versions(conn, tenant, partner, now or utcnow())
    return _due(tenant, f"outbox-{partner}", rows)


def last_success(store: Store, tenant: str, what: str) -> datetime | None:
    """When `what` (e.g. `sync:econobis`) last finished successfully for the tenant (recorded by the assets)."""
    with store.begin() as conn:
        value = store.get_cursor(conn, "hub", tenant, f"last-success:{what}")
    return datetime.fromisoformat(value) if value else None


def record_success(store: Store, tenant: str, what: str, when: datetime | None = None) -> None:
    with store.begin() as conn:
        store.set_cursor(conn, "hub", tenant, f"last-success:{what}", (when or utcnow()).isoformat())


# --- quarantine replay --------------------------------------------------------------------------------------


@dataclass
class ReplayReport:
    tenant: str
    requeued: dict[str, int] = field(default_factory=dict)
    reread: int = 0
    not_replayable: dict[str, int] = field(default_factory=dict)
    gone: int = 0
    preview: list[dict[str, Any]] = field(default_factory=list)
    why: dict[str, str] = field(default_factory=dict)
    unknown: dict[str, int] = field(default_factory=dict)

    def count(self, bucket: dict[str, int], source: str) -> None:
        bucket[source] = bucket.get(source, 0) + 1


class UnknownQuarantineSource(LookupError):
    """Open quarantine entries of a source no connector or coupling declares a replay rule for. Raised after
    the entries that do have a rule were replayed, so they are never closed unreplayed nor block the rest;
    carries that replay's report and re-reads."""

    def __init__(self, message: str, report: ReplayReport, reread: dict[str, dict[str, list[str]]]) -> None:
        super().__init__(message)
        self.report = report
        self.reread = reread


def replay_quarantine(
    store: Store,
    tenant: str,
    rules: Mapping[str, ReplayRule],
    sources: list[str] | None = None,
    ids: list[int] | None = None,
    preview: int = 20,
    reason: str | None = None,
) -> tuple[ReplayReport, dict[str, dict[str, list[str]]]]:
    """Send a tenant's open quarantine back to where it came from, store-side only, by each source's rule
    (`rules`: the registry's, hub/connector.py):
    - REQUEUE_OUTBOX (`outbox:<partner>`): due again with fresh attempts, as `uncertain`, so the push's
      lookup-before-send keeps a replay from writing twice;
    - RETRY_INBOX (e.g. a message a partner refused to take): due to be sent on again; REAPPLY_INBOX (one that
      did not parse): applied again;
    - REDETECT (e.g. a stalled dossier without a kans): closed, the next planning detects it again;
    - REREAD (a record a pull could not map): returned for a re-read by its detail (the caller does it);
    - NOT_REPLAYABLE: counted and left open, with the rule's reason.
    `sources`, `ids` and `reason` (a part of the entry's reason, any case) narrow it; None replays all.
    Each replayed entry is resolved here; a replay that fails again puts it back with its new reason. Returns
    the report and the records to re-read (partner → entity → external ids). Raises UnknownQuarantineSource
    (after replaying the rest) when an open entry's source has no rule: it is never closed silently."""
    report = ReplayReport(tenant)
    reread: dict[str, dict[str, list[str]]] = {}
    unknown: dict[str, int] = {}
    now = utcnow()
    with store.begin() as conn:  # the open entries the filters leave, as `hub quarantine list` shows them
        rows = store.quarantine_entries(conn, tenant, sources=sources or (), ids=ids or (), reason=reason)
    for q in rows:
        source = q["source"]
        rule = rules.get(source)
        if rule is None:
            unknown[source] = unknown.get(source, 0) + 1
            continue
        if rule.action is Replay.NOT_REPLAYABLE:
            report.count(report.not_replayable, source)
            report.why[source] = rule.why
            continue
        with store.begin() as conn:
            if rule.action is Replay.REQUEUE_OUTBOX:
                # of unknown outcome: an earlier attempt may have landed, so the push looks before it sends
                done = store.outbox_requeue(conn, tenant, q["external_id"], now)
            elif rule.action is Replay.REAPPLY_INBOX:
                done = store.inbox_requeue_apply(conn, tenant, int(q["external_id"]))
            elif rule.action is Replay.RETRY_INBOX:
                done = store.inbox_requeue_forward(conn, tenant, int(q["external_id"]), now)
            elif rule.action is Replay.REREAD:
                reread.setdefault(rule.partner or source, {}).setdefault(q["entity"], []).append(q["external_id"])
                report.reread += 1
                done = -1  # resolved by the re-read itself when the record now maps
            else:  # REDETECT: re-detected by its own stage
                done = 1
            if done == 0:
                report.gone += 1  # nothing left to replay (already sent, or the row is gone): close the entry
            if done != -1:
                store.quarantine_resolve(conn, tenant, source, q["entity"], [q["external_id"]])
        if done > 0:
            report.count(report.requeued, source)
        if len(report.preview) < preview:
            report.preview.append(
                {"id": q["id"], "source": source, "entity": q["entity"], "reason": str(q["reason"])[:120]}
            )
    if unknown:
        report.unknown = unknown
        raise UnknownQuarantineSource(
            f"open quarantine entries of tenant {tenant} with no replay rule (left open): {unknown}; "
            f"sources with rules: {sorted(rules)}",
            report,
            reread,
        )
    return report, reread


def open_quarantine_counts(store: Store, tenant: str) -> dict[str, int]:
    """Open quarantine entries of a tenant by source."""
    with store.begin() as conn:
        return store.quarantine_open_counts(conn, tenant)


@dataclass
class ReplayOutcome:
    """A tenant's replay with the re-reads done: open entries before and after by source, the re-read records
    still quarantined, and the entries of sources without a rule (left open; None when there were none)."""

    report: ReplayReport
    before: dict[str, int]
    after: dict[str, int]
    reread_still_quarantined: int = 0
    unknown: UnknownQuarantineSource | None = None


# partner → records to re-read (entity → external ids) → the re-read's figures (None: not re-read here)
Reread = Callable[[str, dict[str, list[str]]], Mapping[str, Any] | None]


def replay_tenant(
    store: Store,
    tenant: str,
    rules: Mapping[str, ReplayRule],
    reread: Reread,
    sources: list[str] | None = None,
    ids: list[int] | None = None,
    reason: str | None = None,
) -> ReplayOutcome:
    """The whole replay of one tenant, as the Dagster replay and `hub quarantine replay` run it:
    `replay_quarantine`, then each partner's re-read of what it returned (`reread`, given by the caller, who
    holds the partner's client), with the open counts before and after. Never raises UnknownQuarantineSource:
    it is kept on the outcome, after the rest was replayed."""
    before = open_quarantine_counts(store, tenant)
    unknown: UnknownQuarantineSource | None = None
    try:
        report, records = replay_quarantine(store, tenant, rules, sources, ids, reason=reason)
    except UnknownQuarantineSource as exc:
        unknown, report, records = exc, exc.report, exc.reread
    still = 0
    for partner, wanted in records.items():
        figures = reread(partner, wanted)
        if figures is not None:
            still += int(figures.get("quarantined", 0))
    return ReplayOutcome(report, before, open_quarantine_counts(store, tenant), still, unknown)
