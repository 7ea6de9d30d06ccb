"""kill -9 of the receiver under concurrent senders that retry: 0 lost, 0 doubled, the canonical state equal
to a clean run's.

`hub serve` runs in its own process on a fresh SQLite store (HUB_HOME in a temp dir, the embedded sandbox
tenants). Four sender threads post a few hundred distinct, realistic Hoomdossier messages for both tenants and
retry each until it is answered 2xx, as a Hoomdossier that retries would; the receiver is killed with SIGKILL
three times mid-stream and restarted on the same port (with `HUB_SQLITE_SYNCHRONOUS` full, the default, and
normal). Then every acknowledged message must be in the inbox exactly once, byte-exact and in its stream's
order, SQLite's integrity check must pass, and after the apply step the canonical state (entities, provenance,
cross-references; with the ids and times that legitimately differ between runs replaced by what they stand
for) must equal that of a clean run that received the same messages once. Each building's messages go through
one sender, in order, as one Hoomdossier sends a building's messages; the interleaving of buildings differs
between the two runs and must not matter.

A real power cut cannot be simulated here; test_durability_pragmas.py checks that every connection the
receiver commits on syncs the WAL (docs/durability.md)."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import random
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import select

from connectors import registry
from connectors.hoomdossier.inbox import apply_inbox
from connectors.hoomdossier.sandbox.credentials import sandbox_hoomdossier_credentials
from connectors.hoomdossier.settings import INBOX_SOURCE
from hub.config import sandbox_config
from hub.receiver import create_receiver
from hub.sandbox.server import ThreadedServer
from hub.store import Store
from hub.store import tables as t
from hub.store.db import SQLITE_SYNCHRONOUS_ENV

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
TENANTS = ("coop-noord", "coop-zuid")
BUILDINGS_PER_TENANT = 24
MESSAGES_PER_BUILDING = 7  # 2 × 24 × 7 = 336 messages
SENDERS = 4
KILLS = 3
DEADLINE_S = 240.0  # the whole sending phase; generous for a loaded 2-core machine (it takes ~15 s idle)
PDF = base64.b64encode(random.Random(7).randbytes(30_000)).decode()


@dataclass(frozen=True)
class Message:
    tenant: str
    building: int
    endpoint: str
    body: str  # the exact bytes sent (JSON text)

    @property
    def stream(self) -> str:
        return f"{self.building}/{self.endpoint}"

    @property
    def content_hash(self) -> str:
        return hashlib.sha256(self.body.encode("utf-8")).hexdigest()


@dataclass
class Tally:
    posts: int = 0
    stored: int = 0  # answered "stored"
    already: int = 0  # answered "already stored"
    retried_already: int = 0  # answered "already stored" after an attempt that got no answer
    connection_errors: int = 0
    answers_5xx: int = 0
    refused: list[str] = field(default_factory=list)  # 4xx: must stay empty
    unacknowledged: list[Message] = field(default_factory=list)
    acked: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


def building_messages(tenant: str, building: int, r: random.Random) -> list[Message]:
    """One building's messages in the order Hoomdossier would send them; each differs from the last of its
    stream, so every one is news (distinct), and the mix covers every endpoint the apply step maps."""
    related = {"building_id": building, "user_id": building + 5, "account_id": building + 7, "contact_id": building + 9}
    out: list[Message] = []
    for i in range(MESSAGES_PER_BUILDING):
        kind = ("afspraak", "scan-status", "gebruik", "woonplan", "woning-status", "pdf")[
            i if i < 6 else r.randrange(5)
        ]
        body: dict[str, Any] = {"account_related": related}
        if kind == "afspraak":
            body |= {
                "appointment_date": f"2026-12-{1 + i:02d} {8 + r.randrange(10):02d}:00:00",
                "coaches": [{"contact_id": 1001}],
            }
        elif kind == "scan-status":
            body["scans"] = {
                "quick-scan": {
                    "id": 2,
                    "name": "Uitgebreide variant",
                    "short": "quick-scan",
                    "has_made_progress": i > 3,
                }
            }
        elif kind == "gebruik":
            body |= {
                "current": {
                    "build-year": {
                        "id": 9,
                        "short": "build-year",
                        "name": "Bouwjaar",
                        "answers": {"value": 1900 + r.randrange(120) + i, "short": None, "name": None},
                    },
                    "surface": {
                        "id": 14,
                        "short": "surface",
                        "name": "Oppervlakte",
                        "answers": {"value": 60 + r.randrange(150), "short": None, "name": None},
                    },
                },
                "new": [],
            }
        elif kind == "woonplan":
            body["user_action_plan_advices"] = {
                f"{building}{i}{k}": {
                    "name": "Vloerisolatie",
                    "savings_gas": f"{100 + k + i}.00",
                    "savings_electricity": "0.00",
                    "co2_savings": 188.0 + k,
                    "measure_id": 1 + k,
                    "measure_type": "App\\Models\\MeasureApplication",
                }
                for k in range(1 + r.randrange(3))
            }
            body["user_action_plan_advice_comments"] = []
        elif kind == "woning-status":
            body["status"] = {"id": 5 + i, "short": ("in-progress", "executed")[i % 2], "name": "Status"}
        else:
            body["pdf"] = {"contents": PDF}
        body["sent_seq"] = i  # Hoomdossier's messages carry more than the contract reads; ignored on apply
        out.append(Message(tenant, building, kind, json.dumps(body)))
    return out


def workload() -> list[list[Message]]:
    """Per building its ordered messages; buildings of both tenants, their numbers overlapping on purpose."""
    r = random.Random(11)
    return [building_messages(tenant, 3000 + b * 20, r) for tenant in TENANTS for b in range(BUILDINGS_PER_TENANT)]


KEYS = {tenant: sandbox_hoomdossier_credentials(tenant)["inbound_key"] for tenant in TENANTS}


def send_until_acknowledged(session: requests.Session, base: str, m: Message, tally: Tally, deadline: float) -> bool:
    """POST `m` until a 2xx (connection errors and 5xx: the receiver is down, try again shortly)."""
    failed_before = False
    while time.monotonic() < deadline:
        with tally.lock:
            tally.posts += 1
        try:
            resp = session.post(
                f"{base}/api/{KEYS[m.tenant]}/hoomdossier/{m.endpoint}",
                data=m.body.encode("utf-8"),
                headers={"Content-Type": "application/json", "Accept": "application/json"},
                timeout=30,
            )
        except requests.RequestException:
            with tally.lock:
                tally.connection_errors += 1
            failed_before = True
            session.close()
            time.sleep(0.05)
            continue
        if resp.status_code >= 500:
            with tally.lock:
                tally.answers_5xx += 1
            failed_before = True
            time.sleep(0.05)
            continue
        if resp.status_code != 200:
            with tally.lock:
                tally.refused.append(f"{resp.status_code} {m.stream}: {resp.text[:200]}")
            return False
        already = any("al ontvangen" in line for line in resp.json())
        with tally.lock:
            tally.acked += 1
            if already:
                tally.already += 1
                tally.retried_already += failed_before
            else:
                tally.stored += 1
        return True
    return False


def send_all(base: str, buildings: list[list[Message]], tally: Tally, deadline: float) -> None:
    """SENDERS threads; each takes whole buildings and sends a building's messages in order."""
    queue = list(buildings)
    qlock = threading.Lock()

    def sender() -> None:
        session = requests.Session()
        while True:
            with qlock:
                if not queue:
                    return
                building = queue.pop(0)
            for m in building:
                if not send_until_acknowledged(session, base, m, tally, deadline):
                    with tally.lock:
                        tally.unacknowledged.append(m)
                    return

    threads = [threading.Thread(target=sender, name=f"sender-{i}") for i in range(SENDERS)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()


# --- the receiver in its own process --------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Receiver:
    """`hub serve` in a subprocess, restartable on the same port and store. `env` adds to the hub's environment
    (e.g. HUB_DATABASE_URL: by default the SQLite store in `home`, with `synchronous` as its sync mode); `name`
    tells the logs of several receivers in one home apart."""

    def __init__(
        self,
        home: Path,
        port: int,
        synchronous: str | None = None,
        env: dict[str, str] | None = None,
        name: str = "receiver",
    ) -> None:
        self.home, self.port, self.name = home, port, name
        self.base = f"http://127.0.0.1:{port}"
        self.env = {k: v for k, v in os.environ.items() if k not in ("HUB_CONFIG", "HUB_DATABASE_URL")}
        self.env |= {"HUB_HOME": str(home), "PYTHONPATH": str(ROOT), "HUB_LOG_LEVEL": "WARNING", **(env or {})}
        if synchronous is not None:
            self.env[SQLITE_SYNCHRONOUS_ENV] = synchronous
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self, timeout: float = 90.0) -> None:
        self.launch()
        self.wait_healthy(timeout)

    def launch(self) -> None:
        with (self.home / f"{self.name}-{self.starts}.log").open("wb") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "app.cli", "serve", "--host", "127.0.0.1", "--port", str(self.port)],
                cwd=self.home,  # no ./hub.yaml there: the embedded sandbox tenants
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self.starts += 1

    def wait_healthy(self, timeout: float = 90.0) -> None:
        """Until GET /healthz answers 200, as a load balancer's readiness probe waits."""
        assert self.proc is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"{self.name} exited with {self.proc.returncode}: {self.log_tail()}")
            try:
                if requests.get(f"{self.base}/healthz", timeout=5).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.1)
        raise AssertionError(f"{self.name} did not become healthy in {timeout} s: {self.log_tail()}")

    def kill9(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)
        assert self.proc.returncode == -signal.SIGKILL

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=30)

    def log_tail(self) -> str:
        logs = sorted(self.home.glob(f"{self.name}-*.log"))
        return logs[-1].read_text(errors="replace")[-2000:] if logs else ""


# --- canonical state, comparable across runs -----------------------------------------------------------------


def canonical_state(store: Store) -> dict[str, Any]:
    """Per tenant: entities, field provenance and cross-references, with every canonical id replaced by the
    external ids it stands for, an inbox reference by the message's content, and times left out (they
    legitimately differ between runs; what they order is checked by versions and provenance)."""
    with store.begin() as conn:
        xrefs = conn.execute(select(t.xref)).mappings().all()
        entities = conn.execute(select(t.entities)).mappings().all()
        provenance = conn.execute(select(t.field_provenance)).mappings().all()
        inbox = {r.id: r.content_hash for r in conn.execute(select(t.inbox.c.id, t.inbox.c.content_hash))}
        journey = conn.execute(select(t.journey_events)).mappings().all()
    names: dict[str, list[str]] = {}
    for x in xrefs:
        names.setdefault(x["canonical_id"], []).append(f"{x['system']}:{x['entity']}:{x['external_id']}")
    stable = {cid: "|".join(sorted(v)) for cid, v in names.items()}

    def ref(value: Any) -> Any:
        if isinstance(value, str):
            if value in stable:
                return stable[value]
            if value.startswith("inbox:") and value[6:].isdigit():
                return f"inbox-message:{inbox[int(value[6:])]}"
            return value
        if isinstance(value, list):
            return [ref(v) for v in value]
        if isinstance(value, dict):
            return {k: ref(v) for k, v in value.items() if k not in ("received_at", "inbox_id")}
        return value

    unnamed = [e["canonical_id"] for e in entities if e["canonical_id"] not in stable]
    assert not unnamed, f"entities without an external id cannot be compared across runs: {unnamed[:5]}"
    out: dict[str, Any] = {}
    for tenant in TENANTS:
        mine = [e for e in entities if e["tenant"] == tenant]
        ids = {e["canonical_id"] for e in mine}
        out[tenant] = {
            "entities": sorted(
                json.dumps(
                    {
                        "id": stable[e["canonical_id"]],
                        "entity": e["entity"],
                        "parent": ref(e["parent_id"]),
                        "natural_key": ref(e["natural_key"]),
                        "data": ref(e["data"]),
                        "version": e["version"],
                        "deleted": e["deleted_at"] is not None,
                    },
                    sort_keys=True,
                )
                for e in mine
            ),
            "provenance": sorted(
                (stable[p["canonical_id"]], p["field"], p["source"], ref(p["source_ref"]))
                for p in provenance
                if p["canonical_id"] in ids
            ),
            "xref": sorted((x["system"], x["entity"], x["external_id"]) for x in xrefs if x["tenant"] == tenant),
            "journey": sorted(
                (stable.get(j["dossier_id"], j["dossier_id"]), j["phase"]) for j in journey if j["tenant"] == tenant
            ),
        }
    return out


def apply_all(store: Store) -> dict[str, int]:
    applied = {}
    for tenant in TENANTS:
        outcome = apply_inbox(store, tenant)
        assert outcome.quarantined == 0
        applied[tenant] = outcome.applied
    return applied


def clean_run(tmp: Path, buildings: list[list[Message]]) -> dict[str, Any]:
    """The same messages received once, by the same routes, with no kills (in-process, one sender)."""
    store = Store.open(f"sqlite:///{tmp / 'clean.sqlite'}")
    config = sandbox_config()
    server = ThreadedServer(create_receiver(config, store, registry().routers(config, store))).start()
    try:
        tally = Tally()
        deadline = time.monotonic() + DEADLINE_S
        session = requests.Session()
        for building in reversed(buildings):  # another interleaving of buildings than the killed run's
            for m in building:
                assert send_until_acknowledged(session, server.base_url, m, tally, deadline)
        assert tally.stored == tally.posts == sum(map(len, buildings))
    finally:
        server.stop()
    try:
        apply_all(store)
        return canonical_state(store)
    finally:
        store.dispose()


@pytest.mark.parametrize("synchronous", ["full", "normal"])
def test_kill9_of_the_receiver_loses_nothing_doubles_nothing_and_the_canonical_state_equals_a_clean_run(
    tmp_path: Path, synchronous: str
) -> None:
    """Both settings survive a crash of the process (NORMAL gives up only the power cut, docs/durability.md)."""
    buildings = workload()
    sent = [m for b in buildings for m in b]
    assert len({(m.tenant, m.stream, m.content_hash) for m in sent}) == len(sent)  # distinct messages
    home = tmp_path / "home"
    home.mkdir()
    receiver = Receiver(home, free_port(), synchronous)
    receiver.start()
    tally = Tally()
    deadline = time.monotonic() + DEADLINE_S
    senders = threading.Thread(target=send_all, args=(receiver.base, buildings, tally, deadline))
    down_s: list[float] = []
    try:
        senders.start()
        for k in range(1, KILLS + 1):  # kill at about 1/4, 2/4, 3/4 of the stream, with requests in flight
            while senders.is_alive() and tally.acked < len(sent) * k // (KILLS + 1):
                time.sleep(0.005)
            if not senders.is_alive():
                break
            t0 = time.monotonic()
            receiver.kill9()
            time.sleep(0.3)  # senders meet a closed port for a while, then a starting process
            receiver.start()
            down_s.append(round(time.monotonic() - t0, 2))
        senders.join(timeout=DEADLINE_S + 60)
        assert not senders.is_alive(), "senders did not finish"
    finally:
        receiver.stop()

    report = {
        "messages": len(sent),
        "posts": tally.posts,
        "stored_answers": tally.stored,
        "already_stored_answers": tally.already,
        "retried_and_answered_already_stored": tally.retried_already,
        "connection_errors": tally.connection_errors,
        "answers_5xx": tally.answers_5xx,
        "kills": len(down_s),
        "down_s": down_s,
    }
    print(f"kill -9 durability (synchronous={synchronous}):", json.dumps(report))
    assert len(down_s) == KILLS, f"the stream ended before every kill: {report}"
    assert not tally.refused, tally.refused[:3]
    assert not tally.unacknowledged, f"{len(tally.unacknowledged)} messages never acknowledged: {report}"
    assert tally.acked == len(sent)

    db = home / "hub.sqlite"
    with sqlite3.connect(db) as raw:
        assert raw.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    store = Store.open(f"sqlite:///{db}")
    try:
        with store.begin() as conn:
            rows = conn.execute(
                select(
                    t.inbox.c.tenant, t.inbox.c.source, t.inbox.c.stream, t.inbox.c.content_hash, t.inbox.c.payload
                ).order_by(t.inbox.c.id)
            ).all()
        assert store.count(t.quarantine) == 0
        assert {r.source for r in rows} == {INBOX_SOURCE}
        stored = Counter((r.tenant, r.stream, r.content_hash) for r in rows)
        expected = Counter((m.tenant, m.stream, m.content_hash) for m in sent)
        lost = expected - stored
        doubled = {k: n for k, n in stored.items() if n > 1}
        unexpected = stored - expected
        assert not lost, f"{len(lost)} acknowledged messages lost: {report}"
        assert not doubled, f"{len(doubled)} messages stored twice: {report}"
        assert not unexpected
        assert len(rows) == len(sent) == tally.stored + tally.retried_already
        # byte-exact, and each stream in the order sent
        by_key = {(m.tenant, m.stream, m.content_hash): m.body for m in sent}
        assert all(r.payload == by_key[(r.tenant, r.stream, r.content_hash)] for r in rows)
        for tenant in TENANTS:
            for stream in {m.stream for m in sent if m.tenant == tenant}:
                got = [r.content_hash for r in rows if (r.tenant, r.stream) == (tenant, stream)]
                assert got == [m.content_hash for m in sent if (m.tenant, m.stream) == (tenant, stream)]
        applied = apply_all(store)
        assert sum(applied.values()) == len(sent)
        killed_state = canonical_state(store)
    finally:
        store.dispose()

    clean_state = clean_run(tmp_path, buildings)
    for tenant in TENANTS:
        assert killed_state[tenant]["entities"], "the apply step produced nothing to compare"
        assert killed_state[tenant] == clean_state[tenant], tenant
