"""The sandbox portal's errors: problem+json (`type`, `title`, `status`, `detail`, `instance`, `code`,
`invalid-params[{name, reason}]`, and on a refused submit `fouten[{code, categorie, detail}]`), with the stable
Dutch codes of notes/premiums-design.md. The token endpoint answers OAuth2's own shape instead (RFC 6749 §5.2)."""

from __future__ import annotations

from typing import Any

PROBLEM_JSON = "application/problem+json"

TITLES = {
    400: "Ongeldige aanvraag",
    401: "Niet geauthenticeerd",
    403: "Geen toegang",
    404: "Niet gevonden",
    409: "Conflict",
    413: "Te groot",
    415: "Mediatype niet ondersteund",
    422: "Onverwerkbare aanvraag",
    429: "Te veel verzoeken",
    500: "Interne fout",
    503: "Dienst niet beschikbaar",
    504: "Tijdslimiet overschreden",
}
# the code of an error a fault rule injects (the routes' own errors carry their own)
DEFAULT_CODES = {429: "TE_VEEL_VERZOEKEN", 500: "INTERNE_FOUT", 503: "DIENST_ONBESCHIKBAAR", 504: "TIJDSLIMIET"}


class Problem(Exception):
    """A refused request, answered as problem+json."""

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
        body = problem_body(self.status, self.code, self.detail, instance, self.invalid_params)
        body.update(self.extra)
        return body


def problem_body(
    status: int, code: str, detail: str, instance: str, invalid_params: list[dict[str, str]] | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": f"https://www.rfc-editor.org/rfc/rfc9110#status.{status}",
        "title": TITLES.get(status, "Fout"),
        "status": status,
        "detail": detail,
        "instance": instance,
        "code": code,
    }
    if invalid_params:
        body["invalid-params"] = invalid_params
    return body


def invalid(params: list[dict[str, str]], code: str = "VALIDATIE") -> Problem:
    """400 naming every bad field."""
    names = ", ".join(p["name"] for p in params)
    return Problem(400, code, f"Ongeldige velden: {names}", invalid_params=params)


def fault_body(status: int, path: str) -> tuple[dict[str, Any], str]:
    """An injected fault's answer (FaultMiddleware's `error_body`): OAuth2's shape on the token endpoint,
    problem+json on the API's routes."""
    if path.startswith("/oauth/"):
        error = "temporarily_unavailable" if status in (429, 503) else "server_error"
        return {"error": error, "error_description": f"HTTP {status}"}, "application/json"
    detail = "Te veel verzoeken; probeer later opnieuw." if status == 429 else "Tijdelijke storing."
    return problem_body(status, DEFAULT_CODES.get(status, "FOUT"), detail, path), PROBLEM_JSON
