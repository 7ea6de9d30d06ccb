"""The ten questions analysts ask of the mart, each one plain SQL query on it (the docs print them; the HTML
report charts them; a test runs each on a built mart). Every answer has a `tenant` column, so `answer` can
narrow it to one tenant; PowerBI users paste the SQL as is (DuckDB ODBC) or rebuild it on the Parquet files."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import duckdb
import pyarrow as pa


@dataclass(frozen=True)
class Chart:
    kind: Literal["bar", "stacked_bar", "line", "table"]
    x: str  # column name
    y: str | None = None
    color: str | None = None
    facet: str | None = None  # optional small-multiples column
    title_x: str | None = None
    title_y: str | None = None


@dataclass(frozen=True)
class Question:
    number: int
    slug: str
    title: str  # the analyst's question in plain words
    sql: str  # one plain SQL query on the mart; every result has a `tenant` column
    chart: Chart
    note: str = ""  # how to read the answer


FUNNEL = Question(
    1,
    "funnel",
    "Funnel: dossiers that went through each phase, per campaign and neighbourhood",
    """
SELECT t.tenant,
       coalesce(c.name, '(geen campagne)') AS campaign,
       coalesce(a.neighbourhood_name, a.municipality_name, '(onbekend)') AS area,
       a.area_id,
       a.level AS area_level,
       p.phase,
       p.phase_order,
       count(*) AS dossiers_through
FROM journey_transitions t
JOIN phases p ON p.phase = t.phase
LEFT JOIN campaigns c ON c.campaign_id = t.campaign_id
LEFT JOIN areas a ON a.area_id = t.area_id
WHERE t.phase <> 'stopped'
GROUP BY ALL
ORDER BY t.tenant, campaign, area, p.phase_order
""",
    Chart("bar", x="phase", y="dossiers_through", color="campaign", title_y="dossiers that went through"),
    "A dossier counts in every phase it went through, not in the phases it skipped; `area` is the CBS buurt "
    "(NL) or the deelgemeente (BE), the municipality where no finer area is known.",
)

TIME_IN_PHASE = Question(
    2,
    "time-in-phase",
    "Time spent in each phase (median and 75th percentile, days), per campaign",
    """
SELECT t.tenant,
       coalesce(c.name, '(geen campagne)') AS campaign,
       t.phase,
       t.phase_order,
       count(*) AS dossiers_moved_on,
       round(median(t.days_in_phase), 1) AS median_days,
       round(quantile_cont(t.days_in_phase, 0.75), 1) AS p75_days
FROM journey_transitions t
LEFT JOIN campaigns c ON c.campaign_id = t.campaign_id
WHERE t.exact_duration AND t.phase NOT IN ('done', 'stopped')
GROUP BY ALL
ORDER BY t.tenant, campaign, t.phase_order
""",
    Chart("bar", x="phase", y="median_days", color="campaign", title_y="median days in phase"),
    "Only dossiers that left the phase count (one still in it has no duration yet), and only where both ends are "
    "dated by the partners' evidence (`exact_duration`): a phase that came without a date is left out.",
)

STALLED = Question(
    3,
    "stalled",
    "Stalled dossiers now, and the follow-ups the hub created for them, with their outcome",
    """
SELECT tenant, phase, phase_order, 'stalled now' AS what, count(*) AS dossiers
FROM dossiers WHERE stalled
GROUP BY ALL
UNION ALL
SELECT f.tenant, f.phase, p.phase_order, 'follow-up: ' || f.outcome, count(*)
FROM follow_ups f JOIN phases p ON p.phase = f.phase
WHERE f.kind = 'stalled'
GROUP BY ALL
ORDER BY tenant, phase_order, what
""",
    Chart("bar", x="phase", y="dossiers", color="what"),
    "Stalled: no progress for longer than the tenant's follow-up rule (`after_days`). A follow-up's outcome: "
    "moved_on (the dossier reached a later phase after it), stopped, handled (the coordinator dealt with the "
    "task, the dossier has not moved yet) or waiting.",
)

CHANNELS = Question(
    4,
    "channels",
    "Sign-up sources and channels",
    """
SELECT tenant, campaign_name AS campaign, channel, coalesce(sources, '(geen bron)') AS sources,
       count(*) AS dossiers
FROM dossiers
GROUP BY ALL
ORDER BY tenant, campaign, dossiers DESC
""",
    Chart("stacked_bar", x="channel", y="dossiers", color="campaign"),
    "channel: web_form, event, phone, energy_desk, campaign_letter or other; sources as the CRM names them.",
)

ONLINE = Question(
    5,
    "online-dossier",
    "Registered vs active in the online dwelling dossier",
    """
SELECT tenant, campaign_name AS campaign, online_dossier, count(*) AS dossiers
FROM dossiers
GROUP BY ALL
ORDER BY tenant, campaign, online_dossier
""",
    Chart("stacked_bar", x="campaign", y="dossiers", color="online_dossier"),
    "registered: the resident has an account (or a building) in the online dwelling dossier; active: they "
    "filled in at least one scan; none: neither.",
)

VISITS = Question(
    6,
    "visits",
    "Visits planned and done per coach (pseudonymised), per month",
    """
SELECT tenant, coach_ref, date_trunc('month', planned_at)::DATE AS month, 'planned' AS what, count(*) AS visits
FROM actions
WHERE kind IN ('visit', 'appointment') AND planned_at IS NOT NULL
GROUP BY ALL
UNION ALL
SELECT tenant, coach_ref, date_trunc('month', coalesce(done_at, planned_at))::DATE, 'done', count(*)
FROM actions
WHERE kind IN ('visit', 'appointment') AND outcome = 'done'
GROUP BY ALL
ORDER BY tenant, month, coach_ref, what
""",
    Chart("bar", x="month", y="visits", color="what"),
    "planned counts a visit in the month of its appointment; done in the month it was recorded as made.",
)

ADVICE = Question(
    7,
    "advised-measures",
    "Advised measures with their gas, electricity and CO₂ savings, per campaign",
    """
SELECT m.tenant,
       coalesce(c.name, '(geen campagne)') AS campaign,
       coalesce(m.category, m.name, m.measure) AS measure,
       count(*) AS advised,
       round(sum(m.savings_gas_m3)) AS gas_m3_per_year,
       round(sum(m.savings_electricity_kwh)) AS electricity_kwh_per_year,
       round(sum(m.savings_co2_kg) / 1000, 2) AS co2_tonnes_per_year
FROM advised_measures m
LEFT JOIN campaigns c ON c.campaign_id = m.campaign_id
GROUP BY ALL
ORDER BY m.tenant, campaign, co2_tonnes_per_year DESC NULLS LAST
""",
    Chart("bar", x="measure", y="co2_tonnes_per_year", color="campaign", title_y="CO₂ saving, tonnes a year"),
    "Savings are the woonplan's expectations per year, summed over the advised measures.",
)

QUOTES = Question(
    8,
    "quotations-executed",
    "Quotation requests and executed measures, per measure category",
    """
SELECT tenant, coalesce(measure_category, '(onbekend)') AS category, 'quotation requests' AS what,
       count(*) AS measures
FROM actions WHERE kind = 'quotation-request'
GROUP BY ALL
UNION ALL
SELECT tenant, coalesce(measure_category, '(onbekend)'), 'executed', count(*)
FROM executed_measures
GROUP BY ALL
ORDER BY tenant, category, what
""",
    Chart("bar", x="category", y="measures", color="what"),
    "executed: a kans closed as executed in the CRM, or an invoice of works (a desk without a CRM).",
)

PREMIUMS = Question(
    9,
    "premiums",
    "Premiums applied, granted and paid, amounts per regeling and category",
    """
SELECT tenant, scheme, coalesce(category, '(onbekend)') AS category, 'applied' AS stage,
       count(*) AS applications, round(sum(amount_requested), 2) AS amount_eur
FROM premium_applications WHERE submitted_on IS NOT NULL
GROUP BY ALL
UNION ALL
SELECT tenant, scheme, coalesce(category, '(onbekend)'), 'granted', count(*), round(sum(amount_granted), 2)
FROM premium_applications WHERE amount_granted > 0
GROUP BY ALL
UNION ALL
SELECT tenant, scheme, coalesce(category, '(onbekend)'), 'paid', count(*), round(sum(amount_paid), 2)
FROM premium_applications WHERE paid_on IS NOT NULL OR amount_paid > 0
GROUP BY ALL
ORDER BY tenant, scheme, category, stage
""",
    Chart("bar", x="category", y="amount_eur", color="stage", title_y="euros"),
    "applied: submitted to the portal (refusals the hub foresaw were never sent and do not count).",
)

LABELS = Question(
    10,
    "labels",
    "Energy labels before and after, per campaign",
    """
SELECT tenant, campaign_name AS campaign, label_before, label_after, count(*) AS dossiers
FROM dossiers
WHERE label_before IS NOT NULL AND label_after IS NOT NULL
GROUP BY ALL
ORDER BY tenant, campaign, label_before, label_after
""",
    Chart("stacked_bar", x="label_before", y="dossiers", color="label_after", title_x="label before the works"),
    "Renovated dossiers (execution or done) whose dwelling has a certificate from before the sign-up and one "
    "from after: the EPC of the housing passport (Flanders), EP-Online (the Netherlands).",
)

QUESTIONS: tuple[Question, ...] = (
    FUNNEL,
    TIME_IN_PHASE,
    STALLED,
    CHANNELS,
    ONLINE,
    VISITS,
    ADVICE,
    QUOTES,
    PREMIUMS,
    LABELS,
)


def answer(con: duckdb.DuckDBPyConnection, q: Question, tenant: str | None = None) -> pa.Table:
    """The question's answer on an open mart: all tenants, or one."""
    if tenant is None:
        return con.sql(q.sql).to_arrow_table()
    return con.sql(
        f"SELECT * FROM ({q.sql}) AS answer WHERE tenant = $tenant", params={"tenant": tenant}
    ).to_arrow_table()
