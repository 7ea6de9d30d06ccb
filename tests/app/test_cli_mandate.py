"""`hub mandate`: the desk records a resident's Woningpas mandate with their INSZ, lists the tenant's (the INSZ
masked but for its last 3 digits) and withdraws it (embedded sandbox tenants, a fresh $HUB_HOME)."""

from __future__ import annotations

import json

import pytest

from app.cli import main
from connectors.woningpas.mandates import holders
from hub.config import HubPaths
from hub.consent import Purpose, check
from hub.store import Store, utcnow

TENANT = "loket-leuven"
INSZ = "85073003328"


def _store() -> Store:
    return Store.open(HubPaths.from_env().database_url())


@pytest.fixture
def resident(hub_home) -> str:
    paths = HubPaths.from_env()
    paths.ensure()
    store = Store.open(paths.database_url())
    now = utcnow()
    with store.begin() as conn:
        store.upsert_entities(
            conn,
            [
                {
                    "canonical_id": rid,
                    "tenant": TENANT,
                    "entity": "resident",
                    "parent_id": None,
                    "natural_key": None,
                    "data": {"first_name": "Lotte"},
                    "data_hash": "h",
                    "version": 1,
                    "created_at": now,
                    "updated_at": now,
                    "deleted_at": None,
                }
                for rid in ("r-wp", "r-other")
            ],
        )
    store.dispose()
    return "r-wp"


def mandated(rid: str) -> bool:
    store = _store()
    try:
        with store.begin() as conn:
            return check(store, conn, TENANT, [rid], Purpose.FETCH_UNDER_MANDATE, "woningpas").allowed
    finally:
        store.dispose()


ADD = ["mandate", "add", "--tenant", TENANT, "--reference", "M-2026-001", "--requested-by", "desk:anna"]


def test_add_list_withdraw_and_the_insz_never_in_full(resident, capsys):
    assert main([*ADD, "--resident", resident, "--insz", "85.07.30-033.28"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("recorded: the Woningpas mandate M-2026-001") and "********328" in out
    assert INSZ not in out and mandated(resident)
    store = _store()
    with store.begin() as conn:
        assert holders(store, conn, TENANT) == {resident: INSZ}
    store.dispose()

    assert main(["mandate", "list", "--tenant", TENANT]) == 0
    listing = capsys.readouterr().out
    assert "1 resident(s)" in listing and "********328" in listing and "granted" in listing
    assert INSZ not in listing
    assert main(["mandate", "list", "--tenant", TENANT, "--json"]) == 0
    [row] = json.loads(capsys.readouterr().out)
    assert row["insz_masked"] == "********328" and row["source_ref"] == "mandate:M-2026-001:by:desk:anna"

    withdraw = ["mandate", "withdraw", "--tenant", TENANT, "--resident", resident, "--reference", "M-2026-001"]
    assert main([*withdraw, "--requested-by", "desk:anna"]) == 0
    assert "withdrawn" in capsys.readouterr().out and not mandated(resident)
    assert main(["mandate", "list", "--tenant", TENANT]) == 0
    assert "withdrawn" in capsys.readouterr().out
    assert main([*ADD, "--resident", resident, "--insz", INSZ]) == 0  # a new mandate lifts the withdrawal
    capsys.readouterr()
    assert mandated(resident)


def test_a_bad_insz_or_a_missing_field_is_refused_with_a_clear_error(resident, capsys):
    assert main([*ADD, "--resident", resident, "--insz", "85073003327"]) == 2
    err = capsys.readouterr().err
    assert "not a valid INSZ" in err and "checksum" in err and "85073003327" not in err
    assert main(["mandate", "add", "--tenant", TENANT, "--resident", resident, "--insz", INSZ]) == 2
    assert "--reference" in capsys.readouterr().err
    assert main([*ADD, "--resident", "nobody", "--insz", INSZ]) == 2
    assert "no live resident" in capsys.readouterr().err
    assert main([*ADD, "--resident", resident, "--insz", INSZ]) == 0
    capsys.readouterr()
    assert main([*ADD, "--resident", "r-other", "--insz", INSZ]) == 2  # one INSZ, one resident
    assert "another resident" in capsys.readouterr().err
    assert main(["mandate", "list", "--tenant", "coop-noord"]) == 2  # a tenant without Woningpas
    assert "no woningpas" in capsys.readouterr().err
    assert not mandated("r-other")
