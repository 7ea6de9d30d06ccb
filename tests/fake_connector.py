"""A throw-away partner, declared only here: a tiny CRM with a contacts list (pull), a write endpoint that is
not idempotent (push, looked up before a retry), and webhooks it posts to the hub (receiver route → inbox).
Registering it must make it appear everywhere the hub lists partners, with no other file changed."""

from __future__ import annotations

import hmac
import json
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import requests
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel

from hub.config import HubConfig, PartnerConfig, env_prefix
from hub.connector import (
    Connector,
    Freshness,
    Inbox,
    PartnerRun,
    Pull,
    Push,
    Replay,
    ReplayRule,
    SandboxFactory,
    SandboxStart,
)
from hub.sandbox.server import ThreadedServer
from hub.store import Store, utcnow
from hub.worker import Failure, OutboxWorker, Park, Retry, Sent, outbox_key

NAME = "fakecrm"
APPLY_QUARANTINE = f"inbox:{NAME}:apply"


class Settings(BaseModel):
    region: str = "vl"


def _key(tenant: str) -> str:
    return f"fake-{tenant}-inbound-key"


# --- its sandbox ----------------------------------------------------------------------------------------------


@dataclass
class FakeCrm:
    contacts: dict[str, dict[str, Any]] = field(default_factory=dict)
    writes: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


def _app(crm: FakeCrm) -> FastAPI:
    app = FastAPI()

    @app.get("/contacts")
    def contacts() -> Response:
        return JSONResponse(list(crm.contacts.values()))

    @app.post("/contacts")
    async def create(request: Request) -> Response:
        body = await request.json()
        with crm.lock:  # not idempotent: every call creates one
            crm.writes += 1
            cid = str(len(crm.contacts) + 1)
            crm.contacts[cid] = {"id": cid, **body}
        return JSONResponse({"id": cid}, status_code=201)

    return app


@dataclass
class Running:
    crm: FakeCrm
    server: ThreadedServer
    tenants: tuple[str, ...]


def _start(s: SandboxStart) -> Running:
    crm = FakeCrm()
    return Running(crm, ThreadedServer(_app(crm), "127.0.0.1", s.ports.get("*", 0)).start(), s.tenants)


def _config(tenant: str, port: int, host: str, extra: Mapping[str, Any] | None) -> PartnerConfig:
    return PartnerConfig(
        base_url=f"http://{host}:{port}",
        settings={"region": "vl"},
        secrets={"inbound_key": env_prefix(tenant, NAME) + "INBOUND_KEY"},
        sandbox=True,
        sandbox_secret_values={"inbound_key": _key(tenant)},
    )


# --- what the hub needs from it ---------------------------------------------------------------------------------


@dataclass
class Counted:
    values: dict[str, Any]

    def metadata(self) -> dict[str, Any]:
        return self.values


def _pull(run: PartnerRun, full: bool) -> Counted:
    rows = requests.get(run.tenant.partner(NAME).base_url + "/contacts", timeout=10).json()
    return Counted({"records_seen": len(rows), "full_pull": full})


def _send(run: PartnerRun) -> Any:
    base = run.tenant.partner(NAME).base_url

    def send(item: Any) -> Any:
        rows = requests.get(base + "/contacts", timeout=10).json()
        if any(r.get("key") == item["payload"]["key"] for r in rows):
            return Sent({"via": "lookup"}, found_by_lookup=True)
        resp = requests.post(base + "/contacts", json=item["payload"], timeout=10)
        if resp.status_code >= 500:
            return Retry(Failure.UNAVAILABLE, f"fakecrm {resp.status_code}")
        if resp.status_code >= 400:
            return Park(f"fakecrm refused ({resp.status_code})", resp.text)
        return Sent(resp.json())

    return send


def enqueue(store: Store, tenant: str, key: str, name: str) -> None:
    with store.begin() as conn:
        store.outbox_enqueue(
            conn, tenant, NAME, "contact-create", outbox_key(NAME, "contact", key), {"key": key, "name": name}
        )


def _push(run: PartnerRun) -> Any:
    worker = OutboxWorker(run.store, run.tenant_id, NAME, _send(run))
    return worker.run()


def _apply(run: PartnerRun) -> Counted:
    applied = 0
    for m in run.store.inbox_unapplied(run.tenant_id, NAME):
        with run.store.begin() as conn:
            try:
                json.loads(m["payload"])
            except ValueError:
                run.store.quarantine_put(conn, run.tenant_id, APPLY_QUARANTINE, "event", str(m["id"]), "not JSON", {})
            run.store.inbox_update(conn, m["tenant"], m["id"], applied_at=utcnow())
            applied += 1
    return Counted({"applied": applied})


def _routes(config: HubConfig, store: Store) -> list[APIRouter]:
    keys = {t.secret(NAME, "inbound_key"): t.id for t in config.tenants_with(NAME)}
    router = APIRouter()

    @router.post("/api/fakecrm/{key}/events")
    async def events(key: str, request: Request) -> Response:
        tenant = next((t for k, t in keys.items() if hmac.compare_digest(k, key)), None)
        if tenant is None:
            return JSONResponse({"error": "unknown key"}, status_code=404)
        text = (await request.body()).decode("utf-8", errors="replace")
        with store.begin() as conn:
            item = store.inbox_receive(conn, NAME, tenant, "events", text, {})
        return JSONResponse({"stored": item.id})

    return [router]


CONNECTOR = Connector(
    name=NAME,
    title="FakeCRM",
    summary="a throw-away partner of the registry tests",
    secrets=("inbound_key",),
    settings=Settings,
    routes=_routes,
    pull=Pull(run=_pull, description="FakeCRM contacts.", window=lambda run, a, b: Counted({"day": date.isoformat(a)})),
    push=Push(run=_push, description="FakeCRM contact creates."),
    inbox=Inbox(source=NAME, apply=_apply, description="FakeCRM webhooks."),
    replay={APPLY_QUARANTINE: ReplayRule(Replay.REAPPLY_INBOX)},
    freshness=Freshness(f"sync:{NAME}"),
    sandbox=SandboxFactory(
        config=_config,
        start=_start,
        ports=lambda r: {"*": r.server.port},
        describe=lambda r: {t: {"base_url": r.server.base_url, "inbound_key": _key(t)} for t in r.tenants},
        stop=lambda r: r.server.stop(),
        port_offset=30,
        order=90,
    ),
)
