"""Apply with known data: the premium application built from the canonical model — the CRM's executed kansen,
the woonplan's advice, the authentic register's building facts and EPC, and what the resident gave through the
desk's form — with each field's source, the prefilled share, what is still needed and what blocks it."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

import pytest

from connectors.fluvius import application, categories
from connectors.fluvius.categories import ISDE, MVP, portal_category
from connectors.webform.inbox import apply_inbox
from connectors.webform.sandbox.personas import works_completed
from connectors.webform.settings import INBOX_SOURCE, WORKS_COMPLETED
from hub.canonical import Advice, Dossier, Dwelling, DwellingFile, EnergyCertificate, Intake, Opportunity, Resident
from hub.canonical.phases import Phase
from hub.consent import Purpose, record
from hub.merge import Incoming, MergeStats, merge
from hub.store import Store

AT = datetime(2026, 10, 1, 12, 0, tzinfo=UTC)
TODAY = date(2026, 11, 2)
IDS = {
    k: f"00000000-0000-4000-8000-{i:012d}"
    for i, k in enumerate(("resident", "intake", "dwelling", "file", "dossier", "roof", "hp", "vent", "adv", "epc"), 1)
}


def seed(store: Store, tenant: str, country: str = "BE", executed: bool = True) -> None:
    """A dossier as the partners left it: Econobis' resident, intake and kansen; Woningpas' dwelling file and EPC
    (BE) or Hoomdossier's (NL); the woonplan's roof advice with its surface."""
    be = country == "BE"
    status = "executed" if executed else "in_progress"
    items = [
        Incoming(
            Resident(id=IDS["resident"], tenant=tenant, first_name="Lotte", last_name="Peeters"), "econobis", "c:1", AT
        ),
        Incoming(
            Intake(
                id=IDS["intake"], tenant=tenant, resident_id=IDS["resident"], dwelling_id=IDS["dwelling"], status="open"
            ),
            "econobis",
            "i:1",
            AT,
        ),
        Incoming(
            Dwelling(
                id=IDS["dwelling"],
                tenant=tenant,
                dwelling_key="be:addr:3000|naamsestraat|12A|" if be else "nl:bag:0363010000000001",
                country="BE" if be else "NL",
                street="Naamsestraat" if be else "Grote Noord",
                number="12A" if be else "41",
                postcode="3000" if be else "1621KL",
                city="Leuven" if be else "Hoorn",
                resident_id=IDS["resident"],
            ),
            "woningpas" if be else "econobis",
            "d:1",
            AT,
        ),
        Incoming(
            DwellingFile(
                id=IDS["file"],
                tenant=tenant,
                dwelling_id=IDS["dwelling"],
                building_form="halfopen bebouwing" if be else None,
                building_type=None if be else "Tussenwoning",
                build_year=1962,
                owner_occupied=True,
                permits=[{"reference": "OMV-1", "date": "1961-04-01", "subject": "nieuwbouw"}] if be else [],
            ),
            "woningpas" if be else "hoomdossier",
            "f:1",
            AT,
        ),
        Incoming(
            Opportunity(
                id=IDS["roof"],
                tenant=tenant,
                intake_id=IDS["intake"],
                measure_category="Dakisolatie",
                measures=["Dakisolatie hellend dak"],
                status=status,
            ),
            "econobis",
            "o:1",
            AT,
        ),
        Incoming(
            Opportunity(
                id=IDS["vent"],
                tenant=tenant,
                intake_id=IDS["intake"],
                measure_category="Ventilatie",
                status=status,
            ),
            "econobis",
            "o:3",
            AT,
        ),
        Incoming(
            Advice(
                id=IDS["adv"],
                tenant=tenant,
                dwelling_file_id=IDS["file"],
                measure="measure:12",
                name="Schuin dak isoleren van binnenuit",
                quantity=58.0,
                quantity_unit="m2",
            ),
            "hoomdossier",
            "a:1",
            AT,
        ),
        Incoming(
            Dossier(
                id=IDS["dossier"],
                tenant=tenant,
                intake_id=IDS["intake"],
                resident_id=IDS["resident"],
                dwelling_id=IDS["dwelling"],
                phase=Phase.EXECUTION,
            ),
            "hub",
            "dossier",
            AT,
        ),
    ]
    if be:
        items.append(
            Incoming(
                Opportunity(
                    id=IDS["hp"],
                    tenant=tenant,
                    intake_id=IDS["intake"],
                    measure_category="Warmtepomp",
                    measures=["Volledige warmtepomp"],
                    status=status,
                ),
                "econobis",
                "o:2",
                AT,
            )
        )
        items.append(
            Incoming(
                EnergyCertificate(
                    id=IDS["epc"],
                    tenant=tenant,
                    dwelling_id=IDS["dwelling"],
                    label="C",
                    certificate_number="EPC-20240101-0001",
                    issued_on=date(2024, 1, 1),
                    current=True,
                ),
                "woningpas",
                "e:1",
                AT,
            )
        )
    with store.begin() as conn:
        merge(store, conn, items, MergeStats())


def resident_form(store: Store, tenant: str, data: dict[str, Any], webhook_id: str = "msg_w") -> None:
    payload = json.dumps({"type": WORKS_COMPLETED, "timestamp": "2026-11-02T10:00:00Z", "data": data})
    with store.begin() as conn:
        store.inbox_put(conn, INBOX_SOURCE, tenant, payload, {"webhook_id": webhook_id}, message_id=webhook_id)
    out = apply_inbox(store, tenant, {}, {}, ["fluvius"])
    assert out.works_applied == 1, out


def build(store: Store, tenant: str, regeling: str, **kw: Any) -> application.Plan:
    with store.begin() as conn:
        return application.build(store, conn, tenant, IDS["dossier"], regeling, TODAY, **kw)


# --- categories ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("regeling", "category", "measures", "expected"),
    [
        (MVP, "Dakisolatie", ["Dakisolatie plat dak"], ("dak", "isolatie")),
        (MVP, "Gevelisolatie", ["Spouwmuurisolatie"], ("buitenmuur", "spouw")),
        (MVP, "Isolatieglas", ["Triple glas"], ("ramen_deuren", "glas")),
        (MVP, "Warmtepomp", ["Hybride warmtepomp"], ("warmtepomp", "hybride")),
        (MVP, "Vloerisolatie", ["Bodemisolatie"], ("vloer", "kelder")),
        (ISDE, "Gevelisolatie", ["Spouwmuurisolatie"], ("spouwmuurisolatie", None)),
        (ISDE, "Warmtepomp", ["Hybride warmtepomp"], ("warmtepomp_hybride", None)),
        (ISDE, "Vloerisolatie", ["Bodemisolatie"], ("bodemisolatie", None)),
        (ISDE, "Isolatieglas", ["HR++ glas"], ("isolatieglas", None)),
    ],
)
def test_categories_map_per_regeling(regeling, category, measures, expected):
    pc = portal_category(regeling, category, measures)
    assert pc is not None and (pc.categorie, pc.subtype) == expected


@pytest.mark.parametrize("category", ["Ventilatie", "Zonnepanelen", "Kierdichting", "Cv-ketel"])
def test_what_no_premium_covers_maps_to_nothing(category):
    assert portal_category(MVP, category) is None and portal_category(ISDE, category) is None


def test_a_woonplan_advice_maps_to_the_hub_category():
    assert categories.advice_category("measure:12", "Schuin dak isoleren van binnenuit", None) == "Dakisolatie"
    assert categories.advice_category("measure:1", "Vloerisolatie", "vloerisolatie") == "Vloerisolatie"
    assert categories.advice_category("measure:4", "Spouwmuurisolatie", None) == "Spouwmuurisolatie"
    assert categories.advice_category("measure:19", "Gebalanceerde ventilatie", "ventilatie") is None


def test_no_category_requires_an_epc():
    assert not any(categories.needs_epc(r, c) for r in (MVP, ISDE) for c in ("dak", "warmtepomp", "dakisolatie"))


# --- the application --------------------------------------------------------------------------------------


def test_flemish_application_from_known_data(store):
    tenant = "loket-leuven"
    seed(store, tenant, "BE")
    resident_form(store, tenant, works_completed(tenant, 0, dossier=IDS["dossier"]))
    plan = build(store, tenant, MVP)
    assert plan.blocked_reasons == [] and plan.still_needed == []
    body = plan.body
    assert body is not None
    assert plan.categories == ["dak", "warmtepomp"]  # ventilation is not subsidised
    assert body["regeling"] == MVP and body["referentie"] == plan.referentie and plan.referentie.startswith("hub-")
    assert body["aanvrager"] == {
        "naam": "Lotte Peeters",
        "insz": "85073003328",
        "iban": "BE68539007547034",
        "hoedanigheid": "eigenaar_bewoner",
    }
    g = body["gebouw"]
    assert g["dwelling_key"] == "be:addr:3000|naamsestraat|12A|" and g["adres"]["gemeente"] == "Leuven"
    assert (g["type"], g["bouwjaar"], g["epc"], g["aansluitingsjaar"]) == ("woning", 1962, "EPC-20240101-0001", 1987)
    assert g["vergunningsdatum"] == "1961-04-01" and g["ean"].startswith("54")
    assert body["inkomen"] == {
        "aanslagjaar": 2025,
        "gezamenlijk_belastbaar_inkomen": 41000.0,
        "personen_ten_laste": 1,
        "gezinstype": "koppel",
    }
    roof, hp = body["categorieen"]
    assert (roof["categorie"], roof["subtype"], roof["hoeveelheid"], roof["eenheid"]) == ("dak", "isolatie", 62.0, "m2")
    assert roof["uitvoeringsdatum"] == "2026-09-15" and roof["materiaal"]["merk"] == "Isover"
    (f,) = roof["facturen"]
    assert (f["nummer"], f["datum"], f["bedrag_excl_btw"], f["aannemer_kbo"], f["is_voorschot"]) == (
        "F-20260000-1",
        "2026-09-20",
        4200.0,
        "0403362424",
        False,
    )
    assert (hp["categorie"], hp["subtype"], hp["eenheid"]) == ("warmtepomp", "lucht_water", "stuk")
    assert plan.opportunity_ids == {"dak": [IDS["roof"]], "warmtepomp": [IDS["hp"]]}
    kinds = sorted((d["kind"], d["category"]) for d in plan.documents)
    assert kinds == [("aanslagbiljet", None), ("factuur", "dak"), ("factuur", "warmtepomp")]
    assert all(d["media_type"] == "application/pdf" and d["filename"].endswith(".pdf") for d in plan.documents)
    # sources: what partners held, what the resident gave for this application
    s = plan.sources
    assert s["aanvrager.naam"] == "econobis" and s["gebouw.epc"] == "woningpas" and s["gebouw.type"] == "woningpas"
    assert s["gebouw.vergunningsdatum"] == "woningpas" and s["categorieen[dak].subtype"] == "econobis"
    assert (
        s["aanvrager.iban"] == "resident-form" and s["categorieen[dak].facturen[F-20260000-1].datum"] == "resident-form"
    )
    assert "missing" not in s.values()
    prefilled = sum(1 for v in s.values() if v not in ("resident-form", "missing"))
    assert plan.prefilled_share == pytest.approx(prefilled / len(s), abs=1e-4)
    assert 0.2 < plan.prefilled_share < 0.8


def test_the_reference_is_stable_and_excluded_categories_are_left_out(store):
    tenant = "loket-leuven"
    seed(store, tenant, "BE")
    resident_form(store, tenant, works_completed(tenant, 0, dossier=IDS["dossier"]))
    a, b = build(store, tenant, MVP), build(store, tenant, MVP)
    assert a.referentie == b.referentie and a.body == b.body
    only = build(store, tenant, MVP, exclude={"dak"})
    assert only.categories == ["warmtepomp"] and only.referentie != a.referentie
    assert [d["category"] for d in only.documents if d["kind"] == "factuur"] == ["warmtepomp"]


def test_dutch_application_with_meldcode_and_bsn(store):
    tenant = "coop-noord"
    seed(store, tenant, "NL")
    data = works_completed(tenant, 0, dossier=IDS["dossier"])
    resident_form(store, tenant, data)
    plan = build(store, tenant, ISDE)
    assert plan.still_needed == [] and plan.blocked_reasons == []
    body = plan.body
    assert body is not None and "inkomen" not in body
    assert body["aanvrager"]["bsn"] == "111222333" and "insz" not in body["aanvrager"]
    (item,) = body["categorieen"]
    assert (item["categorie"], item["meldcode"], item["hoeveelheid"], item["uitvoeringsdatum"]) == (
        "dakisolatie",
        "ISO-DAK-01",
        62.0,
        "2026-09-15",
    )
    assert "subtype" not in item
    assert body["gebouw"]["type"] == "woning" and plan.sources["gebouw.type"] == "hoomdossier"
    assert sorted(d["kind"] for d in plan.documents) == ["betaalbewijs", "factuur"]


def test_what_is_still_needed_from_the_resident(store):
    tenant = "loket-leuven"
    seed(store, tenant, "BE")
    given = {
        "dossier": IDS["dossier"],
        "invoices": [{"number": "F-1", "date": "2026-09-20", "category": "Dakisolatie", "executed_on": "2026-09-15"}],
        "consent": {"apply_for_premium": True},
    }
    resident_form(store, tenant, given)
    plan = build(store, tenant, MVP)
    assert plan.body is None and plan.draft["categorieen"]
    needed = plan.still_needed
    for item in (
        "the national register number (INSZ)",
        "the IBAN of the account the premium is paid to",
        "the EAN code of the electricity connection (on the energy bill)",
        "the year the building was connected to the electricity grid",
        "the invoice of the heat pump",
        "a scan of the invoice of the roof works",
        "the amount excl. VAT of the invoice of the roof works",
        "the most recent tax assessment (aanslagbiljet)",
        "a mandate for the desk to apply in the resident's name (Mijn VerbouwPremie mandate)",
    ):
        assert item in needed, (item, needed)
    # known data fills what the resident did not give: the capacity from the register's owner-occupied flag,
    # the roof's surface from the woonplan's advice (the invoice carries none)
    assert plan.draft["aanvrager"]["hoedanigheid"] == "eigenaar_bewoner"
    assert plan.sources["aanvrager.hoedanigheid"] == "woningpas"
    roof = plan.draft["categorieen"][0]
    assert roof["hoeveelheid"] == 58.0 and plan.sources["categorieen[dak].hoeveelheid"] == "hoomdossier"
    assert plan.sources["aanvrager.insz"] == "missing"
    # no personal data in what is still needed
    text = " ".join(needed)
    assert "Peeters" not in text and "Naamsestraat" not in text and "F-1" not in text


def test_blocked_without_consent_or_executed_works(store):
    tenant = "loket-leuven"
    seed(store, tenant, "BE", executed=False)
    plan = build(store, tenant, MVP)
    assert plan.body is None
    assert any("no executed works" in r for r in plan.blocked_reasons)
    assert any("no consent recorded" in r for r in plan.blocked_reasons)
    assert plan.still_needed == []


def test_a_withdrawn_consent_and_an_energy_loan_block(store):
    tenant = "loket-leuven"
    seed(store, tenant, "BE")
    data = works_completed(tenant, 0, dossier=IDS["dossier"])
    data["energy_loan"] = True
    resident_form(store, tenant, data)
    with store.begin() as conn:
        record(
            store,
            conn,
            tenant,
            IDS["resident"],
            Purpose.APPLY_FOR_PREMIUM,
            "fluvius",
            False,
            "coordinator",
            "coordinator:desk",
            datetime(2026, 10, 5, tzinfo=UTC),
            said_after=datetime(2026, 10, 5, tzinfo=UTC),
        )
    plan = build(store, tenant, MVP)
    assert plan.body is None
    assert any("withdrawn" in r for r in plan.blocked_reasons)
    assert any("energy loan" in r for r in plan.blocked_reasons)


def test_candidates_are_dossiers_with_executed_works_or_a_premium_file(store):
    tenant = "loket-leuven"
    seed(store, tenant, "BE")
    with store.begin() as conn:
        assert application.candidates(store, conn, tenant) == [IDS["dossier"]]


def test_source_names():
    assert application.source_of({"source": "webform", "source_ref": "signup:wf-x"}) == "webform-signup"
    assert application.source_of({"source": "webform", "source_ref": "works:wf-y"}) == "resident-form"
    assert application.source_of({"source": "woningpas", "source_ref": "x"}) == "woningpas"
    assert application.source_of(None) == "hub"


def test_an_invoice_naming_only_the_category_joins_its_kans(store):
    tenant = "coop-noord"
    seed(store, tenant, "NL")
    with store.begin() as conn:
        merge(
            store,
            conn,
            [
                Incoming(
                    Opportunity(
                        id="00000000-0000-4000-8000-000000000099",
                        tenant=tenant,
                        intake_id=IDS["intake"],
                        measure_category="Gevelisolatie",
                        measures=["Spouwmuurisolatie"],
                        status="executed",
                    ),
                    "econobis",
                    "o:9",
                    AT,
                )
            ],
            MergeStats(),
        )
    invoice = {"number": "G-1", "date": "2026-09-20", "category": "Gevelisolatie", "quantity": 40, "meldcode": "X"}
    resident_form(
        store, tenant, {"dossier": IDS["dossier"], "invoices": [invoice], "consent": {"apply_for_premium": True}}
    )
    plan = build(store, tenant, ISDE)
    assert "spouwmuurisolatie" in plan.categories and "gevelisolatie" not in plan.categories
    assert len(plan.invoice_ids["spouwmuurisolatie"]) == 1
