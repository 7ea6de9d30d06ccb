"""EP-Online's selection rule (contracts §3.2) and its guards, on records shaped as v5 answers them."""

from __future__ import annotations

from datetime import date

from connectors.ep_online.mapping import select
from connectors.ep_online.sandbox.registrations import energy_class

VBO = "0363010000123456"


def rec(registered: str, surveyed: str, cls: str, *, vbo: str | None = VBO, **over):
    y = int(surveyed[:4]) + 10
    return {
        "Registratiedatum": registered + "T10:00:00",
        "Opnamedatum": surveyed + "T00:00:00",
        "Geldig_tot": f"{y}{surveyed[4:]}T00:00:00",
        "Energieklasse": cls,
        "PrimaireFossieleEnergie": 200.0,
        "BAGVerblijfsobjectID": vbo,
        "Postcode": "2594AN",
        "Huisnummer": 265,
        "Huisletter": "B",
        "Huisnummertoevoeging": "3",
        **over,
    }


def test_expired_dropped_latest_registration_wins_others_replaced():
    records = [
        rec("2013-05-02", "2013-04-20", "E"),  # expired 2023
        rec("2019-03-01", "2019-02-10", "C"),  # valid, superseded
        rec("2024-09-14", "2024-09-01", "A"),  # the latest registration
    ]
    sel = select(records, object_id=VBO, today=date(2026, 12, 3))
    by_label = {c["label"]: c for c in sel.certificates}
    assert by_label["E"]["status"] == "expired" and not by_label["E"]["current"]
    assert by_label["C"]["status"] == "replaced" and not by_label["C"]["current"]
    assert by_label["A"]["status"] == "valid" and by_label["A"]["current"]
    assert sel.current == by_label["A"]
    assert [c["issued_on"] for c in sel.certificates] == sorted(c["issued_on"] for c in sel.certificates)
    assert len({c["certificate_number"] for c in sel.certificates}) == 3


def test_every_registration_expired_leaves_no_current_label_but_keeps_history():
    sel = select([rec("2012-01-05", "2012-01-01", "F")], object_id=VBO, today=date(2026, 12, 3))
    assert sel.current is None and sel.certificates[0]["status"] == "expired"


def test_latest_registration_not_latest_survey_decides():
    # re-registered later for an older survey: the registration date decides, as consumers do
    records = [rec("2022-06-01", "2022-05-01", "B"), rec("2023-01-10", "2021-11-01", "C")]
    assert select(records, object_id=VBO, today=date(2026, 12, 3)).current["label"] == "C"


def test_answer_about_another_object_is_refused_not_attached():
    records = [rec("2022-06-01", "2022-05-01", "B"), rec("2015-01-01", "2015-01-01", "D", vbo=None)]
    sel = select(records, object_id=VBO, today=date(2026, 12, 3))
    assert [c["label"] for c in sel.certificates] == ["B"]
    assert len(sel.refused) == 1 and sel.refused[0][0].startswith("other_object")


def test_by_address_keeps_only_the_dwellings_own_letter_and_addition():
    records = [
        rec("2022-06-01", "2022-05-01", "B"),
        rec("2021-06-01", "2021-05-01", "D", Huisletter="A", Huisnummertoevoeging=None, BAGVerblijfsobjectID="1"),
    ]
    address = {"postcode": "2594AN", "huisnummer": 265, "huisletter": "b", "huisnummertoevoeging": "3"}
    sel = select(records, address=address, today=date(2026, 12, 3))
    assert [c["label"] for c in sel.certificates] == ["B"] and sel.other_homes == 1 and not sel.refused


def test_unreadable_class_is_refused():
    sel = select([rec("2022-06-01", "2022-05-01", "Z")], object_id=VBO, today=date(2026, 12, 3))
    assert not sel.certificates and "unreadable" in sel.refused[0][0]


def test_missing_validity_defaults_to_ten_years_after_the_survey():
    sel = select([rec("2017-06-01", "2017-05-01", "B", Geldig_tot=None)], object_id=VBO, today=date(2026, 12, 3))
    assert sel.certificates[0]["valid_until"] == date(2027, 5, 1) and sel.current is not None


def test_classes_follow_the_nta8800_thresholds():
    for ep2, cls in [(-3, "A++++"), (0, "A++++"), (50, "A+++"), (75.0, "A++"), (105, "A+"), (160, "A"),
                     (190, "B"), (250, "C"), (290, "D"), (335, "E"), (380, "F"), (380.1, "G")]:  # fmt: skip
        assert energy_class(ep2) == cls, ep2
