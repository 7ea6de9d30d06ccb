"""Econobis wire → canonical mapping."""

from __future__ import annotations

import pytest

from connectors.econobis.mapping import (
    MappingError,
    StatusNames,
    dwelling_key_for,
    map_action,
    map_housing_file,
    parse_street_and_number,
    split_full_name,
)
from connectors.econobis.schemas import GridHousingFile, GridQuotationRequest


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        ("Dorpsstraat 12", ("Dorpsstraat", "12", None)),
        ("Prinses Irenestraat 7-A", ("Prinses Irenestraat", "7", "A")),
        ("Van der Veldestraat 101-bis", ("Van der Veldestraat", "101", "bis")),
        ("Zonder nummer", ("Zonder nummer", None, None)),
        (None, (None, None, None)),
    ],
)
def test_street_and_number_display_string_is_parsed(text, parts):
    assert parse_street_and_number(text) == parts


def test_person_full_name_is_split_last_first_prefix():
    assert split_full_name("Dijk, Jan van") == ("Jan", "van", "Dijk")
    assert split_full_name("Berg, Eva van der") == ("Eva", "van der", "Berg")
    assert split_full_name("Jansen") == (None, None, "Jansen")


def test_dwelling_key_from_econobis_address_strings():
    assert dwelling_key_for("1621 ab", "Dorpsstraat 12-A") == "nl:addr:1621AB|12|A|"
    assert dwelling_key_for("1621AB", "Dorpsstraat 12-2") == "nl:addr:1621AB|12||2"
    assert dwelling_key_for(None, "Dorpsstraat 12") is None


def test_status_names_know_fresh_install_names_and_learn_renamed_ones():
    names = StatusNames()
    assert names.code("intake", "In behandeling") == "in_progress"
    assert names.code("opportunity", "Opdracht") == "mandate"
    assert names.code("opportunity", "Opdracht verstrekt") is None
    assert names.learn("opportunity", "Opdracht verstrekt", "mandate") is True
    assert names.learn("opportunity", "Opdracht verstrekt", "mandate") is False
    again = StatusNames(names.learned)
    assert again.code("opportunity", "Opdracht verstrekt") == "mandate"


def _qr(**over):
    row = {
        "id": 5,
        "datePlanned": "2026-03-04 10:30:00",
        "opportunity": {
            "id": 9,
            "status": {"id": 1, "name": "Actief", "codeRef": "active"},
            "intake": {"id": 3},
        },
        "status": {"id": 8, "name": "Afspraak gemaakt", "codeRef": "made", "opportunityActionId": 2},
        "opportunityAction": {"id": 2, "name": "Bezoek", "codeRef": "visit"},
        "createdAt": "2026-03-01T09:00:00.000000Z",
    }
    row.update(over)
    return GridQuotationRequest.model_validate(row)


def test_action_keys_on_code_ref_and_reads_local_wall_clock_dates():
    a = map_action(_qr(), "coop", "a-1", "o-1", None)
    assert a.kind == "visit" and a.status == "made"
    assert a.date_planned is not None and a.date_planned.utcoffset().total_seconds() == 3600  # CET in March


def test_unknown_action_type_is_a_mapping_error_for_quarantine():
    with pytest.raises(MappingError, match="unknown kansactie type"):
        map_action(_qr(opportunityAction={"id": 9, "name": "Nieuw", "codeRef": "new-thing"}), "coop", "a", "o", None)


def test_housing_file_unknowns_become_none_and_sale_flag_maps_to_owner_occupied():
    row = GridHousingFile.model_validate(
        {
            "id": 1,
            "createdAt": "2026-01-01T00:00:00.000000Z",
            "buildingType": "Onbekend",
            "energyLabel": "C",
            "isHouseForSale": "0",
        }
    )
    f = map_housing_file(row, "coop", "f-1", None)
    assert f.building_type is None and f.energy_label == "C" and f.owner_occupied is False
