"""Residents that may be one person: the comparison frame, Splink's pair scores, candidates and automatic links."""

from __future__ import annotations

import random
import time
from datetime import UTC, datetime

import pytest

from hub.canonical import Dwelling, Intake, PremiumFile, Resident
from hub.identity import candidates as cands
from hub.identity import residents as res
from hub.merge import Incoming, MergeStats, merge

T = "coop-test"
NOW = datetime(2026, 12, 1, tzinfo=UTC)
BSN = "111222333"
VBO = "nl:bag:vbo:0518010000000101"

FIRST = ["Anna", "Bram", "Daan", "Emma", "Femke", "Gijs", "Hanna", "Iris", "Joris", "Lotte", "Milan", "Noor"]
LAST = ["Jansen", "de Groot", "Mulder", "Bos", "Vos", "Peters", "Hendriks", "van Dijk", "Dekker", "Brouwer"]


def add(
    store,
    conn,
    ext,
    first,
    last,
    *,
    prefix=None,
    email=None,
    phone=None,
    pc="2594AN",
    nr="265",
    key=None,
    national_id=None,
    system="crm",
    home=None,
):
    """A resident as partner `system` wrote it, with their own dwelling, or (`home`) an intake for another's; a
    premium file when a national id is given."""
    rid = store.resolve_ids(conn, system, T, "contact", [ext])[ext]
    iid = store.resolve_ids(conn, system, T, "intake", [ext])[ext]
    resident = Resident(
        id=rid, tenant=T, first_name=first, last_name_prefix=prefix, last_name=last, email=email, phone=phone
    )
    items = [Incoming(resident, system, f"c:{ext}", NOW)]
    did = home
    if home is None:
        did = store.resolve_ids(conn, system, T, "address", [ext])[ext]
        dkey = key or f"nl:addr:{pc}|{nr}||#{ext}"
        items.append(
            Incoming(
                Dwelling(id=did, tenant=T, dwelling_key=dkey, postcode=pc, number=nr, resident_id=rid),
                system,
                f"a:{ext}",
                NOW,
                natural_key=dkey,
            )
        )
    items.append(
        Incoming(Intake(id=iid, tenant=T, resident_id=rid, dwelling_id=did, status="open"), system, f"i:{ext}", NOW)
    )
    if national_id:
        pid = store.resolve_ids(conn, system, T, "premium", [ext])[ext]
        items += [
            Incoming(PremiumFile(id=pid, tenant=T, intake_id=iid, national_id=national_id), system, f"p:{ext}", NOW),
        ]
    merge(store, conn, items, MergeStats())
    return rid


@pytest.fixture
def people(store):
    """~50 residents: 40 distinct ones and the cases, each written as residents and desks write them."""
    rng = random.Random(7)
    ids: dict[str, str] = {}
    with store.begin() as conn:
        for i in range(40):
            first, last = rng.choice(FIRST), rng.choice(LAST)
            ids[f"filler{i}"] = add(
                store,
                conn,
                f"f{i}",
                first,
                last,
                email=f"{first}.{i}@example.nl".lower(),
                phone=f"06{rng.randint(10_000_000, 99_999_999)}",
                pc=f"{1000 + i}AB",
                nr=str(rng.randint(1, 200)),
            )
        # a typo in the first name, the same email, written by two systems: likely one person, nothing proves it
        ids["typo_a"] = add(store, conn, "t1", "Johannes", "Bakker", email="j.bakker@mail.nl", pc="3511 AB", nr="12")
        ids["typo_b"] = add(
            store, conn, "t2", "Johanes", "Bakker", email=" J.Bakker@mail.nl ", pc="3511ab", nr="12", system="desk"
        )
        # another email, the same phone written two ways, the same BSN in both premium files: one person
        ids["bsn_a"] = add(
            store,
            conn,
            "b1",
            "Willemijn",
            "Verbeek",
            prefix="van",
            email="wil@home.nl",
            phone="+31 6 1234 5678",
            pc="9711 CD",
            nr="3",
            national_id=BSN,
        )
        ids["bsn_b"] = add(
            store,
            conn,
            "b2",
            "Willemijn",
            "van Verbeek",
            email="w.verbeek@werk.nl",
            phone="06-12345678",
            pc="9711CD",
            nr="3",
            national_id="111.222.333",
            system="desk",
        )
        # the same register dwelling and the same email: one person
        ids["vbo_a"] = add(store, conn, "v1", "Maria", "Visser", email="maria.visser@mail.nl", key=VBO, pc="2594AN")
        vbo_home = store.lookup_ids(conn, "crm", T, "address", ["v1"])["v1"]
        ids["vbo_b"] = add(
            store, conn, "v2", "Maria", "Visser", email="maria.visser@mail.nl", home=vbo_home, system="desk"
        )
        # a household: one surname, one address, one landline, other first names and emails: two people
        ids["home_a"] = add(
            store, conn, "h1", "Kees", "de Boer", email="kees@deboer.nl", phone="0501234567", pc="9722 AA", nr="7"
        )
        ids["home_b"] = add(
            store, conn, "h2", "Anneke", "de Boer", email="anneke@deboer.nl", phone="050 123 4567", pc="9722AA", nr="7"
        )
        # alike in every field but their national ids, which differ: a person decides
        ids["twin_a"] = add(
            store,
            conn,
            "w1",
            "Sanne",
            "Kuipers",
            email="fam.kuipers@mail.nl",
            pc="5611 AA",
            nr="1",
            national_id="123456782",
        )
        ids["twin_b"] = add(
            store,
            conn,
            "w2",
            "Sanne",
            "Kuipers",
            email="fam.kuipers@mail.nl",
            pc="5611 AA",
            nr="1",
            national_id="987654321",
        )
    return ids


def pair_of(pairs, a, b):
    want = tuple(sorted((a, b)))
    return next((p for p in pairs if (p.left, p.right) == want), None)


def test_frame_normalises_each_field_and_never_holds_a_national_id(store, people):
    with store.begin() as conn:
        frame = res.residents_frame(store, conn, T)
    rows = {r["unique_id"]: r for r in frame.to_pylist()}
    assert frame.num_rows == 50 and frame.schema == res.FRAME_SCHEMA
    a, b = rows[people["bsn_a"]], rows[people["bsn_b"]]
    assert a["last_name"] == b["last_name"] == "vanverbeek"
    assert a["phone"] == b["phone"] == "31612345678"
    assert a["postcode"] == b["postcode"] == "9711CD" and a["house_number"] == "3"
    assert a["person_ids"] == b["person_ids"] and len(a["person_ids"]) == 1
    assert rows[people["typo_b"]]["email"] == "j.bakker@mail.nl" and rows[people["typo_b"]]["systems"] == ["desk"]
    assert rows[people["vbo_a"]]["registry_keys"] == [VBO] and rows[people["typo_a"]]["registry_keys"] == []
    flat = str(frame.to_pylist())
    assert BSN not in flat and "111.222.333" not in flat and "123456782" not in flat


def test_fixed_model_scores_duplicates_above_and_a_household_below_the_threshold(store, people):
    with store.begin() as conn:
        frame = res.residents_frame(store, conn, T)
    t0 = time.monotonic()
    pairs = res.score_pairs(frame, threshold=0.0)
    took = time.monotonic() - t0
    assert took < 10, took
    for a, b in [("typo_a", "typo_b"), ("bsn_a", "bsn_b"), ("vbo_a", "vbo_b"), ("twin_a", "twin_b")]:
        p = pair_of(pairs, people[a], people[b])
        assert p is not None and p.match_probability >= 0.8, (a, p)
    household = pair_of(pairs, people["home_a"], people["home_b"])
    assert household is not None and household.match_probability < 0.8
    assert "first_name" in household.evidence["differ"] and "phone" in household.evidence["agree"]
    typo = pair_of(pairs, people["typo_a"], people["typo_b"])
    assert typo.evidence["fields"]["first_name"]["level"].startswith("Jaro-Winkler")
    assert "email" in typo.evidence["agree"]
    # deterministic: the same frame, the same scores
    again = res.score_pairs(frame, threshold=0.0)
    assert [(p.left, p.right, p.match_probability) for p in again] == [
        (p.left, p.right, p.match_probability) for p in pairs
    ]


def test_u_estimated_from_random_pairs_for_a_large_tenant_still_keeps_the_household_apart(store, people):
    with store.begin() as conn:
        frame = res.residents_frame(store, conn, T)
    fixed = res.score_pairs(frame, threshold=0.0)
    sampled = res.score_pairs(frame, threshold=0.0, sample_u_from=10)
    assert [p.match_weight for p in sampled] != [p.match_weight for p in fixed]
    assert pair_of(sampled, people["home_a"], people["home_b"]).match_probability < 0.8
    assert pair_of(sampled, people["typo_a"], people["typo_b"]).match_probability >= 0.8
    assert [p.match_weight for p in res.score_pairs(frame, threshold=0.0, sample_u_from=10)] == [
        p.match_weight for p in sampled
    ]


def test_link_raises_candidates_and_merges_only_where_an_authoritative_id_agrees(store, people):
    report = res.link_residents(store, T)
    assert report.residents == 50 and report.pairs_scored >= 5
    assert report.candidates == 4 and report.auto_linked == 2
    assert report.outcomes == {
        "merged:person_id": 1,
        "merged:registry_dwelling": 1,
        "candidate:no_authoritative_id": 1,
        "candidate:person_ids_differ": 1,
    }
    with store.begin() as conn:
        live = {r["canonical_id"] for r in store.live_entities(conn, "resident", T)}
        merged = store.candidates(conn, T, kind="resident", status="merged")
        still_open = store.candidates(conn, T, kind="resident")
    assert {people["bsn_a"], people["bsn_b"]} & live == {min(people["bsn_a"], people["bsn_b"])}
    assert {people["vbo_a"], people["vbo_b"]} <= live | {max(people["vbo_a"], people["vbo_b"])}
    assert {people["home_a"], people["home_b"], people["typo_a"], people["typo_b"]} <= live
    assert all(c["decided_by"] == "hub:auto" for c in merged) and len(merged) == 2
    assert {tuple(c["subjects"]) for c in still_open} == {
        tuple(sorted((people["typo_a"], people["typo_b"]))),
        tuple(sorted((people["twin_a"], people["twin_b"]))),
    }
    typo = next(c for c in still_open if people["typo_a"] in c["subjects"])
    assert typo["reason"] == "likely_same_person" and typo["suggestion"]["decision"] == "merge"
    assert typo["evidence"]["left"]["name"].endswith("bakker") and "email" in typo["evidence"]["agree"]
    assert BSN not in str(typo["evidence"]) and BSN not in str(merged)


def test_a_second_run_raises_nothing_new_and_leaves_decisions_as_they_are(store, people):
    first = res.link_residents(store, T)
    second = res.link_residents(store, T)
    assert second.auto_linked == 0 and second.residents == first.residents - 2
    assert set(second.candidate_ids) <= set(first.candidate_ids)
    with store.begin() as conn:
        assert len(store.candidates(conn, T, kind="resident")) == 2


def test_the_seam_takes_fakes_for_the_candidate_store_and_the_decision(store, people):
    raised, decided = [], []

    def fake_raise(store, conn, tenant, kind, subjects, reason, evidence, score=None, suggestion=None):
        raised.append((kind, subjects, reason, score, suggestion))
        return len(raised)

    actions = res.Actions(
        raise_candidate=fake_raise,
        decide=lambda store, tenant, cid, decision, *, by, note="": decided.append((cid, decision, by)),
        status=lambda store, conn, tenant, cid: "open",
    )
    report = res.link_residents(store, T, actions=actions, auto_threshold=0.999999)
    assert len(raised) == report.candidates == 4 and all(r[0] == cands.RESIDENT for r in raised)
    assert all(d[1] == "merge" and d[2] == "hub:auto" for d in decided)
    assert report.auto_linked == len(decided)


def test_a_national_id_a_partner_keys_its_holders_on_agrees_with_the_one_in_a_premium_file(store, people):
    with store.begin() as conn:
        # the typo pair: one of them is a register holder by national id, the other gave it in a premium file
        store.link_ids(conn, "holders", T, "holder", {"85.07.30-033.28": people["typo_a"]})
        add(store, conn, "t2", "Johanes", "Bakker", email="j.bakker@mail.nl", pc="3511ab", nr="12", system="desk",
            national_id="85073003328")  # fmt: skip
        frame = res.residents_frame(store, conn, T, person_id_xrefs=[("holders", "holder")])
    rows = {r["unique_id"]: r for r in frame.to_pylist()}
    assert rows[people["typo_a"]]["person_ids"] == rows[people["typo_b"]]["person_ids"] != []
    report = res.link_residents(store, T, person_id_xrefs=[("holders", "holder")])
    assert report.auto_linked == 3 and report.outcomes["merged:person_id"] == 2
