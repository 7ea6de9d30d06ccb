"""works.completed: what the resident supplies for premiums, checked strictly (field named, never the value),
written into the canonical model (premium file, invoices, document references) with provenance `webform`, the
consent to apply for premiums recorded for the configured partners — once, however often the event comes."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import ValidationError

from connectors.webform.dossiers import open_dossiers
from connectors.webform.inbox import apply_inbox
from connectors.webform.sandbox.personas import works_completed
from connectors.webform.schemas import WorksCompleted, bsn_valid, iban_valid, insz_valid
from connectors.webform.settings import APPLY_QUARANTINE, INBOX_SOURCE, SIGNUP_CREATED, WORKS_COMPLETED
from connectors.webform.works import document_content
from hub.consent import Purpose, check
from hub.documents import document_content as any_document_content
from hub.store import Store
from hub.store import tables as t
from tests.connectors.webform.test_flemish import CAMPAIGNS, TENANT, flemish

PARTNERS = ["fluvius"]


def put(store: Store, webhook_id: str, event: str, data: dict[str, Any], tenant: str = TENANT) -> int:
    payload = json.dumps({"type": event, "timestamp": "2026-11-02T10:00:00Z", "data": data})
    with store.begin() as conn:
        item = store.inbox_put(
            conn, INBOX_SOURCE, tenant, payload, {"webhook_id": webhook_id}, message_id=f"webhook:{webhook_id}"
        )
    return item.id


def rows(store: Store, entity: str) -> list[dict[str, Any]]:
    with store.begin() as conn:
        return [dict(r) for r in conn.execute(t.entities.select().where(t.entities.c.entity == entity)).mappings()]


def signed_up(store: Store) -> str:
    """A hub-owned dossier from a Flemish sign-up (submission id leuven-0001); returns the intake id."""
    put(store, "msg_signup", SIGNUP_CREATED, flemish())
    apply_inbox(store, TENANT, {}, CAMPAIGNS)
    open_dossiers(store, TENANT, CAMPAIGNS)
    (intake,) = rows(store, "intake")
    return str(intake["canonical_id"])


def test_checksums():
    assert insz_valid("85073003328") and not insz_valid("85073003329")
    assert insz_valid("00012556777") or insz_valid("00012556701")  # born from 2000: the leading 2
    assert bsn_valid("111222333") and not bsn_valid("111222334")
    assert iban_valid("BE68539007547034") and iban_valid("NL91ABNA0417164300") and not iban_valid("BE68539007547035")


@pytest.mark.parametrize(
    ("over", "field"),
    [
        ({"national_id": "85073003329"}, "national_id"),
        ({"national_id": "111222334"}, "national_id"),
        ({"iban": "BE68539007547035"}, "iban"),
        ({"ean": "123448820000000000"}, "ean"),
        ({"capacity": "huurder"}, "capacity"),
        ({"colour": "blue"}, "colour"),
        ({"income": {"tax_year": 2025, "taxable_income": 1, "household_type": "gezin"}}, "income.household_type"),
    ],
)
def test_the_schema_names_the_field(over, field):
    data = {**works_completed(TENANT, 0, signup="leuven-0001"), **over}
    with pytest.raises(ValidationError) as exc:
        WorksCompleted.model_validate(data)
    locs = {".".join(str(p) for p in e["loc"]) for e in exc.value.errors()}
    assert any(loc.startswith(field) for loc in locs), locs


def test_an_invoice_field_and_a_document_are_checked():
    data = works_completed(TENANT, 0, signup="leuven-0001")
    data["invoices"][0]["contractor_kbo"] = "0403362425"
    data["documents"][0]["content_base64"] = "not base64!"
    with pytest.raises(ValidationError) as exc:
        WorksCompleted.model_validate(data)
    locs = {".".join(str(p) for p in e["loc"]) for e in exc.value.errors()}
    assert "invoices.0.contractor_kbo" in locs and "documents.0.content_base64" in locs


def test_exactly_one_link():
    data = works_completed(TENANT, 0, signup="leuven-0001")
    with pytest.raises(ValidationError, match="exactly one"):
        WorksCompleted.model_validate({**data, "dossier": "0b6a4c3e-1f7d-4b7e-9a55-1c2d3e4f5a6b"})
    data.pop("signup")
    with pytest.raises(ValidationError, match="exactly one"):
        WorksCompleted.model_validate(data)


def test_a_bad_event_is_quarantined_with_the_field_named_and_no_value(store):
    signed_up(store)
    data = works_completed(TENANT, 0, signup="leuven-0001")
    data["iban"] = "BE68539007547035"
    put(store, "msg_bad", WORKS_COMPLETED, data)
    out = apply_inbox(store, TENANT, {}, CAMPAIGNS, PARTNERS)
    assert out.quarantined == 1 and out.works_applied == 0
    with store.begin() as conn:
        entries = [dict(r) for r in conn.execute(t.quarantine.select()).mappings()]
    (entry,) = entries
    assert entry["source"] == APPLY_QUARANTINE
    assert "iban" in entry["reason"] and "BE68539007547035" not in entry["reason"]
    assert "works.completed" in entry["reason"]
    assert rows(store, "premium_file") == [] and rows(store, "invoice") == []


def test_an_unknown_dossier_is_refused(store):
    signed_up(store)
    put(store, "msg_x", WORKS_COMPLETED, works_completed(TENANT, 0, dossier="0b6a4c3e-1f7d-4b7e-9a55-1c2d3e4f5a6b"))
    out = apply_inbox(store, TENANT, {}, CAMPAIGNS, PARTNERS)
    assert out.quarantined == 1
    with store.begin() as conn:
        (entry,) = [dict(r) for r in conn.execute(t.quarantine.select()).mappings()]
    assert "no live dossier" in entry["reason"]


def test_works_completed_writes_the_premium_file_invoices_documents_and_consent(store):
    intake_id = signed_up(store)
    put(store, "msg_works", WORKS_COMPLETED, works_completed(TENANT, 0, signup="leuven-0001"))
    out = apply_inbox(store, TENANT, {}, CAMPAIGNS, PARTNERS)
    assert (out.works_applied, out.quarantined, out.consents_recorded) == (1, 0, 1)

    (pf,) = rows(store, "premium_file")
    d = pf["data"]
    assert pf["parent_id"] == intake_id
    assert (d["capacity"], d["national_id"], d["iban"]) == ("eigenaar_bewoner", "85073003328", "BE68539007547034")
    assert d["income"]["household_type"] == "koppel" and d["grid_connection_year"] == 1987
    assert sorted(e["kind"] for e in d["documents"]) == ["aanslagbiljet", "factuur", "factuur"]

    invoices = {r["data"]["number"]: r["data"] for r in rows(store, "invoice")}
    assert set(invoices) == {"F-20260000-1", "F-20260000-2"}
    roof = invoices["F-20260000-1"]
    assert (roof["category"], roof["quantity"], roof["contractor_kbo"]) == ("Dakisolatie", 62.0, "0403362424")
    assert roof["material"] == {"brand": "Isover", "type": "Multimax 30", "rd": 4.5}
    assert roof["document_id"] is not None

    docs = {r["canonical_id"]: r["data"] for r in rows(store, "document")}
    assert len(docs) == 3
    scan = docs[roof["document_id"]]
    assert scan["kind"] == "factuur" and scan["inbox_id"] is not None
    content = document_content(store, TENANT, scan)
    assert content is not None and content.startswith(b"%PDF")
    assert any_document_content(store, TENANT, scan) == content  # through the registry (hub/documents.py)

    resident = _resident(store)
    with store.begin() as conn:
        prov = store.load_provenance(conn, [pf["canonical_id"]], tenant=TENANT)[pf["canonical_id"]]
        verdict = check(store, conn, TENANT, [resident], Purpose.APPLY_FOR_PREMIUM, "fluvius")
        msg = store.inbox_get(conn, TENANT, 2)
    assert prov["iban"]["source"] == "webform" and prov["iban"]["source_ref"].startswith("works:")
    assert verdict.allowed
    assert verdict.standing[resident]["source_ref"] == "mandate:MDT-loket-leuven-0000"
    assert msg is not None and msg["status"] == "kept"
    # no personal data in the message's result
    assert "BE68539007547034" not in json.dumps(msg["result"])


def _resident(store: Store) -> str:
    (r,) = rows(store, "resident")
    return str(r["canonical_id"])


def test_the_same_event_twice_changes_nothing(store):
    signed_up(store)
    data = works_completed(TENANT, 0, signup="leuven-0001")
    put(store, "msg_a", WORKS_COMPLETED, data)
    apply_inbox(store, TENANT, {}, CAMPAIGNS, PARTNERS)
    before = {
        e: sorted((r["canonical_id"], r["data_hash"]) for r in rows(store, e))
        for e in ("premium_file", "invoice", "document")
    }
    put(store, "msg_b", WORKS_COMPLETED, data)  # the same event under a new webhook-id
    out = apply_inbox(store, TENANT, {}, CAMPAIGNS, PARTNERS)
    assert out.works_applied == 1 and out.consents_recorded == 0
    after = {
        e: sorted((r["canonical_id"], r["data_hash"]) for r in rows(store, e))
        for e in ("premium_file", "invoice", "document")
    }
    assert after == before
    resident = _resident(store)
    with store.begin() as conn:
        history = store.consent_history(conn, TENANT, resident)
    assert len([h for h in history if h["purpose"] == Purpose.APPLY_FOR_PREMIUM.value]) == 1


def test_a_later_event_updates_what_it_carries(store):
    signed_up(store)
    put(store, "msg_a", WORKS_COMPLETED, works_completed(TENANT, 0, signup="leuven-0001", documents=False))
    apply_inbox(store, TENANT, {}, CAMPAIGNS, PARTNERS)
    later = {"signup": "leuven-0001", "iban": "NL91ABNA0417164300", "consent": {"apply_for_premium": True}}
    put(store, "msg_b", WORKS_COMPLETED, later)
    apply_inbox(store, TENANT, {}, CAMPAIGNS, PARTNERS)
    (pf,) = rows(store, "premium_file")
    assert pf["data"]["iban"] == "NL91ABNA0417164300"
    assert pf["data"]["national_id"] == "85073003328"  # not carried by the later event: kept
    assert len(rows(store, "invoice")) == 2


def test_an_event_before_its_sign_up_is_opened_waits(store):
    put(store, "msg_signup", SIGNUP_CREATED, flemish())
    put(store, "msg_works", WORKS_COMPLETED, works_completed(TENANT, 0, signup="leuven-0001"))
    out = apply_inbox(store, TENANT, {}, CAMPAIGNS, PARTNERS)
    assert (out.works_applied, out.works_waiting, out.quarantined) == (0, 1, 0)
    open_dossiers(store, TENANT, CAMPAIGNS)
    out = apply_inbox(store, TENANT, {}, CAMPAIGNS, PARTNERS)
    assert out.works_applied == 1
    assert len(rows(store, "premium_file")) == 1


def test_by_dossier_id_and_no_partners_no_consent(store):
    signed_up(store)
    (dossier,) = rows(store, "dossier")
    put(store, "msg_works", WORKS_COMPLETED, works_completed(TENANT, 0, dossier=str(dossier["canonical_id"])))
    out = apply_inbox(store, TENANT, {}, CAMPAIGNS)
    assert out.works_applied == 1 and out.consents_recorded == 0
    resident = _resident(store)
    with store.begin() as conn:
        assert not check(store, conn, TENANT, [resident], Purpose.APPLY_FOR_PREMIUM, "fluvius").allowed
