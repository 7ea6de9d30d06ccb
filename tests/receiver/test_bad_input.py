"""Bad input never gets a 5xx from the receiver (issue 11 §3), on SQLite and PostgreSQL, over loopback:
deep JSON, wrong content types and form bodies, oversize bodies and fields, invalid UTF-8 — each refused in
the partner's own shape and, where the key or token was valid, quarantined with its reason and raw bytes;
what is accepted is stored byte-exact.

Each request and its answer is appended to REPORT (written to $HUB_RECEIVER_REPORT when set)."""

from __future__ import annotations

import json
import os
import socket
from typing import Any

import pytest
import requests

from connectors.econobis.routes import RECEIVER_QUARANTINE
from connectors.hoomdossier.routes import REFUSED_QUARANTINE
from hub.store import tables as t
from tests.receiver.conftest import CREDS, LIMIT, TENANT

KEY = CREDS["inbound_key"]
TOKEN = CREDS["inbound_token"]
REPORT: list[dict[str, Any]] = []


@pytest.fixture(scope="module", autouse=True)
def _write_report():
    yield
    if path := os.environ.get("HUB_RECEIVER_REPORT"):
        with open(path, "w", encoding="utf-8") as fh:
            json.dump(REPORT, fh, indent=1, ensure_ascii=False)


def deep(n: int) -> str:
    return "[" * n + "]" * n


def message(building: Any = 501, **extra: Any) -> dict[str, Any]:
    return {"account_related": {"building_id": building, "user_id": 7, "account_id": 640, "contact_id": 2532}, **extra}


def send(
    hub: dict[str, Any],
    category: str,
    what: str,
    path: str,
    data: bytes | str | Any,
    ctype: str | None = "application/json",
    token: str | None = None,
    **kw: Any,
) -> requests.Response:
    headers = {"Accept": "application/json"}
    if ctype:
        headers["Content-Type"] = ctype
    if token:
        headers["Authorization"] = f"Bearer {token}"
    resp = requests.post(f"{hub['url']}{path}", data=data, headers=headers, timeout=60, **kw)
    assert resp.status_code < 500, (what, resp.status_code, resp.text[:300])
    REPORT.append(
        {
            "category": category,
            "request": what,
            "store": hub["store"].dialect,
            "status": resp.status_code,
            "answer": resp.text[:160],
        }
    )
    return resp


def econobis(hub: dict[str, Any], category: str, what: str, data: Any, key: str = KEY, **kw: Any) -> requests.Response:
    return send(hub, category, what, f"/api/{key}/hoomdossier/afspraak", data, **kw)


def proxy(
    hub: dict[str, Any], category: str, what: str, data: Any, path: str = "/api/v1/register", **kw: Any
) -> requests.Response:
    return send(hub, category, what, path, data, **kw)


def quarantined(hub: dict[str, Any], source: str) -> list[dict[str, Any]]:
    store = hub["store"]
    with store.begin() as conn:
        return [dict(q) for q in store.open_quarantine(conn, TENANT) if q["source"] == source]


def fout(resp: requests.Response) -> str:
    lines = resp.json()
    assert isinstance(lines, list), lines
    return next(line for line in lines if line.startswith("Fout opgetreden"))


# --- 1. deep JSON ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("what", "body"),
    [
        ("100k-deep array alone", deep(100_000)),
        ("100k-deep array inside a valid message", '{"account_related":{"building_id":1},"x":' + deep(100_000) + "}"),
        (
            "600-deep (over PHP's 512, under Python's recursion limit)",
            '{"account_related":{"building_id":1},"x":' + deep(600) + "}",
        ),
        ("40k-deep object", '{"a":' * 40_000 + "1" + "}" * 40_000),
    ],
)
def test_deep_json_is_econobis_no_payload_and_quarantined(hub, what, body):
    resp = econobis(hub, "deep JSON", f"Econobis route: {what}", body)
    assert resp.status_code == 404 and fout(resp) == "Fout opgetreden: No payload found"
    assert any("dieper" in line or "deeper" in line for line in resp.json())
    [q] = quarantined(hub, RECEIVER_QUARANTINE)
    assert "nested deeper than 512" in q["reason"] and q["payload_bytes"] == body.encode()
    assert hub["store"].count(t.inbox) == 0


def test_deep_json_within_phps_limit_is_stored(hub):
    body = json.dumps(message(x=json.loads(deep(500))))
    resp = econobis(hub, "deep JSON", "Econobis route: 500-deep inside a valid message (PHP accepts it)", body)
    assert resp.status_code == 200 and hub["store"].count(t.inbox) == 1


@pytest.mark.parametrize("path", ["/api/v1/register", "/api/v1/building-coach-status"])
def test_deep_json_to_the_proxy_is_hoomdossiers_422_and_quarantined(hub, path):
    body = '{"email":"a@example.org","x":' + deep(100_000) + "}"
    resp = proxy(hub, "deep JSON", f"proxy {path}: 100k-deep inside an object", body, path=path, token=TOKEN)
    assert resp.status_code == 422 and resp.json() == {"body": ["De JSON-body is dieper genest dan 512 niveaus."]}
    [q] = quarantined(hub, REFUSED_QUARANTINE)
    assert "deeper than 512" in q["reason"] and q["payload_bytes"] == body.encode()


# --- 2. content types and form bodies -----------------------------------------------------------------------

REGISTER_FORM = {
    "email": "form@example.org",
    "first_name": "Femke",
    "last_name": "Formulier",
    "postal_code": "1621 AA",
    "number": "12",
    "street": "Havenkade",
    "city": "Hoorn",
    "extra[contact_id]": "4242",
    "tool_questions[resident-count]": "2",
    "roles[]": "resident",
}


def test_a_form_encoded_register_is_accepted_as_laravel_does(hub):
    resp = proxy(
        hub,
        "form bodies",
        "register, application/x-www-form-urlencoded with PHP brackets",
        REGISTER_FORM,
        ctype=None,
        token=TOKEN,
    )
    assert resp.status_code == 201 and set(resp.json()) == {"account_id", "user_id"}
    user = requests.get(
        f"{hub['hoom'].base_url}/__sandbox/users", params={"slug": TENANT, "contact_id": 4242}, timeout=10
    ).json()
    assert json.dumps(user).count("form@example.org") >= 1  # the nested extra[contact_id] reached Hoomdossier
    again = proxy(
        hub,
        "form bodies",
        "the same register again, as JSON (idempotent across encodings)",
        json.dumps({**{k: v for k, v in REGISTER_FORM.items() if "[" not in k}, "extra": {"contact_id": 4242}}),
        token=TOKEN,
    )
    assert (again.status_code, again.json()) == (201, resp.json())


def test_a_multipart_register_is_accepted_as_laravel_does(hub):
    files = {
        k: (None, v) for k, v in {**REGISTER_FORM, "email": "multi@example.org", "extra[contact_id]": "4343"}.items()
    }
    resp = proxy(
        hub,
        "form bodies",
        "register, multipart/form-data with PHP brackets",
        None,
        ctype=None,
        token=TOKEN,
        files=files,
    )
    assert resp.status_code == 201 and set(resp.json()) == {"account_id", "user_id"}


def test_a_form_encoded_coach_link_reaches_hoomdossier_nested(hub):
    form = {"building_coach_statuses[coach_contact_id]": "999999", "building_coach_statuses[resident_contact_id]": "1"}
    resp = proxy(
        hub,
        "form bodies",
        "building-coach-status, form-encoded (unknown contact ids)",
        form,
        path="/api/v1/building-coach-status",
        ctype=None,
        token=TOKEN,
    )
    # Hoomdossier's own validation answered: the ids arrived nested, they are just unknown there
    assert resp.status_code == 422 and "building_coach_statuses.coach_contact_id" in resp.json()
    assert "verplicht" not in json.dumps(resp.json(), ensure_ascii=False)


@pytest.mark.parametrize(
    ("what", "data", "ctype", "kind_text"),
    [
        ("XML", b"<register><email>x@example.org</email></register>", "application/xml", "Content-Type"),
        ("text/plain JSON", b'{"email": "x@example.org"}', "text/plain", "Content-Type"),
        ("UTF-16 JSON", '{"email": "x@example.org"}'.encode("utf-16"), "application/json; charset=utf-16", "UTF-8"),
        ("garbage bytes", bytes(range(256)) * 4, "application/json", "UTF-8"),
        ("not JSON", b"{email: x}", "application/json", "JSON"),
        ("NaN", b'{"email": NaN}', "application/json", "JSON"),
        ("lone surrogate", b'{"email": "\\ud800@example.org"}', "application/json", "Unicode"),
        ("multipart without boundary", b"email=x", "multipart/form-data", "formulier"),
        ("form with invalid UTF-8", b"email=\xff\xfe", "application/x-www-form-urlencoded", "UTF-8"),
    ],
)
def test_what_laravel_cannot_read_is_hoomdossiers_422_and_quarantined(hub, what, data, ctype, kind_text):
    resp = proxy(hub, "content types", f"register: {what}", data, ctype=ctype, token=TOKEN)
    assert resp.status_code == 422
    [text] = resp.json()["body"]
    assert kind_text in text
    [q] = quarantined(hub, REFUSED_QUARANTINE)
    assert q["payload_bytes"] == data and q["entity"] == "register"


def test_a_multipart_file_part_is_refused(hub):
    resp = proxy(
        hub,
        "content types",
        "register: multipart with a file part",
        None,
        ctype=None,
        token=TOKEN,
        files={"email": ("email.txt", b"x@example.org", "text/plain")},
    )
    assert resp.status_code == 422 and "formulier" in resp.json()["body"][0]


@pytest.mark.parametrize(
    ("what", "data", "reason"),
    [
        ("XML", b"<afspraak/>", "not JSON"),
        ("UTF-16 JSON", json.dumps(message()).encode("utf-16"), "not UTF-8"),
        ("a JSON array", b"[1, 2]", "No payload found"),
        ("JSON null", b"null", "No payload found"),
        ("a 5000-digit integer", b'{"account_related": {"building_id": ' + b"9" * 5000 + b"}}", "not JSON"),
        ("a lone surrogate", b'{"account_related": {"building_id": 1}, "x": "\\udc00"}', "surrogate"),
    ],
)
def test_odd_bodies_to_the_econobis_route_are_no_payload_and_quarantined(hub, what, data, reason):
    resp = econobis(hub, "content types", f"Econobis route: {what}", data)
    assert resp.status_code == 404 and fout(resp) == "Fout opgetreden: No payload found"
    [q] = quarantined(hub, RECEIVER_QUARANTINE)
    assert reason in q["reason"] and q["payload_bytes"] == data


# --- 3. size limits ---------------------------------------------------------------------------------------


def test_a_body_over_the_limit_is_413_in_econobis_shape_and_quarantined(hub):
    body = json.dumps(message(pad="x" * LIMIT))
    resp = econobis(hub, "size limits", f"Econobis route: valid message of {len(body)} bytes (limit {LIMIT})", body)
    assert resp.status_code == 413 and fout(resp) == "Fout opgetreden: Payload too large"
    [q] = quarantined(hub, RECEIVER_QUARANTINE)
    assert "Payload too large" in q["reason"] and q["payload_bytes"] is None
    assert hub["store"].count(t.inbox) == 0


def test_a_chunked_body_over_the_limit_is_413(hub):
    def chunks():
        for _ in range(64):
            yield b'{"account_related": {"building_id": 1}, "pad": "' + b"x" * 16384

    resp = econobis(hub, "size limits", "Econobis route: chunked body (no Content-Length) over the limit", chunks())
    assert resp.status_code == 413


def test_a_declared_gigabyte_is_refused_before_reading_it(hub):
    """Content-Length 1 GB, 100 bytes sent: answered at once (a buffering receiver would wait for the rest)."""
    with socket.create_connection(("127.0.0.1", hub["port"]), timeout=10) as sock:
        sock.sendall(
            f"POST /api/{KEY}/hoomdossier/pdf HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            f"Content-Length: {10**9}\r\n\r\n".encode()
            + b'{"account_related": {"building_id": 1}, "pdf": {"contents": "'
            + b"A" * 40
        )
        answer = sock.recv(65536).decode("latin-1")
    status = int(answer.split(" ", 2)[1])
    REPORT.append(
        {
            "category": "size limits",
            "request": "Econobis route: Content-Length 1 GB, 100 bytes sent",
            "store": hub["store"].dialect,
            "status": status,
            "answer": answer.split("\r\n\r\n", 1)[-1][:160],
        }
    )
    assert status == 413 and "Payload too large" in answer


def test_a_body_over_the_limit_to_the_proxy_is_hoomdossiers_413(hub):
    body = json.dumps({"email": "x" * LIMIT + "@example.org"})
    resp = proxy(hub, "size limits", f"register: e-mail of {LIMIT} characters (body over the limit)", body, token=TOKEN)
    assert (resp.status_code, resp.json()) == (413, {"message": "The POST data is too large."})
    [q] = quarantined(hub, REFUSED_QUARANTINE)
    assert "too large" in q["reason"]


def test_an_unknown_key_with_a_huge_body_leaves_no_trace(hub):
    body = json.dumps(message(pad="x" * LIMIT))
    resp = econobis(hub, "size limits", "Econobis route: unknown key, body over the limit", body, key="nope")
    assert resp.status_code == 404 and fout(resp) == "Fout opgetreden: Endpoint not found"
    bad = proxy(hub, "size limits", "register: wrong token, body over the limit", body, token="nope")
    assert bad.status_code == 401
    assert hub["store"].count(t.quarantine) == 0 and hub["store"].count(t.inbox) == 0


# --- oversize fields in bounded columns (PostgreSQL refuses a value longer than its column) ---------------


def test_an_oversize_building_id_is_refused_not_stored_in_a_128_column(hub):
    resp = econobis(
        hub,
        "oversize fields",
        "Econobis route: building_id of 100k characters",
        json.dumps(message(building="1" * 100_000)),
    )
    assert resp.status_code == 404 and fout(resp) == "Fout opgetreden: Building_id invalid"
    assert hub["store"].count(t.inbox) == 0
    resp = econobis(
        hub,
        "oversize fields",
        "Econobis route: contact_id an object",
        json.dumps({"account_related": {"building_id": 5, "contact_id": {"a": 1}}}),
    )
    assert resp.status_code == 404 and fout(resp) == "Fout opgetreden: Invalid account_related"
    assert len(quarantined(hub, RECEIVER_QUARANTINE)) == 2


def test_an_oversize_email_becomes_a_digest_key_and_hoomdossier_refuses_it(hub):
    email = "x" * 100_000 + "@example.org"
    body = {
        "email": email,
        "first_name": "A",
        "last_name": "B",
        "postal_code": "1621 AA",
        "number": 1,
        "street": "S",
        "city": "C",
    }
    resp = proxy(
        hub,
        "oversize fields",
        "register: e-mail of 100k characters (within the body limit)",
        json.dumps(body),
        token=TOKEN,
    )
    assert resp.status_code == 422 and "email" in resp.json()  # Hoomdossier's max:255, in its flat map
    with hub["store"].begin() as conn:
        keys = [r.key for r in conn.execute(t.idempotency_records.select())]
    assert keys and all(len(k) <= 200 for k in keys) and keys[0].startswith("sha256:")


def test_odd_characters_in_ids_never_reach_a_text_column(hub):
    resp = econobis(
        hub,
        "oversize fields",
        "Econobis route: building_id with a NUL character",
        json.dumps(message(building="12\u00003")),
    )
    assert resp.status_code == 404 and fout(resp) == "Fout opgetreden: Building_id invalid"
    coach = {"building_coach_statuses": {"coach_contact_id": "\u0000" * 300, "resident_contact_id": "1" * 300}}
    resp = proxy(
        hub,
        "oversize fields",
        "building-coach-status: NUL and 300-digit ids",
        json.dumps(coach),
        path="/api/v1/building-coach-status",
        token=TOKEN,
    )
    assert resp.status_code == 422


# --- 4. byte-exact raw bodies -----------------------------------------------------------------------------


def test_an_accepted_body_is_stored_byte_exact(hub):
    raw = (
        b'{ "account_related" : {"building_id": 77, "contact_id": 2532},\r\n'
        b'  "appointment_date": "2026-11-12 14:30:00", "note": "Caf\xc3\xa9 \xf0\x9f\x8f\xa0 \\u00e9 \\/",\t'
        b'"coaches": [] }\n\n'
    )
    resp = econobis(hub, "byte-exact", "Econobis route: CRLF, tabs, UTF-8 é and 🏠, escapes, trailing newlines", raw)
    assert resp.status_code == 200
    with hub["store"].begin() as conn:
        [row] = conn.execute(t.inbox.select()).mappings().all()
    assert row["payload"].encode("utf-8") == raw


def test_invalid_utf8_is_quarantined_not_utf8_with_the_raw_bytes(hub):
    raw = b'{"account_related": {"building_id": 78}, "note": "caf\xe9 \xff\xfe"}'
    resp = econobis(hub, "byte-exact", "Econobis route: a valid message with Latin-1 and 0xFF bytes", raw)
    assert resp.status_code == 404 and fout(resp) == "Fout opgetreden: No payload found"
    [q] = quarantined(hub, RECEIVER_QUARANTINE)
    assert "not UTF-8" in q["reason"] and q["payload_bytes"] == raw
    assert hub["store"].count(t.inbox) == 0
