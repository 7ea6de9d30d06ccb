"""The sandbox portal's errors: problem+json (`type`, `title`, `status`, `detail`, `instance`, `code`,
`invalid-params[{name, reason}]`, and on a refused submit `fouten[{code, categorie, detail}]`), with the stable
Dutch codes of notes/premiums-design.md. The token endpoint answers OAuth2's own shape instead (RFC 6749 §5.2)."""

from __future__ import annotations

from typing import Any

from hub.sandbox import problems as shared
from hub.sandbox.problems import PROBLEM_JSON

__all__ = ["PROBLEM_JSON", "Problem", "fault_body", "invalid", "problem_body"]

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


class Problem(shared.Problem):
    """A refused request, answered as problem+json with this sandbox's titles."""

    titles = TITLES


def problem_body(
    status: int, code: str, detail: str, instance: str, invalid_params: list[dict[str, str]] | None = None
) -> dict[str, Any]:
    return shared.problem_body(status, code, detail, instance, invalid_params, titles=TITLES)


def invalid(params: list[dict[str, str]], code: str = "VALIDATIE") -> Problem:
    """400 naming every bad field."""
    names = ", ".join(p["name"] for p in params)
    return Problem(400, code, f"Ongeldige velden: {names}", invalid_params=params)


def fault_body(status: int, path: str) -> tuple[dict[str, Any], str]:
    """An injected fault's answer (FaultMiddleware's `error_body`): OAuth2's shape on the token endpoint,
    problem+json on the API's routes."""
    return shared.fault_body(status, path, token_prefix="/oauth/", titles=TITLES, codes=DEFAULT_CODES)
