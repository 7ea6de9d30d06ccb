"""`hub demo` asks before it changes anything: another demo on the same HUB_HOME, ports taken and a state store it
did not make each refuse it (one line, exit 2) with every file left as it was; only its own store, or one
`--reset-store` names, is started afresh. Its summary counts every push per tenant."""

from __future__ import annotations

import socket
from datetime import UTC, datetime

import pytest

from app.cli import main
from app.demo import PushTally, demo_lock, mark_demo_store, reset_demo_store
from app.errors import UserError
from hub.config import HubPaths
from hub.store import Store


def _free_base() -> int:
    """A port base whose demo ports (base … base+80) are all free now."""
    for base in range(41000, 60000, 500):
        try:
            for port in range(base, base + 80):
                with socket.socket() as s:
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                    s.bind(("127.0.0.1", port))
        except OSError:
            continue
        return base
    raise RuntimeError("no free port range")


@pytest.fixture
def paths(tmp_path, monkeypatch, hub_home):
    monkeypatch.setenv("HUB_SANDBOX_PORT_BASE", str(_free_base()))
    monkeypatch.delenv("HUB_RECEIVER_PORT", raising=False)
    monkeypatch.chdir(tmp_path)
    p = HubPaths.from_env()
    p.ensure()
    return p


def _users_store(paths: HubPaths, tenant: str = "my-coop", residents: int = 3) -> None:
    """A user's store: residents of a tenant of their own, and something parked."""
    now = datetime.now(UTC)
    store = Store.open(paths.database_url())
    with store.begin() as conn:
        store.upsert_entities(
            conn,
            [
                {
                    "canonical_id": f"r-{i}",
                    "tenant": tenant,
                    "entity": "resident",
                    "parent_id": None,
                    "natural_key": None,
                    "data": {},
                    "data_hash": f"h{i}",
                    "version": 1,
                    "created_at": now,
                    "updated_at": now,
                    "deleted_at": None,
                }
                for i in range(residents)
            ],
        )
        store.quarantine_put(conn, tenant, "outbox:crm", "x", "1", "kept")
    store.dispose()


def test_a_store_the_demo_did_not_make_is_refused_and_kept(paths, capsys):
    _users_store(paths)
    before = paths.sqlite_path.read_bytes()
    assert main(["demo"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert "is a state store the demo did not make (3 residents of my-coop)" in err[0]
    assert "--reset-store" in err[0] and "Nothing was changed" in err[0]
    assert paths.sqlite_path.read_bytes() == before


def test_a_store_named_by_hub_database_url_that_holds_records_is_refused_and_kept(paths, monkeypatch, capsys):
    _users_store(paths)  # a user's store, reached by URL this time (as a production database would be)
    other = paths.root / "elsewhere.sqlite"
    paths.sqlite_path.rename(other)
    monkeypatch.setenv("HUB_DATABASE_URL", f"sqlite:///{other}")
    before = other.read_bytes()
    assert main(["demo", "--reset-store"]) == 2  # not even with --reset-store: a store by URL is never the demo's
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "holds records of my-coop" in err[0] and "Nothing was changed" in err[0]
    assert other.read_bytes() == before and not paths.sqlite_path.exists()


def test_an_empty_store_by_url_or_one_not_made_yet_is_the_demos_to_fill(paths):
    from app.demo import refuse_a_store_by_url

    refuse_a_store_by_url(f"sqlite:///{paths.root / 'not-yet.sqlite'}")  # no error: nothing in it
    Store.open(f"sqlite:///{paths.root / 'empty.sqlite'}").dispose()  # migrated, no rows
    refuse_a_store_by_url(f"sqlite:///{paths.root / 'empty.sqlite'}")


def test_reset_store_deletes_a_foreign_store_only_when_asked(paths):
    _users_store(paths)
    with pytest.raises(UserError, match="did not make"):
        reset_demo_store(paths)
    assert paths.sqlite_path.exists()
    reset_demo_store(paths, reset=True)
    assert not paths.sqlite_path.exists()


def test_the_demos_own_store_is_started_afresh(paths):
    store = Store.open(paths.database_url())
    with store.begin() as conn:
        store.quarantine_put(conn, "coop-noord", "outbox:crm", "x", "1", "from the last demo")
    store.dispose()
    mark_demo_store(paths)
    reset_demo_store(paths)
    assert not paths.sqlite_path.exists()


def test_a_marker_naming_another_file_does_not_make_this_store_the_demos(paths):
    _users_store(paths, tenant="coop-noord")  # sandbox tenants' rows, but not the file the demo marked
    (paths.root / "hub.sqlite.demo").write_text(str(paths.sqlite_path.stat().st_ino + 1), encoding="utf-8")
    with pytest.raises(UserError, match="did not make"):
        reset_demo_store(paths)
    assert paths.sqlite_path.exists()


def test_a_store_of_other_tenants_with_the_demos_marker_is_still_refused(paths):
    _users_store(paths)
    mark_demo_store(paths)
    with pytest.raises(UserError, match="my-coop"):
        reset_demo_store(paths)


def test_an_empty_store_is_no_ones_and_is_started_afresh(paths):
    Store.open(paths.database_url()).dispose()
    reset_demo_store(paths)
    assert not paths.sqlite_path.exists()


def test_ports_taken_refuse_the_demo_before_the_store_is_touched(paths, capsys):
    from hub.config import receiver_port

    _users_store(paths)
    # --reset-store would delete it: the ports are asked first, so it stays when the demo cannot start
    with socket.socket() as s:
        s.bind(("127.0.0.1", receiver_port()))
        s.listen()
        assert main(["demo", "--reset-store"]) == 2
    err = capsys.readouterr().err.strip()
    assert f"ports in use: {receiver_port()} (receiver)" in err and "Nothing was changed" in err
    assert paths.sqlite_path.exists()


def test_a_second_demo_on_the_same_home_is_refused(paths, capsys):
    _users_store(paths)
    with demo_lock(paths):
        assert main(["demo", "--reset-store"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("hub demo: error: another `hub demo` is running on HUB_HOME=")
    assert paths.sqlite_path.exists()


def test_the_push_tally_counts_every_push_step_and_its_writes():
    tally = PushTally()
    tally.add("econobis_push", {"sent": 22, "partner_writes": 22})
    tally.add("econobis_push", {"sent": 11, "partner_writes": 11})
    tally.add("fluvius_push", {"sent": 3, "partner_writes": 6})
    tally.add("econobis_pull", {"sent": 99})  # not a push
    tally.add("woningpas_push", {"skipped": "no Woningpas"})
    assert tally.items == {"econobis": 33, "fluvius": 3}
    assert tally.line().startswith("pushed 36 items to its partners (Econobis 33, ")
    assert "in 39 partner write calls" in tally.line()
