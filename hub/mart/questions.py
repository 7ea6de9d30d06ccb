"""The analyst questions asked of the mart, each one plain SQL query with a chart to show its answer (the HTML
report, hub/mart/report.py, draws them). Placeholders over today's tables until the star schema's ten land.

Every answer has a `tenant` column, so `answer` can narrow it to one tenant."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import duckdb
import pyarrow as pa


@dataclass(frozen=True)
class Chart:
    """How to draw an answer: the mark and which columns go on x, y, colour and small multiples."""

    kind: Literal["bar", "stacked_bar", "line", "table"]
    x: str  # column name
    y: str | None = None
    color: str | None = None
    facet: str | None = None  # optional small-multiples column
    title_x: str | None = None
    title_y: str | None = None


@dataclass(frozen=True)
class Question:
    """One analyst question: its words, its SQL on the mart and its chart."""

    number: int
    slug: str
    title: str  # the analyst's question in plain words
    sql: str  # one plain SQL query on the mart; every result has a `tenant` column
    chart: Chart
    note: str = ""  # how to read the answer


FUNNEL = Question(
    1,
    "funnel",
    "How many dossiers reached each phase, per campaign?",
    """
SELECT tenant, campaign_name AS campaign, phase, phase_order, dossiers_reached
FROM funnel
WHERE phase <> 'stopped'
ORDER BY tenant, campaign, phase_order
""",
    Chart("bar", x="phase", y="dossiers_reached", color="campaign", title_y="dossiers that reached the phase"),
    "A dossier counts in its current phase and every phase before it; stopped dossiers count in none.",
)

PHASES_PER_MONTH = Question(
    2,
    "phases-per-month",
    "How many dossiers entered each phase, month by month?",
    """
SELECT tenant, CAST(date_trunc('month', occurred_at) AS DATE) AS month, phase, min(phase_order) AS phase_order,
       count(DISTINCT dossier_id) AS dossiers
FROM journey_events
GROUP BY ALL
ORDER BY tenant, month, phase_order
""",
    Chart("line", x="month", y="dossiers", color="phase", title_y="dossiers entering the phase"),
    "Months by when the partner data says the phase was reached (UTC), not by when the hub heard of it.",
)

PREMIUMS_BY_STATUS = Question(
    3,
    "premiums-by-status",
    "Where do the premium applications stand, per scheme?",
    """
SELECT tenant, scheme, status, count(*) AS categories,
       round(sum(amount_requested), 2) AS requested, round(sum(amount_granted), 2) AS granted
FROM premium_applications
GROUP BY ALL
ORDER BY tenant, scheme, status
""",
    Chart("stacked_bar", x="scheme", y="categories", color="status", title_y="categories of works"),
    "One application covers several categories of works; each category is decided (and paid) on its own. "
    "refused_by_hub: a refusal the hub foresaw and never sent.",
)

QUESTIONS: tuple[Question, ...] = (FUNNEL, PHASES_PER_MONTH, PREMIUMS_BY_STATUS)


def answer(con: duckdb.DuckDBPyConnection, q: Question, tenant: str | None = None) -> pa.Table:
    """SELECT * FROM (q.sql) WHERE tenant = ? (all tenants when None), as an Arrow table in the query's order."""
    if tenant is None:
        return con.sql(f"SELECT * FROM ({q.sql}) AS answer").to_arrow_table()
    return con.sql(f"SELECT * FROM ({q.sql}) AS answer WHERE tenant = ?", params=[tenant]).to_arrow_table()
