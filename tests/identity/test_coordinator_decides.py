"""A coordinator decides a match candidate and undoes it: on the command line (`hub matches`) and in Dagster (the
`match_candidates` asset lists it, `decide_match_job`'s asset applies a config), against the embedded sandbox
tenants' store in a fresh $HUB_HOME."""

from __future__ import annotations

import json

import pytest
from dagster import DagsterInstance, materialize

from app.cli import main
from hub.config import HubPaths
from hub.identity import candidates as cands
from hub.identity.resolve import apply_resolutions
from hub.store import Store
from tests.identity.test_resolve_decide import answer, obj, seed_dwelling

TENANT = "coop-noord"


def _store() -> Store:
    return Store.open(HubPaths.from_env().database_url())


@pytest.fixture
def pair(tmp_path, monkeypatch) -> tuple[str, str]:
    """Two dwellings of one home written two ways (`B 3`, `b3-`), the second raised as a pair candidate."""
    import tests.identity.test_resolve_decide as rd

    monkeypatch.setenv("HUB_HOME", str(tmp_path / "home"))
    for var in ("HUB_DATABASE_URL", "HUB_CONFIG"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr(rd, "T", TENANT)
    paths = HubPaths.from_env()
    paths.ensure()
    store = Store.open(paths.database_url())
    with store.begin() as conn:
        a = seed_dwelling(store, conn, "1", "B 3")
        b = seed_dwelling(store, conn, "2", "B3x")
        apply_resolutions(store, conn, TENANT, [answer(a, obj())])
        apply_resolutions(store, conn, TENANT, [answer(b, obj())])
        assert len(cands.open_candidates(store, conn, TENANT)) == 1
    store.dispose()
    return a, b


def _live(ids):
    store = _store()
    try:
        with store.begin() as conn:
            rows = store.load_entities(conn, list(ids), tenant=TENANT)
        return {i: rows[i]["deleted_at"] is None for i in ids}
    finally:
        store.dispose()


def test_cli_lists_shows_merges_and_undoes(pair, capsys):
    a, b = pair
    assert main(["matches", "list", "--tenant", TENANT, "--json"]) == 0
    (c,) = json.loads(capsys.readouterr().out)
    assert c["reason"] == "same_register_object" and c["status"] == "open"
    assert main(["matches", "show", "--tenant", TENANT, "--candidate", str(c["id"])]) == 0
    shown = capsys.readouterr().out
    assert "same_register_object" in shown and a in shown and b in shown
    assert main(["matches", "merge", "--tenant", TENANT]) == 2  # no candidate given
    assert "--candidate" in capsys.readouterr().err
    assert main(["matches", "merge", "--tenant", TENANT, "--candidate", str(c["id"]), "--decided-by", "coord-7",
                 "--note", "one flat, two writings"]) == 0  # fmt: skip
    out = capsys.readouterr().out
    assert f"#{c['id']}: merged (kept {a}, absorbed {b})" in out and "moved" in out
    assert _live([a, b]) == {a: True, b: False}
    # decided once: not open any more, and a second merge is refused with a clear message
    assert main(["matches", "list", "--tenant", TENANT]) == 0
    assert capsys.readouterr().out.startswith("0 open match candidate(s)")
    assert main(["matches", "merge", "--tenant", TENANT, "--candidate", str(c["id"])]) == 2
    assert capsys.readouterr().err.startswith("hub matches merge:")
    assert main(["matches", "undo", "--tenant", TENANT, "--candidate", str(c["id"])]) == 0
    assert "open" in capsys.readouterr().out
    assert _live([a, b]) == {a: True, b: True}
    assert main(["matches", "show", "--tenant", TENANT, "--candidate", "9999"]) == 2


def test_dagster_lists_the_candidate_and_decide_match_job_keeps_apart_then_undoes(pair):
    from assets import ALL_ASSETS, default_resources

    a, b = pair
    resources = default_resources()
    by_name = {k.to_user_string(): x for x in ALL_ASSETS if hasattr(x, "keys") for k in x.keys}
    with DagsterInstance.ephemeral() as instance:
        res = materialize([by_name["match_candidates"]], partition_key=TENANT, instance=instance, resources=resources,
                          selection=["match_candidates"])  # fmt: skip
        assert res.success
        md = res.asset_materializations_for_node("match_candidates")[0].metadata
        assert md["open_candidates"].value == 1
        table = md["candidates"].value  # the Markdown table a coordinator reads, with each side's evidence
        assert "same_register_object" in table and "2594AN" in table
        assert md["by_reason"].value == {"same_register_object": 1}
        store = _store()
        with store.begin() as conn:
            (c,) = cands.open_candidates(store, conn, TENANT)
        store.dispose()
        decide = by_name["match_decision"]
        for decision, status in (("keep-apart", "kept_apart"), ("undo", "open"), ("merge", "merged")):
            res = materialize([decide], partition_key=TENANT, instance=instance, resources=resources,
                              run_config={"ops": {"match_decision": {"config": {
                                  "candidate": c["id"], "decision": decision, "decided_by": "coord-7"}}}})  # fmt: skip
            assert res.success
            md = res.asset_materializations_for_node("match_decision")[0].metadata
            assert md["status"].value == status, decision
        assert _live([a, b]) == {a: True, b: False}
        # a decision on an unknown candidate fails the run with the reason, nothing changes
        res = materialize([decide], partition_key=TENANT, instance=instance, resources=resources, raise_on_error=False,
                          run_config={"ops": {"match_decision": {"config": {
                              "candidate": 9999, "decision": "merge"}}}})  # fmt: skip
        assert not res.success
