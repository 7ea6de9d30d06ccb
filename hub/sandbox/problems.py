"""The errors of the modelled sandboxes (contracts/woningpas_premiums.md §5): problem+json in the BAG style
(`type`, `title`, `status`, `detail`, `instance`, `code`, `invalid-params[]`, plus what a route adds), with each
sandbox's own Dutch titles and codes; their token endpoints answer OAuth2's shape (RFC 6749 §5.2) instead."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

PROBLEM_JSON = "application/problem+json"


def problem_body(
    status: int,
    code: str,
    detail: str,
    instance: str,
    invalid_params: list[dict[str, str]] | None = None,
    *,
    titles: Mapping[int, str],
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": f"https://www.rfc-editor.org/rfc/rfc9110#status.{status}",
        "title": titles.get(status, "Fout"),
        "status": status,
        "detail": detail,
        "instance": instance,
        "code": code,
    }
    if invalid_params:
        body["invalid-params"] = invalid_params
    return body


class Problem(Exception):
    """A refused request, answered as problem+json; a sandbox subclasses it with its `titles`. `extra`: keys a
    route adds to the body (e.g. every failing rule of a refused submit)."""

    titles: ClassVar[Mapping[int, str]] = {}

    def __init__(
        self,
        status: int,
        code: str,
        detail: str,
        *,
        invalid_params: list[dict[str, str]] | None = None,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.invalid_params = invalid_params or []
        self.headers = headers or {}
        self.extra = extra or {}

    def body(self, instance: str) -> dict[str, Any]:
        body = problem_body(self.status, self.code, self.detail, instance, self.invalid_params, titles=self.titles)
        body.update(self.extra)
        return body


def fault_body(
    status: int, path: str, *, token_prefix: str, titles: Mapping[int, str], codes: Mapping[int, str]
) -> tuple[dict[str, Any], str]:
    """An injected fault's answer (hub.sandbox.runtime.FaultMiddleware's `error_body`): OAuth2's shape under the
    identity provider's `token_prefix`, problem+json (with the sandbox's `codes`) on the API's routes."""
    if path.startswith(token_prefix):
        error = "temporarily_unavailable" if status in (429, 503) else "server_error"
        return {"error": error, "error_description": f"HTTP {status}"}, "application/json"
    detail = "Te veel verzoeken; probeer later opnieuw." if status == 429 else "Tijdelijke storing."
    return problem_body(status, codes.get(status, "FOUT"), detail, path, titles=titles), PROBLEM_JSON
