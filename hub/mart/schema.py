"""The mart's star schema: every table with its grain, key, columns and their descriptions (the data dictionary,
written into the DuckDB file with COMMENT ON and into docs/mart-dictionary.md), and the SQL that fills it from
the staged store (hub/mart/build.py stages `ent`, `journey_events`, `stall_outbox`, `pseudonyms`, `tenant_rules`
and `journey_rules` in an in-memory DuckDB first).

All times are UTC (`TIMESTAMP`, no zone); days are `DATE`. Residents and coaches appear only as keyed
pseudonyms (`resident_ref`, `coach_ref`) unless the tenant opted in to personal data."""

from __future__ import annotations

from dataclasses import dataclass

from hub.canonical.areas import KEYS as AREA_KEYS
from hub.canonical.models import ONLINE_ACCOUNT_FIELD, ONLINE_BUILDING_FIELD


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    description: str


@dataclass(frozen=True)
class Table:
    name: str
    kind: str  # fact | dimension | meta | view
    description: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    sql: str  # a SELECT producing the columns in order (tables) or the view's body (views)

    @property
    def ddl(self) -> str:
        return ", ".join(f'"{c.name}" {c.type}' for c in self.columns)


def C(name: str, type_: str, description: str) -> Column:
    return Column(name, type_, description)


TENANT = C("tenant", "VARCHAR", "The cooperation or municipal desk (tenant id of the hub's configuration).")
DOSSIER = C("dossier_id", "VARCHAR", "The hub's dossier id (one resident's journey in one campaign).")
CAMPAIGN = C("campaign_id", "VARCHAR", "The campaign (`campaigns.campaign_id`); empty when the dossier has none.")

# --- staging: typed views over the store's JSON, in the in-memory staging database -------------------------

# a dwelling's area (hub/canonical/areas.py's keys) as a struct of text fields
AREA_STRUCT = "{" + ", ".join(f'"{f}": "VARCHAR"' for f in AREA_KEYS) + "}"

# the fields each entity's JSON is parsed into, once per row (DuckDB's from_json; a value of another type is NULL)

FIELDS: dict[str, dict[str, str]] = {
    "campaign": {
        "name": "VARCHAR",
        "number": "VARCHAR",
        "kind": "VARCHAR",
        "status": "VARCHAR",
        "start_date": "VARCHAR",
        "end_date": "VARCHAR",
    },
    "resident": {"is_coach": "BOOLEAN", ONLINE_ACCOUNT_FIELD: "VARCHAR", "kind": "VARCHAR"},
    # the area parsed straight into its fields (a value that is not an object comes out empty)
    "dwelling": {"country": "VARCHAR", "postcode": "VARCHAR", "resident_id": "VARCHAR", "area": AREA_STRUCT},
    "dwelling_file": {
        "dwelling_id": "VARCHAR",
        "energy_label": "VARCHAR",
        ONLINE_BUILDING_FIELD: "VARCHAR",
        "scans": "JSON",
    },
    "intake": {"resident_id": "VARCHAR", "status": "VARCHAR", "channel": "VARCHAR", "sources": '["VARCHAR"]'},
    "opportunity": {
        "intake_id": "VARCHAR",
        "status": "VARCHAR",
        "measure_category": "VARCHAR",
        "measures": '["VARCHAR"]',
        "created_at": "VARCHAR",
    },
    "action": {
        "opportunity_id": "VARCHAR",
        "kind": "VARCHAR",
        "status": "VARCHAR",
        "coach_or_organisation_id": "VARCHAR",
        "date_planned": "VARCHAR",
        "date_recorded": "VARCHAR",
        "date_executed": "VARCHAR",
        "created_at": "VARCHAR",
    },
    "appointment": {
        "dwelling_file_id": "VARCHAR",
        "status": "VARCHAR",
        "coach_ids": '["VARCHAR"]',
        "planned_at": "VARCHAR",
    },
    "advice": {
        "dwelling_file_id": "VARCHAR",
        "measure": "VARCHAR",
        "name": "VARCHAR",
        "category": "VARCHAR",
        "execute_self": "BOOLEAN",
        "quantity": "DOUBLE",
        "quantity_unit": "VARCHAR",
        "savings_gas_m3": "DOUBLE",
        "savings_electricity_kwh": "DOUBLE",
        "savings_co2_kg": "DOUBLE",
    },
    "invoice": {
        "intake_id": "VARCHAR",
        "category": "VARCHAR",
        "measure": "VARCHAR",
        "executed_on": "VARCHAR",
        "issued_on": "VARCHAR",
        "is_advance": "BOOLEAN",
    },
    "energy_certificate": {
        "dwelling_id": "VARCHAR",
        "label": "VARCHAR",
        "score_kwh_m2_year": "DOUBLE",
        "issued_on": "VARCHAR",
        "valid_until": "VARCHAR",
        "status": "VARCHAR",
        "current": "BOOLEAN",
    },
    "premium_application": {
        "dossier_id": "VARCHAR",
        "scheme": "VARCHAR",
        "category": "VARCHAR",
        "status": "VARCHAR",
        "amount_requested": "DOUBLE",
        "amount_granted": "DOUBLE",
        "amount_paid": "DOUBLE",
        "reason_codes": '["VARCHAR"]',
        "prefilled_share": "DOUBLE",
        "submitted_on": "VARCHAR",
        "decided_on": "VARCHAR",
        "paid_on": "VARCHAR",
        "appeal_until": "VARCHAR",
    },
    "follow_up": {
        "dossier_id": "VARCHAR",
        "kind": "VARCHAR",
        "reason": "VARCHAR",
        "status": "VARCHAR",
        "due_on": "VARCHAR",
        "raised_at": "VARCHAR",
    },
    "dossier": {
        "intake_id": "VARCHAR",
        "resident_id": "VARCHAR",
        "dwelling_id": "VARCHAR",
        "campaign_id": "VARCHAR",
        "phase": "VARCHAR",
        "phase_since": "VARCHAR",
        "opened_at": "VARCHAR",
        "stop_reason": "VARCHAR",
        "renovation_obligation": "JSON",
    },
}


def parse_sql(entity: str) -> str:
    """The temp table of one entity kind (`r_<entity>`) from its rows (`raw_<entity>`): its JSON parsed once
    into typed columns."""
    fields = FIELDS[entity]
    struct = "{" + ", ".join(f'"{k}": {json_type(v)}' for k, v in fields.items()) + "}"
    return (
        f"CREATE TEMP TABLE r_{entity} AS SELECT canonical_id AS id, tenant, parent_id, "
        f"unnest(from_json(data, '{struct}')) FROM raw_{entity}"
    )


def json_type(t: str) -> str:
    return t if t.startswith(("[", "{")) else f'"{t}"'


STAGING = """
CREATE MACRO ts(x) AS CAST(TRY_CAST(x AS TIMESTAMPTZ) AS TIMESTAMP);
CREATE MACRO dt(x) AS TRY_CAST(left(x, 10) AS DATE);
CREATE TEMP VIEW s_campaign AS SELECT id, tenant, name, number, kind, status, dt(start_date) AS start_date,
    dt(end_date) AS end_date FROM r_campaign;
CREATE TEMP VIEW s_resident AS SELECT id, tenant, coalesce(is_coach, false) AS is_coach,
    {account} IS NOT NULL AS online_account, kind FROM r_resident;
CREATE TEMP VIEW s_dwelling AS SELECT id, tenant, country, postcode, resident_id, area FROM r_dwelling;
CREATE TEMP VIEW s_file AS SELECT id, tenant, coalesce(dwelling_id, parent_id) AS dwelling_id, energy_label,
    {building} IS NOT NULL AS online_building,
    coalesce(list_contains(json_extract(scans, '$.*')::BOOLEAN[], true), false) AS scans_filled
    FROM r_dwelling_file;
CREATE TEMP VIEW s_intake AS SELECT id, tenant, resident_id, status, channel,
    array_to_string(sources, ', ') AS sources FROM r_intake;
CREATE TEMP VIEW s_opportunity AS SELECT id, tenant, coalesce(intake_id, parent_id) AS intake_id, status,
    measure_category, array_to_string(measures, ', ') AS measures, ts(created_at) AS created_at FROM r_opportunity;
CREATE TEMP TABLE s_action AS SELECT id, tenant, coalesce(opportunity_id, parent_id) AS opportunity_id, kind,
    status, coach_or_organisation_id AS coach_id, ts(date_planned) AS date_planned,
    ts(date_recorded) AS date_recorded, dt(date_executed) AS date_executed, ts(created_at) AS created_at
    FROM r_action;
CREATE TEMP VIEW s_appointment AS SELECT id, tenant, coalesce(dwelling_file_id, parent_id) AS file_id, status,
    coach_ids[1] AS coach_id, ts(planned_at) AS planned_at FROM r_appointment;
CREATE TEMP VIEW s_advice AS SELECT id, tenant, coalesce(dwelling_file_id, parent_id) AS file_id, measure, name,
    category, execute_self, quantity, quantity_unit, savings_gas_m3, savings_electricity_kwh, savings_co2_kg
    FROM r_advice;
CREATE TEMP VIEW s_invoice AS SELECT id, tenant, coalesce(intake_id, parent_id) AS intake_id, category, measure,
    coalesce(dt(executed_on), dt(issued_on)) AS executed_on, coalesce(is_advance, false) AS is_advance
    FROM r_invoice;
CREATE TEMP VIEW s_certificate AS SELECT id, tenant, coalesce(dwelling_id, parent_id) AS dwelling_id,
    upper(trim(label)) AS label, score_kwh_m2_year, dt(issued_on) AS issued_on, dt(valid_until) AS valid_until,
    status, coalesce("current", false) AS "current" FROM r_energy_certificate;
CREATE TEMP VIEW s_premium AS SELECT id, tenant, dossier_id, scheme, category, status, amount_requested,
    amount_granted, amount_paid, array_to_string(reason_codes, ',') AS reason_codes, prefilled_share,
    dt(submitted_on) AS submitted_on, dt(decided_on) AS decided_on, dt(paid_on) AS paid_on,
    dt(appeal_until) AS appeal_until FROM r_premium_application WHERE scheme IS NOT NULL;
CREATE TEMP VIEW s_follow_up AS SELECT id, tenant, dossier_id, kind, reason, status, dt(due_on) AS due_on,
    ts(raised_at) AS raised_at FROM r_follow_up;
CREATE TEMP TABLE s_dossier_all AS SELECT id, tenant, intake_id, resident_id, dwelling_id, campaign_id, phase,
    ts(phase_since) AS phase_since, ts(opened_at) AS opened_at, stop_reason, renovation_obligation AS obligation
    FROM r_dossier;
CREATE TEMP TABLE s_dossier AS SELECT * FROM s_dossier_all WHERE coalesce(stop_reason, '') <> 'deleted_in_source';
-- one dossier per dwelling for what hangs on the dwelling (advice, certificates): its newest
CREATE TEMP TABLE dwelling_dossier AS SELECT dwelling_id, arg_max(id, coalesce(opened_at, TIMESTAMP '1900-01-01'))
    AS dossier_id FROM s_dossier WHERE dwelling_id IS NOT NULL GROUP BY dwelling_id;
CREATE TEMP TABLE dwelling_area AS SELECT id AS dwelling_id, tenant, area.country AS country, area.level AS level,
    area.neighbourhood_code AS neighbourhood_code, area.neighbourhood_name AS neighbourhood_name,
    area.district_code AS district_code, area.district_name AS district_name,
    area.municipality_code AS municipality_code, area.municipality_name AS municipality_name,
    area.source AS source,
    coalesce(nullif(area.neighbourhood_code, ''), nullif(area.municipality_code, '')) AS area_id
    FROM s_dwelling WHERE area IS NOT NULL;
CREATE TEMP TABLE ev AS SELECT e.*, p.phase_order FROM (
    SELECT dossier_id, phase, any_value(tenant) AS tenant, min(occurred_at) AS occurred_at,
        arg_min(source, occurred_at) AS source,
        -- dated by the partner's evidence; without a date the hub records the phase at its first sight of it
        arg_min(occurred_at <> recorded_at, occurred_at) AS dated
    FROM journey_events GROUP BY dossier_id, phase
    ) e JOIN phases p USING (phase) SEMI JOIN s_dossier d ON d.id = e.dossier_id;
-- one window pass: a phase is entered at the latest evidence up to it (monotone along the phase order) and left
-- when the next phase it reached was entered, i.e. at the latest evidence up to and including that next phase
CREATE TEMP TABLE transitions AS
    WITH w AS (
        SELECT *,
            max(occurred_at) OVER (w ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS entered_at,
            max(occurred_at) OVER (w ROWS BETWEEN UNBOUNDED PRECEDING AND 1 FOLLOWING) AS upto_next,
            lead(phase) OVER w AS next_phase, lead(occurred_at) OVER w AS next_occurred,
            lead(dated) OVER w AS next_dated
        FROM ev WINDOW w AS (PARTITION BY dossier_id ORDER BY phase_order)
    )
    SELECT tenant, dossier_id, phase, phase_order, occurred_at, source, dated, entered_at,
        CASE WHEN next_phase IS NOT NULL THEN upto_next END AS left_at, next_phase,
        dated AND entered_at = occurred_at AND coalesce(next_dated AND upto_next = next_occurred, false)
            AS exact_duration
    FROM w;
CREATE TEMP TABLE last_progress AS SELECT dossier_id, max(occurred_at) AS last_at FROM ev
    WHERE phase NOT IN ('done', 'stopped') GROUP BY dossier_id;
-- a coach visit planned after now is progress, not a stall (as hub/journey.py's visits_ahead): a visit in an
-- appointment-made status with its date ahead, or an appointment ahead (not cleared) on the resident's dwelling file
CREATE TEMP TABLE visit_ahead AS
    SELECT d.id AS dossier_id FROM s_action a CROSS JOIN journey_rules jr
    JOIN s_opportunity o ON o.id = a.opportunity_id JOIN s_dossier d ON d.intake_id = o.intake_id
    JOIN tenant_rules tr ON tr.tenant = d.tenant
    WHERE a.kind = 'visit' AND list_contains(jr.visit_made, a.status) AND a.date_planned > tr.now
    UNION
    SELECT d.id FROM s_appointment p JOIN s_file f ON f.id = p.file_id JOIN s_dwelling w ON w.id = f.dwelling_id
    JOIN s_dossier d ON d.resident_id = w.resident_id JOIN tenant_rules tr ON tr.tenant = d.tenant
    WHERE coalesce(p.status, '') <> 'cleared' AND p.planned_at > tr.now;
""".replace("{account}", ONLINE_ACCOUNT_FIELD).replace("{building}", ONLINE_BUILDING_FIELD)

# --- dimensions -------------------------------------------------------------------------------------------------

TENANTS = Table(
    "tenants",
    "dimension",
    "One row per tenant: a cooperation (NL) or a municipal energy desk (BE).",
    (
        TENANT,
        C("name", "VARCHAR", "The tenant's name."),
        C("country", "VARCHAR", "NL or BE."),
        C("personal_data", "BOOLEAN", "Whether the tenant opted in to personal references in the mart."),
    ),
    ("tenant",),
    "SELECT tenant, name, country, personal_data FROM tenant_rules",
)

CAMPAIGNS = Table(
    "campaigns",
    "dimension",
    "One row per campaign of a tenant (a neighbourhood approach, an energy café, a mailing).",
    (
        CAMPAIGN,
        TENANT,
        C("name", "VARCHAR", "The campaign's name."),
        C("number", "VARCHAR", "The campaign number as the CRM shows it (e.g. C2026-12)."),
        C("kind", "VARCHAR", "The campaign type (door to door, e-mail, internet, energy café, neighbourhood…)."),
        C("status", "VARCHAR", "The campaign's status in the CRM."),
        C("start_date", "DATE", "First day of the campaign."),
        C("end_date", "DATE", "Last day of the campaign."),
    ),
    ("campaign_id",),
    "SELECT id, tenant, name, number, kind, status, start_date, end_date FROM s_campaign",
)

AREAS = Table(
    "areas",
    "dimension",
    "Neighbourhoods the dwellings lie in: the CBS buurt (with wijk and gemeente) for Dutch homes, the "
    "deelgemeente (with the municipality's NIS code) for Flemish ones; a municipality only where no finer area "
    "is known. Derived from the address the partners give (the CRM's shared area) or the registers (BAG, "
    "the Flemish housing passport). The 4-digit postcode is not an area.",
    (
        C("area_id", "VARCHAR", "The area's code: the neighbourhood code, else the municipality code."),
        C("country", "VARCHAR", "NL or BE."),
        C("level", "VARCHAR", "buurt | deelgemeente | municipality: how fine the area is."),
        C("neighbourhood_code", "VARCHAR", "CBS buurtcode (BU + 8 digits) or the deelgemeente's code."),
        C("neighbourhood_name", "VARCHAR", "The buurt's or deelgemeente's name."),
        C("district_code", "VARCHAR", "CBS wijkcode (WK + 6 digits); empty for Flanders."),
        C("district_name", "VARCHAR", "The wijk's name where known."),
        C("municipality_code", "VARCHAR", "CBS gemeentecode (GM + 4 digits) or NIS code (5 digits)."),
        C("municipality_name", "VARCHAR", "The municipality's name."),
        C("source", "VARCHAR", "The partner the area came from."),
    ),
    ("area_id",),
    """
    SELECT area_id, any_value(country), any_value(level), any_value(neighbourhood_code),
           any_value(neighbourhood_name), any_value(district_code), any_value(district_name),
           any_value(municipality_code), any_value(municipality_name), any_value(source)
    FROM dwelling_area WHERE area_id IS NOT NULL GROUP BY area_id
    """,
)

COACHES = Table(
    "coaches",
    "dimension",
    "Energy coaches and organisations that make visits, pseudonymised per tenant.",
    (
        C("coach_ref", "VARCHAR", "Keyed pseudonym of the coach (stable per tenant while the key stays)."),
        TENANT,
        C("is_coach", "BOOLEAN", "A coach (true) or an organisation (false) by the CRM's contact."),
    ),
    ("coach_ref",),
    """
    SELECT DISTINCT p.ref, a.tenant, coalesce(r.is_coach, false)
    FROM (SELECT tenant, coach_id FROM s_action WHERE coach_id IS NOT NULL
          UNION SELECT tenant, coach_id FROM s_appointment WHERE coach_id IS NOT NULL) a
    JOIN pseudonyms p ON p.tenant = a.tenant AND p.id = a.coach_id
    LEFT JOIN s_resident r ON r.id = a.coach_id
    """,
)

MEASURE_CATEGORIES = Table(
    "measure_categories",
    "dimension",
    "Measure categories as the partners name them (the CRM's maatregelcategorieën, the woonplan's advice "
    "categories, the premium portals' categories), one row per name.",
    (
        C("category", "VARCHAR", "The category's name."),
        C("used_in", "VARCHAR", "Where it occurs: kansen, advice, premiums, invoices (comma separated)."),
    ),
    ("category",),
    """
    SELECT category, string_agg(DISTINCT used_in, ', ' ORDER BY used_in) FROM (
        SELECT measure_category AS category, 'kansen' AS used_in FROM s_opportunity
        UNION ALL SELECT category, 'advice' FROM s_advice
        UNION ALL SELECT category, 'premiums' FROM s_premium
        UNION ALL SELECT category, 'invoices' FROM s_invoice
    ) WHERE category IS NOT NULL GROUP BY category
    """,
)

PHASES = Table(
    "phases",
    "dimension",
    "The journey phases (klantreis) in their order; stopped is outside the order.",
    (
        C("phase", "VARCHAR", "interest, contact, advice, financing, quotation, execution, done, stopped."),
        C("phase_order", "SMALLINT", "1…7 along the journey; 99 for stopped."),
        C("label", "VARCHAR", "The phase as coordinators name it (Dutch in brackets)."),
    ),
    ("phase",),
    "SELECT phase, phase_order, label FROM phases",
)

DATES = Table(
    "dates",
    "dimension",
    "One row per day from the earliest to the latest day any fact names (for PowerBI's date relations).",
    (
        C("date", "DATE", "The day."),
        C("year", "INTEGER", "Calendar year."),
        C("quarter", "INTEGER", "Quarter 1…4."),
        C("month", "INTEGER", "Month 1…12."),
        C("month_start", "DATE", "First day of the month (group by this for monthly figures)."),
        C("iso_week", "INTEGER", "ISO week number."),
        C("weekday", "INTEGER", "ISO day of the week, 1 = Monday."),
    ),
    ("date",),
    """
    SELECT d::DATE, year(d), quarter(d), month(d), date_trunc('month', d)::DATE, weekofyear(d), isodow(d)
    FROM (SELECT min(x) AS lo, max(x) AS hi FROM all_days) b,
         LATERAL (SELECT unnest(generate_series(b.lo, b.hi, INTERVAL 1 DAY)) AS d) g
    WHERE b.lo IS NOT NULL
    """,
)

# --- facts ------------------------------------------------------------------------------------------------------

DOSSIERS = Table(
    "dossiers",
    "fact",
    "One row per dossier: a resident's journey in one campaign, with its current phase and what the analyst "
    "questions need about it. A dossier whose intake was deleted at the source is retired (not here; counted "
    "in `mart_meta.retired_dossiers`).",
    (
        DOSSIER,
        TENANT,
        CAMPAIGN,
        C("campaign_name", "VARCHAR", "The campaign's name; '(geen campagne)' when the dossier has none."),
        C("area_id", "VARCHAR", "The dwelling's area (`areas.area_id`); empty when no partner gave one."),
        C("resident_ref", "VARCHAR", "Keyed pseudonym of the resident (the resident id for opted-in tenants)."),
        C("postcode_area", "VARCHAR", "The 4-digit postcode (a postal area, not a neighbourhood)."),
        C("phase", "VARCHAR", "The phase the dossier is in now (`phases.phase`)."),
        C("phase_order", "SMALLINT", "That phase's order (99 for stopped)."),
        C("phase_since", "TIMESTAMP", "Since when the dossier is in that phase."),
        C("opened_at", "TIMESTAMP", "When the resident signed up (the intake was made)."),
        C("stop_reason", "VARCHAR", "Why a stopped dossier stopped, where the hub knows."),
        C("channel", "VARCHAR", "The sign-up channel: web_form, event, phone, energy_desk, campaign_letter, other."),
        C("sources", "VARCHAR", "The sign-up sources as the CRM names them (comma separated)."),
        C("online_dossier", "VARCHAR", "The online dwelling dossier: none, registered, active (filled in a scan)."),
        C(
            "stalled",
            "BOOLEAN",
            "No progress for longer than the tenant's follow-up rule allows (not done or stopped, and no coach visit "
            "planned ahead: waiting for a booked visit is progress).",
        ),
        C("stalled_days", "INTEGER", "Days since the dossier's last progress, for stalled dossiers."),
        C("energy_label", "VARCHAR", "The dwelling's energy label now (its dwelling file's)."),
        C("label_before", "VARCHAR", "The label of the newest certificate issued on or before the sign-up."),
        C("label_before_on", "DATE", "When that certificate was issued."),
        C("label_after", "VARCHAR", "For dossiers in execution or done: the newest certificate issued after sign-up."),
        C("label_after_on", "DATE", "When that certificate was issued."),
        C("obligation_deadline", "DATE", "The dwelling's renovation obligation deadline, if any (Flanders)."),
        C("obligation_met", "BOOLEAN", "Whether that obligation is met."),
    ),
    ("dossier_id",),
    """
    WITH files AS (
        SELECT dwelling_id, any_value(energy_label) FILTER (WHERE energy_label IS NOT NULL) AS energy_label,
               bool_or(scans_filled) AS scans_filled, bool_or(online_building) AS online_building
        FROM s_file GROUP BY dwelling_id
    ), certs AS (
        SELECT d.id AS dossier_id,
               arg_max(c.label, c.issued_on) FILTER (WHERE c.issued_on <= d.opened_at::DATE) AS label_before,
               max(c.issued_on) FILTER (WHERE c.issued_on <= d.opened_at::DATE) AS label_before_on,
               arg_max(c.label, c.issued_on) FILTER (WHERE c.issued_on > d.opened_at::DATE) AS label_after,
               max(c.issued_on) FILTER (WHERE c.issued_on > d.opened_at::DATE) AS label_after_on
        FROM s_dossier d JOIN s_certificate c ON c.dwelling_id = d.dwelling_id
        WHERE c.label IS NOT NULL AND c.issued_on IS NOT NULL GROUP BY d.id
    ), first_event AS (
        SELECT dossier_id, phase, entered_at FROM transitions
    )
    SELECT d.id, d.tenant, d.campaign_id, coalesce(cp.name, '(geen campagne)'), da.area_id, pr.ref,
           CASE WHEN w.postcode IS NOT NULL THEN nullif(left(regexp_replace(w.postcode, '\\s', '', 'g'), 4), '') END,
           d.phase, ph.phase_order, coalesce(d.phase_since, fe.entered_at), d.opened_at, d.stop_reason,
           coalesce(i.channel, 'other'), nullif(i.sources, ''),
           CASE WHEN coalesce(f.scans_filled, false) THEN 'active'
                WHEN coalesce(r.online_account, false) OR coalesce(f.online_building, false) THEN 'registered'
                ELSE 'none' END,
           coalesce(lp.last_at < tr.now - to_days(tr.after_days) AND d.phase NOT IN ('done', 'stopped')
                    AND va.dossier_id IS NULL, false),
           CASE WHEN lp.last_at < tr.now - to_days(tr.after_days) AND d.phase NOT IN ('done', 'stopped')
                     AND va.dossier_id IS NULL
                THEN date_diff('day', lp.last_at, tr.now) END,
           f.energy_label, ce.label_before, ce.label_before_on,
           CASE WHEN d.phase IN ('execution', 'done') THEN ce.label_after END,
           CASE WHEN d.phase IN ('execution', 'done') THEN ce.label_after_on END,
           dt(d.obligation->>'deadline'), TRY_CAST(d.obligation->>'met' AS BOOLEAN)
    FROM s_dossier d
    JOIN tenant_rules tr ON tr.tenant = d.tenant
    JOIN phases ph ON ph.phase = d.phase
    LEFT JOIN s_campaign cp ON cp.id = d.campaign_id
    LEFT JOIN s_dwelling w ON w.id = d.dwelling_id
    LEFT JOIN dwelling_area da ON da.dwelling_id = d.dwelling_id
    LEFT JOIN pseudonyms pr ON pr.tenant = d.tenant AND pr.id = d.resident_id
    LEFT JOIN s_intake i ON i.id = d.intake_id
    LEFT JOIN s_resident r ON r.id = d.resident_id
    LEFT JOIN files f ON f.dwelling_id = d.dwelling_id
    LEFT JOIN certs ce ON ce.dossier_id = d.id
    LEFT JOIN last_progress lp ON lp.dossier_id = d.id
    LEFT JOIN visit_ahead va ON va.dossier_id = d.id
    LEFT JOIN first_event fe ON fe.dossier_id = d.id AND fe.phase = d.phase
    """,
)

TRANSITIONS = Table(
    "journey_transitions",
    "fact",
    "One row per phase a dossier went through: when it entered and when it left (for the next phase it "
    "reached). Entered times are the partner evidence's dates, made monotone along the phase order (a later "
    "phase never starts before an earlier one), so durations are exact and never negative. The dossier's "
    "current phase has no `left_at`.",
    (
        DOSSIER,
        TENANT,
        CAMPAIGN,
        C("area_id", "VARCHAR", "The dossier's area (`areas.area_id`)."),
        C("phase", "VARCHAR", "The phase (`phases.phase`)."),
        C("phase_order", "SMALLINT", "Its order."),
        C("entered_at", "TIMESTAMP", "When the dossier entered the phase."),
        C("left_at", "TIMESTAMP", "When it entered the next phase it reached; empty while it is in this one."),
        C("next_phase", "VARCHAR", "The next phase it reached (a dossier may skip phases)."),
        C("days_in_phase", "DOUBLE", "left_at − entered_at in days (never negative); empty while in the phase."),
        C(
            "exact_duration",
            "BOOLEAN",
            "Both ends are dates from the partners' evidence (not the hub's first sight of a phase that came "
            "without a date, nor moved by the monotone rule): use these for durations.",
        ),
        C("source", "VARCHAR", "The partner whose evidence first showed the phase."),
        C(
            "evidence_at",
            "TIMESTAMP",
            "The date the evidence gives for the phase, as recorded (before the monotone rule; the hub's first "
            "sight when the partner gives none).",
        ),
    ),
    ("dossier_id", "phase"),
    """
    SELECT t.dossier_id, t.tenant, d.campaign_id, da.area_id, t.phase, t.phase_order, t.entered_at, t.left_at,
           t.next_phase, date_diff('second', t.entered_at, t.left_at) / 86400.0, t.exact_duration, t.source,
           t.occurred_at
    FROM transitions t JOIN s_dossier d ON d.id = t.dossier_id
    LEFT JOIN dwelling_area da ON da.dwelling_id = d.dwelling_id
    """,
)

EVENTS = Table(
    "journey_events",
    "view",
    "The raw evidence behind the transitions: one row per phase a dossier reached, with the date the partner "
    "data gives for it (the hub's first sight when the partner gives none), as recorded (a view on "
    "journey_transitions).",
    (
        DOSSIER,
        TENANT,
        C("phase", "VARCHAR", "The phase."),
        C("phase_order", "SMALLINT", "Its order."),
        C("occurred_at", "TIMESTAMP", "When the evidence says it happened."),
        C("source", "VARCHAR", "The partner whose evidence showed it."),
    ),
    ("dossier_id", "phase"),
    "SELECT dossier_id, tenant, phase, phase_order, evidence_at AS occurred_at, source FROM journey_transitions",
)

ACTIONS = Table(
    "actions",
    "fact",
    "One row per action on a dossier: visits, quotation requests and subsidy requests (the CRM's kansacties) and "
    "appointments in the online dossier, with the coach and the outcome.",
    (
        C("action_id", "VARCHAR", "The hub's id of the action."),
        TENANT,
        DOSSIER,
        CAMPAIGN,
        C("kind", "VARCHAR", "visit | quotation-request | subsidy-request | redirection | appointment."),
        C("status", "VARCHAR", "The partner's status code."),
        C(
            "outcome",
            "VARCHAR",
            "planned | done (visits, appointments); active | executed (quotation requests); "
            "requested | rejected (subsidy requests); other.",
        ),
        C("coach_ref", "VARCHAR", "The coach or organisation (`coaches.coach_ref`)."),
        C("measure_category", "VARCHAR", "The kans's measure category."),
        C("planned_at", "TIMESTAMP", "The appointment's date (visits, appointments)."),
        C("done_at", "TIMESTAMP", "When it was done: the visit recorded, the quotation request executed."),
        C("created_at", "TIMESTAMP", "When the action was made."),
        C("month", "DATE", "The month it counts in: of done_at, else planned_at, else created_at."),
    ),
    ("action_id",),
    """
    WITH a AS (
        SELECT a.id, a.tenant, d.id AS dossier_id, d.campaign_id, a.kind, a.status,
            CASE
              WHEN a.kind = 'visit' AND (list_contains(jr.visit_done, a.status) OR a.date_recorded IS NOT NULL)
                THEN 'done'
              WHEN a.kind = 'visit' AND (list_contains(jr.visit_made, a.status) OR a.date_planned IS NOT NULL)
                THEN 'planned'
              WHEN a.kind = 'quotation-request' AND list_contains(jr.quotation_executed, a.status) THEN 'executed'
              WHEN a.kind = 'quotation-request' AND list_contains(jr.quotation_active, a.status) THEN 'active'
              WHEN a.kind = 'subsidy-request' AND list_contains(jr.subsidy_rejected, a.status) THEN 'rejected'
              WHEN a.kind = 'subsidy-request' THEN 'requested'
              ELSE 'other' END AS outcome,
            a.coach_id, o.measure_category, a.date_planned AS planned_at,
            coalesce(a.date_recorded, CAST(a.date_executed AS TIMESTAMP)) AS done_at, a.created_at
        FROM s_action a CROSS JOIN journey_rules jr
        JOIN s_opportunity o ON o.id = a.opportunity_id
        JOIN s_dossier d ON d.intake_id = o.intake_id
        UNION ALL
        SELECT p.id, p.tenant, dd.dossier_id, d.campaign_id, 'appointment', p.status,
            CASE WHEN p.status IN ('done', 'held', 'completed') THEN 'done'
                 WHEN p.planned_at IS NOT NULL THEN 'planned' ELSE 'other' END,
            p.coach_id, NULL, p.planned_at, CASE WHEN p.status IN ('done', 'held', 'completed') THEN p.planned_at END,
            NULL
        FROM s_appointment p JOIN s_file f ON f.id = p.file_id
        JOIN dwelling_dossier dd ON dd.dwelling_id = f.dwelling_id JOIN s_dossier d ON d.id = dd.dossier_id
    )
    SELECT a.id, a.tenant, a.dossier_id, a.campaign_id, a.kind, a.status, a.outcome, pc.ref, a.measure_category,
           a.planned_at, a.done_at, a.created_at,
           date_trunc('month', coalesce(a.done_at, a.planned_at, a.created_at))::DATE
    FROM a LEFT JOIN pseudonyms pc ON pc.tenant = a.tenant AND pc.id = a.coach_id
    """,
)

ADVISED = Table(
    "advised_measures",
    "fact",
    "One row per measure advised in a dwelling's woonplan, with its expected yearly savings (the dwelling's "
    "newest dossier).",
    (
        C("advice_id", "VARCHAR", "The hub's id of the advice."),
        TENANT,
        DOSSIER,
        CAMPAIGN,
        C("measure", "VARCHAR", "The advised measure's code."),
        C("name", "VARCHAR", "Its name."),
        C("category", "VARCHAR", "Its category (`measure_categories.category`)."),
        C("execute_self", "BOOLEAN", "The resident plans to do it themselves."),
        C("quantity", "DOUBLE", "How much (e.g. m² of insulation)."),
        C("quantity_unit", "VARCHAR", "The unit of the quantity."),
        C("savings_gas_m3", "DOUBLE", "Expected gas saving per year, m³."),
        C("savings_electricity_kwh", "DOUBLE", "Expected electricity saving per year, kWh."),
        C("savings_co2_kg", "DOUBLE", "Expected CO₂ saving per year, kg."),
    ),
    ("advice_id",),
    """
    SELECT a.id, a.tenant, dd.dossier_id, d.campaign_id, a.measure, a.name, a.category, a.execute_self, a.quantity,
           a.quantity_unit, a.savings_gas_m3, a.savings_electricity_kwh, a.savings_co2_kg
    FROM s_advice a JOIN s_file f ON f.id = a.file_id
    LEFT JOIN dwelling_dossier dd ON dd.dwelling_id = f.dwelling_id LEFT JOIN s_dossier d ON d.id = dd.dossier_id
    """,
)

EXECUTED = Table(
    "executed_measures",
    "fact",
    "One row per measure carried out: a kans the CRM closed as executed, or an invoice of works (a desk "
    "without a CRM; advance invoices excluded).",
    (
        C("measure_id", "VARCHAR", "The hub's id of the kans or invoice."),
        TENANT,
        DOSSIER,
        CAMPAIGN,
        C("measure_category", "VARCHAR", "The measure category."),
        C("measures", "VARCHAR", "The measures (comma separated)."),
        C("executed_on", "DATE", "When it was executed, where a partner gives the day."),
        C("evidence", "VARCHAR", "kans | invoice: what shows it was carried out."),
    ),
    ("measure_id",),
    """
    SELECT o.id, o.tenant, d.id, d.campaign_id, o.measure_category, nullif(o.measures, ''),
           (SELECT max(a.date_executed) FROM s_action a WHERE a.opportunity_id = o.id), 'kans'
    FROM s_opportunity o CROSS JOIN journey_rules jr JOIN s_dossier d ON d.intake_id = o.intake_id
    WHERE list_contains(jr.opportunity_executed, o.status)
    UNION ALL
    SELECT v.id, v.tenant, d.id, d.campaign_id, v.category, v.measure, v.executed_on, 'invoice'
    FROM s_invoice v JOIN s_dossier d ON d.intake_id = v.intake_id WHERE NOT v.is_advance
    """,
)

PREMIUMS = Table(
    "premium_applications",
    "fact",
    "One row per premium application and category of works (regeling MVP_VL: Mijn VerbouwPremie; ISDE_NL): "
    "status, amounts requested, granted and paid, the portal's reason codes, the share of fields the hub "
    "prefilled, and the dates. refused_by_hub: a refusal the hub foresaw, never sent.",
    (
        C("application_id", "VARCHAR", "The hub's id of the application."),
        TENANT,
        DOSSIER,
        CAMPAIGN,
        C("scheme", "VARCHAR", "The regeling: MVP_VL or ISDE_NL."),
        C("category", "VARCHAR", "The portal's category of works."),
        C("status", "VARCHAR", "planned, submitted, more_documents, granted, refused, paid, refused_by_hub…"),
        C("amount_requested", "DOUBLE", "Euros asked for."),
        C("amount_granted", "DOUBLE", "Euros granted."),
        C("amount_paid", "DOUBLE", "Euros paid out."),
        C("reason_codes", "VARCHAR", "The portal's reason codes (comma separated)."),
        C("prefilled_share", "DOUBLE", "Share (0…1) of the application's fields the hub filled from known data."),
        C("submitted_on", "DATE", "Day submitted."),
        C("decided_on", "DATE", "Day decided."),
        C("paid_on", "DATE", "Day paid."),
        C("appeal_until", "DATE", "Last day for an appeal."),
    ),
    ("application_id",),
    """
    SELECT p.id, p.tenant, p.dossier_id, d.campaign_id, p.scheme, p.category, p.status, p.amount_requested,
           p.amount_granted, p.amount_paid, nullif(p.reason_codes, ''), p.prefilled_share, p.submitted_on,
           p.decided_on, p.paid_on, p.appeal_until
    FROM s_premium p LEFT JOIN s_dossier_all d ON d.id = p.dossier_id
    WHERE coalesce(d.stop_reason, '') <> 'deleted_in_source'
    """,
)

CERTIFICATES = Table(
    "energy_certificates",
    "fact",
    "One row per energy certificate of a dwelling (the EPC of the Flemish housing passport, EP-Online registrations in "
    "the Netherlands), current and historic, tied to the dwelling's newest dossier.",
    (
        C("certificate_id", "VARCHAR", "The hub's id of the certificate."),
        TENANT,
        DOSSIER,
        CAMPAIGN,
        C("label", "VARCHAR", "The energy label (A++++ … G)."),
        C("label_rank", "SMALLINT", "The label's rank, 1 = best (A++++), 11 = worst (G)."),
        C("score_kwh_m2_year", "DOUBLE", "The primary energy score, kWh/m²·year, where given."),
        C("issued_on", "DATE", "Day issued (registered)."),
        C("valid_until", "DATE", "Last day valid."),
        C("status", "VARCHAR", "valid | replaced | expired."),
        C("current", "BOOLEAN", "The one that stands now."),
    ),
    ("certificate_id",),
    """
    SELECT c.id, c.tenant, dd.dossier_id, d.campaign_id, c.label, lr.rank, c.score_kwh_m2_year, c.issued_on,
           c.valid_until, c.status, c."current"
    FROM s_certificate c LEFT JOIN dwelling_dossier dd ON dd.dwelling_id = c.dwelling_id
    LEFT JOIN s_dossier d ON d.id = dd.dossier_id LEFT JOIN label_ranks lr ON lr.label = c.label
    """,
)

FOLLOW_UPS = Table(
    "follow_ups",
    "fact",
    "One row per follow-up: the hub's own tasks for the coordinator (no CRM, a renovation deadline, a doubtful "
    "address join) and the follow-ups it planned in a partner for stalled dossiers, with their outcome.",
    (
        C("follow_up_id", "VARCHAR", "The hub's id of the task, or the outbox key of a stalled-dossier follow-up."),
        TENANT,
        DOSSIER,
        C("kind", "VARCHAR", "stalled (a stalled dossier's follow-up in a partner) or the hub task's kind."),
        C("reason", "VARCHAR", "Why, for the coordinator (no personal data)."),
        C("phase", "VARCHAR", "For stalled: the phase the dossier stalled in."),
        C("channel", "VARCHAR", "Where the follow-up lives: hub (the hub's list) or the partner it was pushed to."),
        C("status", "VARCHAR", "open | done (hub tasks); queued | sent | failed … (the partner push)."),
        C(
            "outcome",
            "VARCHAR",
            "Stalled follow-ups: moved_on (the dossier reached a later phase after it), stopped, handled (the "
            "coordinator dealt with the task in the partner, the dossier has not moved yet), waiting. Hub tasks: "
            "open or done.",
        ),
        C("due_on", "DATE", "When the task is due."),
        C("raised_at", "TIMESTAMP", "When the hub raised it."),
        C("sent_at", "TIMESTAMP", "When the partner accepted it (stalled follow-ups)."),
    ),
    ("follow_up_id",),
    """
    WITH stall AS (
        SELECT o.tenant, o.partner, o.idempotency_key, o.status, o.created_at, o.sent_at,
               regexp_extract(o.idempotency_key, 'stalled:([0-9a-f-]+):([a-z]+)', 1) AS dossier_id,
               regexp_extract(o.idempotency_key, 'stalled:([0-9a-f-]+):([a-z]+)', 2) AS phase
        FROM stall_outbox o
    ), handled AS (
        -- the coordinator acted on it: the follow-up action on the dossier's kansen left the status it was made in
        SELECT s.idempotency_key, bool_or(a.status <> tr.follow_up_status) AS handled
        FROM stall s JOIN tenant_rules tr ON tr.tenant = s.tenant
        JOIN s_dossier d ON d.id = s.dossier_id
        JOIN s_opportunity o ON o.intake_id = d.intake_id
        JOIN s_action a ON a.opportunity_id = o.id AND a.kind = tr.follow_up_action
             AND coalesce(a.created_at, s.created_at) >= s.created_at - INTERVAL 1 DAY
        GROUP BY 1
    )
    SELECT f.id, f.tenant, f.dossier_id, f.kind, f.reason, NULL, 'hub', f.status, f.status, f.due_on, f.raised_at,
           NULL
    FROM s_follow_up f LEFT JOIN s_dossier_all d ON d.id = f.dossier_id
    WHERE coalesce(d.stop_reason, '') <> 'deleted_in_source'
    UNION ALL
    SELECT s.idempotency_key, s.tenant, s.dossier_id, 'stalled',
           'no progress in phase ' || s.phase, s.phase, s.partner, s.status,
           CASE WHEN EXISTS (SELECT 1 FROM transitions t JOIN phases p ON p.phase = s.phase
                             WHERE t.dossier_id = s.dossier_id AND t.phase_order > p.phase_order
                               AND t.phase <> 'stopped' AND t.entered_at >= s.created_at) THEN 'moved_on'
                WHEN d.phase = 'stopped' THEN 'stopped'
                WHEN coalesce(h.handled, false) THEN 'handled'
                ELSE 'waiting' END,
           NULL, s.created_at, s.sent_at
    FROM stall s JOIN s_dossier d ON d.id = s.dossier_id
    LEFT JOIN handled h ON h.idempotency_key = s.idempotency_key
    """,
)

CONSENTS = Table(
    "consents",
    "fact",
    "Residents per tenant, purpose and partner whose standing consent is granted or withdrawn (counts only).",
    (
        TENANT,
        C("purpose", "VARCHAR", "What the consent is for (e.g. share with a partner, apply for a premium)."),
        C("partner", "VARCHAR", "The partner it concerns."),
        C("granted", "BOOLEAN", "Granted (true) or withdrawn (false)."),
        C("residents", "BIGINT", "How many residents."),
    ),
    ("tenant", "purpose", "partner", "granted"),
    "SELECT tenant, purpose, partner, granted, residents FROM consent_counts",
)

META = Table(
    "mart_meta",
    "meta",
    "One row per tenant: when this mart file was built, from which store version, and how fresh each tenant's "
    "data is (the last successful sync of every partner it pulls from).",
    (
        TENANT,
        C("built_at", "TIMESTAMP", "When the mart was built (UTC)."),
        C("store_version", "VARCHAR", "The state store's schema revision (Alembic)."),
        C("store_dialect", "VARCHAR", "sqlite or postgresql."),
        C("oldest_sync", "TIMESTAMP", "The oldest of the tenant's partners' last successful syncs."),
        C("age_hours", "DOUBLE", "Hours from that sync to built_at."),
        C("fresh_within_hours", "DOUBLE", "The tenant's freshness limit."),
        C("fresh", "BOOLEAN", "Every partner synced within the limit."),
        C("freshness", "VARCHAR", "Per partner: partner=last sync (ISO), comma separated."),
        C("dossiers", "BIGINT", "Dossiers in this mart for the tenant."),
        C("retired_dossiers", "BIGINT", "Dossiers left out because their intake was deleted at the source."),
    ),
    ("tenant",),
    """
    SELECT m.tenant, m.built_at, m.store_version, m.store_dialect, m.oldest_sync, m.age_hours,
           m.fresh_within_hours, m.fresh, m.freshness,
           (SELECT count(*) FROM s_dossier d WHERE d.tenant = m.tenant),
           (SELECT count(*) FROM s_dossier_all d WHERE d.tenant = m.tenant AND d.stop_reason = 'deleted_in_source')
    FROM meta_input m
    """,
)

TABLES: tuple[Table, ...] = (
    TENANTS,
    CAMPAIGNS,
    AREAS,
    COACHES,
    MEASURE_CATEGORIES,
    PHASES,
    DOSSIERS,
    TRANSITIONS,
    ACTIONS,
    ADVISED,
    EXECUTED,
    PREMIUMS,
    CERTIFICATES,
    FOLLOW_UPS,
    CONSENTS,
    DATES,
    META,
)

# --- views ------------------------------------------------------------------------------------------------------

FUNNEL = Table(
    "funnel",
    "view",
    "Per tenant and campaign and phase: the dossiers that went through the phase (entered it, whatever "
    "they did next) and those in it now. `dossiers_through` of a later phase is never larger than of an "
    "earlier one only if no dossier skips phases: a dossier may skip (a visit without a contact date).",
    (
        TENANT,
        CAMPAIGN,
        C("campaign_name", "VARCHAR", "The campaign's name."),
        C("phase", "VARCHAR", "The phase."),
        C("phase_order", "SMALLINT", "Its order."),
        C("dossiers_now", "BIGINT", "Dossiers in this phase now."),
        C("dossiers_through", "BIGINT", "Dossiers that went through this phase."),
    ),
    ("tenant", "campaign_id", "phase"),
    """
    WITH scope AS (SELECT DISTINCT tenant, campaign_id, campaign_name FROM dossiers)
    SELECT s.tenant, s.campaign_id, s.campaign_name, p.phase, p.phase_order,
           (SELECT count(*) FROM dossiers d WHERE d.tenant = s.tenant
              AND d.campaign_id IS NOT DISTINCT FROM s.campaign_id AND d.phase = p.phase) AS dossiers_now,
           (SELECT count(*) FROM journey_transitions t WHERE t.tenant = s.tenant
              AND t.campaign_id IS NOT DISTINCT FROM s.campaign_id AND t.phase = p.phase) AS dossiers_through
    FROM scope s CROSS JOIN phases p
    ORDER BY s.tenant, s.campaign_name, p.phase_order
    """,
)

VIEWS: tuple[Table, ...] = (FUNNEL, EVENTS)
