"""The sandbox municipal web form: `GET /{tenant}` shows a sign-up form, `POST /{tenant}` (form-encoded, as a
browser sends it) turns the answers into a `signup.created` event signed with the tenant's current secret and
posts it to the hub's receiver, as a municipality's form tool would. Each rendered form carries its own
submission id, so a double-clicked submit is one sign-up at the hub.

`hub_url` is set once the receiver runs (the sandbox stack's wiring); until then a submit answers 503."""

from __future__ import annotations

import html
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from connectors.webform.sandbox.credentials import SANDBOX_CAMPAIGN, sandbox_webform_secrets
from connectors.webform.sandbox.personas import signups, works_completed
from connectors.webform.sandbox.sender import WebformSender
from hub.config import sandbox_region
from hub.sandbox.server import ThreadedServer

FIELDS: tuple[str, ...] = ("first_name", "last_name_prefix", "last_name", "email", "phone", "street", "number")
FIELDS += ("addition", "box", "postcode", "city")
MEASURES = ("Vloerisolatie", "Spouwmuurisolatie", "Zonnepanelen")
MAX_FORM_BYTES = 16 * 1024


@dataclass
class WebformSandbox:
    """The form of each tenant; `campaigns`: tenant → the campaign its form signs residents up for."""

    tenants: tuple[str, ...]
    campaigns: Mapping[str, int | str] = field(default_factory=dict)
    hub_url: str | None = None
    deliveries: list[dict[str, Any]] = field(default_factory=list)

    def sender(self, tenant: str, secret: str | None = None) -> WebformSender:
        if self.hub_url is None:
            raise RuntimeError("the sandbox web form is not wired to a hub receiver yet")
        return WebformSender(self.hub_url, tenant, secret or sandbox_webform_secrets(tenant)["current"])

    def campaign(self, tenant: str) -> int | str:
        """The campaign the tenant's form signs residents up for: the seeded CRM campaign, else its own code."""
        return self.campaigns.get(tenant, SANDBOX_CAMPAIGN)

    def demo_signups(self, tenant: str, n: int, seed: int = 0) -> list[dict[str, Any]]:
        """`n` deterministic sign-ups of the tenant's residents (personas.py), for its form's campaign."""
        return signups(tenant, n, self.campaign(tenant), seed)

    def demo_works(self, tenant: str, signup_ids: list[str]) -> list[dict[str, Any]]:
        """A deterministic works.completed for each of these sign-ups (the form's submission ids, personas.py):
        what the residents supply for premiums once their works are done."""
        return [works_completed(tenant, i, signup=sid) for i, sid in enumerate(signup_ids)]

    def app(self) -> FastAPI:
        app = FastAPI(title="Sandbox municipal web form", docs_url=None, redoc_url=None, openapi_url=None)

        @app.get("/__sandbox/deliveries")
        async def deliveries() -> Response:
            return JSONResponse(self.deliveries)

        @app.get("/{tenant}")
        async def form(tenant: str) -> Response:
            if tenant not in self.tenants:
                return HTMLResponse("<p>Onbekende gemeente.</p>", status_code=404)
            return HTMLResponse(_page(tenant, uuid.uuid4().hex[:24]))

        @app.post("/{tenant}")
        async def submit(tenant: str, request: Request) -> Response:
            if tenant not in self.tenants:
                return HTMLResponse("<p>Onbekende gemeente.</p>", status_code=404)
            raw = await request.body()
            if len(raw) > MAX_FORM_BYTES:
                return HTMLResponse("<p>Formulier te groot.</p>", status_code=413)
            answers = {k: v for k, v in parse_qs(raw.decode("utf-8", errors="replace")).items() if v}
            data = self.signup(tenant, answers)
            if self.hub_url is None:
                return HTMLResponse("<p>De aanmelding kan nu niet worden verstuurd.</p>", status_code=503)
            webhook_id, _body, resp = self.sender(tenant).post(data)
            self.deliveries.append({"tenant": tenant, "webhook_id": webhook_id, "status": resp.status_code})
            if resp.status_code < 300:
                return HTMLResponse("<p>Bedankt voor uw aanmelding.</p>")
            return HTMLResponse(f"<p>Aanmelding geweigerd ({resp.status_code}).</p>", status_code=502)

        return app

    def signup(self, tenant: str, answers: Mapping[str, list[str]]) -> dict[str, Any]:
        """The answers as `signup.created` data (empty fields left out, as a form tool does)."""
        data: dict[str, Any] = {k: answers[k][0] for k in FIELDS if answers.get(k, [""])[0].strip()}
        if sandbox_region(tenant).country == "BE":  # a Flemish desk's form: Belgian addresses
            data["country"] = "BE"
        data["id"] = (answers.get("submission_id") or [uuid.uuid4().hex[:24]])[0][:40]
        data["campaign"] = self.campaign(tenant)
        data["measures"] = [m for m in answers.get("measures", []) if m in MEASURES]
        data["sources"] = ["Website"]
        data["consent"] = {"privacy_policy": answers.get("consent", [""])[0] == "on", "text_version": "2026-01"}
        return data


def _page(tenant: str, submission_id: str) -> str:
    inputs = "".join(f'<label>{f}<input name="{f}"></label><br>' for f in FIELDS)
    boxes = "".join(f'<label><input type="checkbox" name="measures" value="{m}">{m}</label>' for m in MEASURES)
    return (
        f"<html><body><h1>Aanmelden energieloket ({html.escape(tenant)})</h1>"
        f'<form method="post"><input type="hidden" name="submission_id" value="{submission_id}">'
        f'{inputs}{boxes}<br><label><input type="checkbox" name="consent">Akkoord privacybeleid</label>'
        '<br><button type="submit">Aanmelden</button></form></body></html>'
    )


@dataclass
class RunningWebform:
    sandbox: WebformSandbox
    server: ThreadedServer

    @property
    def base_url(self) -> str:
        return self.server.base_url

    def stop(self) -> None:
        self.server.stop()


def start_webform(
    tenants: Iterable[str], port: int = 0, campaigns: Mapping[str, int | str] | None = None
) -> RunningWebform:
    sandbox = WebformSandbox(tuple(tenants), dict(campaigns or {}))
    return RunningWebform(sandbox, ThreadedServer(sandbox.app(), "127.0.0.1", port).start())
