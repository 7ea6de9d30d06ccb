"""The HTML report per tenant: the analyst questions' answers (hub/mart/questions.py) as Vega-Lite charts
(Altair) and small tables, one self-contained file each (the Vega JS inlined: it opens offline); the funnel as PNG.

Reads the published mart read-only and shows only what the mart holds (pseudonymised, counts)."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

import altair as alt
import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import vl_convert as vlc

from hub import progress
from hub.mart.questions import QUESTIONS, Chart, Question, answer

# rows of each answer shown as a table below its chart (a `table` question shows more)
TOP_ROWS = 10
TABLE_ROWS = 25
FUNNEL_SLUG = "funnel"
# the Vega-Lite release Altair writes specs for, as vl-convert names it ("6.4")
VL_VERSION = ".".join(alt.SCHEMA_VERSION.lstrip("v").split(".")[:2])
_TENANT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


class ReportError(Exception):
    """The report cannot be written: no mart at the path, a bad tenant id, or a question whose SQL fails."""


@dataclass(frozen=True)
class _Built:
    tenants: list[str]
    built_at: dict[str, str]
    answers: dict[int, pa.Table]  # question number → the answer for every tenant


def _json_value(v: Any) -> Any:
    if isinstance(v, datetime | date):
        return v.isoformat()
    if isinstance(v, Decimal):
        return float(v)
    return v


FieldType = Literal["quantitative", "ordinal", "temporal", "nominal"]


def _field_type(table: pa.Table, column: str) -> FieldType:
    typ = table.schema.field(column).type
    if pa.types.is_integer(typ) or pa.types.is_floating(typ) or pa.types.is_decimal(typ):
        return "quantitative"
    if pa.types.is_temporal(typ):
        return "temporal"
    return "nominal"


def chart_spec(q: Question, data: pa.Table, width: int = 640) -> dict[str, Any]:
    """The Vega-Lite spec (a dict) of one question's answer; a "no data yet" text when the answer is empty."""
    c: Chart = q.chart
    if data.num_rows == 0:
        return (
            alt.Chart(alt.Data(values=[{"text": "no data yet"}]))
            .mark_text(size=16)
            .encode(text="text:N")
            .properties(width=width, height=60)
            .to_dict()
        )
    rows = [{k: _json_value(v) for k, v in r.items()} for r in data.to_pylist()]
    columns = [n for n in data.column_names if n != "tenant"]
    base = alt.Chart(alt.Data(values=rows))
    enc: dict[str, Any] = {
        "tooltip": [alt.Tooltip(n, type=_field_type(data, n)) for n in columns],
    }
    x_type: FieldType = _field_type(data, c.x)
    # phases along the journey's order (the rows' first-seen order puts a phase first met late at the end)
    x_sort: Any = alt.EncodingSortField(f"{c.x}_order", op="min") if f"{c.x}_order" in columns else None
    if c.kind == "line":
        mark = base.mark_line(point=True)
        enc["x"] = alt.X(c.x, type=x_type if x_type != "nominal" else "ordinal", sort=x_sort, title=c.title_x or c.x)
    else:
        mark = base.mark_bar()
        enc["x"] = alt.X(
            c.x, type="ordinal" if x_type == "temporal" else "nominal", sort=x_sort, title=c.title_x or c.x
        )
    if c.y is not None:
        enc["y"] = alt.Y(c.y, type=_field_type(data, c.y), title=c.title_y or c.y)
    if c.color is not None:
        enc["color"] = alt.Color(c.color, type="nominal", sort=None)
        if c.kind == "bar":  # side by side; stacked_bar stacks (Vega-Lite's default)
            enc["xOffset"] = alt.XOffset(c.color, type="nominal", sort=None)
    if c.facet is not None:
        enc["facet"] = alt.Facet(c.facet, type="nominal", columns=3, sort=None)
        width = max(160, width // 3 - 20)
    return mark.encode(**enc).properties(width=width, height=260).to_dict()  # type: ignore[no-any-return]


def _open(mart_path: Path) -> duckdb.DuckDBPyConnection:
    if not mart_path.is_file():
        raise ReportError(f"no mart at {mart_path}: build it first (`hub mart`)")
    return duckdb.connect(str(mart_path), read_only=True)


def _has_table(con: duckdb.DuckDBPyConnection, name: str) -> list[str]:
    """The columns of table `name` (empty when the mart has no such table)."""
    rows = con.execute("SELECT column_name FROM information_schema.columns WHERE table_name = ?", [name]).fetchall()
    return [r[0] for r in rows]


def _read(mart_path: Path, questions: Sequence[Question], tenants: list[str] | None) -> _Built:
    con = _open(mart_path)
    try:
        answers: dict[int, pa.Table] = {}
        for q in questions:
            try:
                answers[q.number] = answer(con, q)
            except duckdb.Error as exc:
                raise ReportError(f"question {q.number} ({q.slug}) failed on {mart_path}: {exc}") from exc
        built_at: dict[str, str] = {}
        meta_cols = _has_table(con, "mart_meta")
        if "built_at" in meta_cols:  # the mart says when it was built (older marts have no mart_meta)
            per = "tenant" in meta_cols
            sql = "SELECT " + ("tenant, " if per else "NULL, ") + "max(built_at) FROM mart_meta GROUP BY ALL"
            for tenant, at in con.execute(sql).fetchall():
                built_at[tenant or "*"] = _stamp(at)
    finally:
        con.close()
    if tenants is None:
        found = {
            t for tbl in answers.values() if "tenant" in tbl.column_names for t in tbl.column("tenant").to_pylist()
        }
        tenants = sorted({t for t in found | set(built_at) if t and t != "*"})
    for t in tenants:
        if not _TENANT_ID.fullmatch(t):
            raise ReportError(f"not a tenant id: {t!r}")
    return _Built(tenants, built_at, answers)


def _stamp(at: Any) -> str:
    if isinstance(at, datetime):
        at = at if at.tzinfo else at.replace(tzinfo=UTC)
        return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return str(at)


def _of(table: pa.Table, tenant: str) -> pa.Table:
    if "tenant" not in table.column_names:
        raise ReportError(f"an answer has no tenant column: {table.column_names}")
    return table.filter(pc.equal(table.column("tenant"), tenant))


def _cell(v: Any) -> str:
    if v is None:
        return '<span class="null">–</span>'
    if isinstance(v, float):
        return f"{v:,.2f}".rstrip("0").rstrip(".") if v % 1 else f"{v:,.0f}"
    if isinstance(v, int) and not isinstance(v, bool):
        return f"{v:,}"
    return html.escape(str(_json_value(v)))


def _table_html(data: pa.Table, limit: int) -> str:
    cols = [n for n in data.column_names if n != "tenant"]
    head = "".join(f"<th>{html.escape(n)}</th>" for n in cols)
    body = "".join(
        "<tr>" + "".join(f"<td>{_cell(r[n])}</td>" for n in cols) + "</tr>" for r in data.slice(0, limit).to_pylist()
    )
    more = (
        f'<p class="more">{limit} of {data.num_rows} rows shown; all of them are in the chart.</p>'
        if data.num_rows > limit
        else ""
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{more}"


def _script_json(value: Any) -> str:
    # inside <script>: no "</" may close the element early
    return json.dumps(value, ensure_ascii=False).replace("</", "<\\/").replace("<!--", "<\\!--")


_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0 auto; max-width: 980px;
       padding: 1.5rem; color: #1f2933; }
header { border-bottom: 2px solid #d9e2ec; margin-bottom: 1.5rem; }
header p { color: #52606d; margin: .25rem 0 1rem; }
nav ol { columns: 2; padding-left: 1.2rem; }
section { margin: 2rem 0 2.5rem; }
h2 { font-size: 1.2rem; margin-bottom: .25rem; }
.note { color: #52606d; margin-top: 0; }
.chart { margin: .75rem 0; min-height: 60px; }
.empty { padding: 1.5rem; background: #f5f7fa; color: #52606d; text-align: center; border-radius: 4px; }
table { border-collapse: collapse; font-size: .85rem; margin-top: .5rem; }
th, td { border-bottom: 1px solid #e4e7eb; padding: .25rem .6rem; text-align: left; }
td { font-variant-numeric: tabular-nums; }
.null, .more { color: #9aa5b1; }
.more { font-size: .8rem; }
footer { color: #9aa5b1; font-size: .8rem; border-top: 1px solid #e4e7eb; padding-top: .5rem; }
"""

_EMBED = """
document.querySelectorAll("script.spec").forEach(function (el) {
  var target = document.getElementById(el.dataset.target);
  vegaEmbed(target, JSON.parse(el.textContent), {renderer: "svg", actions: false}).catch(function (err) {
    console.error("chart " + el.dataset.target + ": " + err);
  });
});
"""


def _page(tenant: str, built: _Built, questions: Sequence[Question], bundle: str, mart_path: Path) -> str:
    when = built.built_at.get(tenant) or built.built_at.get("*")
    stamp = (
        f"Mart built {html.escape(when)}."
        if when
        else f"The mart does not record when it was built (file written "
        f"{_stamp(datetime.fromtimestamp(mart_path.stat().st_mtime, UTC))})."
    )
    toc, sections = [], []
    for q in questions:
        data = _of(built.answers[q.number], tenant)
        anchor = f"q{q.number}-{html.escape(q.slug)}"
        toc.append(f'<li><a href="#{anchor}">{html.escape(q.title)}</a></li>')
        parts = [f'<section id="{anchor}"><h2>{q.number}. {html.escape(q.title)}</h2>']
        if q.note:
            parts.append(f'<p class="note">{html.escape(q.note)}</p>')
        if data.num_rows == 0:
            parts.append('<p class="empty">no data yet</p>')
        elif q.chart.kind == "table":
            parts.append(_table_html(data, TABLE_ROWS))
        else:
            target = f"chart-{q.number}"
            parts.append(f'<div class="chart" id="{target}"></div>')
            parts.append(
                f'<script type="application/json" class="spec" data-target="{target}">'
                f"{_script_json(chart_spec(q, data))}</script>"
            )
            parts.append(_table_html(data, TOP_ROWS))
        parts.append("</section>")
        sections.append("".join(parts))
    t = html.escape(tenant)
    safe_bundle = bundle.replace("</script", "<\\/script")
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Renovation hub — {t}</title>
<style>{_CSS}</style>
<script>{safe_bundle}</script>
</head>
<body>
<header><h1>Renovation hub — {t}</h1><p>{stamp} Counts from the reporting mart; no personal data.</p>
<nav><ol>{"".join(toc)}</ol></nav></header>
{"".join(sections)}
<footer>Written by <code>hub report</code> from {html.escape(mart_path.name)}; charts: Vega-Lite {VL_VERSION}.</footer>
<script>{_EMBED}</script>
</body>
</html>
"""


def write_report(
    mart_path: Path,
    out_dir: Path,
    tenants: list[str] | None = None,
    questions: Sequence[Question] = QUESTIONS,
) -> dict[str, Path]:
    """Write `<out_dir>/<tenant>.html` for each tenant (default: every tenant in the mart) from the mart at
    `mart_path`, opened read-only; returns tenant → path. Raises ReportError (no mart, a failing question)."""
    built = _read(mart_path, questions, tenants)
    out_dir.mkdir(parents=True, exist_ok=True)
    # vl-convert's stub omits the snippet's default (None: the plain bundle, vegaEmbed on window)
    bundle = vlc.javascript_bundle(vl_version=VL_VERSION)  # type: ignore[call-arg]
    written: dict[str, Path] = {}
    with progress.task("report", total=len(built.tenants)) as shown:
        for tenant in built.tenants:
            path = out_dir / f"{tenant}.html"
            tmp = out_dir / f".{tenant}.html.tmp"
            tmp.write_text(_page(tenant, built, questions, bundle, mart_path), encoding="utf-8")
            tmp.replace(path)  # a reader never opens a half-written report
            written[tenant] = path
            shown.advance()
    return written


def funnel_png(mart_path: Path, tenant: str, questions: Sequence[Question] = QUESTIONS, scale: float = 1.0) -> bytes:
    """The funnel question's chart for one tenant as PNG (rendered without a browser; "no data yet" when empty)."""
    q = next((q for q in questions if q.slug == FUNNEL_SLUG), None)
    if q is None:
        raise ReportError(f"no question with slug {FUNNEL_SLUG!r}")
    con = _open(mart_path)
    try:
        data = answer(con, q, tenant)
    finally:
        con.close()
    png: bytes = vlc.vegalite_to_png(chart_spec(q, data, width=520), vl_version=VL_VERSION, scale=scale)
    return png
