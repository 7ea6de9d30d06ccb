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
