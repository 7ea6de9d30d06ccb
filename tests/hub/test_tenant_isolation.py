"""Tenant isolation: two cooperations with look-alike data (the same partner ids, building ids, e-mail, keys,
streams and payloads) and nothing of one is read, written, published in the mart or logged for the other.

The scoping itself is enforced in one place (hub/store/scope.py: every statement on a tenant table must pin the
tenant); the first tests check that guard, the rest plant the look-alike data and look for crossings."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest
import requests
from sqlalchemy import and_, case, delete, exists, func, insert, not_, or_, select, true, union, union_all, update

from connectors.econobis.routes import INBOX_SOURCE, hoomdossier_endpoints
from connectors.hoomdossier.inbox import apply_inbox
from connectors.hoomdossier.sandbox.credentials import sandbox_hoomdossier_credentials
from hub.canonical.models import Resident
from hub.config import sandbox_config
from hub.mart.build import build_mart
from hub.merge import Incoming, MergeStats, merge
from hub.receiver import create_receiver
from hub.sandbox.server import ThreadedServer
from hub.store import Store, scope
from hub.store import tables as t
from hub.store.scope import CrossTenantQuery, tenant_tables, unpinned

A, B = "coop-noord", "coop-zuid"
SCOPED = tenant_tables(t.metadata.tables.values())
T0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def store(any_store: Store) -> Store:
    """Every test here on SQLite and (with HUB_TEST_POSTGRES_URL) on PostgreSQL."""
    return any_store


# --- the guard ----------------------------------------------------------------------------------------------


def test_the_guard_names_every_tenant_table_a_statement_leaves_unpinned():
    e, x, o = t.entities, t.xref, t.outbox
    assert unpinned(select(e).where(e.c.canonical_id == "c1"), SCOPED) == ["entities"]
    assert unpinned(select(e).where(e.c.tenant == A, e.c.canonical_id == "c1"), SCOPED) == []
    assert unpinned(select(e).where(e.c.tenant.in_([A, B])), SCOPED) == []
    joined = select(x.c.external_id).select_from(x.join(e, e.c.canonical_id == x.c.canonical_id))
    assert unpinned(joined.where(x.c.tenant == A), SCOPED) == ["entities"]
    on_tenant = x.join(e, (e.c.canonical_id == x.c.canonical_id) & (e.c.tenant == x.c.tenant))
    assert unpinned(select(x.c.external_id).select_from(on_tenant).where(x.c.tenant == A), SCOPED) == []
    assert unpinned(update(o).where(o.c.id == 1).values(status="sent"), SCOPED) == ["outbox"]
    assert unpinned(update(o).where(o.c.tenant == A, o.c.id == 1).values(status="sent"), SCOPED) == []
    # a comparison of the tenant with another column is not a pin
    assert unpinned(select(e).where(e.c.tenant == e.c.natural_key), SCOPED) == ["entities"]


def _as_hub_code(src: str, **names: Any) -> None:
    """Run `src` as if it were a module of the hub (not a test): the guard applies to it in full."""
    exec(compile(src, "/srv/hub/hub/somewhere.py", "exec"), {"__name__": "hub.somewhere", **names})


def test_hub_code_that_forgets_the_tenant_fails_before_the_database_sees_it(store: Store):
    with pytest.raises(CrossTenantQuery, match="SELECT on entities does not pin the tenant"):
        _as_hub_code(
            "with store.begin() as conn:\n    conn.execute(select(t.entities))",
            store=store,
            select=select,
            t=t,
        )
    with pytest.raises(CrossTenantQuery, match="UPDATE on outbox"):
        _as_hub_code(
            "with store.begin() as conn:\n    conn.execute(update(t.outbox).values(status='sent'))",
            store=store,
            update=update,
            t=t,
        )
    # said out loud, a statement across tenants runs (the CLI's counts)
    _as_hub_code(
        "with store.begin() as conn:\n    conn.execution_options(all_tenants=True).execute(select(t.entities))",
        store=store,
        select=select,
        t=t,
    )
    assert store.count(t.entities) == 0


# --- what counts as a pin ------------------------------------------------------------------------------------
# Each statement below mentions the tenant somewhere, and each but the last few of the first list read across
# tenants all the same: a pin counts only as a top-level AND term of the WHERE (or a JOIN's ON) of the very SELECT,
# UPDATE or DELETE whose FROM holds the table, and per FROM element.

E, X, OB = t.entities, t.xref, t.outbox
E1, E2 = t.entities.alias("e1"), t.entities.alias("e2")

CROSSING: dict[str, tuple[Callable[[], Any], list[str]]] = {
    # 1. a pin inside or_ (either branch lets the other tenants' rows through)
    "pin inside or_": (lambda: select(E).where(or_(E.c.tenant == A, E.c.canonical_id == "c1")), ["entities"]),
    "pin inside not_": (lambda: select(E).where(not_(E.c.tenant == A)), ["entities"]),
    # 2. a pin in the column list, no WHERE
    "pin in the columns": (lambda: select(E.c.tenant == A, E.c.canonical_id), ["entities"]),
    # 3. ORDER BY, CASE, HAVING, a function's argument
    "pin in ORDER BY": (lambda: select(E).order_by(E.c.tenant == A), ["entities"]),
    "pin in CASE": (lambda: select(E).where(case((E.c.tenant == A, true()), else_=true())), ["entities"]),
    "pin in HAVING": (
        lambda: select(E.c.tenant, func.count()).group_by(E.c.tenant).having(E.c.tenant == A),
        ["entities"],
    ),
    "pin in a function argument": (lambda: select(E).where(func.coalesce(E.c.tenant == A, true())), ["entities"]),
    # 4. pinned only inside an EXISTS / a scalar subquery on the same table
    "pinned only inside EXISTS": (
        lambda: select(E).where(exists(select(E.c.canonical_id).where(E.c.tenant == A))),
        ["entities"],
    ),
    "pinned only inside a scalar subquery": (
        lambda: select(E.c.canonical_id).where(
            E.c.canonical_id == select(E.c.canonical_id).where(E.c.tenant == A).limit(1).scalar_subquery()
        ),
        ["entities"],
    ),
    "outer pinned, uncorrelated subquery on the same table not": (
        lambda: select(E.c.canonical_id, select(func.count()).select_from(E).scalar_subquery()).where(E.c.tenant == A),
        ["entities"],
    ),
    "outer pinned, EXISTS on another table not": (
        lambda: select(E).where(E.c.tenant == A, exists().where(X.c.canonical_id == E.c.canonical_id)),
        ["xref"],
    ),
    "outer pinned, IN (SELECT) not": (
        lambda: select(E).where(E.c.tenant == A, E.c.canonical_id.in_(select(X.c.canonical_id))),
        ["xref"],
    ),
    "an unpinned subquery in FROM": (lambda: select(select(E.c.canonical_id).subquery()), ["entities"]),
    "an unpinned CTE": (
        lambda: select(E).where(
            E.c.tenant == A, E.c.canonical_id.in_(select(select(X.c.canonical_id).cte("c").c.canonical_id))
        ),
        ["xref"],
    ),
    "an unpinned CTE nothing refers to (still rendered)": (
        lambda: select(E).where(E.c.tenant == A).add_cte(select(X.c.id).cte("c")),
        ["xref"],
    ),
    "an unpinned LATERAL subquery": (
        lambda: (
            select(E)
            .where(E.c.tenant == A)
            .join(select(X.c.canonical_id).where(X.c.canonical_id == E.c.canonical_id).lateral(), true())
        ),
        ["xref"],
    ),
    "a correlation switched off": (
        lambda: select(E).where(
            E.c.tenant == A,
            exists(select(X.c.id).where(X.c.tenant == A, X.c.canonical_id == E.c.canonical_id).correlate(None)),
        ),
        ["entities"],
    ),
    # 5. a UNION where one branch is pinned
    "UNION, second branch unpinned": (
        lambda: union(select(E.c.canonical_id).where(E.c.tenant == A), select(E.c.canonical_id)),
        ["entities"],
    ),
    "UNION ALL, first branch unpinned": (
        lambda: union_all(select(X.c.canonical_id), select(E.c.canonical_id).where(E.c.tenant == A)),
        ["xref"],
    ),
    "UNION as a subquery": (
        lambda: select(
            union(select(E.c.canonical_id).where(E.c.tenant == A), select(E.c.canonical_id)).subquery().c.canonical_id
        ),
        ["entities"],
    ),
    # 6. a self-join on aliases, one pinned; an alias beside the table
    "self-join, one alias pinned": (
        lambda: select(E1.c.canonical_id, E2.c.canonical_id).where(
            E1.c.tenant == A, E2.c.parent_id == E1.c.canonical_id
        ),
        ["entities"],
    ),
    "the table pinned, an alias of it not": (
        lambda: select(E1.c.canonical_id).where(E.c.tenant == A, E1.c.parent_id == E.c.canonical_id),
        ["entities"],
    ),
    # a LEFT JOIN's ON clause keeps every left row whatever it says about the left table
    "LEFT JOIN, left side pinned only in the ON": (
        lambda: select(E.c.canonical_id, X.c.external_id).select_from(
            E.outerjoin(X, and_(X.c.canonical_id == E.c.canonical_id, E.c.tenant == A, X.c.tenant == A))
        ),
        ["entities"],
    ),
    "FULL JOIN, both sides pinned only in the ON": (
        lambda: select(E.c.canonical_id, X.c.external_id).select_from(
            E.join(X, and_(X.c.canonical_id == E.c.canonical_id, E.c.tenant == A, X.c.tenant == A), full=True)
        ),
        ["entities", "xref"],
    ),
    # UPDATE and DELETE: the target, a table read beside it, a subquery
    "UPDATE with no WHERE": (lambda: update(OB).values(status="sent"), ["outbox"]),
    "UPDATE ... FROM an unpinned table": (
        lambda: update(X).where(X.c.tenant == A, X.c.canonical_id == E.c.canonical_id).values(external_id="1"),
        ["entities"],
    ),
    "UPDATE pinned, its subquery not": (
        lambda: update(OB).where(OB.c.tenant == A, OB.c.id.in_(select(OB.c.id))).values(status="sent"),
        ["outbox"],
    ),
    "DELETE by id": (lambda: delete(OB).where(OB.c.id == 1), ["outbox"]),
    "INSERT ... SELECT across tenants": (
        lambda: insert(t.consents).from_select(list(t.consents.c.keys()), select(t.consents)),
        ["consents"],
    ),
    "tenant compared with another column": (
        lambda: select(E).where(E.c.tenant == E.c.natural_key),
        ["entities"],
    ),
}

SCOPED_STATEMENTS: dict[str, Callable[[], Any]] = {
    "a plain pin": lambda: select(E).where(E.c.tenant == A),
    "an IN pin": lambda: select(E).where(E.c.tenant.in_([A, B])),
    "a pin in nested and_": lambda: select(E).where(
        and_(E.c.entity == "resident", and_(E.c.deleted_at.is_(None), E.c.tenant == A))
    ),
    "a join on the tenant, in the ON": lambda: (
        select(X.c.external_id)
        .select_from(X.join(E, (E.c.canonical_id == X.c.canonical_id) & (E.c.tenant == X.c.tenant)))
        .where(X.c.tenant == A)
    ),
    "a join on the tenant, in the WHERE": lambda: select(X.c.external_id, E.c.entity).where(
        E.c.canonical_id == X.c.canonical_id, E.c.tenant == X.c.tenant, E.c.tenant == A
    ),
    "a pin in the ON of an inner join": lambda: (
        select(X.c.external_id)
        .join(E, and_(E.c.canonical_id == X.c.canonical_id, E.c.tenant == A))
        .where(X.c.tenant == A)
    ),
    "a LEFT JOIN's right side pinned in its ON": lambda: (
        select(E.c.canonical_id, X.c.external_id)
        .select_from(E.outerjoin(X, and_(X.c.canonical_id == E.c.canonical_id, X.c.tenant == E.c.tenant)))
        .where(E.c.tenant == A)
    ),
    "a correlated EXISTS joined on the tenant": lambda: select(E).where(
        E.c.tenant == A, exists().where(X.c.canonical_id == E.c.canonical_id, X.c.tenant == E.c.tenant)
    ),
    "a correlated EXISTS pinned itself": lambda: select(E).where(
        E.c.tenant == A, exists().where(X.c.canonical_id == E.c.canonical_id, X.c.tenant == A)
    ),
    "a correlated scalar subquery": lambda: select(
        E.c.canonical_id,
        select(func.count())
        .where(X.c.canonical_id == E.c.canonical_id, X.c.tenant == E.c.tenant)
        .scalar_subquery()
        .label("n"),
    ).where(E.c.tenant == A),
    "UNION, both branches pinned": lambda: union(
        select(E.c.canonical_id).where(E.c.tenant == A), select(X.c.canonical_id).where(X.c.tenant == A)
    ),
    "a self-join, both aliases pinned": lambda: select(E1.c.canonical_id, E2.c.canonical_id).where(
        E1.c.tenant == A, E2.c.tenant == E1.c.tenant, E2.c.parent_id == E1.c.canonical_id
    ),
    "a pinned grouped subquery (the xref checks)": lambda: select(func.count()).select_from(
        select(X.c.canonical_id).where(X.c.tenant == A).group_by(X.c.canonical_id).having(func.count() > 1).subquery()
    ),
    "a pinned CTE": lambda: select(E).where(
        E.c.tenant == A,
        E.c.canonical_id.in_(select(select(X.c.canonical_id).where(X.c.tenant == A).cte("c").c.canonical_id)),
    ),
    "UPDATE with a pinned subquery": lambda: (
        update(OB).where(OB.c.tenant == A, OB.c.id.in_(select(OB.c.id).where(OB.c.tenant == A))).values(status="sent")
    ),
    "UPDATE from a correlated scalar subquery": lambda: (
        update(X)
        .where(X.c.tenant == A)
        .values(
            external_id=select(E.c.canonical_id)
            .where(E.c.canonical_id == X.c.canonical_id, E.c.tenant == X.c.tenant)
            .scalar_subquery()
        )
    ),
    "a table without a tenant column": lambda: select(t.field_provenance),
}


def _execute_as_hub_code(store: Store, stmt: Any) -> None:
    _as_hub_code("with store.begin() as conn:\n    conn.execute(stmt)", store=store, stmt=stmt)


@pytest.mark.parametrize("case_", CROSSING)
def test_a_statement_that_reads_across_tenants_is_refused_wherever_else_it_names_the_tenant(store: Store, case_: str):
    build, tables = CROSSING[case_]
    assert unpinned(build(), SCOPED) == tables
    with pytest.raises(CrossTenantQuery, match=f"on {', '.join(tables)} does not pin the tenant: add `tenant =="):
        _execute_as_hub_code(store, build())


@pytest.mark.parametrize("case_", SCOPED_STATEMENTS)
def test_a_statement_that_pins_every_table_it_reads_runs(store: Store, case_: str):
    stmt = SCOPED_STATEMENTS[case_]()
    assert unpinned(stmt, SCOPED) == []
    _execute_as_hub_code(store, stmt)  # the guard lets it through and the database runs it


def test_the_verdict_is_kept_per_statement_shape_whatever_the_values(store: Store, monkeypatch):
    walks: list[Any] = []

    def counting(stmt: Any, scoped: frozenset[Any]) -> list[str]:
        walks.append(stmt)
        return unpinned(stmt, scoped)

    monkeypatch.setattr(scope, "unpinned", counting)
    for tenant, cid in ((A, "c1"), (B, "c2"), (A, "c3")):
        _execute_as_hub_code(store, select(E).where(E.c.tenant == tenant, E.c.canonical_id == cid))
    assert len(walks) == 1  # one shape, walked once
    # another shape is walked on its own, even one that differs only in which alias is pinned
    _execute_as_hub_code(store, select(E1.c.canonical_id).where(E1.c.tenant == A))
    with pytest.raises(CrossTenantQuery):
        _execute_as_hub_code(store, select(E1.c.canonical_id).where(E1.c.tenant == A, E2.c.parent_id == "c1"))
    for _ in range(2):
        with pytest.raises(CrossTenantQuery):
            _execute_as_hub_code(store, select(E1.c.canonical_id, E2.c.canonical_id).where(E2.c.tenant == A))
    assert len(walks) == 4


REPO = Path(__file__).resolve().parents[2]


def _execute_from_file(path: Path, store: Store, stmt: Any) -> None:
    """Execute `stmt` as code of the file `path` (the guard looks up its caller's file when a check fails)."""
    code = compile("with store.begin() as conn:\n    conn.execute(stmt)", str(path), "exec")
    exec(code, {"__name__": ".".join(path.with_suffix("").parts[-3:]), "store": store, "stmt": stmt})


@pytest.mark.parametrize(
    "path",
    [
        REPO / "connectors" / "foo" / "tests" / "x.py",
        REPO / "hub" / "bench" / "y.py",
        REPO / "hub" / "store" / "tests" / "z.py",
        Path("/srv/elsewhere/tests/hub/test_x.py"),
        Path("/srv/elsewhere/bench/b.py"),
    ],
    ids=lambda p: str(p.relative_to(REPO)) if p.is_relative_to(REPO) else str(p),
)
def test_only_the_repositorys_own_tests_and_bench_directories_are_exempt(store: Store, path: Path):
    unscoped = select(E)
    with pytest.raises(CrossTenantQuery):
        _execute_from_file(path, store, unscoped)
    for checker in (REPO / "tests" / "hub" / "test_x.py", REPO / "tests" / "a" / "b" / "c.py", REPO / "bench" / "b.py"):
        _execute_from_file(checker, store, unscoped)


# --- look-alike tenants -------------------------------------------------------------------------------------

KEYS = {tenant: sandbox_hoomdossier_credentials(tenant)["inbound_key"] for tenant in (A, B)}
EMAIL = "jan.jansen@example.nl"


def _message(marker: str) -> dict[str, Any]:
    """The same Hoomdossier appointment for both cooperations: same building, account, user and contact ids."""
    return {
        "account_related": {"building_id": 501, "user_id": 777, "account_id": 640, "contact_id": 2532},
        "appointment_date": "2026-11-12 14:30:00",
        "coaches": [{"contact_id": 1001, "user_id": 12, "building_id": 9, "account_id": 11}],
        "note": marker,
    }


def _post(config: Any, store: Store, tenant: str, body: dict[str, Any]) -> None:
    server = ThreadedServer(create_receiver(config, store, [hoomdossier_endpoints(config, store)])).start()
    try:
        resp = requests.post(
            f"{server.base_url}/api/{KEYS[tenant]}/hoomdossier/afspraak",
            data=json.dumps(body),
            headers={"Content-Type": "application/json"},
            timeout=10,
        )
        assert resp.status_code == 200, resp.text
    finally:
        server.stop()


def _tenant_rows(store: Store, tenant: str) -> dict[str, list[dict[str, Any]]]:
    """Every row of the tenant in every tenant table, plus its entities' provenance (what must not change)."""
    out: dict[str, list[dict[str, Any]]] = {}
    with store.begin() as conn:
        for table in sorted(SCOPED, key=lambda tb: tb.name):
            rows = conn.execute(select(table).where(table.c.tenant == tenant)).mappings().all()
            out[table.name] = sorted((dict(r) for r in rows), key=lambda r: json.dumps(r, sort_keys=True, default=str))
        ids = [r["canonical_id"] for r in out["entities"]]
        prov = conn.execute(select(t.field_provenance).where(t.field_provenance.c.canonical_id.in_(ids))).mappings()
        out["field_provenance"] = sorted((dict(r) for r in prov), key=lambda r: (r["canonical_id"], r["field"]))
    return out


def _resident(tenant: str, cid: str, marker: str) -> Incoming:
    model = Resident(
        id=cid, tenant=tenant, first_name="Jan", last_name=f"Jansen {marker}", email=EMAIL, phone="0612345678"
    )
    return Incoming(model, "econobis", "contact:2532", T0)


@pytest.fixture
def twins(store: Store):
    """Both sandbox cooperations with look-alike data, posted through the receiver and planted in every table."""
    config = sandbox_config()
    for tenant, marker in ((A, "NOORD-MARK"), (B, "ZUID-MARK")):
        _post(config, store, tenant, _message(marker))
    ids: dict[str, dict[str, Any]] = {}
    with store.begin() as conn:
        for tenant, marker in ((A, "NOORD-MARK"), (B, "ZUID-MARK")):
            rid = store.resolve_ids(conn, "econobis", tenant, "contact", ["2532"])["2532"]
            merge(store, conn, [_resident(tenant, rid, marker)], MergeStats())
            item = store.outbox_enqueue(conn, tenant, "econobis", "webform", "econobis:webform:hub-1", {"m": marker})
            store.quarantine_put(conn, tenant, "econobis", "contact", "2532", f"odd row {marker}", {"m": marker})
            store.set_cursor(conn, "econobis", tenant, "contact", "2026-11-01")
            ids[tenant] = {"resident": rid, "outbox": item.id, "outbox_created": item.created}
    for tenant in (A, B):
        rec = store.idempotency_begin(tenant, "hoomdossier:register", "contact:2532", "h")
        ids[tenant]["idempotency"] = rec
    return config, ids


def test_look_alike_data_is_stored_once_per_tenant_and_the_same_key_does_not_swallow_the_other(store, twins):
    _, ids = twins
    assert ids[A]["resident"] != ids[B]["resident"]
    assert ids[A]["outbox_created"] and ids[B]["outbox_created"]  # the same outbox key in two cooperations
    for tenant in (A, B):
        rows = _tenant_rows(store, tenant)
        assert len(rows["inbox"]) == 1 and rows["inbox"][0]["stream"] == "501/afspraak"
        assert len(rows["outbox"]) == len(rows["quarantine"]) == len(rows["idempotency_records"]) == 1


def test_no_read_of_one_tenant_returns_the_other_tenants_rows(store, twins):
    _, ids = twins
    other = ids[B]["resident"]
    with store.begin() as conn:
        # by the other tenant's own canonical id: not found in this tenant
        assert store.load_entities(conn, [other], tenant=A) == {}
        assert store.load_provenance(conn, [other], tenant=A) == {}
        assert store.entities_of(conn, "resident", tenant=A, ids=[other]) == []
        assert store.lookup_ids(conn, "econobis", A, "contact", ["2532"]) == {"2532": ids[A]["resident"]}
        assert store.external_ids(conn, "econobis", A, "contact", [other]) == {}
        residents = store.live_entities(conn, "resident", A)
        assert [r["canonical_id"] for r in residents] == [ids[A]["resident"]]
        assert "ZUID-MARK" not in json.dumps([r["data"] for r in residents])
        assert [q["reason"] for q in store.open_quarantine(conn, A)] == ["odd row NOORD-MARK"]
        assert store.outbox_keys_present(conn, A, ["econobis:webform:hub-1"]) == {"econobis:webform:hub-1"}
        assert store.cursors(conn, "econobis", A) == {"contact": "2026-11-01"}
    [msg] = store.inbox_open(A, INBOX_SOURCE)
    assert "NOORD-MARK" in msg["payload"] and "ZUID-MARK" not in msg["payload"]
    claimed = store.outbox_claim(A, "econobis")
    assert [c["payload"] for c in claimed] == [{"m": "NOORD-MARK"}]


def test_no_write_for_one_tenant_changes_the_other_tenants_rows(store, twins, caplog):
    config, ids = twins
    before = _tenant_rows(store, B)
    other_inbox = before["inbox"][0]["id"]
    caplog.set_level(logging.DEBUG)
    with store.begin() as conn:
        # aimed at the other tenant's rows by their ids: nothing happens
        assert store.mark_deleted(conn, [ids[B]["resident"]], tenant=A) == {}
        store.outbox_update(conn, A, ids[B]["outbox"], status="sent")
        store.inbox_update(conn, A, other_inbox, status="failed")
        # the tenant's own work, on look-alike keys
        assert store.outbox_requeue(conn, A, "econobis:webform:hub-1") == 1
        store.quarantine_resolve(conn, A, "econobis", "contact", ["2532"])
        merge(store, conn, [_resident(A, ids[A]["resident"], "NOORD-CHANGED")], MergeStats())
        store.set_cursor(conn, "econobis", A, "contact", "2026-12-01")
    store.idempotency_finish(ids[A]["idempotency"], "done", 201, {"account_id": 640})
    _post(config, store, A, _message("NOORD-SECOND"))  # the receiver logs what it stored, for whom
    applied = apply_inbox(store, A)
    assert applied.applied == 2
    assert _tenant_rows(store, B) == before
    assert any(getattr(rec, "hub_tenant", None) == A for rec in caplog.records)  # the work did log
    # and no log line of that work names the other cooperation or carries its data
    for rec in caplog.records:
        fields = {k: v for k, v in vars(rec).items() if k.startswith("hub_")}
        assert fields.get("hub_tenant", A) == A, rec.getMessage()
        assert B not in rec.getMessage() and "ZUID-MARK" not in json.dumps(fields, default=str)


def test_the_mart_puts_each_tenants_rows_under_that_tenant_only(store, twins, tmp_path, monkeypatch):
    config, _ = twins
    monkeypatch.setenv("HUB_MART_PSEUDONYM_KEY", "isolation-test-pseudonym-key")
    for tenant in (A, B):
        assert apply_inbox(store, tenant).applied == 1
    with store.begin() as conn:  # a dossier per tenant on the look-alike resident, so the mart has rows
        for tenant in (A, B):
            rid = store.lookup_ids(conn, "econobis", tenant, "contact", ["2532"])["2532"]
            did = store.resolve_ids(conn, "hub", tenant, "dossier", [f"d-{tenant}"])[f"d-{tenant}"]
            now = T0 + timedelta(days=1)
            store.upsert_entities(
                conn,
                [
                    {
                        "canonical_id": did,
                        "tenant": tenant,
                        "entity": "dossier",
                        "parent_id": None,
                        "natural_key": None,
                        "data": {"phase": "contact", "resident_id": rid},
                        "data_hash": f"h-{tenant}",
                        "version": 1,
                        "created_at": now,
                        "updated_at": now,
                        "deleted_at": None,
                    }
                ],
            )
            store.add_journey_events(
                conn,
                [
                    {
                        "tenant": tenant,
                        "dossier_id": did,
                        "phase": "contact",
                        "source": "test",
                        "occurred_at": now,
                        "recorded_at": now,
                    }
                ],
            )
    result = build_mart(store, config, tmp_path / "mart")
    con = duckdb.connect(str(result.path), read_only=True)
    try:
        rows = con.execute("SELECT tenant, dossier_id, resident_ref FROM dossiers ORDER BY tenant").fetchall()
        events = con.execute("SELECT tenant, dossier_id FROM journey_events ORDER BY tenant").fetchall()
    finally:
        con.close()
    with store.begin() as conn:
        own = {tenant: {r["canonical_id"] for r in store.live_entities(conn, "dossier", tenant)} for tenant in (A, B)}
    assert [r[0] for r in rows] == [A, B]
    for tenant, dossier, _ in rows:
        assert dossier in own[tenant]
    assert {(tn, d) for tn, d in events} == {(tn, d) for tn, d, _ in rows}
    assert rows[0][2] != rows[1][2]  # the look-alike residents' pseudonyms differ per tenant
