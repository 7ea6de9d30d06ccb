"""Tenant scoping, enforced in one place: every statement the store executes is checked before it runs.

Every table that holds a tenant's data has a `tenant` column. A SELECT, UPDATE or DELETE that touches such a table
must pin that table's tenant: `tenant == :value`, `tenant IN (:values)`, or equal to the tenant column of another
table that is pinned (a join). Anything else raises `CrossTenantQuery` before it reaches the database, so a
query that forgot its tenant fails in the first test that runs it instead of reading another cooperation's rows.
INSERTs carry the tenant as a NOT NULL value.

A few statements are deliberately across tenants (the CLI's row counts): they say so with
`conn.execution_options(all_tenants=True)`. Tests and benchmarks read tables directly to check what was stored: a
statement issued from code under tests/ or bench/ is let through (the caller is looked up only when a statement
fails the check, so the hot path pays nothing for it). Raw SQL text is not inspected (the store issues none for
tenant data; migrations use their own lightweight table objects).

The check walks the statement's expression tree once per execution (measured in docs/benchmarks.md)."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from sqlalchemy import Column, Engine, Table, event
from sqlalchemy.sql import operators, visitors
from sqlalchemy.sql.dml import Delete, Insert, Update
from sqlalchemy.sql.elements import BinaryExpression, BindParameter, ClauseList, Grouping
from sqlalchemy.sql.selectable import Select

TENANT = "tenant"
ALL_TENANTS = "all_tenants"
_PINNING = {operators.eq, operators.in_op}


class CrossTenantQuery(RuntimeError):
    """A statement touches a tenant's table without pinning the tenant."""


def tenant_tables(tables: Iterable[Table]) -> frozenset[Table]:
    return frozenset(t for t in tables if TENANT in t.c)


def _tenant_column(el: Any, scoped: frozenset[Table]) -> Table | None:
    if isinstance(el, Column) and el.name == TENANT and el.table in scoped:
        return el.table  # type: ignore[return-value]
    return None


def _is_value(el: Any) -> bool:
    while isinstance(el, Grouping):
        el = el.element
    if isinstance(el, BindParameter):
        return True
    return isinstance(el, ClauseList) and all(_is_value(c) for c in el.clauses)


def unpinned(stmt: Any, scoped: frozenset[Table]) -> list[str]:
    """The tenant tables `stmt` touches without pinning their tenant (empty: the statement is scoped)."""
    touched: set[Table] = set()
    pinned: set[Table] = set()
    joined: list[tuple[Table, Table]] = []
    if isinstance(stmt, Update | Delete) and stmt.table in scoped:
        touched.add(stmt.table)  # type: ignore[arg-type]
    for el in visitors.iterate(stmt):
        if isinstance(el, Table) and el in scoped:
            touched.add(el)
        elif isinstance(el, Column) and el.table in scoped:
            touched.add(el.table)  # type: ignore[arg-type]
        elif isinstance(el, BinaryExpression) and el.operator in _PINNING:
            left, right = _tenant_column(el.left, scoped), _tenant_column(el.right, scoped)
            if left is not None and right is not None:
                joined.append((left, right))
            elif left is not None and _is_value(el.right):
                pinned.add(left)
            elif right is not None and _is_value(el.left):
                pinned.add(right)
    changed = True
    while changed:  # a table joined on tenant to a pinned one is pinned
        changed = False
        for a, b in joined:
            if (a in pinned) != (b in pinned):
                pinned.update((a, b))
                changed = True
    return sorted(t.name for t in touched - pinned)


_CHECKERS = ("tests", "bench")


def _from_a_check() -> bool:
    """Whether a test or a benchmark executes the statement itself (the first caller outside SQLAlchemy); a store
    method called from a test is checked like any other."""
    frame = sys._getframe(2)
    while frame is not None:
        module = str(frame.f_globals.get("__name__", ""))
        if not module.startswith("sqlalchemy") and module != __name__:
            parts = Path(frame.f_code.co_filename).parts
            return any(p in _CHECKERS for p in parts[-4:-1])
        frame = frame.f_back  # type: ignore[assignment]
    return False


def install_guard(engine: Engine, tables: Iterable[Table]) -> None:
    """Check every statement `engine` executes (see the module docstring)."""
    scoped = tenant_tables(tables)

    @event.listens_for(engine, "before_execute")
    def _guard(conn: Any, clauseelement: Any, multiparams: Any, params: Any, execution_options: Any) -> None:
        if isinstance(clauseelement, Insert) or not isinstance(clauseelement, Select | Update | Delete):
            return
        if execution_options.get(ALL_TENANTS) or conn.get_execution_options().get(ALL_TENANTS):
            return
        missing = unpinned(clauseelement, scoped)
        if missing and not _from_a_check():
            raise CrossTenantQuery(
                f"a {type(clauseelement).__name__.upper()} on {', '.join(missing)} does not pin the tenant: "
                "add `tenant == …` (hub/store/scope.py)"
            )
