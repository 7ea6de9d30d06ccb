"""Helpers for tests that drive a running sandbox Hoomdossier over HTTP, and a fake Econobis that records what
Hoomdossier sends it and answers what a test tells it to."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import requests
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from connectors.hoomdossier.sandbox.server import RunningHoomdossier
from hub.sandbox.server import ThreadedServer

NOORD, ZUID = "coop-noord", "coop-zuid"
API_KEY = "econobis-key-noord"
COACH = {"contact_id": 10074, "first_name": "Cees", "last_name": "Coach", "email": "cees.coach@example.org"}


class FakeEconobis:
    """Econobis' `/api/{apiKey}/hoomdossier/{endpoint}` routes. `script` is consumed one answer per call:
    ("json", status, body) | ("text", status, body) | ("hang", seconds); afterwards `default` answers."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []
        self.script: list[tuple[Any, ...]] = []
        self.default: tuple[Any, ...] = ("json", 200, ["Hoomdossier woning bijgewerkt."])
        app = FastAPI()

        @app.post("/{path:path}")
        async def any_post(path: str, request: Request) -> Response:
            raw = await request.body()
            self.calls.append(
                {"path": "/" + path, "headers": dict(request.headers), "raw": raw, "body": json.loads(raw)}
            )
            answer = self.script.pop(0) if self.script else self.default
            if answer[0] == "hang":
                await asyncio.sleep(answer[1])
                return JSONResponse(["te laat"])
            if answer[0] == "text":
                return Response(answer[2], status_code=answer[1], media_type="text/html")
            return JSONResponse(answer[2], status_code=answer[1])

        self.server = ThreadedServer(app).start()

    @property
    def url(self) -> str:
        return self.server.base_url

    def endpoints(self) -> list[str]:
        return [c["path"].rsplit("/", 1)[-1] for c in self.calls]

    def bodies(self, endpoint: str) -> list[dict[str, Any]]:
        return [c["body"] for c in self.calls if c["path"].endswith(f"/hoomdossier/{endpoint}")]


def headers(running: RunningHoomdossier, slug: str = NOORD, token: str | None = None, **extra: str) -> dict[str, str]:
    token = token if token is not None else running.sandbox.token_for(slug)
    out = {"Accept": "application/json", "X-Cooperation-Slug": slug, "Authorization": f"Bearer {token}"}
    out.update(extra)
    return out


def api(running: RunningHoomdossier, method: str, path: str, slug: str = NOORD, **kw: Any) -> requests.Response:
    hdrs = kw.pop("headers", None) or headers(running, slug)
    return requests.request(method, f"{running.base_url}{path}", headers=hdrs, timeout=10, allow_redirects=False, **kw)


def resident(contact_id: int | None = 2532, **over: Any) -> dict[str, Any]:
    """The register body Econobis sends (contracts/hoomdossier.md §1.9)."""
    body: dict[str, Any] = {
        "extra": {"contact_id": contact_id},
        "email": f"bewoner{contact_id}@example.org",
        "first_name": "Marieke",
        "last_name": "van Zanten",
        "postal_code": "1681 AB",
        "number": 12,
        "house_number_extension": "",
        "street": "Kerkstraat",
        "city": "Wognum",
        "phone_number": "0612345678",
        "tool_questions": {"resident-count": 2, "amount-gas": 1450, "amount-electricity": 2900},
        "roles": ["resident"],
    }
    body.update(over)
    return body


def register(running: RunningHoomdossier, body: dict[str, Any], slug: str = NOORD) -> requests.Response:
    return api(running, "POST", "/api/v1/register", slug, json=body)


def link(running: RunningHoomdossier, coach: Any, resident_id: Any, slug: str = NOORD) -> requests.Response:
    body = {"building_coach_statuses": {"coach_contact_id": coach, "resident_contact_id": resident_id}}
    return api(running, "POST", "/api/v1/building-coach-status", slug, json=body)


def admin(running: RunningHoomdossier, path: str, body: dict[str, Any] | None = None) -> Any:
    url = f"{running.base_url}/__sandbox/{path}"
    resp = requests.post(url, json=body or {}, timeout=30) if body is not None else requests.get(url, timeout=10)
    resp.raise_for_status()
    return resp.json()


def scenario(running: RunningHoomdossier, name: str, **body: Any) -> Any:
    return admin(running, f"scenario/{name}", {"slug": NOORD, **body})


def run_jobs(running: RunningHoomdossier) -> list[dict[str, Any]]:
    attempts: list[dict[str, Any]] = admin(running, "jobs/run", {})["attempts"]
    return attempts


def advance(running: RunningHoomdossier, seconds: float) -> list[dict[str, Any]]:
    attempts: list[dict[str, Any]] = admin(running, "clock", {"advance_seconds": seconds})["attempts"]
    return attempts


def user(running: RunningHoomdossier, contact_id: int, slug: str = NOORD) -> dict[str, Any]:
    resp = requests.get(
        f"{running.base_url}/__sandbox/users", params={"slug": slug, "contact_id": contact_id}, timeout=10
    )
    resp.raise_for_status()
    found: dict[str, Any] = resp.json()
    return found
