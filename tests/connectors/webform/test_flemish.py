"""A Flemish desk's form: Belgian addresses (huisnummer with its letter, busnummer, 4-digit postcode, gemeente)
checked and normalised, Dutch rules kept apart; and, for a desk without a CRM, the dossier the hub opens itself
from a checked sign-up — once per sign-up, with provenance `webform` and the address's fallback key."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import ValidationError

from connectors.webform.dossiers import open_dossiers, signup_dwelling_key
from connectors.webform.inbox import apply_inbox
from connectors.webform.sandbox.personas import signups
from connectors.webform.schemas import SignUpForm, belgian_box, belgian_number, belgian_postcode
from connectors.webform.settings import APPLY_QUARANTINE, INBOX_SOURCE
from hub.consent import Purpose, check
from hub.store import Store
from hub.store import tables as t

TENANT = "loket-leuven"
CAMPAIGNS = {"energieloket": "Energieloket Leuven"}


def flemish(**over: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": "leuven-0001",
        "first_name": "Lotte",
        "last_name": "Peeters",
        "email": "lotte.peeters@example.be",
        "phone": "+32 470 12 34 56",
        "country": "BE",
        "street": "Naamsestraat",
        "number": "12a",
        "box": "bus 0101",
        "postcode": "3000",
        "city": "Leuven",
        "campaign": "energieloket",
        "measures": ["Dakisolatie"],
        "consent": {"privacy_policy": True, "given_at": "2026-11-02T10:00:00+01:00"},
    }
    data.update(over)
    return {k: v for k, v in data.items() if v is not None}


def form(**over: Any) -> SignUpForm:
    return SignUpForm.model_validate(flemish(**over))


def receive(store: Store, webhook_id: str, data: dict[str, Any]) -> int:
    payload = json.dumps({"type": "signup.created", "timestamp": "2026-11-02T10:00:00Z", "data": data})
    with store.begin() as conn:
        item = store.inbox_put(
            conn, INBOX_SOURCE, TENANT, payload, {"webhook_id": webhook_id}, message_id=f"webhook:{webhook_id}"
        )
    return item.id


def entities(store: Store, entity: str) -> list[dict[str, Any]]:
    with store.begin() as conn:
        return [dict(r) for r in conn.execute(t.entities.select().where(t.entities.c.entity == entity)).mappings()]


# --- Belgian addresses --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "kept"), [("3000", "3000"), (" 3001 ", "3001"), ("B-3010", "3010"), ("b 3012", "3012"), ("9999", "9999")]
)
def test_a_belgian_postcode_is_four_digits(given, kept):
    assert belgian_postcode(given) == kept


@pytest.mark.parametrize("given", ["0300", "300", "30000", "3000 AB", "1621AB", "Leuven", ""])
def test_what_is_not_a_belgian_postcode(given):
    with pytest.raises(ValueError, match="not a Belgian postcode"):
        belgian_postcode(given)


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("12", "12"),
        ("12a", "12A"),
        ("12 B", "12B"),
        ("12-c", "12C"),
        ("7bis", "7bis"),
        ("7 BIS", "7bis"),
        ("3ter", "3ter"),
    ],
)
def test_a_huisnummer_keeps_its_letter(given, kept):
    assert belgian_number(given) == kept


@pytest.mark.parametrize("given", ["0", "012", "12/3", "12 bus 3", "A12", "123456", "twaalf", ""])
def test_what_is_not_a_huisnummer(given):
    with pytest.raises(ValueError, match="not a Belgian huisnummer"):
        belgian_number(given)


@pytest.mark.parametrize(
    ("given", "kept"), [("3", "3"), ("bus 3", "3"), ("Bus 0101", "0101"), ("bte 2", "2"), ("a", "A"), ("1.2", "1.2")]
)
def test_a_busnummer_is_kept_as_the_registry_writes_it(given, kept):
    assert belgian_box(given) == kept


@pytest.mark.parametrize("given", ["", "bus", "123456789", "3 hoog", "#3"])
def test_what_is_not_a_busnummer(given):
    with pytest.raises(ValueError, match="not a busnummer"):
        belgian_box(given)


def test_a_flemish_signup_is_normalised():
    f = form()
    assert (f.country, f.street, f.number, f.box, f.postcode, f.city) == (
        "BE",
        "Naamsestraat",
        "12A",
        "0101",
        "3000",
        "Leuven",
    )


@pytest.mark.parametrize(
    ("over", "field"),
    [
        ({"postcode": "3000 AB"}, "postcode"),
        ({"number": "12 bus 3"}, "number"),
        ({"addition": "b"}, "addition"),
        ({"box": "3 hoog"}, "box"),
        ({"street": None}, "street"),
        ({"city": None}, "city"),
        ({"country": "FR"}, "country"),
    ],
)
def test_a_bad_flemish_address_is_refused_naming_the_field(over, field):
    with pytest.raises(ValidationError) as err:
        form(**over)
    errors = err.value.errors(include_input=False)
    assert any(field in ".".join(map(str, e["loc"])) or field in e["msg"] for e in errors), errors


def test_dutch_rules_stay_dutch():
    dutch = {"country": "NL", "street": "Grote Noord", "number": "41", "postcode": "1621 kl", "city": "Hoorn"}
    assert form(**dutch, box=None).postcode == "1621KL"
    for over in ({"postcode": "3000"}, {"number": "12a"}, {"box": "3"}):
        with pytest.raises(ValidationError):
            form(**{**dutch, "box": None, **over})


def test_a_form_without_country_is_dutch_as_before():
    data = flemish(box=None)
    del data["country"]
    data.update(postcode="1621 AA", number="12")
    assert SignUpForm.model_validate(data).country == "NL"


def test_the_dwelling_key_is_the_address_fallback_never_an_official_id():
    f = form().model_dump(mode="json")
    assert signup_dwelling_key(f) == "be:addr:3000|naamsestraat|12A|0101"
    assert signup_dwelling_key({**f, "street": "Naamsestr.", "box": None}) == "be:addr:3000|naamsestraat|12A|"
    dutch = {"country": "NL", "postcode": "1621KL", "number": "41", "addition": "b", "street": "Grote Noord"}
    assert signup_dwelling_key(dutch) == "nl:addr:1621KL|41|B|"


# --- hub-owned dossiers ---------------------------------------------------------------------------------------


def test_a_checked_flemish_signup_opens_one_dossier_in_the_hub(store):
    first = receive(store, "msg_1", flemish())
    receive(store, "msg_2", flemish())  # the same sign-up under a new webhook-id
    receive(store, "msg_3", flemish(id="leuven-0002", first_name="Wout", email="wout@example.be", box=None))
    assert apply_inbox(store, TENANT, {}, CAMPAIGNS).applied == 3
    out = open_dossiers(store, TENANT, CAMPAIGNS)
    assert (out.dossiers_opened, out.dossiers_already_open) == (2, 1)
    assert open_dossiers(store, TENANT, CAMPAIGNS).dossiers_opened == 0  # kept: nothing left open

    dossiers = entities(store, "dossier")
    assert len(dossiers) == 2 and {d["data"]["phase"] for d in dossiers} == {"interest"}
    [campaign] = entities(store, "campaign")
    assert campaign["data"]["name"] == "Energieloket Leuven"
    assert {d["data"]["campaign_id"] for d in dossiers} == {campaign["canonical_id"]}
    dwellings = {d["natural_key"]: d["data"] for d in entities(store, "dwelling")}
    assert set(dwellings) == {"be:addr:3000|naamsestraat|12A|0101", "be:addr:3000|naamsestraat|12A|"}
    d = dwellings["be:addr:3000|naamsestraat|12A|0101"]
    assert (d["country"], d["number"], d["box"], d["postcode"], d["city"]) == ("BE", "12A", "0101", "3000", "Leuven")
    assert not d["identifiers"]  # no Adressenregister id is made up
    residents = entities(store, "resident")
    assert sorted(r["data"]["first_name"] for r in residents) == ["Lotte", "Wout"]
    with store.begin() as conn:
        sources = {r["source"] for r in conn.execute(t.field_provenance.select()).mappings()}
        events = conn.execute(t.journey_events.select()).mappings().all()
        rows = {r["id"]: r for r in conn.execute(t.inbox.select()).mappings()}
    assert sources == {"webform"} and {e["source"] for e in events} == {"webform"} and len(events) == 2
    assert {r["status"] for r in rows.values()} == {"kept"}
    assert rows[first]["result"]["newly_opened"] is True


def test_a_repost_with_changed_answers_is_not_an_update(store):
    receive(store, "msg_1", flemish())
    apply_inbox(store, TENANT, {}, CAMPAIGNS)
    open_dossiers(store, TENANT, CAMPAIGNS)
    receive(store, "msg_2", flemish(first_name="Charlotte"))
    apply_inbox(store, TENANT, {}, CAMPAIGNS)
    assert open_dossiers(store, TENANT, CAMPAIGNS).dossiers_already_open == 1
    [resident] = entities(store, "resident")
    assert resident["data"]["first_name"] == "Lotte"


def test_the_forms_consent_is_recorded_for_the_partners_the_privacy_policy_covers(store):
    receive(store, "msg_1", flemish())
    receive(store, "msg_2", flemish(id="leuven-0002", consent={"privacy_policy": False}))
    apply_inbox(store, TENANT, {}, CAMPAIGNS)
    out = open_dossiers(store, TENANT, CAMPAIGNS, privacy_policy_covers=["woningpas"])
    assert out.consents_recorded == 2
    residents = {r["data"]["consent_privacy"]: r["canonical_id"] for r in entities(store, "resident")}
    with store.begin() as conn:
        yes = check(store, conn, TENANT, [residents[True]], Purpose.SHARE_WITH_PARTNER, "woningpas")
        no = check(store, conn, TENANT, [residents[False]], Purpose.SHARE_WITH_PARTNER, "woningpas")
        [log] = [r for r in conn.execute(t.consent_log.select()).mappings() if r["granted"]]
    assert yes.allowed and not no.allowed and no.withdrawn
    assert (log["source"], log["source_ref"]) == ("webform", "webform-signup:wf-loket-leuven-leuven-0001")


def test_an_unknown_campaign_code_is_quarantined_and_the_good_ones_go_on(store):
    receive(store, "msg_bad", flemish(id="leuven-0009", campaign="elders"))
    receive(store, "msg_pc", flemish(id="leuven-0010", postcode="3000 AB"))
    receive(store, "msg_good", flemish())
    out = apply_inbox(store, TENANT, {}, CAMPAIGNS)
    assert (out.applied, out.quarantined) == (1, 2)
    assert open_dossiers(store, TENANT, CAMPAIGNS).dossiers_opened == 1
    with store.begin() as conn:
        q = conn.execute(t.quarantine.select()).mappings().all()
    reasons = [r["reason"] for r in q]
    assert {r["source"] for r in q} == {APPLY_QUARANTINE}
    assert any("hub_campaigns" in r for r in reasons) and any("postcode" in r for r in reasons)
    assert not any("3000 AB" in r or "Peeters" in r for r in reasons)


def test_the_sandbox_posts_deterministic_leuven_signups_that_pass_the_schema():
    first, again = signups(TENANT, 25, "energieloket"), signups(TENANT, 25, "energieloket")
    assert first == again and signups(TENANT, 25, "energieloket", seed=1) != first
    assert len({s["id"] for s in first}) == 25
    for s in first:
        f = SignUpForm.model_validate(s)
        assert f.country == "BE" and f.postcode in {"3000", "3001", "3010", "3012", "3018"}
        assert f.email or (f.phone or "").startswith("+32 ")
    assert any(s.get("box") for s in first) and any(not s.get("box") for s in first)
    assert {s["city"] for s in first} & {"Leuven", "Heverlee", "Kessel-Lo"}
    assert all(SignUpForm.model_validate(s).country == "NL" for s in signups("coop-noord", 3, 4))


def test_a_replayed_quarantined_flemish_signup_opens_its_dossier_once_it_parses(store):
    mid = receive(store, "msg_later", flemish(campaign="dakisolatie-2027"))
    assert apply_inbox(store, TENANT, {}, CAMPAIGNS).quarantined == 1
    assert open_dossiers(store, TENANT, CAMPAIGNS).dossiers_opened == 0
    with store.begin() as conn:
        store.inbox_requeue_apply(conn, TENANT, mid)  # the quarantine replay (REAPPLY_INBOX), after the fix
    later = {**CAMPAIGNS, "dakisolatie-2027": "Dakisolatie 2027"}
    assert apply_inbox(store, TENANT, {}, later).applied == 1
    assert open_dossiers(store, TENANT, later).dossiers_opened == 1
    assert [c["data"]["name"] for c in entities(store, "campaign")] == ["Dakisolatie 2027"]
