"""The sandbox's Flemish seed is deterministic, sized by a parameter, in realistic proportions, and its ids have
the registers' shapes (contracts/woningpas_premiums.md §1.4-1.6)."""

from __future__ import annotations

import re

import pytest

from connectors.woningpas.insz import valid_insz
from connectors.woningpas.sandbox.seed import LABELS, generate, label_at_most, label_for

ATTEST = re.compile(r"^(\d{8})-\d{10}-1$")
PERCEEL = re.compile(r"^\d{5}[A-H]\d{4}-00[A-Z]\d{3}$")


@pytest.fixture(scope="module")
def world():
    return generate(1000, seed=12)


def test_the_same_size_and_seed_give_the_same_world_and_another_seed_another():
    a, b, c = generate(150, seed=3), generate(150, seed=3), generate(150, seed=4)
    assert a.summary() == b.summary()
    assert [(u.gebouweenheid_id, u.address.volledig, [e.attestnummer for e in u.epcs]) for u in a.units.values()] == [
        (u.gebouweenheid_id, u.address.volledig, [e.attestnummer for e in u.epcs]) for u in b.units.values()
    ]
    assert a.summary() != c.summary()


@pytest.mark.parametrize("size", [1, 37, 1000])
def test_the_size_is_the_number_of_dwellings(size):
    world = generate(size)
    # whole apartment buildings: never fewer, and the last building is cut to fit
    assert len(world.units) == size


def test_proportions_are_realistic(world):
    s = world.summary()
    n = s["units"]
    assert 0.5 < (n - s["apartments"]) / n < 0.75
    assert 0.6 < s["with_epc"] / n < 0.8
    assert 0.08 < s["with_two_epcs"] / s["with_epc"] < 0.25
    assert 0.05 < s["purchases"] / n < 0.15
    assert 0 < s["obligation_met"] < s["with_obligation"] < s["purchases"]
    labels = s["labels"]
    assert labels["F"] > labels["A+"] and all(labels[lab] > 0 for lab in LABELS)


def test_scores_match_labels_and_epcs_last_ten_years(world):
    for u in world.units.values():
        for e in u.epcs:
            assert label_for(e.score, u.building_type) == e.label
            assert (
                ATTEST.match(e.attestnummer) and ATTEST.match(e.attestnummer).group(1) == f"{e.datum_ingediend:%Y%m%d}"
            )
            assert (e.geldig_tot.year - e.datum_ingediend.year) == 10
            steps = [r.energiescore for r in e.aanbevelingen]
            assert steps == sorted(steps, reverse=True) and all(s <= e.score for s in steps)
        if len(u.epcs) >= 2:
            assert u.epcs[-1].score < u.epcs[0].score and u.epcs[0].datum_ingediend < u.epcs[-1].datum_ingediend


def test_the_obligation_follows_the_deed(world):
    for u in world.units.values():
        p = u.purchase
        if p is None:
            continue
        assert p.aktedatum.year >= 2023 and any(e.datum_ingediend <= p.aktedatum for e in u.epcs)
        assert p.obligation == (p.label_bij_akte in ("E", "F"))
        met, on = u.obligation_met()
        if met:
            assert on > p.aktedatum and label_at_most(next(e.label for e in u.epcs if e.datum_ingediend == on))


def test_identifiers_have_the_registers_shapes(world):
    addresses = [u.address.adres_object_id for u in world.units.values()]
    assert len(set(addresses)) == len(addresses)
    assert len({u.gebouweenheid_id for u in world.units.values()}) == len(world.units)
    for u in world.units.values():
        assert all(PERCEEL.match(c) for c in u.percelen), u.percelen
        assert u.address.nis[:1] in "12347" and len(u.address.postcode) == 4
        if u.building_type == "appartement":
            assert u.address.busnummer and re.fullmatch(r"\d{4}", u.address.busnummer)
        for insz, rol in u.holders:
            assert valid_insz(insz) and rol in ("eigenaar", "vruchtgebruiker", "blote_eigenaar", "erfpachter")
    # an apartment building has several units under one gebouw id
    per_building: dict[int, int] = {}
    for u in world.units.values():
        per_building[u.gebouw_id] = per_building.get(u.gebouw_id, 0) + 1
    assert max(per_building.values()) >= 4


def test_ten_thousand_dwellings_seed_quickly():
    world = generate(10_000, seed=5)
    assert len(world.units) == 10_000 and len(world.epcs) > 6000
