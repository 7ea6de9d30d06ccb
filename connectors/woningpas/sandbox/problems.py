"""The sandbox Woningpas's errors: problem+json in the BAG style (`type`, `title`, `status`, `detail`,
`instance`, `code`, `invalid-params[]`) of contracts/woningpas_premiums.md §5, with stable Dutch codes."""

from __future__ import annotations

from typing import Any

PROBLEM_JSON = "application/problem+json"

TITLES = {
    400: "Ongeldige aanvraag",
    401: "Niet geauthenticeerd",
    403: "Geen toegang",
    404: "Niet gevonden",
    405: "Methode niet toegelaten",
    409: "Conflict",
    410: "Niet meer beschikbaar",
    413: "Te groot",
    415: "Mediatype niet ondersteund",
    422: "Onverwerkbare aanvraag",
    429: "Te veel verzoeken",
    500: "Interne fout",
    502: "Bron gaf een ongeldig antwoord",
    503: "Dienst niet beschikbaar",
    504: "Bron antwoordde niet op tijd",
}
# the code of an error a fault rule injects (the route's own errors carry their own)
DEFAULT_CODES = {
    429: "TE_VEEL_VERZOEKEN",
    500: "INTERNE_FOUT",
    502: "BRON_ONGELDIG_ANTWOORD",
    503: "DIENST_ONBESCHIKBAAR",
    504: "TIJDSLIMIET_OVERSCHREDEN",
}


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
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.invalid_params = invalid_params or []
        self.headers = headers or {}

    def body(self, instance: str) -> dict[str, Any]:
        return problem_body(self.status, self.code, self.detail, instance, self.invalid_params)


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


def invalid(name: str, code: str, reason: str) -> Problem:
    """400 for one bad parameter."""
    return Problem(400, "ONGELDIGE_PARAMETER", f"{name}: {reason}", invalid_params=[_param(name, code, reason)])


def _param(name: str, code: str, reason: str) -> dict[str, str]:
    return {"name": name, "code": code, "reason": reason}


def fault_body(status: int, path: str) -> tuple[dict[str, Any], str]:
    """An injected fault's answer (hub.sandbox.runtime.FaultMiddleware's `error_body`): OAuth2's shape on the
    identity provider's routes, problem+json on the API's."""
    if path.startswith("/op/"):
        error = "temporarily_unavailable" if status in (429, 503) else "server_error"
        return {"error": error, "error_description": f"HTTP {status}"}, "application/json"
    detail = "Te veel verzoeken; probeer later opnieuw." if status == 429 else "Tijdelijke storing."
    return problem_body(status, DEFAULT_CODES.get(status, "FOUT"), detail, path), PROBLEM_JSON
