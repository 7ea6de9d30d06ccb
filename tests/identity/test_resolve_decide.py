"""Identity resolution in the core: a register's answers → keys or candidates; merge, keep apart and undo."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from hub.canonical import Dwelling, DwellingFile, EnergyCertificate, Intake, Resident
from hub.canonical.keys import nl_address_key
from hub.identity import candidates as cands
from hub.identity.decide import DecisionError, decide, undo
from hub.identity.resolve import apply_resolutions, classify
from hub.identity.types import RegisterObject, Resolution
from hub.merge import Incoming, MergeStats, merge

T = "coop-test"
NOW = datetime(2026, 12, 1, tzinfo=UTC)
VBO = "0518010000000101"
VBO_B = "0518010000000102"


@pytest.fixture
def store(any_store):
    """Every test here on SQLite and, with HUB_TEST_POSTGRES_URL, on PostgreSQL."""
    return any_store


def obj(vbo=VBO, *, letter="", addition="", exact=True, side=False, residential=True, build_year=1931, **facts):
    return RegisterObject(
        key=f"nl:bag:vbo:{vbo}",
        address={
            "street": "Laan van Meerdervoort",
            "number": "265",
            "letter": letter,
            "addition": addition,
            "postcode": "2594AN",
            "city": "Den Haag",
        },
        identifiers={"nl:bag:num": "0518200000000101", "nl:bag:pnd": ["0518100000000001"]},
        residential=residential,
        side_address=side,
        exact=exact,
        facts={"build_year": build_year, "surface_m2": 84, **facts},
    )


def seed_dwelling(store, conn, ext: str, addition: str, *, resident: str | None = None) -> str:
    """A dwelling keyed on its address as a partner wrote it, with a resident, a file, an intake, a label."""
    key = nl_address_key("2594AN", 265, addition)
    did = store.resolve_ids(conn, "hub", T, "dwelling", [key])[key]
    rid = resident or store.resolve_ids(conn, "crm", T, "contact", [ext])[ext]
    fid = store.resolve_ids(conn, "crm", T, "file", [ext])[ext]
    iid = store.resolve_ids(conn, "crm", T, "intake", [ext])[ext]
    cid = store.resolve_ids(conn, "crm", T, "label", [ext])[ext]
    items = [
        Incoming(Resident(id=rid, tenant=T, last_name=f"R{ext}"), "econobis", f"c:{ext}", NOW),
        Incoming(
            Dwelling(
                id=did,
                tenant=T,
                dwelling_key=key,
                street="Laan v Meerdervoort",
                number="265",
                addition=addition,
                postcode="2594AN",
                resident_id=rid,
            ),
            "econobis",
            f"a:{ext}",
            NOW,
            natural_key=key,
        ),
        Incoming(DwellingFile(id=fid, tenant=T, dwelling_id=did, build_year=1930), "hoomdossier", f"f:{ext}", NOW),
        Incoming(
            Intake(id=iid, tenant=T, resident_id=rid, dwelling_id=did, status="open"), "econobis", f"i:{ext}", NOW
        ),
        Incoming(EnergyCertificate(id=cid, tenant=T, dwelling_id=did, label="C"), "ep_online", f"l:{ext}", NOW),
    ]
    merge(store, conn, items, MergeStats())
    return did


def answer(did, *objects, query=None):
    return Resolution(did, "bag", "q", NOW, query or {"postcode": "2594AN", "number": 265}, tuple(objects))


def test_classify_each_case():
    assert classify([], 1) == ("not_in_register", None)
    assert classify([obj()], 1)[0] == "resolved"
    assert classify([obj(), obj(VBO_B, exact=False)], 1)[0] == "resolved"
    # a dropped letter: the register has 265 and 265B, two residents share the one dwelling → a person decides
    assert classify([obj(), obj(VBO_B, exact=False)], 2)[0] == "several_residents"
    assert classify([obj(), obj(VBO_B)], 1)[0] == "several_objects"
    assert classify([obj(exact=False)], 1)[0] == "inexact"
    assert classify([obj(side=True)], 1)[0] == "side_address"
    assert classify([obj(residential=False)], 1)[0] == "not_residential"


def test_one_exact_answer_promotes_the_key_address_and_facts(store):
    with store.begin() as conn:
        did = seed_dwelling(store, conn, "1", "B 3")
        rep = apply_resolutions(store, conn, T, [answer(did, obj(letter="B", addition="3"))])
    assert rep.resolved == 1 and not rep.candidates
    with store.begin() as conn:
        row = store.load_entities(conn, [did], tenant=T)[did]
        assert row["natural_key"] == f"nl:bag:vbo:{VBO}"
        assert row["data"]["dwelling_key"] == f"nl:bag:vbo:{VBO}"
        assert row["data"]["street"] == "Laan van Meerdervoort" and row["data"]["addition"] == "B-3"
        assert row["data"]["identifiers"]["nl:bag:num"] == "0518200000000101"
        assert row["data"]["identifiers"]["hub:address_key"].startswith("nl:addr:2594AN|265|B|3")
        # the key resolves to it from now on; BAG's build year beats Hoomdossier's
        assert store.lookup_ids(conn, "hub", T, "dwelling", [f"nl:bag:vbo:{VBO}"]) == {f"nl:bag:vbo:{VBO}": did}
        (f,) = store.entities_of(conn, "dwelling_file", tenant=T, parents=[did])
        assert f["data"]["build_year"] == 1931 and f["data"]["surface_m2"] == 84
        # a later partner observation of the address key does not take the register's key away
        key = nl_address_key("2594AN", 265, "B 3")
        d2 = Dwelling(id=did, tenant=T, dwelling_key=key, street="x", number="265", postcode="2594AN")
        merge(store, conn, [Incoming(d2, "econobis", "a:1", NOW, natural_key=key)], MergeStats())
        row = store.load_entities(conn, [did], tenant=T)[did]
        assert row["natural_key"] == f"nl:bag:vbo:{VBO}" and row["data"]["street"] == "Laan van Meerdervoort"
        again = apply_resolutions(store, conn, T, [answer(did, obj(letter="B", addition="3"))])
    assert again.confirmed == 1 and again.resolved == 0


def test_two_writings_of_one_home_raise_a_candidate_not_a_merge(store):
    with store.begin() as conn:
        a = seed_dwelling(store, conn, "1", "B 3")
        b = seed_dwelling(store, conn, "2", "B3x")  # written another way: another address key
        assert a != b
        apply_resolutions(store, conn, T, [answer(a, obj())])
        rep = apply_resolutions(store, conn, T, [answer(b, obj())])
        assert rep.candidates == {"same_register_object": 1}
        (c,) = cands.open_candidates(store, conn, T)
        assert sorted(c["subjects"]) == sorted([a, b]) and c["suggestion"]["keep"] == a
        assert c["evidence"]["left"]["dwelling_id"] == a and c["evidence"]["right"]["dwelling_id"] == b
        # nothing merged
        rows = store.load_entities(conn, [a, b], tenant=T)
        assert rows[b]["deleted_at"] is None and rows[b]["natural_key"].startswith("nl:addr:")
        # asked again: the same candidate, not a second one
        apply_resolutions(store, conn, T, [answer(b, obj())])
        assert len(cands.open_candidates(store, conn, T)) == 1


def test_merge_moves_every_dependant_and_xref_and_undo_moves_them_back(store):
    with store.begin() as conn:
        a = seed_dwelling(store, conn, "1", "B 3")
        b = seed_dwelling(store, conn, "2", "B3x")
        apply_resolutions(store, conn, T, [answer(a, obj())])
        apply_resolutions(store, conn, T, [answer(b, obj())])
        (c,) = cands.open_candidates(store, conn, T)
        before_b = {r["entity"] for r in store.referencing(conn, T, "dwelling_id", b)}
        b_xrefs = {(x["system"], x["external_id"]) for x in store.xrefs_of(conn, T, b)}
    assert before_b == {"dwelling_file", "intake", "energy_certificate"}
    d = decide(store, T, c["id"], "merge", by="coordinator:test", note="same home")
    assert (
        d.kept == a and d.absorbed == b and d.moved == {"entities": 3, "xrefs": len(b_xrefs), "consent_statements": 0}
    )
    with store.begin() as conn:
        assert store.referencing(conn, T, "dwelling_id", b) == []
        moved = {r["entity"] for r in store.referencing(conn, T, "dwelling_id", a)}
        assert moved == {"dwelling_file", "intake", "energy_certificate"}
        assert len(store.entities_of(conn, "dwelling_file", tenant=T, parents=[a])) == 2
        key_b = nl_address_key("2594AN", 265, "B3x")
        assert store.lookup_ids(conn, "hub", T, "dwelling", [key_b]) == {key_b: a}  # the partner's key follows
        rb = store.load_entities(conn, [b], tenant=T)[b]
        assert rb["deleted_at"] is not None and rb["data"]["merged_into"] == a
        prov = store.load_provenance(
            conn, [r["canonical_id"] for r in store.referencing(conn, T, "dwelling_id", a)], tenant=T
        )
        assert {p["dwelling_id"]["source"] for p in prov.values() if "dwelling_id" in p} >= {"match"}
        assert store.candidate(conn, T, c["id"])["status"] == "merged"
    with pytest.raises(DecisionError):
        decide(store, T, c["id"], "merge", by="x")
    u = undo(store, T, c["id"], by="coordinator:test")
    assert u.status == "open" and u.moved["entities"] == 3
    with store.begin() as conn:
        assert {r["entity"] for r in store.referencing(conn, T, "dwelling_id", b)} == before_b
        assert {(x["system"], x["external_id"]) for x in store.xrefs_of(conn, T, b)} == b_xrefs
        rb = store.load_entities(conn, [b], tenant=T)[b]
        assert rb["deleted_at"] is None and "merged_into" not in rb["data"]
        assert store.candidate(conn, T, c["id"])["status"] == "open"
    kept = decide(store, T, c["id"], "keep-apart", by="coordinator:test")
    assert kept.status == "kept_apart"
    with store.begin() as conn:  # a decided candidate is not raised again
        apply_resolutions(store, conn, T, [answer(b, obj())])
        assert cands.open_candidates(store, conn, T) == []


def test_dropped_letter_with_two_residents_is_a_candidate_and_a_choice_resolves_it(store):
    with store.begin() as conn:
        d = seed_dwelling(store, conn, "1", "")
        other = store.resolve_ids(conn, "crm", T, "contact", ["9"])["9"]
        iid = store.resolve_ids(conn, "crm", T, "intake", ["9"])["9"]
        merge(
            store,
            conn,
            [
                Incoming(
                    Intake(id=iid, tenant=T, resident_id=other, dwelling_id=d, status="open"), "econobis", "i:9", NOW
                )
            ],
            MergeStats(),
        )
        rep = apply_resolutions(store, conn, T, [answer(d, obj(), obj(VBO_B, letter="A", exact=False))])
        assert rep.candidates == {"several_residents": 1}
        (c,) = cands.open_candidates(store, conn, T)
    with pytest.raises(DecisionError):
        decide(store, T, c["id"], "merge", by="x", choice="nl:bag:vbo:0000010000000000")
    decide(store, T, c["id"], "merge", by="x", choice=f"nl:bag:vbo:{VBO}")
    with store.begin() as conn:
        assert store.load_entities(conn, [d], tenant=T)[d]["natural_key"] == f"nl:bag:vbo:{VBO}"
    undo(store, T, c["id"], by="x")
    with store.begin() as conn:
        row = store.load_entities(conn, [d], tenant=T)[d]
        assert row["natural_key"].startswith("nl:addr:") and not row["data"]["dwelling_key"].startswith("nl:bag")
        assert store.lookup_ids(conn, "hub", T, "dwelling", [f"nl:bag:vbo:{VBO}"]) == {}


def test_not_in_register_is_kept_as_is_only(store):
    with store.begin() as conn:
        d = seed_dwelling(store, conn, "1", "")
        apply_resolutions(store, conn, T, [answer(d)])
        (c,) = cands.open_candidates(store, conn, T)
        assert c["reason"] == "not_in_register"
    with pytest.raises(DecisionError, match="keep-apart"):
        decide(store, T, c["id"], "merge", by="x")
    assert decide(store, T, c["id"], "keep-apart", by="x").status == "kept_apart"


def test_a_resolution_withdraws_the_dwellings_earlier_doubt(store):
    with store.begin() as conn:
        d = seed_dwelling(store, conn, "1", "")
        apply_resolutions(store, conn, T, [answer(d)])
        assert len(cands.open_candidates(store, conn, T)) == 1
        apply_resolutions(store, conn, T, [answer(d, obj())])  # the address was corrected in the CRM
        assert cands.open_candidates(store, conn, T) == []
        assert store.candidates(conn, T, status="withdrawn")[0]["reason"] == "not_in_register"


def test_merging_two_records_of_one_person_joins_their_consent_and_undo_splits_it(store):
    """A withdrawal under the absorbed record stops sharing under the kept one; undo gives each its own again."""
    from datetime import timedelta

    from hub.consent import Purpose, check

    share = Purpose.SHARE_WITH_PARTNER.value
    with store.begin() as conn:
        keep = store.resolve_ids(conn, "crm", T, "contact", ["k"])["k"]
        absorb = store.resolve_ids(conn, "desk", T, "contact", ["a"])["a"]
        merge(
            store,
            conn,
            [
                Incoming(Resident(id=keep, tenant=T, last_name="Jansen"), "econobis", "c:k", NOW),
                Incoming(Resident(id=absorb, tenant=T, last_name="Jansen"), "webform", "c:a", NOW),
            ],
            MergeStats(),
        )
        store.consent_record(conn, T, keep, share, "hoomdossier", True, "econobis", "c:k", observed_at=NOW,
                             said_after=NOW - timedelta(days=2))  # fmt: skip
        store.consent_record(conn, T, absorb, share, "hoomdossier", False, "webform", "c:a",
                             observed_at=NOW + timedelta(hours=1), said_after=NOW)  # fmt: skip
        assert check(store, conn, T, [keep], Purpose.SHARE_WITH_PARTNER, "hoomdossier").allowed
        cid = cands.raise_candidate(store, conn, T, cands.RESIDENT, (keep, absorb), "likely_same_person", {},
                                    score=0.95, suggestion={"keep": keep})  # fmt: skip
    done = decide(store, T, cid, "merge", by="coord-7")
    assert done.moved["consent_statements"] == 1
    with store.begin() as conn:
        verdict = check(store, conn, T, [keep], Purpose.SHARE_WITH_PARTNER, "hoomdossier")
        assert not verdict.allowed and verdict.withdrawn == (keep,)
        assert store.consent_of(conn, T, absorb) == []
    undone = undo(store, T, cid, by="coord-7")
    assert undone.moved["consent_statements"] == 1
    with store.begin() as conn:
        assert check(store, conn, T, [keep], Purpose.SHARE_WITH_PARTNER, "hoomdossier").allowed
        assert check(store, conn, T, [absorb], Purpose.SHARE_WITH_PARTNER, "hoomdossier").withdrawn == (absorb,)
