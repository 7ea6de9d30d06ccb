"""The sandbox's admin API under `/__sandbox` (not part of Econobis): state, expected ids, faults, the clock,
coordinator edits and deletes, raw records, cooperation settings, extra webforms, throttle reset."""

from __future__ import annotations

from datetime import date, datetime

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response

from connectors.econobis.sandbox.instance import EconobisSandbox, plain_row
from connectors.econobis.sandbox.webforms import webform_row
from hub.sandbox.admin import add_fault_routes, json_response

ADMIN = "/__sandbox"


def add_admin_routes(app: FastAPI, sb: EconobisSandbox) -> None:
    """Routes for tests and demos; the fault middleware lets them through untouched."""

    @app.get(f"{ADMIN}/state")
    async def state() -> Response:
        return json_response(
            {
                "tenant": sb.tenant,
                "now": sb.clock.now().isoformat(sep=" "),
                "counts": {t: len(rows) for t, rows in sb.db.tables.items()},
                "requests_served": sb.requests_served,
                "faults": sb.faults.describe(),
            }
        )

    @app.get(f"{ADMIN}/expected")
    async def expected() -> Response:
        return json_response(sb.expected())

    add_fault_routes(app, sb.faults, ADMIN)

    @app.post(f"{ADMIN}/clock")
    async def clock(request: Request) -> Response:
        body = await request.json()
        if "now" in body:
            sb.clock.set(datetime.fromisoformat(body["now"]))
        if "advance_seconds" in body:
            sb.clock.advance(float(body["advance_seconds"]))
        return json_response({"now": sb.clock.now().isoformat(sep=" ")})

    @app.post(f"{ADMIN}/edit")
    async def edit(request: Request) -> Response:
        """A coordinator edits a record in the UI (Eloquent: observers + revisions), or — with "raw": true —
        someone changes it outside Eloquent (no revision: only a reconcile can see it)."""
        body = await request.json()
        return json_response(sb.edit(body["table"], int(body["id"]), body.get("change", {}), raw=bool(body.get("raw"))))

    @app.post(f"{ADMIN}/scenario/coordinators-edit")
    async def coordinators_edit(request: Request) -> Response:
        """Coordinators edit a random `fraction` of residents in the UI: per resident a name change (Person →
        Contact.full_name), its intake's status, and its first visit planned (status engine → kans)."""
        body = await request.json()
        return json_response(
            await run_in_threadpool(sb.coordinators_edit, float(body.get("fraction", 0.01)), int(body.get("seed", 1)))
        )

    @app.post(f"{ADMIN}/delete")
    async def delete(request: Request) -> Response:
        body = await request.json()
        with sb.write_lock:
            sb.db.acting_user = int(body.get("user_id", 1))
            sb.db.soft_delete(body["table"], int(body["id"]))
        return json_response({"ok": True})

    @app.get(f"{ADMIN}/records/{{table}}")
    async def records(table: str, request: Request) -> Response:
        if table not in sb.db.tables:
            return json_response({"message": f"unknown table {table}"}, 404)
        where = dict(request.query_params)
        rows = [
            r
            for r in sb.db.tables[table].values()
            if all(str(r.get(k)) == v for k, v in where.items() if k != "with_deleted")
            and (where.get("with_deleted") or r.get("deleted_at") is None)
        ]
        return json_response([plain_row(r) for r in rows])

    @app.post(f"{ADMIN}/cooperation")
    async def cooperation(request: Request) -> Response:
        body = await request.json()
        coop = sb.cooperation
        for key in ("hoom_link", "hoom_connect_coach_link", "hoom_key"):
            if key in body:
                setattr(coop, key, body[key])
        if "hoom_campaigns" in body:
            coop.hoom_campaigns = [(int(c["campaign_id"]), c.get("measure_id")) for c in body["hoom_campaigns"]]
        return json_response(coop.describe())

    @app.post(f"{ADMIN}/webforms")
    async def add_webform(request: Request) -> Response:
        body = await request.json()
        with sb.write_lock:
            row = webform_row(
                body.get("name", "Extra webformulier"),
                body["api_key"],
                sb.clock.now(),
                max_per_minute=int(body.get("max_requests_per_minute", 60)),
                date_start=date.fromisoformat(body["date_start"]) if body.get("date_start") else None,
                date_end=date.fromisoformat(body["date_end"]) if body.get("date_end") else None,
                responsible_user_id=body.get("responsible_user_id", 1),
            )
            wid = sb.db.insert("webforms", row)
        return json_response({"id": wid})

    @app.post(f"{ADMIN}/throttle/reset")
    async def throttle_reset() -> Response:
        sb.throttle.reset()
        sb.login_throttle.reset()
        return JSONResponse({"ok": True})
