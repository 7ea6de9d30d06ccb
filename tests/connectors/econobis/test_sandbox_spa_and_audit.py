"""Contract tests of the sandbox's SPA writes with their outbound Hoomdossier calls (§2.1, §2.2), the status
engine on every write route (§1.8), and the audit-trail grid (§5.2: updates and soft-deletes, not creations)."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from hub.sandbox.server import ThreadedServer
from tests.connectors.econobis.sandbox_helpers import delete, edit, login, person, records, status_code, webform


class FakeHoom:
    """Records what Econobis sends to Hoomdossier and answers what a test tells it to."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []
        self.answer: tuple[int, Any] = (201, {"account_id": 5151, "user_id": 77})
        app = FastAPI()

        @app.post("/{path:path}")
        async def any_post(path: str, request: Request) -> JSONResponse:
            self.calls.append(
                {"path": "/" + path, "headers": dict(request.headers), "body": json.loads(await request.body())}
            )
            return JSONResponse(self.answer[1], status_code=self.answer[0])

        self.server = ThreadedServer(app).start()

    @property
    def url(self) -> str:
        return self.server.base_url


@pytest.fixture
def hoom_fake():
    fake = FakeHoom()
    yield fake
    fake.server.stop()


@pytest.fixture
def sb(start_sandbox):
    [running] = start_sandbox(30, tenants=("coop-noord",), throttle_per_minute=10_000)
    return running


def signup(sb, **over) -> dict[str, int]:
    db = sb.sandbox.db
    camp = db.ids["campaigns"][0]
    floor = next(m["id"] for m in sb.sandbox.lookups.tables["measures"] if m["externalHoomId"] == "floor-insulation")
    fields = person(intake_campagne_id=camp, intake_status_id=1, intake_maatregel_ids=str(floor), **over)
    assert webform(sb, fields).status_code == 200
    [contact] = records(sb, "contacts", last_name=fields["achternaam"])
    [intake] = records(sb, "intakes", contact_id=contact["id"])
    [kans] = records(sb, "opportunities", intake_id=intake["id"])
    return {"contact": contact["id"], "intake": intake["id"], "kans": kans["id"], "campaign": camp}


def spa_body(sb, kans: int, action: str, status: str, **over) -> dict[str, Any]:
    lk = sb.sandbox.lookups
    body: dict[str, Any] = {
        "organisationOrCoachId": None,
        "projectManagerId": None,
        "externalPartyId": None,
        "opportunityId": kans,
        "statusId": lk.qr_status(action, status)["id"],
        "opportunityActionId": lk.action_id(action),
        "dateRecorded": "",
        "dateReleased": "",
        "datePlanned": "",
        "dateApprovedClient": "",
        "dateApprovedProjectManager": "",
        "dateApprovedExternal": "",
    }
    body.update(over)
    return body


def coop(sb, **settings) -> None:
    requests.post(f"{sb.server.base_url}/__sandbox/cooperation", json=settings, timeout=5).raise_for_status()


# --- SPA kansactie writes + coach link (§2.2) ----------------------------------------------------------------


def test_create_kansactie_links_the_coach_when_every_precondition_holds(sb, hoom_fake):
    r = signup(sb)
    coach = sb.sandbox.db.tables["campaigns"][r["campaign"]]["coach_ids"][0]
    headers = login(sb)
    url = f"{sb.server.base_url}/api/quotation-request"
    coop(sb, hoom_connect_coach_link=f"{hoom_fake.url}/api/v1/building-coach-status")
    # the resident has no Hoom account yet: silently no call
    resp = requests.post(
        url, json=spa_body(sb, r["kans"], "visit", "default", organisationOrCoachId=coach), headers=headers, timeout=10
    )
    assert resp.status_code == 201, resp.text
    assert hoom_fake.calls == []
    edit(sb, "contacts", r["contact"], {"hoom_account_id": 31})
    resp = requests.post(
        url, json=spa_body(sb, r["kans"], "visit", "default", organisationOrCoachId=coach), headers=headers, timeout=10
    )
    assert resp.status_code == 201
    [call] = hoom_fake.calls
    assert call["body"] == {"building_coach_statuses": {"coach_contact_id": coach, "resident_contact_id": r["contact"]}}
    assert call["headers"]["authorization"] == "Bearer sandbox-hoom-key"
    # Hoom refuses: its status and body come back, but the kansactie was saved anyway
    hoom_fake.answer = (422, {"message": "already linked", "errors": {"coach": ["al gekoppeld"]}})
    before = len(records(sb, "quotation_requests", opportunity_id=r["kans"]))
    resp = requests.post(
        url, json=spa_body(sb, r["kans"], "visit", "default", organisationOrCoachId=coach), headers=headers, timeout=10
    )
    assert resp.status_code == 422 and resp.json()["message"] == "already linked"
    assert len(records(sb, "quotation_requests", opportunity_id=r["kans"])) == before + 1


def test_spa_validation_and_missing_keys(sb):
    r = signup(sb)
    headers = login(sb)
    url = f"{sb.server.base_url}/api/quotation-request"
    bad = requests.post(url, json=spa_body(sb, 999999, "visit", "default"), headers=headers, timeout=10)
    assert bad.status_code == 422 and "opportunityId" in bad.json()["errors"]
    body = spa_body(sb, r["kans"], "visit", "default")
    del body["dateReleased"]  # read as $data['dateReleased'] without isset(): Undefined array key → 500
    assert requests.post(url, json=body, headers=headers, timeout=10).status_code == 500


def test_status_engine_runs_on_every_write_route(sb):
    r = signup(sb)
    headers = login(sb)
    resp = requests.post(
        f"{sb.server.base_url}/api/quotation-request",
        json=spa_body(sb, r["kans"], "visit", "default"),
        headers=headers,
        timeout=10,
    )
    qid = resp.json()["data"]["id"]
    # SPA update: a planned date wins over the status sent
    body = spa_body(sb, r["kans"], "visit", "default", datePlanned="2026-11-20", timePlanned="14:30")
    resp = requests.post(f"{sb.server.base_url}/api/quotation-request/{qid}", json=body, headers=headers, timeout=10)
    assert resp.status_code == 200, resp.text
    assert (
        resp.json()["data"]["status"]["codeRef"] == "made"
        and resp.json()["data"]["datePlanned"] == "2026-11-20 14:30:00"
    )
    assert status_code(sb, "opportunities", records(sb, "opportunities", id=r["kans"])[0]["status_id"]) == "in_progress"
    # a coordinator in the UI
    edit(sb, "quotation_requests", qid, {"date_recorded": "2026-11-20 16:00:00"})
    assert status_code(sb, "quotation_requests", records(sb, "quotation_requests", id=qid)[0]["status_id"]) == "done"
    assert status_code(sb, "opportunities", records(sb, "opportunities", id=r["kans"])[0]["status_id"]) == "executed"
    log = records(sb, "quotation_request_actions_log", quotation_request_id=qid)
    assert len(log) == 2  # default → made → done


# --- make-hoomdossier (§2.1) ---------------------------------------------------------------------------------


def test_make_hoomdossier_prevalidates_posts_and_passes_errors_through(sb, hoom_fake):
    r = signup(sb)
    headers = login(sb)
    url = f"{sb.server.base_url}/api/contact/{r['contact']}/make-hoomdossier"
    coop(sb, hoom_link=f"{hoom_fake.url}/api/v1/register")
    resp = requests.get(url, headers=headers, timeout=10)
    assert resp.status_code == 200 and resp.json() == 5151
    [call] = hoom_fake.calls
    body = call["body"]
    assert body["extra"] == {"contact_id": r["contact"]} and body["roles"] == ["resident"]
    assert (body["first_name"], body["last_name"]) == ("Marieke", "van Zanten")
    assert (body["postal_code"], body["number"], body["house_number_extension"]) == ("1681AB", 12, "a")
    assert body["tool_questions"] == {"resident-count": 2}
    assert records(sb, "contacts", id=r["contact"])[0]["hoom_account_id"] == 5151
    again = requests.get(url, headers=headers, timeout=10)  # already has an account
    assert again.status_code == 422 and again.json()["errors"]["econobis"]
    other = signup(sb, achternaam="Pietersen", emailadres="p@example.org", adres_huisnummer="3")
    hoom_fake.answer = (422, {"message": "The email has already been taken.", "errors": {"email": ["taken"]}})
    resp = requests.get(
        f"{sb.server.base_url}/api/contact/{other['contact']}/make-hoomdossier", headers=headers, timeout=10
    )
    assert resp.status_code == 422 and resp.json()["errors"] == {"email": ["taken"]}  # Hoom's own answer


def test_make_hoomdossier_test_shortcut_makes_no_call(sb):
    r = signup(sb)
    resp = requests.get(
        f"{sb.server.base_url}/api/contact/{r['contact']}/make-hoomdossier", headers=login(sb), timeout=10
    )
    assert resp.status_code == 200 and 1 <= resp.json() <= 3000


# --- audit trail (§5.2) --------------------------------------------------------------------------------------


def audit(sb, headers, **filters) -> dict[str, Any]:
    flt = [{"field": k, "type": t, "data": v} for k, (t, v) in filters.items()]
    resp = requests.get(
        f"{sb.server.base_url}/api/audit-trail/grid",
        params={"filters": json.dumps(flt), "limit": 100, "offset": 0},
        headers=headers,
        timeout=10,
    )
    resp.raise_for_status()
    body: dict[str, Any] = resp.json()
    return body


def test_audit_trail_shows_updates_and_soft_deletes_not_creations(sb):
    headers = login(sb)
    r = signup(sb)
    intake_model = "App\\Eco\\Intake\\Intake"
    assert audit(sb, headers, model=("eq", intake_model), revisionableId=("eq", r["intake"]))["data"] == []
    closed = sb.sandbox.lookups.by_code("intakeStatuses", "closed_with_opportunity")["id"]
    edit(sb, "intakes", r["intake"], {"intake_status_id": closed})
    [rev] = audit(sb, headers, model=("eq", intake_model), revisionableId=("eq", r["intake"]))["data"]
    assert rev["model"] == "Intake" and rev["field"] == "intake_status_id"
    assert rev["newValue"] == str(closed) and rev["changedAt"].endswith("Z")
    # changed outside Eloquent: invisible
    edit(sb, "intakes", r["intake"], {"note": "via SQL"}, raw=True)
    assert len(audit(sb, headers, model=("eq", intake_model), revisionableId=("eq", r["intake"]))["data"]) == 1
    delete(sb, "intakes", r["intake"])
    revs = audit(sb, headers, model=("eq", intake_model), revisionableId=("eq", r["intake"]))["data"]
    assert {x["field"] for x in revs} == {"intake_status_id", "deleted_at"}
    # the default type of updatedAt is `ct`; a cursor needs an explicit gt/gte
    requests.post(f"{sb.server.base_url}/__sandbox/clock", json={"advance_seconds": 3600}, timeout=5)
    now = sb.sandbox.clock.now().strftime("%Y-%m-%d %H:%M:%S")
    assert audit(sb, headers, updatedAt=("gte", now))["data"] == []
    # an unknown filter field is an uncaught exception
    bad = requests.get(
        f"{sb.server.base_url}/api/audit-trail/grid",
        params={"filters": json.dumps([{"field": "id", "type": "gt", "data": 1}])},
        headers=headers,
        timeout=10,
    )
    assert bad.status_code == 500


def test_amounts_on_create_and_update_where_update_ignores_amount_determination(sb):
    """The real controller's store saves quotationAmount, costAdjustment, awardAmount and amountDetermination;
    its update has amountDetermination commented out, so an update leaves it as it was."""
    r = signup(sb)
    headers = login(sb)
    url = f"{sb.server.base_url}/api/quotation-request"
    amounts = {"quotationAmount": 900, "costAdjustment": -50, "awardAmount": 400, "amountDetermination": 350}
    resp = requests.post(
        url, json=spa_body(sb, r["kans"], "subsidy-request", "default", **amounts), headers=headers, timeout=10
    )
    assert resp.status_code == 201, resp.text
    data = resp.json()["data"]
    qid = data["id"]
    assert {k: data[k] for k in amounts} == {k: float(v) for k, v in amounts.items()}
    # update: the three amounts change, amountDetermination is silently ignored; approval → `approved`
    body = spa_body(
        sb,
        r["kans"],
        "subsidy-request",
        "default",
        quotationAmount=1000,
        costAdjustment=0,
        awardAmount=750.5,
        amountDetermination=999,
        dateApprovedExternal="2026-11-20",
    )
    resp = requests.post(f"{url}/{qid}", json=body, headers=headers, timeout=10)
    assert resp.status_code == 200, resp.text
    data = resp.json()["data"]
    assert (data["quotationAmount"], data["costAdjustment"], data["awardAmount"]) == (1000.0, 0.0, 750.5)
    assert data["amountDetermination"] == 350.0
    assert data["status"]["codeRef"] == "approved"
    [row] = records(sb, "quotation_requests", id=qid)
    assert row["award_amount"] == 750.5 and row["amount_determination"] == 350.0
    # the determination: approved-det, whatever status was sent
    body["dateApprovedDetermination"] = "2026-12-01"
    resp = requests.post(f"{url}/{qid}", json=body, headers=headers, timeout=10)
    assert resp.json()["data"]["status"]["codeRef"] == "approved-det"
