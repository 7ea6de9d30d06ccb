"""The sandbox Woningpas's errors: problem+json in the BAG style (`type`, `title`, `status`, `detail`,
`instance`, `code`, `invalid-params[]`) of contracts/woningpas_premiums.md §5, with stable Dutch codes."""

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


class Problem(shared.Problem):
    """A refused request, answered as problem+json with this sandbox's titles."""

    titles = TITLES


def problem_body(
    status: int, code: str, detail: str, instance: str, invalid_params: list[dict[str, str]] | None = None
) -> dict[str, Any]:
    return shared.problem_body(status, code, detail, instance, invalid_params, titles=TITLES)


def invalid(name: str, code: str, reason: str) -> Problem:
    """400 for one bad parameter."""
    return Problem(400, "ONGELDIGE_PARAMETER", f"{name}: {reason}", invalid_params=[_param(name, code, reason)])


def _param(name: str, code: str, reason: str) -> dict[str, str]:
    return {"name": name, "code": code, "reason": reason}


def fault_body(status: int, path: str) -> tuple[dict[str, Any], str]:
    """An injected fault's answer (FaultMiddleware's `error_body`): OAuth2's shape on the token endpoint,
    problem+json on the API's routes."""
    return shared.fault_body(status, path, token_prefix="/op/", titles=TITLES, codes=DEFAULT_CODES)
