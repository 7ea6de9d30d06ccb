"""Dwelling keys, survivorship rules and the merge stage."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from hub.canonical import DwellingFile, Observation, Resident, dwelling_key, new_value_wins
from hub.merge import Incoming, MergeStats, merge
from hub.store import Store

T0 = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("kw", "key"),
    [
        ({"country": "NL", "bag_object_id": "0363010000696734"}, "nl:bag:vbo:0363010000696734"),
        ({"country": "NL", "postcode": "1621 ab", "number": 12, "addition": "A-2"}, "nl:addr:1621AB|12|A|2"),
        ({"country": "BE", "gebouweenheid_id": "123"}, "be:vl:geu:123"),
        (
            {
                "country": "BE",
                "postcode": "9000",
                "street": "Korte Meer Str.",
                "number": "12a",
                "addition": "0101",
            },
            "be:addr:9000|korte meer straat|12A|0101",
        ),
        ({"country": "NL", "postcode": "bad", "number": 1}, None),
    ],
)
def test_dwelling_key_precedence(kw, key):
    assert dwelling_key(**kw) == key


def test_survivorship_epc_beats_coach_beats_econobis_and_empty_never_wins():
    econ = Observation("econobis", "hf:1", T0)
    coach = Observation("hoomdossier_coach", "b:1", T0 - timedelta(days=10))
    epc = Observation("woningpas", "epc:1", T0 - timedelta(days=100))
    assert new_value_wins("dwelling_file", "build_year", 1930, econ, 1932, coach)  # better source, older
    assert not new_value_wins("dwelling_file", "build_year", 1932, coach, 1931, econ)
    assert new_value_wins("dwelling_file", "build_year", 1932, coach, 1933, epc)
    assert not new_value_wins("dwelling_file", "build_year", 1933, epc, None, coach)
    assert new_value_wins("dwelling_file", "build_year", 1933, epc, None, Observation("woningpas", "epc:1", T0))
    # no rule for the field: newest observation wins
    assert new_value_wins("dwelling_file", "remark", "a", econ, "b", Observation("hoomdossier", "x", T0 + timedelta(1)))


def test_merge_applies_survivorship_and_counts_outcomes(store: Store):
    stats = MergeStats()
    f = DwellingFile(id="f1", tenant="t", build_year=1930, energy_label="C")
    with store.begin() as conn:
        merge(store, conn, [Incoming(f, "econobis", "hf:1", T0)], stats)
        better = DwellingFile(id="f1", tenant="t", build_year=1932, energy_label=None)
        merge(store, conn, [Incoming(better, "hoomdossier_coach", "b:1", T0)], stats)
        worse = DwellingFile(id="f1", tenant="t", build_year=1931, energy_label="D")
        merge(store, conn, [Incoming(worse, "econobis", "hf:1", T0 + timedelta(1))], stats)
        data = store.load_entities(conn, ["f1"], tenant="t")["f1"]["data"]
        prov = store.load_provenance(conn, ["f1"], tenant="t")["f1"]
    assert data["build_year"] == 1932 and prov["build_year"]["source"] == "hoomdossier_coach"
    assert data["energy_label"] == "D" and prov["energy_label"]["source"] == "econobis"
    assert stats.counts["dwelling_file"]["created"] == 1 and stats.counts["dwelling_file"]["updated"] == 2


def test_merge_of_the_same_observation_twice_is_unchanged(store: Store):
    stats = MergeStats()
    r = Resident(id="r1", tenant="t", first_name="Jan", last_name="Dijk")
    with store.begin() as conn:
        merge(store, conn, [Incoming(r, "econobis", "contact:1", T0)], stats)
        merge(store, conn, [Incoming(r, "econobis", "contact:1", T0 + timedelta(hours=1))], stats)
    assert stats.counts["resident"]["unchanged"] == 1


def test_same_entity_twice_in_one_batch_is_written_once(store: Store):
    from hub.canonical import Dwelling

    d1 = Dwelling(id="d", tenant="t", dwelling_key="nl:addr:1621AB|1||", street="A", resident_id="r1")
    d2 = Dwelling(id="d", tenant="t", dwelling_key="nl:addr:1621AB|1||", street="A", resident_id="r2")
    stats = MergeStats()
    with store.begin() as conn:
        merge(
            store,
            conn,
            [
                Incoming(d1, "econobis", "c:1", T0, "nl:addr:1621AB|1||"),
                Incoming(d2, "econobis", "c:2", T0, "nl:addr:1621AB|1||"),
            ],
            stats,
        )
    assert stats.counts["dwelling"]["created"] == 1
