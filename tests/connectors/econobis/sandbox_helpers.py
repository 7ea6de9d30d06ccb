"""Small HTTP helpers for tests that drive a running sandbox Econobis (its API and its admin API)."""

from __future__ import annotations

from typing import Any

import requests

from connectors.econobis.sandbox.credentials import sandbox_credentials

JSON = {"Accept": "application/json"}


def password_grant(sb: Any) -> requests.Response:
    """The SPA's login: Passport's password grant with the sandbox tenant's demo credentials."""
    creds = sandbox_credentials(sb.tenant)
    return requests.post(
        f"{sb.server.base_url}/oauth/token",
        data={
            "grant_type": "password",
            "username": creds["username"],
            "password": creds["password"],
            "client_id": creds["client_id"],
            "client_secret": creds["client_secret"],
        },
        timeout=5,
    )


def bearer(token: str) -> dict[str, str]:
    return {**JSON, "Authorization": f"Bearer {token}"}


def login(sb: Any) -> dict[str, str]:
    resp = password_grant(sb)
    resp.raise_for_status()
    return bearer(resp.json()["access_token"])


def webform(sb: Any, fields: dict[str, Any], *, form: bool = False, key: str | None = None) -> requests.Response:
    url = f"{sb.server.base_url}/api/webform/external/{key or sb.sandbox.webform_key}"
    if form:
        return requests.post(url, data=fields, timeout=10)
    return requests.post(url, json=fields, timeout=10)


def hoom(sb: Any, endpoint: str, body: Any, *, key: str | None = None, raw: bytes | None = None) -> requests.Response:
    url = f"{sb.server.base_url}/api/{key or sb.sandbox.webform_key}/hoomdossier/{endpoint}"
    if raw is not None:
        return requests.post(url, data=raw, timeout=10)
    # Hoomdossier sends JSON; Econobis reads the raw body whatever the Content-Type
    return requests.post(url, json=body, timeout=10)


def records(sb: Any, table: str, **where: Any) -> list[dict[str, Any]]:
    resp = requests.get(f"{sb.server.base_url}/__sandbox/records/{table}", params=where, timeout=10)
    resp.raise_for_status()
    rows: list[dict[str, Any]] = resp.json()
    return rows


def edit(sb: Any, table: str, row_id: int, change: dict[str, Any], raw: bool = False) -> dict[str, Any]:
    resp = requests.post(
        f"{sb.server.base_url}/__sandbox/edit",
        json={"table": table, "id": row_id, "change": change, "raw": raw},
        timeout=10,
    )
    resp.raise_for_status()
    row: dict[str, Any] = resp.json()
    return row


def delete(sb: Any, table: str, row_id: int) -> None:
    requests.post(
        f"{sb.server.base_url}/__sandbox/delete", json={"table": table, "id": row_id}, timeout=10
    ).raise_for_status()


def status_code(sb: Any, table: str, status_id: int) -> str:
    lk = sb.sandbox.lookups
    name = "quotationRequestStatus" if table == "quotation_requests" else "opportunityStatus"
    code: str = lk.by_id(name, status_id)["codeRef"]
    return code


def person(**over: Any) -> dict[str, Any]:
    """A typical sign-up of a new resident (webform field names)."""
    fields = {
        "voornaam": "Marieke",
        "tussenvoegsel": "van",
        "achternaam": "Zanten",
        "emailadres": "marieke.vanzanten@example.org",
        "telefoonnummer": "0612345678",
        "adres_straat": "Kerkstraat",
        "adres_huisnummer": "12a",
        "adres_postcode": "1681 ab",
        "adres_plaats": "Wognum",
    }
    fields.update(over)
    return fields
