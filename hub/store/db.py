"""Engine creation and migrations for the state store (SQLite file by default, PostgreSQL via HUB_DATABASE_URL).

The app migrates on start; on PostgreSQL an advisory lock makes concurrent starters wait for one migrator."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url

from hub.config import ConfigError

_HERE = Path(__file__).resolve().parent
_MIGRATION_LOCK_ID = 7_446_010_201  # arbitrary constant shared by every hub process

SQLITE_SYNCHRONOUS_ENV = "HUB_SQLITE_SYNCHRONOUS"
# WAL + FULL syncs the WAL to disk at every commit, so an acknowledged message survives an OS crash or a power
# cut; WAL + NORMAL syncs only at checkpoints, so it survives a crash of the process but the last commits may
# roll back after a power cut. The cost of FULL is measured in bench/receiver_durability.py (docs/durability.md).
SQLITE_SYNCHRONOUS = {"full": "FULL", "normal": "NORMAL"}
SQLITE_SYNCHRONOUS_DEFAULT = "full"


def sqlite_synchronous() -> str:
    """The `PRAGMA synchronous` level for SQLite stores, from $HUB_SQLITE_SYNCHRONOUS (default: full); a
    ConfigError (one line in the CLI, exit 2) for any other value."""
    raw = os.environ.get(SQLITE_SYNCHRONOUS_ENV, SQLITE_SYNCHRONOUS_DEFAULT).strip().lower()
    if raw not in SQLITE_SYNCHRONOUS:
        raise ConfigError(f"{SQLITE_SYNCHRONOUS_ENV} must be one of {', '.join(SQLITE_SYNCHRONOUS)}, got {raw[:20]!r}")
    return SQLITE_SYNCHRONOUS[raw]


def make_engine(url: str) -> Engine:
    """An engine tuned for concurrent writers: WAL + BEGIN IMMEDIATE on SQLite, pre-ping on PostgreSQL.

    On SQLite every pooled connection gets the same pragmas when it is opened, including `synchronous`
    (durability is a property of the connection that commits, so one connection left at NORMAL would be enough
    to lose an acknowledged message on a power cut)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        synchronous = sqlite_synchronous()
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 60, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn: Any, _record: Any) -> None:
            # Take control of transactions so a write transaction starts with the write lock held;
            # a deferred transaction that upgrades from read to write fails instantly with SQLITE_BUSY.
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute(f"PRAGMA synchronous={synchronous}")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn: Any) -> None:
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10)


def alembic_config() -> Config:
    cfg = Config(str(_HERE / "alembic.ini"))
    cfg.set_main_option("script_location", str(_HERE / "migrations"))
    return cfg


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest migration; safe to call from several processes at once."""
    cfg = alembic_config()
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _MIGRATION_LOCK_ID})
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
