"""How Hoomdossier's answers land in Econobis' housing file (§1.9): the `housing_file_hoom_links` seed (Hoom
short name → column, data type, import flag) and the conversion of an answer to the column's value."""

from __future__ import annotations

from typing import Any

from connectors.econobis.sandbox.db import SandboxDB
from connectors.econobis.sandbox.webforms import PhpError

# housing_file_hoom_links seed (§1.9): short name → (econobis field, data type, import_from_hoom)
HOOM_LINKS: list[tuple[str, str, str, bool]] = [
    ("surface", "surface", "B", True),
    ("roof-type", "roof_type_id", "B", True),
    ("building-layers", "floors", "B", True),
    ("wall-surface", "wall_surface", "B", True),
    ("total-window-surface", "total_window_surface", "B", True),
    ("frame-type", "frame_type", "B", True),
    ("floor-surface", "floor_surface", "B", True),
    ("pitched-roof-surface", "pitched_roof_surface", "B", True),
    ("flat-roof-surface", "flat_roof_surface", "B", True),
    ("cook-type", "cook_type", "B", True),
    ("heat-source", "heat_source", "B", True),
    ("monument", "is_monument", "B", True),
    ("building-contract-type", "is_house_for_sale", "B", True),
    ("energy-label", "energy_label_id", "B", True),
    ("building-type-category", "building_type_id", "B", True),
    ("build-year", "build_year", "B", True),
    ("water-comfort", "water_comfort", "B", True),
    ("energy-label-status", "energy_label_status_id", "B", False),
    ("revenue-solar-panels", "revenue_solar_panels", "B", False),
    ("woz_value", "woz_value", "B", False),
    ("pitched-roof-heating", "pitched_roof_heating", "G", True),
    ("flat-roof-heating", "flat_roof_heating", "G", True),
    ("hr3p-glass-frame-current-glass", "hr3p_glass_frame_current_glass", "G", True),
    ("glass-in-lead-replace-rooms-heated", "glass_in_lead_replace_rooms_heated", "G", True),
    ("resident-count", "number_of_residents", "G", True),
    ("boiler-setting-comfort-heat", "boiler_setting_comfort_heat", "G", True),
    ("amount-gas", "amount_gas", "G", True),
    ("amount-electricity", "amount_electricity", "G", True),
    *[
        (short, "", "W", True)
        for short in (
            "current-wall-insulation",
            "current-floor-insulation",
            "current-roof-insulation",
            "current-living-rooms-windows",
            "current-sleeping-rooms-windows",
            "heat-source-warm-tap-water",
            "building-heating-application",
            "ventilation-type",
            "crack-sealing-type",
            "has-cavity-wall",
            "has-solar-panels",
        )
    ],
]
# Hoom answer value → Econobis lookup id (fresh ids; `external_hoom_id` columns)
HOOM_IDS = {
    "building_type_id": {"3": 1, "2": 2, "5": 3, "1": 4, "4": 8},
    "roof_type_id": {"1": 1, "2": 3, "3": 4, "6": 5, "4": 6, "5": 7},
    "energy_label_id": {"1": 4, "2": 5, "3": 6, "4": 7, "5": 8, "6": 9, "7": 10, "8": 11},
}
UNKNOWN_ID = {"building_type_id": 9, "roof_type_id": 8, "energy_label_id": 11}
INT_COLUMNS = frozenset({"build_year", "floors", "number_of_residents", "revenue_solar_panels"})
FLOAT_COLUMNS = frozenset({"surface", "woz_value"})


def seed_hoom_links(db: SandboxDB) -> None:
    """The rows a fresh Econobis has; `gebruik` adds one (not imported) per unknown short name."""
    for short, col, kind, imported in HOOM_LINKS:
        db.insert(
            "housing_file_hoom_links",
            {
                "external_hoom_short_name": short,
                "econobis_field_name": col or short.replace("-", "_"),
                "housing_file_data_type": kind,
                "label": short,
                "import_from_hoom": imported,
                "visible_in_econobis": True,
            },
        )


def hoom_value(col: str, value: Any, id_shift: int) -> Any:
    """A gebruik answer as the value Econobis stores in housing-file column `col` (lookup ids shifted)."""
    if col in HOOM_IDS:
        return HOOM_IDS[col].get(str(value), UNKNOWN_ID[col]) + id_shift
    if col == "is_monument":
        return {"1": "1", "2": "0"}.get(str(value), "2")
    if col == "is_house_for_sale":
        return {"bought": "1", "rented": "0", "rented-private": "0"}.get(str(value), "2")
    if value is None:
        return None
    if col in INT_COLUMNS:
        try:
            return int(float(str(value)))
        except ValueError:
            raise PhpError(f"SQLSTATE[22007]: Incorrect integer value: '{value}' for column '{col}'") from None
    if col in FLOAT_COLUMNS:
        try:
            return float(str(value))
        except ValueError:
            raise PhpError(f"SQLSTATE[22007]: Incorrect double value: '{value}' for column '{col}'") from None
    return str(value)
