"""Fixtures: a sandbox portal on loopback per test (frozen clock, no seeded surprises unless a test asks), with an
MVP client, an ISDE client and a read-only MVP client, mandates for the demo persons, and a webhook receiver."""

from __future__ import annotations

import base64
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pytest
import requests
from fastapi import FastAPI, Request
from fastapi.responses import Response

from connectors.fluvius.sandbox.server import RunningPortal, start_portal
from connectors.fluvius.sandbox.state import PortalSandbox
from connectors.fluvius.settings import API, SCOPE_READ, TOKEN_PATH
from hub.sandbox.runtime import SimClock
from hub.sandbox.server import ThreadedServer

MVP_CLIENT, MVP_SECRET = "desk-leuven", "s3cret-mvp"
ISDE_CLIENT, ISDE_SECRET = "coop-noord", "s3cret-isde"
READER, READER_SECRET = "desk-reader", "s3cret-read"
INSZ = "85073003328"
INSZ_LOAN = "90020199807"
BSN = "123456782"
WHSEC = "whsec_" + base64.b64encode(b"fluvius-test-webhook-secret-32by").decode()
START = datetime(2026, 11, 2, 9, 0)
PDF = base64.b64encode(b"%PDF-1.4 a premium invoice").decode()


def mvp_body(**over: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "regeling": "MVP_VL",
        "referentie": f"hub-{uuid.uuid4().hex[:8]}",
        "aanvrager": {
            "insz": INSZ,
            "naam": "An Peeters",
            "iban": "BE68539007547034",
            "hoedanigheid": "eigenaar_bewoner",
        },
        "gebouw": {
            "dwelling_key": "BE-3000-NAAMSESTRAAT-1",
            "adres": "Naamsestraat 1, 3000 Leuven",
            "type": "woning",
            "aansluitingsjaar": 1975,
        },
        "inkomen": {
            "aanslagjaar": 2026,
            "gezamenlijk_belastbaar_inkomen": 30000,
            "personen_ten_laste": 0,
            "gezinstype": "alleenstaande",
        },
        "categorieen": [
            {
                "categorie": "dak",
                "subtype": "isolatie",
                "hoeveelheid": 100,
                "eenheid": "m2",
                "uitvoeringsdatum": "2026-06-20",
                "materiaal": {"merk": "Recticel", "type": "PIR", "rd": 4.5},
                "facturen": [
                    {
                        "nummer": "F-2026-001",
                        "datum": "2026-06-25",
                        "is_voorschot": False,
                        "bedrag_excl_btw": 5000,
                        "btw_pct": 6,
                        "aannemer_kbo": "0123456749",
                    }
                ],
            }
        ],
    }
    body.update(over)
    return body


def windows_item(m2: int = 40) -> dict[str, Any]:
    return {
        "categorie": "ramen_deuren",
        "subtype": "raam",
        "hoeveelheid": m2,
        "eenheid": "m2",
        "uitvoeringsdatum": "2026-07-01",
        "facturen": [{"nummer": "F-2026-002", "datum": "2026-07-02", "bedrag_excl_btw": 20000, "btw_pct": 6}],
    }


def heat_pump_item(**over: Any) -> dict[str, Any]:
    item: dict[str, Any] = {
        "categorie": "warmtepomp",
        "subtype": "lucht_water",
        "hoeveelheid": 1,
        "installatiedatum": "2026-08-01",
        "facturen": [{"nummer": "W-1", "datum": "2026-08-03", "bedrag_excl_btw": 12000, "btw_pct": 6}],
    }
    item.update(over)
    return item


def isde_body(**over: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "regeling": "ISDE_NL",
        "referentie": f"hub-{uuid.uuid4().hex[:8]}",
        "aanvrager": {
            "bsn": BSN,
            "naam": "Jan de Vries",
            "iban": "NL91ABNA0417164300",
            "hoedanigheid": "eigenaar_bewoner",
        },
        "gebouw": {"dwelling_key": "NL-9711AB-12", "adres": "Grote Markt 12, 9711AB Groningen", "type": "woning"},
        "categorieen": [
            {
                "categorie": "dakisolatie",
                "meldcode": "ISO-DAK-01",
                "hoeveelheid": 60,
                "eenheid": "m2",
                "uitvoeringsdatum": "2026-05-10",
                "facturen": [{"nummer": "NL-77", "datum": "2026-05-12", "bedrag_excl_btw": 4200, "btw_pct": 21}],
            }
        ],
    }
    body.update(over)
    return body


@dataclass
class Receiver:
    """A webhook receiver: records every POST; answers `status` (a list: one per call, then 200)."""

    server: ThreadedServer
    calls: list[dict[str, Any]] = field(default_factory=list)
    answers: list[int] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return self.server.base_url + "/hook"


@dataclass
class Api:
    base: str
    client_id: str
    secret: str
    session: requests.Session = field(default_factory=requests.Session)
    token: str | None = None

    def get_token(self, scope: str | None = None) -> requests.Response:
        data = {"grant_type": "client_credentials"}
        if scope:
            data["scope"] = scope
        return self.session.post(self.base + TOKEN_PATH, data=data, auth=(self.client_id, self.secret), timeout=10)

    def login(self, scope: str | None = None) -> Api:
        answer = self.get_token(scope)
        assert answer.status_code == 200, answer.text
        self.token = answer.json()["access_token"]
        return self

    def call(self, method: str, path: str, body: Any = None, key: str | None = None, **kw: Any) -> requests.Response:
        if self.token is None:
            self.login()
        headers = {"Authorization": f"Bearer {self.token}"}
        if key is not None:
            headers["Idempotency-Key"] = key
        return self.session.request(method, self.base + API + path, json=body, headers=headers, timeout=10, **kw)

    def create(self, body: dict[str, Any], key: str | None = None) -> requests.Response:
        return self.call("POST", "/aanvragen", body, key=key or uuid.uuid4().hex)

    def upload(self, aid: str, soort: str, categorie: str | None = None, content: str = PDF) -> requests.Response:
        doc = {"soort": soort, "bestandsnaam": f"{soort}.pdf", "mediatype": "application/pdf", "inhoud_base64": content}
        if categorie:
            doc["categorie"] = categorie
        return self.call("POST", f"/aanvragen/{aid}/documenten", doc)

    def ready(self, body: dict[str, Any]) -> str:
        """A draft with every required document: its id."""
        made = self.create(body)
        assert made.status_code == 201, made.text
        aid = str(made.json()["id"])
        for item in body["categorieen"]:
            assert (
                self.upload(
                    aid, "factuur", item["categorie"], base64.b64encode(item["categorie"].encode()).decode()
                ).status_code
                == 201
            )
            if body["regeling"] == "ISDE_NL":
                content = base64.b64encode(("paid " + item["categorie"]).encode()).decode()
                assert self.upload(aid, "betaalbewijs", item["categorie"], content).status_code == 201
        if body["regeling"] == "MVP_VL" and body["aanvrager"]["hoedanigheid"] == "eigenaar_bewoner":
            assert self.upload(aid, "aanslagbiljet").status_code == 201
        return aid

    def submitted(self, body: dict[str, Any]) -> str:
        aid = self.ready(body)
        answer = self.call("POST", f"/aanvragen/{aid}/indienen")
        assert answer.status_code == 200, answer.text
        return aid


@dataclass
class Portal:
    running: RunningPortal
    sb: PortalSandbox
    mvp: Api
    isde: Api
    reader: Api

    @property
    def base(self) -> str:
        return self.running.base_url

    def admin(self, method: str, path: str, body: Any = None) -> requests.Response:
        return requests.request(method, self.base + "/__sandbox" + path, json=body, timeout=30)

    def advance(self, days: float) -> dict[str, Any]:
        answer = self.admin("POST", "/clock", {"advance_days": days})
        assert answer.status_code == 200, answer.text
        for api in (self.mvp, self.isde, self.reader):  # tokens live an hour of sandbox time: log in again
            if api.token is not None:
                api.login()
        return dict(answer.json())

    def plan(self, aid: str, **plan: Any) -> None:
        assert self.admin("POST", f"/aanvragen/{aid}/plan", plan).status_code == 200


@pytest.fixture
def portal() -> Iterator[Portal]:
    sb = PortalSandbox(seed=5, clock=SimClock(START, frozen=True), aanvulling_share=0.0, inconsistent_share=0.0)
    sb.register_client(MVP_CLIENT, MVP_SECRET, "MVP_VL", "Energiehuis Leuven")
    sb.register_client(ISDE_CLIENT, ISDE_SECRET, "ISDE_NL", "Energiecoöperatie Noord")
    sb.register_client(READER, READER_SECRET, "MVP_VL", "Energiehuis Leuven", scopes=[SCOPE_READ])
    for client in (MVP_CLIENT, READER):
        sb.put_mandaat(client, INSZ)
        sb.put_mandaat(client, INSZ_LOAN, energielening_actief=True)
    sb.put_mandaat(ISDE_CLIENT, BSN)
    running = start_portal(sb)
    base = running.base_url
    yield Portal(
        running,
        sb,
        Api(base, MVP_CLIENT, MVP_SECRET),
        Api(base, ISDE_CLIENT, ISDE_SECRET),
        Api(base, READER, READER_SECRET),
    )
    running.stop()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    app = FastAPI()
    holder: dict[str, Receiver] = {}

    @app.post("/hook")
    async def hook(request: Request) -> Response:
        rec = holder["r"]
        with rec.lock:
            rec.calls.append({"headers": dict(request.headers), "body": (await request.body()).decode()})
            status = rec.answers.pop(0) if rec.answers else 200
        return Response(status_code=status)

    server = ThreadedServer(app).start()
    holder["r"] = Receiver(server)
    yield holder["r"]
    server.stop()
