"""Consent as data (hub/consent.py, hub/store/consent.py): the records and which one stands, the one check,
and the outbox worker that withholds what shares a resident's data without consent and resumes it on a
grant — an operation that shares nothing (an erasure) is never held back. Also the authentic-source hook of
a pull (`Pull.under_mandate`) with a throw-away connector."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import Connection, select, update

from hub.config import HubConfig, PartnerConfig, TenantConfig
from hub.connector import REGISTRY, Connector, PartnerRun, Pull, Push
from hub.consent import WITHOUT_RECORD, ConsentNeed, Mandate, Purpose, check, record
from hub.store import Store, utcnow
from hub.store import tables as t
from hub.worker import OutboxWorker, Sent, outbox_key

TENANT, OTHER = "coop-a", "coop-b"
SHARE = Purpose.SHARE_WITH_PARTNER
PARTNER = "crm"  # the partner whose outbox it is
RECEIVER = "dossier"  # the partner the operation shares the resident's data with


def _record(store: Store, resident: str, granted: bool, source: str = "crm", **kw: Any) -> Any:
    with store.begin() as conn:
        return record(store, conn, kw.pop("tenant", TENANT), resident, SHARE, RECEIVER, granted, source, "ref", **kw)


def _standing(store: Store, resident: str, tenant: str = TENANT) -> Any:
    with store.begin() as conn:
        return store.consent_current(conn, tenant, [resident], SHARE.value, RECEIVER).get(resident)


# --- the records ------------------------------------------------------------------------------------------


def test_a_source_repeating_itself_is_not_history_and_the_latest_observation_stands(any_store: Store):
    assert _record(any_store, "r1", True).logged
    assert not _record(any_store, "r1", True).logged  # the pull re-reads an unchanged flag
    withdrawn = _record(any_store, "r1", False, source="dossier")
    assert withdrawn.logged and withdrawn.standing["granted"] is False
    assert withdrawn.standing["source"] == "dossier"
    # the first source says yes again, unchanged: not a new statement, the withdrawal stands
    assert not _record(any_store, "r1", True).logged and _standing(any_store, "r1")["granted"] is False
    # ... until it changes its mind (no, then yes): the latest observation wins
    _record(any_store, "r1", False)
    assert _record(any_store, "r1", True).standing["granted"] is True
    with any_store.begin() as conn:
        history = any_store.consent_history(conn, TENANT, "r1")
    assert [(h["source"], h["granted"]) for h in history] == [
        ("crm", True),
        ("dossier", False),
        ("crm", False),
        ("crm", True),
    ]


def _log(store: Store, resident: str) -> list[tuple[str, bool]]:
    with store.begin() as conn:
        return [(h["source"], h["granted"]) for h in store.consent_history(conn, TENANT, resident)]


def test_an_unchanged_repeat_is_not_a_statement_it_only_moves_when_the_source_was_last_seen(any_store: Store):
    first = utcnow() - timedelta(hours=3)
    _record(any_store, "rep", True, observed_at=first)
    again = _record(any_store, "rep", True, observed_at=first + timedelta(hours=1))  # the next pull re-reads it
    assert not again.logged and again.resumed == 0
    with any_store.begin() as conn:
        [row] = any_store.consent_history(conn, TENANT, "rep")
    assert row["observed_at"] == first  # the statement keeps its time
    assert row["last_seen_at"] == first + timedelta(hours=1) and row["said_after"] is None  # a first word: undated
    assert _standing(any_store, "rep")["observed_at"] == first


def test_a_change_is_a_statement_said_after_the_source_was_last_seen_saying_otherwise(any_store: Store):
    t0 = utcnow() - timedelta(hours=3)
    _record(any_store, "chg", True, observed_at=t0)
    _record(any_store, "chg", True, observed_at=t0 + timedelta(hours=1))
    changed = _record(any_store, "chg", False, observed_at=t0 + timedelta(hours=2))
    assert changed.logged and changed.standing["granted"] is False
    with any_store.begin() as conn:
        rows = any_store.consent_history(conn, TENANT, "chg")
    assert [(r["granted"], r["said_after"]) for r in rows] == [(True, None), (False, t0 + timedelta(hours=1))]


def test_the_same_word_from_different_sources_is_a_statement_of_each(any_store: Store):
    assert _record(any_store, "two", True, source="crm").logged
    assert _record(any_store, "two", True, source="dossier").logged
    assert not _record(any_store, "two", True, source="crm").logged
    assert _log(any_store, "two") == [("crm", True), ("dossier", True)]
    assert _standing(any_store, "two")["source"] == "dossier"  # grant over grant: the later one decides


def test_a_grant_not_known_to_be_said_after_a_withdrawal_does_not_lift_it(any_store: Store):
    # the bug: a coordinator's withdrawal, then a partner's flag read for the first time (it may be years old)
    _record(any_store, "first", False, source="coordinator", said_after=utcnow())
    late_flag = _record(any_store, "first", True, source="crm")
    assert late_flag.logged and late_flag.resumed == 0  # history, but not in force
    assert late_flag.standing["source"] == "coordinator" and late_flag.standing["granted"] is False
    assert not _record(any_store, "first", True, source="crm").logged  # re-read, unchanged: nothing
    assert _standing(any_store, "first")["source"] == "coordinator"
    # a withdrawal needs no date: a partner's first word "no" takes over a grant (when in doubt, not shared)
    _record(any_store, "no-first", True, source="crm")
    assert _record(any_store, "no-first", False, source="dossier").standing["granted"] is False


def test_a_change_seen_after_the_withdrawal_lifts_it_one_that_may_predate_it_does_not(any_store: Store):
    now = utcnow()
    # the flag was last seen "no" before the withdrawal: its flip to yes may predate it
    _record(any_store, "pre", False, observed_at=now - timedelta(hours=3))
    _record(any_store, "pre", False, source="coordinator", observed_at=now - timedelta(hours=2), said_after=now)
    assert _record(any_store, "pre", True, observed_at=now).standing["granted"] is False
    # the flag was seen "no" after the withdrawal (a re-read), then it flips: the resident's newest word
    _record(any_store, "post", False, observed_at=now - timedelta(hours=3))
    _record(any_store, "post", False, source="coordinator", observed_at=now - timedelta(hours=2))
    _record(any_store, "post", False, observed_at=now - timedelta(hours=1))  # repeat: last seen now - 1 h
    lifted = _record(any_store, "post", True, observed_at=now)
    assert lifted.standing["granted"] is True and lifted.standing["source"] == "crm"
    # a change the caller dates after the withdrawal (an audit-trail revision new since the previous read)
    _record(any_store, "dated", False, source="coordinator", observed_at=now - timedelta(hours=2))
    early = _record(any_store, "dated", True, observed_at=now - timedelta(hours=1), said_after=now - timedelta(hours=3))
    assert early.logged and early.standing["granted"] is False
    _record(any_store, "dated2", False, source="coordinator", observed_at=now - timedelta(hours=2))
    dated = _record(any_store, "dated2", True, observed_at=now, said_after=now - timedelta(hours=1))
    assert dated.standing["granted"] is True


def test_a_sign_up_collected_before_a_withdrawal_and_sent_on_after_it_does_not_lift_it(any_store: Store):
    """The resident ticks consent in a form while the CRM is down; a coordinator records their withdrawal;
    a pull re-reads the CRM's unchanged "no"; then the waiting sign-up is sent and the hub's own send flips
    the CRM's flag. That change says nothing about when the resident said yes (`undated`): the withdrawal
    holds, and the pull that then reads the flipped flag meets a repeat. A real change of the flag after the
    withdrawal (no, then yes, seen by later reads) still lifts it."""
    now = utcnow()
    _record(any_store, "r", False, observed_at=now - timedelta(hours=5))  # T0: the pull reads "no"
    _record(any_store, "r", False, source="coordinator", observed_at=now - timedelta(hours=3), said_after=now)
    _record(any_store, "r", False, observed_at=now - timedelta(hours=2))  # T2: a repeat after the withdrawal
    sent_on = _record(any_store, "r", True, observed_at=now - timedelta(hours=1), undated=True)
    assert sent_on.logged and sent_on.standing["granted"] is False and sent_on.standing["source"] == "coordinator"
    assert not _record(any_store, "r", True, observed_at=now - timedelta(minutes=30)).logged  # the echo: a repeat
    assert _standing(any_store, "r")["granted"] is False
    _record(any_store, "r", False, observed_at=now - timedelta(minutes=20))  # the resident unticks, then ticks
    assert _record(any_store, "r", True, observed_at=now).standing["granted"] is True


def test_a_dated_statement_repeating_its_source_is_said_anew_only_against_what_is_in_force(any_store: Store):
    now = utcnow()
    _record(any_store, "again", False, source="coordinator", observed_at=now - timedelta(hours=3), said_after=now)
    _record(any_store, "again", False, observed_at=now - timedelta(hours=2))
    _record(any_store, "again", True, observed_at=now - timedelta(hours=1))  # a real change: in force
    assert _standing(any_store, "again")["granted"] is True
    # the resident calls again: the coordinator's "no" is the same word as before, said anew
    anew = _record(any_store, "again", False, source="coordinator", observed_at=now, said_after=now)
    assert anew.logged and anew.standing["source"] == "coordinator" and anew.standing["granted"] is False
    # said once more while it is in force: one statement
    later = now + timedelta(minutes=1)
    assert not _record(any_store, "again", False, source="coordinator", observed_at=later, said_after=later).logged


def test_a_late_statement_the_source_contradicted_later_is_superseded(any_store: Store):
    now = utcnow()
    _record(any_store, "late", False, source="dossier", observed_at=now - timedelta(hours=2))
    _record(any_store, "late", False, source="dossier", observed_at=now)  # still no, seen now
    # a message received an hour ago, applied only now, implying yes: the hub saw "no" after it
    stale = _record(any_store, "late", True, source="dossier", observed_at=now - timedelta(hours=1), implied=True)
    assert not stale.logged and _standing(any_store, "late")["granted"] is False


def test_a_statement_recorded_while_another_is_being_recorded_sees_it(any_store: Store):
    """A pull reading the flag for the first time while a coordinator's withdrawal is being committed: the
    pull's statement waits for it and does not put its undated grant in force over it."""
    import threading

    inserted, pulled = threading.Event(), threading.Event()

    def pull() -> None:
        inserted.wait(5)
        _record(any_store, "race", True, source="crm")
        pulled.set()

    other = threading.Thread(target=pull)
    other.start()
    with any_store.begin() as conn:
        record(any_store, conn, TENANT, "race", SHARE, RECEIVER, False, "coordinator", "desk", said_after=utcnow())
        inserted.set()
        assert not pulled.wait(0.5)  # the pull waits for the withdrawal to commit
    other.join(10)
    assert pulled.is_set() and _log(any_store, "race") == [("coordinator", False), ("crm", True)]
    assert _standing(any_store, "race")["source"] == "coordinator"


def test_the_report_shows_what_each_source_said_last_and_which_statement_is_in_force(any_store: Store):
    from hub.consent import consent_report

    _record(any_store, "rep-r", False, source="coordinator", said_after=utcnow())
    _record(any_store, "rep-r", True, source="crm")
    report = consent_report(any_store, TENANT, "rep-r")
    by_source = {r["source"]: r for r in report["sources"]}
    assert by_source["coordinator"]["in_force"] is True and by_source["coordinator"]["granted"] is False
    assert by_source["crm"]["in_force"] is False and by_source["crm"]["granted"] is True
    assert by_source["crm"]["said_after"] is None and by_source["crm"]["last_seen_at"]
    assert [h["in_force"] for h in report["history"]] == [True, False]
    assert report["standing"][0]["source"] == "coordinator"


def test_migration_0009_dates_the_log_and_lifts_no_withdrawal_with_an_undated_grant(any_store: Store):
    """A store with the 0008 schema and the bug's state (a first-read flag standing over a coordinator's
    withdrawal), upgraded: the withdrawal is in force again; a real change and a coordinator's grant stay."""
    from alembic import command
    from sqlalchemy import text

    from hub.store.db import alembic_config

    def migrate_to(rev: str, down: bool = False) -> None:
        cfg = alembic_config()
        with any_store.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            (command.downgrade if down else command.upgrade)(cfg, rev)

    migrate_to("0008", down=True)
    now = utcnow()
    rows = [  # (resident, source, granted, hours ago); consents as 0008 left them: the latest observation
        ("bug", "coordinator", False, 3),
        ("bug", "econobis", True, 2),  # first word, after the withdrawal
        ("real", "econobis", True, 5),
        ("real", "coordinator", False, 4),
        ("real", "econobis", False, 3),
        ("real", "econobis", True, 2),  # a change of the flag
        ("desk", "econobis", False, 3),
        ("desk", "coordinator", True, 2),
    ]
    with any_store.engine.begin() as conn:
        for i, (rid, source, granted, ago) in enumerate(rows, start=1):
            at = now - timedelta(hours=ago)
            values = {
                "id": i,
                "tenant": TENANT,
                "resident_id": rid,
                "purpose": SHARE.value,
                "partner": RECEIVER,
                "granted": granted,
                "source": source,
                "source_ref": "ref",
                "observed_at": at,
                "recorded_at": at,
            }
            conn.execute(
                text(
                    "INSERT INTO consent_log (id, tenant, resident_id, purpose, partner, granted, source, source_ref, "
                    "observed_at, recorded_at) VALUES (:id, :tenant, :resident_id, :purpose, :partner, :granted, "
                    ":source, :source_ref, :observed_at, :recorded_at)"
                ),
                values,
            )
        for log_id in (2, 6, 8):  # "bug", "real", "desk"
            conn.execute(
                text(
                    "INSERT INTO consents (tenant, resident_id, purpose, partner, granted, source, source_ref, "
                    "observed_at, recorded_at, log_id) SELECT tenant, resident_id, purpose, partner, granted, "
                    "source, source_ref, observed_at, recorded_at, id FROM consent_log WHERE id = :id"
                ),
                {"id": log_id},
            )
    migrate_to("head")
    assert (_standing(any_store, "bug")["source"], _standing(any_store, "bug")["granted"]) == ("coordinator", False)
    assert (_standing(any_store, "real")["source"], _standing(any_store, "real")["granted"]) == ("econobis", True)
    assert (_standing(any_store, "desk")["source"], _standing(any_store, "desk")["granted"]) == ("coordinator", True)
    with any_store.begin() as conn:
        real = any_store.consent_history(conn, TENANT, "real")
    assert [r["said_after"] is not None for r in real] == [False, True, True, True]
    assert all(r["last_seen_at"] == r["observed_at"] for r in real)
    # and recording goes on under the rule
    assert not _record(any_store, "bug", True, source="econobis").logged


def test_a_late_older_statement_is_logged_but_does_not_stand(any_store: Store):
    now = utcnow()
    _record(any_store, "r2", False, source="dossier", observed_at=now)
    late = _record(any_store, "r2", True, source="crm", observed_at=now - timedelta(hours=2))
    assert late.logged and late.standing["granted"] is False and late.standing["source"] == "dossier"


def test_an_implied_statement_counts_only_as_a_change_of_its_source(any_store: Store):
    assert not _record(any_store, "r3", True, source="dossier", implied=True).logged  # never the first word
    _record(any_store, "r3", False, source="crm")
    assert not _record(any_store, "r3", True, source="dossier", implied=True).logged  # not against another
    _record(any_store, "r3", False, source="dossier")
    again = _record(any_store, "r3", True, source="dossier", implied=True)  # the resident allowed access again
    assert again.logged and again.standing["granted"] is True


def test_records_are_scoped_by_tenant(any_store: Store):
    _record(any_store, "same-id", True, tenant=OTHER)
    assert _standing(any_store, "same-id") is None
    assert _standing(any_store, "same-id", OTHER)["granted"] is True
    with any_store.begin() as conn:
        assert any_store.consent_history(conn, TENANT, "same-id") == []
        assert any_store.consent_counts(conn, OTHER) == {(SHARE.value, RECEIVER, True): 1}
        assert any_store.consent_counts(conn, TENANT) == {}


# --- the check ----------------------------------------------------------------------------------------------


def test_the_check_needs_a_granted_record_for_every_resident(any_store: Store):
    assert {p: False for p in Purpose} == WITHOUT_RECORD  # decided once: nothing is presumed
    _record(any_store, "yes", True)
    _record(any_store, "no", False, source="dossier")
    with any_store.begin() as conn:
        ok = check(any_store, conn, TENANT, ["yes"], SHARE, RECEIVER)
        mixed = check(any_store, conn, TENANT, ["yes", "no", "unknown"], SHARE, RECEIVER)
        other_partner = check(any_store, conn, TENANT, ["yes"], SHARE, "someone-else")
        other_purpose = check(any_store, conn, TENANT, ["yes"], Purpose.APPLY_FOR_PREMIUM, RECEIVER)
    assert ok.allowed and not mixed.allowed and not other_partner.allowed and not other_purpose.allowed
    assert mixed.withdrawn == ("no",) and mixed.missing == ("unknown",)
    assert mixed.reason() == (
        "no consent to share-with-partner dossier: withdrawn according to dossier (ref); no consent recorded"
    )
    assert "unknown" not in mixed.reason() and "yes" not in mixed.reason()  # no ids, no personal data


# --- the outbox worker --------------------------------------------------------------------------------------


def _subjects(store: Store, conn: Connection, tenant: str, payload: Mapping[str, Any]) -> Sequence[str] | None:
    return [payload["resident"]] if payload.get("resident") else None


NEEDS = {"share": ConsentNeed(SHARE, RECEIVER, _subjects)}


def _enqueue(store: Store, key: str, resident: str | None, operation: str = "share") -> None:
    with store.begin() as conn:
        store.outbox_enqueue(
            conn, TENANT, PARTNER, operation, outbox_key(PARTNER, operation, key), {"key": key, "resident": resident}
        )


def _rows(store: Store) -> dict[str, dict[str, Any]]:
    with store.begin() as conn:
        return {r["payload"]["key"]: dict(r) for r in conn.execute(select(t.outbox)).mappings()}


def _due_now(store: Store) -> None:
    with store.begin() as conn:
        conn.execute(update(t.outbox).values(next_attempt_at=utcnow() - timedelta(seconds=1)))


class Partner:
    """What reached the partner."""

    def __init__(self) -> None:
        self.got: list[str] = []

    def send(self, item: Any) -> Any:
        self.got.append(item["payload"]["key"])
        return Sent({"ok": True})


def test_without_consent_an_item_is_withheld_an_erasure_is_not_and_a_grant_resumes_it(any_store: Store):
    partner = Partner()
    _enqueue(any_store, "share-a", "ra")
    _enqueue(any_store, "share-b", "rb")
    _enqueue(any_store, "erase-a", "ra", operation="erase")  # erasure is not sharing: never held back
    _record(any_store, "rb", True)
    report = OutboxWorker(any_store, TENANT, PARTNER, partner.send, consent=NEEDS).run()
    assert sorted(partner.got) == ["erase-a", "share-b"]
    assert report.withheld == 1 and report.metadata()["withheld_without_consent"] == 1
    held = _rows(any_store)["share-a"]
    assert held["status"] == "withheld" and held["attempts"] == 0
    assert held["last_error"] == "no consent to share-with-partner dossier: no consent recorded"
    with any_store.begin() as conn:
        assert any_store.outbox_counts(conn, TENANT, PARTNER) == {"sent": 2, "withheld": 1}
    # runs without consent do not claim it again
    _due_now(any_store)
    assert OutboxWorker(any_store, TENANT, PARTNER, partner.send, consent=NEEDS).run().claimed == 0
    # consent recorded: due again, sent by the next run
    assert _record(any_store, "ra", True).resumed == 1
    OutboxWorker(any_store, TENANT, PARTNER, partner.send, consent=NEEDS).run()
    assert partner.got[-1] == "share-a" and _rows(any_store)["share-a"]["status"] == "sent"


def test_a_withdrawal_stops_every_item_not_yet_sent_and_a_regrant_resumes_it_as_it_was(any_store: Store):
    partner = Partner()
    _record(any_store, "rc", True)
    _enqueue(any_store, "first", "rc")
    OutboxWorker(any_store, TENANT, PARTNER, partner.send, consent=NEEDS).run()
    _enqueue(any_store, "second", "rc")
    _enqueue(any_store, "lost-answer", "rc")
    with any_store.begin() as conn:  # an earlier attempt of this one may have landed
        conn.execute(
            update(t.outbox).where(t.outbox.c.payload["key"].as_string() == "lost-answer").values(status="uncertain")
        )
    _record(any_store, "rc", False, source="dossier")  # withdrawn
    OutboxWorker(any_store, TENANT, PARTNER, partner.send, consent=NEEDS).run()
    assert partner.got == ["first"]
    rows = _rows(any_store)
    assert rows["second"]["status"] == rows["lost-answer"]["status"] == "withheld"
    assert "withdrawn according to dossier" in rows["second"]["last_error"]
    _record(any_store, "rc", True, source="dossier")
    rows = _rows(any_store)
    assert rows["second"]["status"] == "pending" and rows["lost-answer"]["status"] == "uncertain"  # looks first
    OutboxWorker(any_store, TENANT, PARTNER, partner.send, consent=NEEDS).run()
    assert sorted(partner.got) == ["first", "lost-answer", "second"]


def test_the_worker_asks_the_holder_once_when_there_is_no_record_and_waits_for_an_unknown_resident(any_store: Store):
    partner = Partner()
    asked: list[str] = []

    def ask(item: Any) -> None:
        asked.append(item["payload"]["key"])
        with any_store.begin() as conn:
            record(any_store, conn, TENANT, item["payload"]["resident"], SHARE, RECEIVER, True, "crm", "contact:1")

    _enqueue(any_store, "ask-me", "rd")
    _enqueue(any_store, "nobody-yet", None)
    report = OutboxWorker(any_store, TENANT, PARTNER, partner.send, consent=NEEDS, consent_ask=ask).run()
    assert asked == ["ask-me"] and partner.got == ["ask-me"]
    waiting = _rows(any_store)["nobody-yet"]
    assert waiting["status"] == "retry" and waiting["attempts"] == 0 and report.retry_later == 1


def test_the_worker_checks_what_the_registered_connector_declares(any_store: Store):
    partner = Partner()
    fake = Connector(
        name=PARTNER,
        title="CRM",
        summary="a throw-away partner",
        push=Push(run=lambda run: None, description="", consent=NEEDS),  # type: ignore[arg-type,return-value]
    )
    _enqueue(any_store, "declared", "re")
    with REGISTRY.registered(fake):
        OutboxWorker(any_store, TENANT, PARTNER, partner.send).run()
    assert partner.got == [] and _rows(any_store)["declared"]["status"] == "withheld"


# --- authentic sources ----------------------------------------------------------------------------------------


@dataclass
class Fetched:
    residents: list[str]

    def metadata(self) -> dict[str, Any]:
        return {"records_seen": len(self.residents)}


def test_an_authentic_source_is_fetched_only_for_residents_with_a_mandate(any_store: Store):
    fetched: list[list[str]] = []

    def fetch(run: PartnerRun, residents: Sequence[str], full: bool) -> Fetched:
        fetched.append(list(residents))
        return Fetched(list(residents))

    registry_pull = Pull.under_mandate(
        Mandate(partner="registry", subjects=lambda run: ["m1", "m2", "m3"], fetch=fetch),
        description="dwelling facts from an authentic registry, under the resident's mandate",
    )
    with any_store.begin() as conn:
        record(any_store, conn, TENANT, "m1", Purpose.FETCH_UNDER_MANDATE, "registry", True, "registry", "mandate:1")
        record(any_store, conn, TENANT, "m2", Purpose.FETCH_UNDER_MANDATE, "registry", False, "registry", "mandate:2")
        record(any_store, conn, TENANT, "m3", SHARE, "registry", True, "crm", "contact:3")  # another purpose
    source = Connector(name="registry", title="Registry", summary="an authentic source", pull=registry_pull)
    with REGISTRY.registered(source):
        tenant = TenantConfig(id=TENANT, name="Coop A", partners={"registry": PartnerConfig(base_url="http://x")})
        run = PartnerRun(any_store, HubConfig(tenants=[tenant]), tenant)
        assert source.pull is not None
        outcome = source.pull.run(run, False)
    assert fetched == [["m1"]]
    assert outcome.metadata() == {"records_seen": 1, "fetched_for": 1, "withheld_without_mandate": 2}
    assert registry_pull.mandate is not None and registry_pull.mandate.purpose is Purpose.FETCH_UNDER_MANDATE


# --- by hand: a coordinator --------------------------------------------------------------------------------


def _resident(store: Store, cid: str, tenant: str = TENANT) -> None:
    now = utcnow()
    with store.begin() as conn:
        store.upsert_entities(
            conn,
            [
                {
                    "canonical_id": cid,
                    "tenant": tenant,
                    "entity": "resident",
                    "parent_id": None,
                    "natural_key": None,
                    "data": {"last_name": "Telefoon"},
                    "data_hash": cid,
                    "version": 1,
                    "created_at": now,
                    "updated_at": now,
                    "deleted_at": None,
                }
            ],
        )


def test_a_coordinator_records_what_the_resident_said_and_it_stands_over_the_partner(any_store: Store):
    import pytest

    from hub.consent import ConsentError, consent_report, record_by_coordinator

    _resident(any_store, "r-phone")
    _record(any_store, "r-phone", True)  # the CRM's privacy flag
    partners = (PARTNER, RECEIVER)
    out = record_by_coordinator(any_store, TENANT, "r-phone", SHARE.value, RECEIVER, False, "desk:anna", partners)
    assert out.logged and out.standing["source"] == "coordinator" and out.standing["granted"] is False
    with any_store.begin() as conn:
        assert not check(any_store, conn, TENANT, ["r-phone"], SHARE, RECEIVER).allowed
    again = record_by_coordinator(any_store, TENANT, "r-phone", SHARE.value, RECEIVER, False, "desk:anna", partners)
    assert not again.logged  # said twice, one statement
    report = consent_report(any_store, TENANT, "r-phone")
    assert [(h["source"], h["granted"]) for h in report["history"]] == [("crm", True), ("coordinator", False)]
    assert report["standing"][0]["source_ref"] == "coordinator:desk:anna"
    for bad, match in (
        (dict(recorded_by="anna@example.org"), "role or staff id"),
        (dict(purpose="marketing"), "unknown purpose"),
        (dict(partner="woningpas"), "has no partner"),
        (dict(resident="r-nobody"), "no live resident"),
        (dict(tenant=OTHER), "no live resident"),  # another tenant's resident id
    ):
        args = {"tenant": TENANT, "resident": "r-phone", "purpose": SHARE.value, "partner": RECEIVER}
        args |= {k: v for k, v in bad.items() if k != "recorded_by"}
        with pytest.raises(ConsentError, match=match):
            record_by_coordinator(
                any_store,
                args["tenant"],
                args["resident"],
                args["purpose"],
                args["partner"],
                True,
                bad.get("recorded_by", "desk:anna"),
                partners,
            )


def test_the_mart_counts_standing_consent_per_purpose_and_partner_without_residents(store: Store, tmp_path):
    import duckdb

    from hub.config import sandbox_config
    from hub.mart.build import build_mart

    config = sandbox_config()
    tenant = config.tenants[0].id
    with store.begin() as conn:
        for rid, granted in (("m1", True), ("m2", True), ("m3", False)):
            record(store, conn, tenant, rid, SHARE, "hoomdossier", granted, "econobis", f"contact:{rid}")
    result = build_mart(store, config, tmp_path / "mart")
    con = duckdb.connect(str(result.path), read_only=True)
    try:
        rows = con.execute(
            "SELECT tenant, purpose, partner, granted, residents FROM consents ORDER BY granted"
        ).fetchall()
        columns = [c[0] for c in con.execute("DESCRIBE consents").fetchall()]
    finally:
        con.close()
    assert rows == [(tenant, SHARE.value, "hoomdossier", False, 1), (tenant, SHARE.value, "hoomdossier", True, 2)]
    assert "resident_id" not in columns and "source_ref" not in columns
