"""What every sandbox's HTTP face shares: the JSON responder and the admin routes that are the same in each
(fault rules). Partner-specific admin routes (clock semantics, scenarios) stay in the partner's sandbox."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import Response

from hub.sandbox.php import php_json
from hub.sandbox.runtime import Faults

Responder = Callable[..., Response]


def json_response(
    body: Any, status: int = 200, headers: dict[str, str] | None = None, *, php_encoding: bool = False
) -> Response:
    """A JSON answer; `php_encoding` reproduces `json_encode()`'s defaults (ASCII only, `\\/`) byte for byte."""
    text = php_json(body) if php_encoding else json.dumps(body, ensure_ascii=False, separators=(",", ":"))
    return Response(text, status_code=status, media_type="application/json", headers=headers)


def add_fault_routes(app: FastAPI, faults: Faults, prefix: str, respond: Responder = json_response) -> None:
    """`POST {prefix}/faults` with `{"rules": [...], "seed": n}` replaces the fault rules and answers them."""

    @app.post(f"{prefix}/faults")
    async def set_faults(request: Request) -> Response:
        body = await request.json()
        faults.set(body.get("rules", []), seed=body.get("seed"))
        return respond(faults.describe())
