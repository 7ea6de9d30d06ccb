"""The HTML report: one self-contained file per tenant whose charts render in a real (headless) browser with no
console error and no network, an empty answer shown as "no data yet", the funnel as PNG without a browser."""

from __future__ import annotations

import os
from pathlib import Path

import duckdb
import pytest

from connectors.econobis.client import EconobisClient
from connectors.econobis.sync import EconobisPull
from hub.mart import build_mart
from hub.mart.questions import QUESTIONS, Chart, Question
from hub.mart.report import ReportError, funnel_png, write_report
from tests.conftest import require_chromium, sandbox_hub_config

# beside the real questions: the chart kinds and options they may not use yet, and an answer that is empty
EXTRA = (
    Question(
        91,
        "phases-table",
        "Dossiers per phase (table)",
        "SELECT tenant, phase, count(*) AS dossiers FROM dossiers GROUP BY ALL ORDER BY tenant, phase",
        Chart("table", x="phase", y="dossiers"),
    ),
    Question(
        92,
        "phases-faceted",
        "Dossiers per phase, one small chart per campaign",
        "SELECT tenant, campaign_name AS campaign, phase, phase_order, dossiers_now FROM funnel "
        "ORDER BY tenant, campaign, phase_order",
        Chart("bar", x="phase", y="dossiers_now", facet="campaign"),
    ),
    Question(
        93,
        "nothing",
        "A question nobody has answers to yet",
        "SELECT tenant, phase, count(*) AS n FROM dossiers WHERE false GROUP BY ALL",
        Chart("bar", x="phase", y="n"),
        "Always empty.",
    ),
)


@pytest.fixture
def sandbox_mart(store, start_sandbox, tmp_path) -> Path:
    running = start_sandbox(40, throttle_per_minute=100000)
    config = sandbox_hub_config(running)
    for r in running:
        EconobisPull(store, EconobisClient.for_tenant(config.tenant(r.tenant), store), r.tenant).run()
    return build_mart(store, config, tmp_path / "mart").path


def test_each_tenants_report_renders_its_charts_in_chromium_without_errors_or_network(sandbox_mart, tmp_path):
    from playwright.sync_api import sync_playwright

    chromium = require_chromium("the report is not rendered in a browser")
    questions = (*QUESTIONS, *EXTRA)
    written = write_report(sandbox_mart, tmp_path / "reports", questions=questions)
    assert set(written) == {"coop-noord", "coop-zuid"}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(chromium), headless=True)
        try:
            for tenant, path in written.items():
                assert path == tmp_path / "reports" / f"{tenant}.html"
                page = browser.new_page(viewport={"width": 1100, "height": 900})
                problems: list[str] = []
                page.on(
                    "console",
                    lambda m, p=problems: (
                        p.append(f"console {m.type}: {m.text}") if m.type in ("error", "warning") else None
                    ),
                )
                page.on("pageerror", lambda e, p=problems: p.append(f"page error: {e}"))
                outside: list[str] = []

                def offline(route, outside=outside):
                    outside.append(route.request.url)
                    route.abort()

                page.route("http*://**", offline)
                page.goto(path.as_uri())
                charts = page.locator("div.chart")
                page.wait_for_function(
                    "() => [...document.querySelectorAll('div.chart')].every(d => d.querySelector('svg'))",
                    timeout=15000,
                )
                assert problems == [], f"{tenant}: {problems}"
                assert outside == [], f"{tenant}: the report reached out to {outside}"
                sizes = charts.evaluate_all(
                    "ds => ds.map(d => { const r = d.querySelector('svg').getBoundingClientRect();"
                    " return [d.id, r.width, r.height, d.querySelectorAll('svg path, svg rect, svg line').length]; })"
                )
                drawn = [q for q in questions if q.chart.kind != "table"]
                empty = page.locator("section p.empty")
                # the sandbox has no premium applications: that answer (and question 93) say "no data yet"
                assert charts.count() + empty.count() == len(drawn)
                assert page.locator("#q93-nothing p.empty").inner_text() == "no data yet"
                assert page.locator("#q91-phases-table table tbody tr").count() > 0
                for chart_id, width, height, marks in sizes:
                    assert width > 100 and height > 50 and marks > 0, (tenant, chart_id, width, height, marks)
                assert f"Renovation hub — {tenant}" in page.title()
                assert "Mart built " in page.locator("header").inner_text()  # mart_meta.built_at
                if os.environ.get("HUB_REPORT_SCREENSHOT") and tenant == "coop-noord":  # to look at it
                    page.screenshot(path=os.environ["HUB_REPORT_SCREENSHOT"], full_page=True)
                page.close()
        finally:
            browser.close()


def test_report_file_is_self_contained_and_holds_only_that_tenants_rows(sandbox_mart, tmp_path):
    written = write_report(sandbox_mart, tmp_path / "out", tenants=["coop-zuid"])
    assert list(written) == ["coop-zuid"]
    text = written["coop-zuid"].read_text(encoding="utf-8")
    assert "<script src" not in text and "cdn.jsdelivr" not in text
    assert text.count("vegaEmbed(") >= 1 and text.count("// vega-embed") <= 1
    assert "coop-noord" not in text
    png = funnel_png(sandbox_mart, "coop-zuid")
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 2000


def test_header_says_when_the_mart_was_built_when_mart_meta_exists(tmp_path):
    mart = tmp_path / "hub.duckdb"
    con = duckdb.connect(str(mart))
    con.execute("CREATE TABLE mart_meta AS SELECT 'desk' AS tenant, TIMESTAMP '2026-11-30 06:15:00' AS built_at")
    con.execute("CREATE TABLE t AS SELECT 'desk' AS tenant, 'intake' AS phase, 3 AS n")
    con.close()
    q = Question(1, "funnel", "Per phase", "SELECT tenant, phase, n FROM t", Chart("bar", x="phase", y="n"))
    written = write_report(mart, tmp_path / "r", questions=(q,))
    assert "Mart built 2026-11-30 06:15 UTC." in written["desk"].read_text(encoding="utf-8")
    assert funnel_png(mart, "nobody", questions=(q,))[:4] == b"\x89PNG"  # "no data yet", still a picture


def test_missing_mart_and_odd_tenant_ids_are_refused(tmp_path):
    with pytest.raises(ReportError, match="no mart"):
        write_report(tmp_path / "absent.duckdb", tmp_path / "r")
    mart = tmp_path / "hub.duckdb"
    duckdb.connect(str(mart)).close()
    q = Question(1, "x", "x", "SELECT 'a' AS tenant, 1 AS n", Chart("bar", x="n"))
    with pytest.raises(ReportError, match="not a tenant id"):
        write_report(mart, tmp_path / "r", tenants=["../etc"], questions=(q,))


def test_hub_report_writes_every_configured_tenants_file_beside_the_mart_and_prints_the_paths(
    store, tmp_path, monkeypatch, capsys
):
    from app.cli import main
    from hub.config import HubPaths, sandbox_config

    monkeypatch.setenv("HUB_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("HUB_CONFIG", raising=False)
    paths = HubPaths.from_env()
    build_mart(store, sandbox_config(), paths.mart_dir)
    assert main(["report"]) == 0
    printed = capsys.readouterr().out.split()
    tenants = [tc.id for tc in sandbox_config().tenants]
    assert printed == [str(paths.mart_dir / "reports" / f"{t}.html") for t in tenants]
    assert "no data yet" in Path(printed[0]).read_text(encoding="utf-8")  # an empty store: nothing to chart
    assert main(["report", "--tenant", tenants[0], "--out", str(tmp_path / "elsewhere")]) == 0
    assert capsys.readouterr().out.split() == [str(tmp_path / "elsewhere" / f"{tenants[0]}.html")]


def test_mart_report_asset_writes_the_reports_and_shows_each_funnel_in_its_metadata(store, tmp_path, monkeypatch):
    import base64

    from dagster import materialize

    from assets import HubConfigResource, MartResource, mart_report
    from hub.config import sandbox_config

    monkeypatch.delenv("HUB_CONFIG", raising=False)
    build_mart(store, sandbox_config(), tmp_path / "mart")
    res = materialize(
        [mart_report],
        resources={"hub_config": HubConfigResource(), "mart": MartResource(directory=str(tmp_path / "mart"))},
    )
    md = res.asset_materializations_for_node("mart_report")[0].metadata
    tenants = [tc.id for tc in sandbox_config().tenants]
    assert md["reports"].value == len(tenants)
    for t in tenants:
        assert md[f"report_{t}"].value == str(tmp_path / "mart" / "reports" / f"{t}.html")
        assert (tmp_path / "mart" / "reports" / f"{t}.html").exists()
    images = md["funnel"].value.split("data:image/png;base64,")[1:]
    assert len(images) == len(tenants)
    assert all(base64.b64decode(i.split(")")[0])[:4] == b"\x89PNG" for i in images)
