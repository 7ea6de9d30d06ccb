"""The parameter tables and the published rules as pure functions (the hub's pre-check uses them as they are)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from connectors.fluvius import params, rules
from tests.connectors.fluvius.conftest import INSZ, heat_pump_item, isde_body, mvp_body, windows_item


def test_income_category_thresholds_indexed_and_by_capacity() -> None:
    t22, t26 = params.thresholds(2022), params.thresholds(2026)
    assert (t22.single_low, t22.single_mid, t22.couple_low, t22.couple_mid) == (32980, 46170, 46170, 65960)
    assert t26.single_low > t22.single_low and params.thresholds(2040) == t26 and params.thresholds(2010) == t22

    def cat(income: int, dependants: int = 0, kind: str = "alleenstaande", who: str = "eigenaar_bewoner") -> str:
        return params.income_category(2022, Decimal(income), dependants, kind, who)

    assert cat(32980) == "laagste" and cat(32981) == "middelste" and cat(46171) == "hoogste"
    assert cat(46170, 0, "koppel") == "laagste" and cat(60000, 0, "koppel") == "middelste"
    assert cat(46170 + 1, 1) == "middelste"  # a single person with one dependant: the couple bounds
    assert cat(46170 + 3700, 2) == "laagste"  # the second dependant adds €3,700
    assert cat(49870, 1, "koppel") == "laagste"  # a couple's every dependant counts
    assert cat(10**6, who="verhuurder_svk") == "laagste"
    assert cat(1000, who="investeerder") == "hoogste" and cat(1000, who="verhuurder") == "hoogste"


def test_the_submit_date_picks_the_table() -> None:
    item = windows_item(40)
    end_2024 = params.amount("MVP_VL", item, "middelste", date(2024, 12, 31))
    from_2025 = params.amount("MVP_VL", item, "middelste", date(2025, 1, 1))
    assert (end_2024.bedrag, end_2024.plafond_toegepast) == (Decimal("3850.00"), True)
    assert (from_2025.bedrag, from_2025.plafond_toegepast) == (Decimal("2750.00"), True)
    assert end_2024.rate is not None and end_2024.rate.valid_from == date(2024, 1, 1)
    assert params.mvp_rate("hoogste", "ramen_deuren", "raam", date(2025, 6, 1)) is None
    assert params.mvp_rate("middelste", "sanitair", None, date(2025, 6, 1)) is None
    assert params.mvp_rate("laagste", "sanitair", None, date(2025, 6, 1)) is not None


def test_mvp_caps_minimum_and_lump_sum() -> None:
    hp = heat_pump_item()  # €12,000 excl. 6 %: 40 % is €5,088, 50 % €6,360
    assert params.amount("MVP_VL", hp, "laagste", date(2026, 1, 1)).bedrag == Decimal("4800.00")
    cheap = heat_pump_item(facturen=[{"nummer": "1", "datum": "2026-08-01", "bedrag_excl_btw": 5000, "btw_pct": 6}])
    capped = params.amount("MVP_VL", cheap, "middelste", date(2026, 1, 1))
    assert (capped.bedrag, capped.bruto, capped.plafond_toegepast) == (Decimal("2120.00"), Decimal("3000.00"), True)
    roof = mvp_body()["categorieen"][0]
    roof["facturen"][0]["bedrag_excl_btw"] = 999
    assert params.amount("MVP_VL", roof, "laagste", date(2026, 1, 1)).bedrag == 0
    sanitair = {
        "categorie": "sanitair",
        "facturen": [{"nummer": "1", "datum": "2026-01-01", "bedrag_excl_btw": 1000, "btw_pct": 6}],
    }
    assert params.amount("MVP_VL", sanitair, "laagste", date(2026, 1, 1)).bedrag == Decimal("530.00")


def test_isde_measures_doubling_and_older_installations() -> None:
    assert len(params.ISDE_MEASURES) >= 20
    assert {m.categorie for m in params.ISDE_MEASURES.values()} == set(params.ISDE_CATEGORIES)
    roof = isde_body()["categorieen"][0]  # 60 m² × €16.25
    assert params.amount("ISDE_NL", roof, None, date(2026, 1, 1)).bedrag == Decimal("975.00")
    assert params.amount("ISDE_NL", roof, None, date(2026, 1, 1), combined=True).bedrag == Decimal("1950.00")
    big = {**roof, "hoeveelheid": 250, "facturen": [{"bedrag_excl_btw": 99999, "btw_pct": 21}]}
    capped = params.amount("ISDE_NL", big, None, date(2026, 1, 1))
    assert capped.bedrag == Decimal("3250.00") and capped.plafond_toegepast  # 200 m² at most
    glass = {
        "categorie": "isolatieglas",
        "meldcode": "ISO-GLS-01",
        "hoeveelheid": 10,
        "uitvoeringsdatum": "2025-06-01",
        "facturen": [{"bedrag_excl_btw": 3000, "btw_pct": 21}],
    }
    body = isde_body(categorieen=[roof, glass])
    assert [r.bedrag for r in params.amounts(body, date(2026, 1, 1))] == [Decimal("1950.00"), Decimal("460.00")]
    pump = {"categorie": "warmtepomp", "meldcode": "KA10001", "installatiedatum": "2021-12-31", "hoeveelheid": 1}
    pump["facturen"] = [{"bedrag_excl_btw": 9000, "btw_pct": 21}]
    assert params.amount("ISDE_NL", pump, None, date(2023, 1, 1)).bedrag == Decimal("2100.00")
    assert params.amount("ISDE_NL", {**pump, "installatiedatum": "2022-01-01"}, None, date(2023, 1, 1)).bedrag == 2775
    assert params.isde_measure("KA50001", date(2023, 6, 1)) is None  # electric cooking: on the list from 2024


def test_check_rules_and_history_skipped_on_the_hub_side() -> None:
    body = mvp_body(categorieen=[heat_pump_item()])
    history = rules.History((rules.Subsidy("MVP_VL", date(2020, 1, 1), person=INSZ, categorie="warmtepomp"),))
    assert [e.code for e in rules.check(body, date(2026, 11, 2), history)] == ["WARMTEPOMP_10JAAR"]
    assert rules.check(body, date(2026, 11, 2)) == []  # the hub has no history
    old = rules.History((rules.Subsidy("MVP_VL", date(2016, 10, 1), person=INSZ, categorie="warmtepomp"),))
    assert rules.check(body, date(2026, 11, 2), old) == []  # more than 10 years ago
    far = rules.check(body, date(2028, 8, 10))
    assert [(e.code, e.field) for e in far] == [("FACTUUR_TE_OUD", "categorieen[0].facturen[0].datum")]
    assert rules.check(body, date(2028, 8, 3)) == []  # exactly 24 months: still in time


def test_validate_shape() -> None:
    assert rules.validate(mvp_body()) == []
    assert rules.validate({"regeling": "XX"})[0]["name"] == "regeling"
    body = mvp_body()
    del body["inkomen"]
    assert rules.validate(body) == []
    assert [p["name"] for p in rules.validate(body, complete=True)] == ["inkomen"]


def test_missing_documents() -> None:
    body = mvp_body()
    codes = rules.missing_documents(body, [])
    assert [(e.code, e.categorie) for e in codes] == [("DOCUMENT_ONTBREEKT", "dak"), ("DOCUMENT_ONTBREEKT", None)]
    # one category: an untagged invoice counts for it; two categories: it does not
    assert len(rules.missing_documents(body, [{"soort": "factuur"}, {"soort": "aanslagbiljet"}])) == 0
    body["categorieen"].append(windows_item())
    missing = rules.missing_documents(body, [{"soort": "factuur"}, {"soort": "aanslagbiljet"}])
    assert [e.categorie for e in missing] == ["dak", "ramen_deuren"]
    landlord = mvp_body(aanvrager={**mvp_body()["aanvrager"], "hoedanigheid": "verhuurder"})
    assert rules.missing_documents(landlord, [{"soort": "factuur", "categorie": "dak"}]) == []
