"""Two receiver replicas on one PostgreSQL store, as behind a load balancer (docs/deployment.md): the same
message stream delivered to both, each message to both at once from several senders, is stored once and
applied once; nothing lost, nothing doubled.

Each replica is `hub serve` in its own process (HUB_DATABASE_URL: a throw-away schema; the embedded sandbox
tenants). The stream: realistic Hoomdossier messages for two cooperations (each building's in order, as one
Hoomdossier sends them; tests/e2e/test_receiver_kill9.py's workload, smaller) and signed web-form sign-ups.
Only the unique constraints in the database keep the replicas from storing a message twice."""

from __future__ import annotations

import hashlib
import random
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests
from sqlalchemy import select

from connectors.hoomdossier.inbox import apply_inbox
from connectors.hoomdossier.settings import INBOX_SOURCE
from connectors.webform.sandbox.credentials import sandbox_webform_secrets
from connectors.webform.sandbox.sender import WebformSender
from connectors.webform.settings import INBOX_SOURCE as WEBFORM_SOURCE
from hub.store import Store
from hub.store import tables as t
from tests.e2e.test_receiver_kill9 import KEYS, TENANTS, Message, Receiver, building_messages, free_port

pytestmark = pytest.mark.postgres

BUILDINGS_PER_TENANT = 10  # × 7 messages × 2 tenants = 140 Hoomdossier messages
SIGNUPS_PER_TENANT = 15
SENDERS = 6


@pytest.fixture
def replicas(tmp_path, pg_store):
    url = pg_store.engine.url.render_as_string(hide_password=False)
    home = tmp_path / "home"
    home.mkdir()
    env = {"HUB_DATABASE_URL": url, "HUB_SANDBOX_PORT_BASE": "28400"}
    both = [Receiver(home, free_port(), env=env, name=f"replica-{n}") for n in ("a", "b")]
    try:
        for r in both:
            r.launch()  # side by side, then each waited for
        for r in both:
            r.wait_healthy()
        yield both
    finally:
        for r in both:
            r.stop()


def signups() -> list[tuple[str, str, str]]:
    """(tenant, webhook-id, body) per sign-up; the body as the form serialises it once."""
    out = []
    for tenant in TENANTS:
        for i in range(SIGNUPS_PER_TENANT):
            data = {"id": f"{tenant}-form-{i}", "last_name": f"Replica{i}", "email": f"replica{i}@example.org"}
            out.append((tenant, f"msg_{uuid.uuid4().hex}", WebformSender.body(data)))
    return out


def test_two_replicas_taking_the_same_stream_store_and_apply_every_message_once(replicas, pg_store: Store):
    r = random.Random(5)
    buildings = [building_messages(tenant, 5000 + b * 20, r) for tenant in TENANTS for b in range(BUILDINGS_PER_TENANT)]
    hoom: list[Message] = [m for b in buildings for m in b]
    forms = signups()
    senders = {
        tenant: WebformSender("http://unused", tenant, sandbox_webform_secrets(tenant)["current"]) for tenant in TENANTS
    }
    local = threading.local()
    answers: Counter[str] = Counter()
    stored_by: Counter[tuple[str, str]] = Counter()  # (message, replica) answered "stored"
    lock = threading.Lock()

    def session() -> requests.Session:
        if not hasattr(local, "s"):
            local.s = requests.Session()
        return local.s

    def post_hoom(replica: Receiver, m: Message) -> None:
        resp = session().post(
            f"{replica.base}/api/{KEYS[m.tenant]}/hoomdossier/{m.endpoint}",
            data=m.body.encode("utf-8"),
            headers={"Content-Type": "application/json", "Accept": "application/json"},
            timeout=60,
        )
        with lock:
            answers[f"hoomdossier {resp.status_code}"] += 1
            if resp.status_code == 200 and not any("al ontvangen" in line for line in resp.json()):
                stored_by[(f"{m.tenant}/{m.stream}/{m.content_hash}", replica.base)] += 1

    def post_form(replica: Receiver, tenant: str, webhook_id: str, body: str) -> None:
        resp = session().post(
            f"{replica.base}/webhooks/{tenant}/{WEBFORM_SOURCE}",
            data=body.encode("utf-8"),
            headers=senders[tenant].headers(body, webhook_id),
            timeout=60,
        )
        with lock:
            answers[f"webform {resp.status_code}"] += 1
            if resp.status_code == 200 and resp.json()["stored"]:
                stored_by[(f"{tenant}/{webhook_id}", replica.base)] += 1

    queue: list[Any] = [*buildings, *forms]
    r.shuffle(queue)
    qlock = threading.Lock()
    pool = ThreadPoolExecutor(max_workers=2 * SENDERS)

    def sender() -> None:
        """Takes whole buildings (their messages in order) and sign-ups; each message goes to both replicas at
        once, the next only when both answered (as one Hoomdossier sends a building's messages in turn)."""
        while True:
            with qlock:
                if not queue:
                    return
                work = queue.pop()
            if isinstance(work, tuple):
                futures = [pool.submit(post_form, rep, *work) for rep in r.sample(replicas, 2)]
                for f in futures:
                    f.result()
                continue
            for m in work:
                futures = [pool.submit(post_hoom, rep, m) for rep in r.sample(replicas, 2)]
                for f in futures:
                    f.result()

    t0 = time.monotonic()
    threads = [threading.Thread(target=sender, name=f"sender-{i}") for i in range(SENDERS)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    pool.shutdown()
    sending_s = time.monotonic() - t0

    # every delivery answered 200, by both replicas; none refused, none a 5xx
    assert answers == {"hoomdossier 200": 2 * len(hoom), "webform 200": 2 * len(forms)}, answers
    # each message answered "stored" by exactly one replica, the other saying it had it already
    per_message = Counter(key for key, _ in stored_by.elements())
    assert len(per_message) == len(hoom) + len(forms) and set(per_message.values()) == {1}, per_message.most_common(3)
    assert {base for _, base in stored_by} == {rep.base for rep in replicas}  # both replicas did store some

    with pg_store.begin() as conn:
        rows = conn.execute(
            select(t.inbox.c.tenant, t.inbox.c.source, t.inbox.c.stream, t.inbox.c.message_id, t.inbox.c.payload)
        ).all()
    hoom_rows = Counter(
        (row.tenant, row.stream, hashlib.sha256(row.payload.encode("utf-8")).hexdigest())
        for row in rows
        if row.source == INBOX_SOURCE
    )
    # nothing lost, nothing doubled, byte-exact
    assert hoom_rows == Counter((m.tenant, m.stream, m.content_hash) for m in hoom)
    form_rows = Counter((row.tenant, row.message_id) for row in rows if row.source == WEBFORM_SOURCE)
    assert form_rows == Counter((tenant, f"webhook:{wid}") for tenant, wid, _ in forms)

    # applied once: every stored message exactly once, and a second pass finds nothing to do
    for tenant in TENANTS:
        first = apply_inbox(pg_store, tenant)
        assert (first.applied, first.quarantined) == (BUILDINGS_PER_TENANT * 7, 0), (tenant, first)
        again = apply_inbox(pg_store, tenant)
        assert again.applied == 0, (tenant, again)
    assert sending_s < 60, f"sending took {sending_s:.1f} s"
