"""`hub consent`: a coordinator records what a resident told the cooperation directly, and reads back what
stands (embedded sandbox tenants, a fresh $HUB_HOME)."""

from __future__ import annotations

import json

import pytest

from app.cli import main
from hub.config import HubPaths
from hub.store import Store, utcnow

TENANT = "coop-noord"


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
                    "canonical_id": "r-cli",
                    "tenant": TENANT,
                    "entity": "resident",
                    "parent_id": None,
                    "natural_key": None,
                    "data": {"email": "bel.mij@example.org"},
                    "data_hash": "h",
                    "version": 1,
                    "created_at": now,
                    "updated_at": now,
                    "deleted_at": None,
                }
            ],
        )
    store.dispose()
    return "r-cli"


def test_a_withdrawal_by_hand_is_recorded_and_shown(resident, capsys):
    argv = ["consent", "withdraw", "--tenant", TENANT, "--email", "Bel.Mij@example.org"]
    assert main([*argv, "--partner", "hoomdossier", "--by", "desk:anna", "--json"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("recorded: share-with-partner with hoomdossier withdrawn")
    report = json.loads(out.split("\n", 1)[1])
    assert report["standing"] == [
        {**report["standing"][0], "partner": "hoomdossier", "granted": False, "source": "coordinator"}
    ]
    assert "bel.mij" not in out.lower()  # the e-mail is looked up, never printed
    assert main(["consent", "show", "--tenant", TENANT, "--resident", resident, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["history"][0]["source_ref"] == "coordinator:desk:anna"
    # without --json: what stands and the statements as tables, no JSON
    assert main(["consent", "show", "--tenant", TENANT, "--resident", resident]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"consent of resident {resident} ({TENANT}): in force"
    standing = next(line for line in lines[4:] if line.startswith("share-with-partner"))
    assert standing.split()[:4] == ["share-with-partner", "hoomdossier", "withdrawn", "coordinator"]
    assert "statements, oldest first" in lines and not any(line.lstrip().startswith("{") for line in lines)


def test_show_says_what_each_source_said_last_and_which_statement_is_in_force(resident, capsys):
    from hub.config import HubPaths
    from hub.consent import Purpose, record

    store = Store.open(HubPaths.from_env().database_url())
    with store.begin() as conn:  # the CRM's agreement, then the resident calls the desk
        record(store, conn, TENANT, resident, Purpose.SHARE_WITH_PARTNER, "hoomdossier", True, "econobis", "contact:7")
    store.dispose()
    argv = ["consent", "withdraw", "--tenant", TENANT, "--resident", resident, "--partner", "hoomdossier"]
    assert main([*argv, "--by", "desk:anna"]) == 0
    capsys.readouterr()
    store = Store.open(HubPaths.from_env().database_url())
    with store.begin() as conn:  # the next pull re-reads the unchanged agreement: not a new statement
        again = record(
            store, conn, TENANT, resident, Purpose.SHARE_WITH_PARTNER, "hoomdossier", True, "econobis", "contact:7"
        )
    store.dispose()
    assert not again.logged
    assert main(["consent", "show", "--tenant", TENANT, "--resident", resident, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    said = {(s["source"], s["granted"], s["in_force"]) for s in report["sources"]}
    assert said == {("econobis", True, False), ("coordinator", False, True)}
    assert [(h["source"], h["in_force"]) for h in report["history"]] == [("econobis", False), ("coordinator", True)]
    assert [(s["source"], s["granted"]) for s in report["standing"]] == [("coordinator", False)]


def test_a_statement_without_a_role_or_for_an_unknown_partner_is_refused(resident, capsys):
    base = ["consent", "grant", "--tenant", TENANT, "--resident", resident]
    assert main([*base, "--partner", "hoomdossier"]) == 2
    assert "need --partner and --by" in capsys.readouterr().err
    assert main([*base, "--partner", "woningpas", "--by", "desk:anna"]) == 2
    assert "has no partner 'woningpas'" in capsys.readouterr().err
    assert main(["consent", "show", "--tenant", TENANT, "--email", "niemand@example.org"]) == 1
