"""The embedded store's durability setting is in effect on every connection, the receiver's included.

A power cut cannot be simulated here (it would take a VM whose disk is cut off without its cache flushed); what
can be checked is that no connection commits with a setting weaker than the one configured: SQLite's
`synchronous` is per connection, so one pooled connection left at NORMAL would be enough to lose an
acknowledged message. See docs/durability.md for what FULL does and does not guarantee."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import event

from connectors import registry
from connectors.hoomdossier.sandbox.credentials import sandbox_hoomdossier_credentials
from hub.config import ConfigError, sandbox_config
from hub.receiver import create_receiver
from hub.sandbox.server import ThreadedServer
from hub.store import Store
from hub.store import tables as t
from hub.store.db import SQLITE_SYNCHRONOUS_ENV, sqlite_synchronous

FULL, NORMAL = 2, 1  # PRAGMA synchronous answers with the level's number


def pragmas_of_pooled_connections(store: Store, n: int) -> list[tuple[int, str]]:
    """(synchronous, journal_mode) of `n` connections checked out at the same time (so `n` distinct ones)."""
    conns = [store.engine.raw_connection() for _ in range(n)]  # pooled, without the store's BEGIN IMMEDIATE
    try:
        out = []
        for c in conns:
            cur = c.cursor()
            sync = cur.execute("PRAGMA synchronous").fetchone()[0]
            mode = cur.execute("PRAGMA journal_mode").fetchone()[0]
            cur.close()
            out.append((int(sync), str(mode)))
        return out
    finally:
        for c in conns:
            c.close()


def test_the_default_is_full_on_every_pooled_connection(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(SQLITE_SYNCHRONOUS_ENV, raising=False)
    store = Store.open(f"sqlite:///{tmp_path / 'hub.sqlite'}")
    try:
        assert pragmas_of_pooled_connections(store, 8) == [(FULL, "wal")] * 8
    finally:
        store.dispose()


def test_normal_can_be_chosen_and_applies_to_every_connection(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(SQLITE_SYNCHRONOUS_ENV, " Normal ")
    store = Store.open(f"sqlite:///{tmp_path / 'hub.sqlite'}")
    try:
        assert pragmas_of_pooled_connections(store, 4) == [(NORMAL, "wal")] * 4
    finally:
        store.dispose()


@pytest.mark.parametrize("value", ["off", "extra", "0", "", "yes please and a very long value after it"])
def test_any_other_value_is_a_config_error_naming_the_setting(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv(SQLITE_SYNCHRONOUS_ENV, value)
    with pytest.raises(ConfigError, match=SQLITE_SYNCHRONOUS_ENV) as err:
        sqlite_synchronous()
    assert "full, normal" in str(err.value) and len(str(err.value)) < 120


def test_every_connection_the_receiver_commits_on_syncs_at_full(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Concurrent deliveries make the receiver use several pooled connections; each is asked for its level at
    checkout, on the connection itself, before the route's transaction runs on it."""
    monkeypatch.delenv(SQLITE_SYNCHRONOUS_ENV, raising=False)
    store = Store.open(f"sqlite:///{tmp_path / 'hub.sqlite'}")
    seen: list[tuple[int, int]] = []
    lock = threading.Lock()

    @event.listens_for(store.engine, "checkout")
    def _record(dbapi_conn: Any, _record: Any, _proxy: Any) -> None:
        cur = dbapi_conn.cursor()
        level = cur.execute("PRAGMA synchronous").fetchone()[0]
        cur.close()
        with lock:
            seen.append((id(dbapi_conn), int(level)))

    config = sandbox_config()
    server = ThreadedServer(create_receiver(config, store, registry().routers(config, store))).start()
    key = sandbox_hoomdossier_credentials("coop-noord")["inbound_key"]
    answers: list[int] = []

    def send(worker: int) -> None:
        with requests.Session() as s:
            for i in range(15):
                body = {
                    "account_related": {"building_id": 100 + worker, "contact_id": 900 + worker},
                    "appointment_date": f"2026-12-{1 + i:02d} 10:00:00",
                }
                r = s.post(
                    f"{server.base_url}/api/{key}/hoomdossier/afspraak",
                    data=json.dumps(body),
                    timeout=30,
                    headers={"Content-Type": "application/json"},
                )
                with lock:
                    answers.append(r.status_code)

    try:
        threads = [threading.Thread(target=send, args=(w,)) for w in range(6)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
    finally:
        server.stop()
    try:
        assert answers == [200] * 90
        assert store.count(t.inbox) == 90
        assert len(seen) >= 90 and {level for _, level in seen} == {FULL}
        assert len({conn for conn, _ in seen}) > 1  # several pooled connections, each checked
    finally:
        store.dispose()
