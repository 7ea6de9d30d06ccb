"""Tenant scoping, enforced in one place: every statement the store executes is checked before it runs.

Every table that holds a tenant's data has a `tenant` column. Each SELECT in a statement, checked on its own (the
statement itself and every subquery, scalar subquery, EXISTS, CTE and branch of a UNION, INTERSECT or EXCEPT in
it), and each UPDATE or DELETE must pin the tenant of every tenant table in its own FROM (for an UPDATE or DELETE:
its target and any other table it reads). Each FROM element counts by itself: an alias of a table is a FROM of its
own, so pinning alias `a` pins neither alias `b` nor the table. What pins a FROM element `x`:

- `x.tenant == :value` or `x.tenant IN (:values)`, with bound values (not another column or an expression),
- `x.tenant == y.tenant` where `y` is pinned (a join on the tenant, either way round), `y` possibly a table of an
  enclosing SELECT that a correlated subquery refers to (that SELECT must pin it),

each as a top-level AND conjunct (nested `and_` flattened) of the WHERE of the same SELECT, UPDATE or DELETE, or of
the ON clause of a JOIN in its FROM. An outer join's ON clause pins only the side the join may leave out: the right
side of a LEFT OUTER JOIN (its left rows are all kept whatever the ON says), neither side of a FULL OUTER JOIN.
Nothing else pins: a comparison inside `or_`, `not_`, CASE or a function's arguments, in HAVING, ORDER BY or the
column list, or in another SELECT of the statement, does not. A correlated subquery need not pin the enclosing
SELECT's tables it refers to: they are not in its FROM (the correlation is decided as SQLAlchemy's compiler does).
An INSERT's target needs no pin (it carries the tenant as a NOT NULL value), but a SELECT inside an INSERT (INSERT
... SELECT, a scalar subquery among the values) is checked like any other. Anything that fails the check raises
`CrossTenantQuery` before it reaches the database, so a query that forgot its tenant fails in the first test that
runs it instead of reading another cooperation's rows.

A few statements are deliberately across tenants (the CLI's row counts): they say so with
`conn.execution_options(all_tenants=True)`. Tests and benchmarks read tables directly to check what was stored: a
statement issued from a file under the repository's own top-level tests/ or bench/ directory is let through (the
caller is looked up only when a statement fails the check, so the hot path pays nothing for it). Raw SQL text is
not inspected (the store issues none for tenant data; migrations use their own lightweight table objects), nor are
lambda statements (the hub issues none).

The verdict depends only on a statement's structure, so it is cached per engine on the statement's SQLAlchemy cache
key (which leaves out bound values and which SQLAlchemy computes, once per statement object, to execute it anyway):
the tree is walked the first time each statement shape runs (measured in docs/benchmarks.md)."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, Table, event
from sqlalchemy.sql import operators
from sqlalchemy.sql.base import _from_objects
from sqlalchemy.sql.dml import Delete, Insert, Update, UpdateBase
from sqlalchemy.sql.elements import (
    BinaryExpression,
    BindParameter,
    BooleanClauseList,
    ClauseElement,
    ClauseList,
    ColumnClause,
    Grouping,
)
from sqlalchemy.sql.selectable import (
    CTE,
    AliasedReturnsRows,
    CompoundSelect,
    FromClause,
    FromGrouping,
    Join,
    Lateral,
    Select,
    SelectBase,
    SelectStatementGrouping,
    TableClause,
)

TENANT = "tenant"
ALL_TENANTS = "all_tenants"
_PINNING = {operators.eq, operators.in_op}
_VERDICTS_MAX = 2000  # statement shapes remembered per engine (SQLAlchemy's own compiled cache keeps 500)

# What an enclosing statement offers a nested SELECT to correlate to, as SQLAlchemy's compiler keeps it on its stack:
# the FROMs of every enclosing statement (explicit correlation) and those of the immediately enclosing one (automatic).
_Entry = tuple[frozenset[FromClause], frozenset[FromClause]]
_TOP: _Entry = (frozenset(), frozenset())


class CrossTenantQuery(RuntimeError):
    """A statement touches a tenant's table without pinning the tenant."""


def tenant_tables(tables: Iterable[Table]) -> frozenset[Table]:
    return frozenset(t for t in tables if TENANT in t.c)


def _is_value(el: Any) -> bool:
    while isinstance(el, Grouping):
        el = el.element
    if isinstance(el, BindParameter):
        return True
    return isinstance(el, ClauseList) and all(_is_value(c) for c in el.clauses)


def _conjuncts(criteria: Iterable[Any]) -> Iterator[Any]:
    """The top-level AND terms of a WHERE or ON clause (nested `and_` and parentheses flattened)."""
    todo = list(criteria)[::-1]
    while todo:
        el = todo.pop()
        while isinstance(el, Grouping):
            el = el.element
        if isinstance(el, BooleanClauseList) and el.operator is operators.and_:
            todo.extend(reversed(el.clauses))
        else:
            yield el


class _Scope:
    """One SELECT, UPDATE or DELETE: its tenant FROM elements, what pins them, and what joins them on the tenant."""

    def __init__(self) -> None:
        self.members: list[FromClause] = []
        self.pinned: set[FromClause] = set()
        self.edges: list[tuple[FromClause, FromClause]] = []  # (from, to): `to` is pinned when `from` is

    def constrain(self, criteria: Iterable[Any], constrained: set[FromClause], owner: _Check) -> None:
        """Take the pins and tenant joins among `criteria`'s conjuncts; a pin counts for `constrained` only."""
        for el in _conjuncts(criteria):
            if not (isinstance(el, BinaryExpression) and el.operator in _PINNING):
                continue
            left, right = owner.tenant_of(el.left), owner.tenant_of(el.right)
            if left is not None and right is not None:
                if right in constrained:
                    self.edges.append((left, right))
                if left in constrained:
                    self.edges.append((right, left))
            elif left is not None and left in constrained and _is_value(el.right):
                self.pinned.add(left)
            elif right is not None and right in constrained and _is_value(el.left):
                self.pinned.add(right)

    def unpinned(self) -> list[FromClause]:
        own = set(self.members)
        pinned = self.pinned | {a for a, _ in self.edges if a not in own}  # an enclosing SELECT's table: pinned there
        changed = True
        while changed:
            changed = False
            for a, b in self.edges:
                if a in pinned and b not in pinned:
                    pinned.add(b)
                    changed = True
        return [m for m in self.members if m not in pinned]


class _Check:
    """One walk of a statement: every SELECT, UPDATE and DELETE in it, each against its own FROM."""

    def __init__(self, scoped: frozenset[Table]) -> None:
        self.scoped = scoped
        self.missing: set[str] = set()
        self.ctes: set[int] = set()

    def base(self, f: Any) -> Table | None:
        """The tenant table under a FROM element (through aliases), if it is one."""
        while isinstance(f, AliasedReturnsRows) and not isinstance(f.element, SelectBase | UpdateBase):
            f = f.element
        return f if isinstance(f, Table) and f in self.scoped else None

    def tenant_of(self, el: Any) -> FromClause | None:
        """The tenant FROM element whose tenant column `el` is."""
        if (
            isinstance(el, ColumnClause)
            and el.name == TENANT
            and el.table is not None
            and self.base(el.table) is not None
        ):
            return el.table
        return None

    def statement(self, stmt: Any, entry: _Entry = _TOP, asfrom: bool = False, lateral: bool = False) -> None:
        if isinstance(stmt, Select):
            self.select(stmt, entry, asfrom, lateral)
        elif isinstance(stmt, CompoundSelect):  # each branch on its own, as the compiler renders them
            branches = {id(s) for s in stmt.selects}
            for s in stmt.selects:
                self.statement(s, entry, asfrom, lateral)
            self.nested((c for c in stmt.get_children() if id(c) not in branches), entry)
        elif isinstance(stmt, SelectStatementGrouping):
            self.statement(stmt.element, entry, asfrom, lateral)
        elif isinstance(stmt, Update | Delete):
            self.dml(stmt, entry)
        elif isinstance(stmt, Insert):  # the target needs no pin; a SELECT in it does
            self.nested(stmt.get_children(), entry)
            for cte in stmt._independent_ctes:
                self.from_(cte, _Scope(), entry)
        # raw SQL (TextualSelect) is not inspected

    def select(self, sel: Select[Any], entry: _Entry, asfrom: bool, lateral: bool) -> None:
        correlate, enclosing = entry
        implicit: frozenset[FromClause]
        if asfrom and not lateral:  # SQLCompiler._enclosing_correlate_froms
            explicit, implicit = correlate - enclosing, frozenset()
        else:
            explicit, implicit = correlate, enclosing
        state: Any = sel._compile_state_factory(sel, None)  # type: ignore[arg-type]
        froms = state._get_display_froms(explicit_correlate_froms=explicit, implicit_correlate_froms=implicit)
        own = frozenset(_from_objects(*froms))
        inner = (correlate | own, own)
        scope = _Scope()
        for f in froms:
            self.from_(f, scope, inner)
        scope.constrain(sel._where_criteria, set(scope.members), self)
        self.report(scope)
        self.nested(sel.get_children(), inner)
        for cte in sel._independent_ctes:  # rendered in the WITH even when nothing refers to them
            self.from_(cte, _Scope(), inner)

    def dml(self, stmt: Update | Delete, entry: _Entry) -> None:
        target = list(_from_objects(stmt.table))
        values = (getattr(stmt, "_values", None) or {}).values()
        # what it reads besides its target (UPDATE ... FROM, DELETE ... USING), as DMLState._make_extra_froms finds it
        refs = [*getattr(stmt, "_extra_froms", ()), *_from_objects(*stmt._where_criteria, *values)]
        own = frozenset(target) | frozenset(refs)
        inner = (entry[0] | own, own)
        scope = _Scope()
        for f in dict.fromkeys([*target, *refs]):
            if not isinstance(f, Join):
                self.from_(f, scope, inner)
        scope.constrain(stmt._where_criteria, set(scope.members), self)
        self.report(scope)
        self.nested(stmt.get_children(), inner)
        for cte in stmt._independent_ctes:
            self.from_(cte, _Scope(), inner)

    def from_(self, f: Any, scope: _Scope, entry: _Entry) -> set[FromClause]:
        """Add `f`'s tenant tables to `scope` (its ON clauses' pins too), check the SELECTs in it; returns the tenant
        FROM elements it holds."""
        if isinstance(f, Join):
            left, right = self.from_(f.left, scope, entry), self.from_(f.right, scope, entry)
            if f.onclause is not None:
                constrained = set() if f.full else right if f.isouter else left | right
                scope.constrain([f.onclause], constrained, self)
                self.nested([f.onclause], entry)
            return left | right
        if isinstance(f, FromGrouping):
            return self.from_(f.element, scope, entry)
        if self.base(f) is not None:
            scope.members.append(f)
            return {f}
        if isinstance(f, TableClause):
            return set()
        if isinstance(f, AliasedReturnsRows):
            if isinstance(f, CTE):
                if id(f) in self.ctes:
                    return set()
                self.ctes.add(id(f))
            inner = f.element
            while isinstance(inner, AliasedReturnsRows) and not isinstance(inner.element, SelectBase | UpdateBase):
                inner = inner.element
            if isinstance(inner, AliasedReturnsRows):
                inner = inner.element
            if isinstance(inner, SelectBase | UpdateBase):
                self.statement(inner, entry, asfrom=True, lateral=isinstance(f, Lateral))
                return set()
        if isinstance(f, ClauseElement):  # a table-valued function and the like: SELECTs among its arguments
            self.nested(f.get_children(), entry)
        return set()

    def nested(self, children: Iterable[Any], entry: _Entry) -> None:
        """Check each SELECT among `children` (columns, WHERE, HAVING, ORDER BY, values, function arguments, ...)
        as nested in a statement that offers `entry` to correlate to. FROM elements are not entered: a SELECT's are
        checked from its FROM list (SQLAlchemy's `get_children` does not lead from a column to its table either)."""
        todo = list(children)
        while todo:
            el = todo.pop()
            if isinstance(el, SelectBase | UpdateBase):
                self.statement(el, entry)
            elif isinstance(el, ClauseElement) and not isinstance(el, FromClause):
                todo.extend(el.get_children())

    def report(self, scope: _Scope) -> None:
        for f in scope.unpinned():
            table = self.base(f)
            self.missing.add(table.name if table is not None else str(f))


def unpinned(stmt: Any, scoped: frozenset[Table]) -> list[str]:
    """The tenant tables `stmt` reads without pinning their tenant (empty: the statement is scoped)."""
    check = _Check(scoped)
    check.statement(stmt)
    return sorted(check.missing)


_ROOT = Path(__file__).resolve().parents[2]  # the repository: the parent of the hub package
_CHECKERS = (_ROOT / "tests", _ROOT / "bench")


def _is_a_check(filename: str) -> bool:
    """Whether `filename` lies under the repository's own top-level tests/ or bench/ directory (a relative one, as
    a script run by a relative path has, taken from the working directory; code compiled from a string is not)."""
    if filename.startswith("<"):
        return False
    path = Path(filename).resolve()
    return any(path.is_relative_to(d) for d in _CHECKERS)


def _from_a_check() -> bool:
    """Whether a test or a benchmark executes the statement itself (the first caller outside SQLAlchemy); a store
    method called from a test is checked like any other."""
    frame = sys._getframe(2)
    while frame is not None:
        module = str(frame.f_globals.get("__name__", ""))
        if not module.startswith("sqlalchemy") and module != __name__:
            return _is_a_check(frame.f_code.co_filename)
        frame = frame.f_back  # type: ignore[assignment]
    return False


def install_guard(engine: Engine, tables: Iterable[Table]) -> None:
    """Check every statement `engine` executes (see the module docstring)."""
    scoped = tenant_tables(tables)
    verdicts: dict[Any, tuple[str, ...]] = {}

    @event.listens_for(engine, "before_execute")
    def _guard(conn: Any, clauseelement: Any, multiparams: Any, params: Any, execution_options: Any) -> None:
        if not isinstance(clauseelement, SelectBase | UpdateBase):
            return
        if execution_options.get(ALL_TENANTS) or conn.get_execution_options().get(ALL_TENANTS):
            return
        key = clauseelement._generate_cache_key()  # memoized on the statement: its execution reuses it
        missing = None if key is None else verdicts.get(key.key)
        if missing is None:
            missing = tuple(unpinned(clauseelement, scoped))
            if key is not None:
                if len(verdicts) >= _VERDICTS_MAX:
                    verdicts.clear()
                verdicts[key.key] = missing
        if missing and not _from_a_check():
            kind = "a SELECT" if isinstance(clauseelement, SelectBase) else f"an {type(clauseelement).__name__.upper()}"
            raise CrossTenantQuery(
                f"{kind} on {', '.join(missing)} does not pin the tenant: add `tenant == …` (hub/store/scope.py)"
            )
