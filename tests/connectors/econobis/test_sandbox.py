"""The sandbox Econobis behaves like the real one (contracts/econobis.md §1, §5.2 and the verified wire shapes)."""

from __future__ import annotations

import json

import pytest
import requests

from connectors.econobis.sandbox.credentials import sandbox_credentials
from tests.connectors.econobis.sandbox_helpers import JSON, bearer, password_grant


@pytest.fixture
def sb(start_sandbox):
    [running] = start_sandbox(60, tenants=("coop-noord",), id_shift=100, throttle_per_minute=1000)
    return running


def _login(sb) -> dict[str, str]:
    resp = password_grant(sb)
    assert resp.status_code == 200
    body = resp.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 86400 and body["refresh_token"]
    return bearer(body["access_token"])


def _get(sb, path, headers, **params):
    return requests.get(f"{sb.server.base_url}{path}", headers=headers, params=params, timeout=5)


def test_api_without_token_is_401_with_error_key_and_302_for_non_json_clients(sb):
    assert _get(sb, "/api/contact/grid", JSON).json() == {"error": "Unauthenticated."}
    resp = requests.get(f"{sb.server.base_url}/api/contact/grid", allow_redirects=False, timeout=5)
    assert resp.status_code == 302 and resp.headers["Location"] == "/login"


def test_every_failed_login_is_one_dutch_401_and_five_failures_block_the_user(sb):
    base = sb.server.base_url
    creds = sandbox_credentials("coop-noord")
    form = {
        "grant_type": "password",
        "username": creds["username"],
        "password": "wrong",
        "client_id": "2",
        "client_secret": creds["client_secret"],
    }
    for _ in range(5):
        resp = requests.post(f"{base}/oauth/token", data=form, timeout=5)
        assert resp.status_code == 401 and resp.json()["error"].startswith("Inloggen is niet gelukt")
    sb.sandbox.login_throttle.reset()
    resp = requests.post(f"{base}/oauth/token", data={**form, "password": creds["password"]}, timeout=5)
    assert resp.status_code == 401, "blocked for 15 minutes after 5 failures"
    sb.sandbox.clock.advance(16 * 60)
    assert (
        requests.post(f"{base}/oauth/token", data={**form, "password": creds["password"]}, timeout=5).status_code == 200
    )


def test_tokens_expire_after_one_day_on_the_sandbox_clock(sb):
    headers = _login(sb)
    assert _get(sb, "/api/system-data", headers).status_code == 200
    sb.sandbox.clock.advance(86400)
    assert _get(sb, "/api/system-data", headers).status_code == 401


def test_grids_answer_data_and_meta_in_econobis_shapes(sb):
    h = _login(sb)
    contact = _get(sb, "/api/contact/grid", h, limit=2, offset=0).json()
    assert set(contact["meta"]) == {"total", "useExportAddressConsumption"} and len(contact["data"]) == 2
    assert {
        "id",
        "number",
        "typeId",
        "fullName",
        "streetAndNumber",
        "postalCode",
        "statusName",
        "createdAt",
    } <= set(contact["data"][0])
    intake = _get(sb, "/api/intake/grid", h, limit=3).json()
    assert intake["meta"]["total"] == len(intake["meta"]["intakeIdsTotal"])
    row = intake["data"][0]
    assert isinstance(row["status"], str) and set(row["campaign"]) == {"id", "name"}
    assert row["createdAt"].endswith("000000Z")
    qr = _get(sb, "/api/quotation-request/grid", h, limit=1).json()["data"][0]
    assert {"codeRef", "opportunityActionId"} <= set(qr["status"])
    assert "uses_wf_create_opportunity" in qr["opportunity"]["measureCategory"], "raw snake_case model"
    assert "intake" in qr["opportunity"] and qr["opportunityAction"]["codeRef"] in {
        "visit",
        "quotation-request",
        "subsidy-request",
        "redirection",
    }
    hf = _get(sb, "/api/housing-file/grid", h, limit=1).json()
    assert set(hf["meta"]) == {"total"} and "address" not in hf["data"][0]


def test_default_grid_order_is_newest_first_and_limit_zero_returns_everything(sb):
    h = _login(sb)
    rows = _get(sb, "/api/intake/grid", h).json()["data"]
    stamps = [r["createdAt"] for r in rows]
    assert stamps == sorted(stamps, reverse=True) and len(rows) == len(sb.sandbox.db.tables["intakes"])
    assert len(_get(sb, "/api/intake/grid", h, limit=0, offset=5).json()["data"]) == len(rows)


def test_offset_pages_do_not_overlap(sb):
    h = _login(sb)
    sorts = json.dumps([{"field": "id", "order": "asc"}])
    a = _get(sb, "/api/contact/grid", h, limit=10, offset=0, sorts=sorts).json()["data"]
    b = _get(sb, "/api/contact/grid", h, limit=10, offset=10, sorts=sorts).json()["data"]
    assert [r["id"] for r in a][-1] < next(r["id"] for r in b)


def test_created_at_start_is_day_granular_and_contact_id_filter_honours_gt(sb):
    h = _login(sb)
    rows = _get(sb, "/api/intake/grid", h).json()["data"]
    mid = sorted(r["createdAt"] for r in rows)[len(rows) // 2]
    day = mid[:10]
    filtered = _get(sb, "/api/intake/grid", h, filters=json.dumps([{"field": "createdAtStart", "data": day}])).json()[
        "data"
    ]
    assert filtered and all(r["createdAt"][:10] >= day or r["createdAt"][:10] == day for r in filtered)
    ids = sorted(sb.sandbox.db.ids["contacts"])
    gt = _get(sb, "/api/contact/grid", h, filters=json.dumps([{"field": "id", "type": "gt", "data": ids[-3]}])).json()[
        "data"
    ]
    assert sorted(r["id"] for r in gt) == ids[-2:]


def test_unknown_filter_or_sort_field_is_a_500_as_in_econobis(sb):
    h = _login(sb)
    assert (
        _get(sb, "/api/intake/grid", h, filters=json.dumps([{"field": "id", "type": "gt", "data": 1}])).status_code
        == 500
    )
    assert _get(sb, "/api/intake/grid", h, sorts=json.dumps([{"field": "id"}])).status_code == 500


def test_system_data_has_no_code_ref_for_intake_and_opportunity_statuses_and_ids_are_shifted(sb):
    data = _get(sb, "/api/system-data", _login(sb)).json()["data"]
    assert set(data["intakeStatuses"][0]) == {"id", "name"}
    assert set(data["opportunityStatus"][0]) == {"id", "name", "active"}
    qrs = data["quotationRequestStatus"]
    assert {"codeRef", "opportunityActionId", "opportunityActionName"} <= set(qrs[0])
    assert min(r["id"] for r in data["intakeStatuses"]) == 101, "id_shift=100: not a fresh install"
    assert "campaigns" not in data


def test_details_are_wrapped_and_missing_records_are_404(sb):
    h = _login(sb)
    opp_id = sb.sandbox.db.ids["opportunities"][0]
    body = _get(sb, f"/api/opportunity/{opp_id}", h).json()
    assert body["data"]["status"]["codeRef"] and body["data"]["intake"]["id"]
    missing = _get(sb, "/api/opportunity/999999", h)
    assert missing.status_code == 404 and "No query results for model" in missing.json()["message"]


def test_client_version_needs_no_auth(sb):
    assert requests.get(f"{sb.server.base_url}/client-version", timeout=5).json() == {"version": "5.4.1.2"}


def test_throttle_gives_429_with_retry_after_and_rate_limit_headers(start_sandbox):
    [sb] = start_sandbox(5, tenants=("coop-zuid",), throttle_per_minute=3)
    h = _login(sb)
    statuses = [requests.get(f"{sb.server.base_url}/api/system-data", headers=h, timeout=5) for _ in range(4)]
    assert [r.status_code for r in statuses] == [200, 200, 200, 429]
    assert statuses[0].headers["X-RateLimit-Limit"] == "3" and statuses[2].headers["X-RateLimit-Remaining"] == "0"
    limited = statuses[3]
    assert limited.json() == {"message": "Too Many Attempts."} and 1 <= int(limited.headers["Retry-After"]) <= 60


@pytest.mark.parametrize(
    ("rule", "expect"),
    [
        ({"error_rate": 1.0, "error_status": 503}, 503),
        ({"throttle_rate": 1.0, "retry_after": 7}, 429),
        ({"burst_every": 2, "burst_length": 1, "burst_status": 502}, 502),
    ],
)
def test_fault_injection_per_route(sb, rule, expect):
    requests.post(
        f"{sb.server.base_url}/__sandbox/faults",
        json={"rules": [{"route": "/client-version", **rule}]},
        timeout=5,
    )
    resp = requests.get(f"{sb.server.base_url}/client-version", timeout=5)
    assert resp.status_code == expect
    if expect == 429:
        assert resp.headers["Retry-After"] == "7"
    assert requests.get(f"{sb.server.base_url}/api/system-data", headers=JSON, timeout=5).status_code == 401, (
        "other routes unaffected"
    )


def test_dropped_connection_fault_breaks_the_response(sb):
    requests.post(
        f"{sb.server.base_url}/__sandbox/faults",
        json={"rules": [{"route": "/client-version", "drop_rate": 1.0}]},
        timeout=5,
    )
    with pytest.raises(requests.exceptions.RequestException):
        requests.get(f"{sb.server.base_url}/client-version", timeout=5).json()
