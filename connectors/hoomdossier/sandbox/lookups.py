"""Seeded lookup tables of Hoomdossier that the sandbox needs (contracts/hoomdossier.md §3.3-3.8).

Ids follow the seeders' order on a fresh database (production ids may differ). Tool questions are a
representative subset of the ~90 shorts of the gebruik payload, covering every answer form of §2.4: free values,
model-backed choices with and without a short, custom-value choices and multi-selects. Names are the Dutch texts
of the seeders, quirks included (the building-type question keeps its unreplaced `:name` placeholder, the boiler
measure its trailing space)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# --- building statuses (§3.5): id = order + 1 ---------------------------------------------------------------
STATUSES: list[tuple[str, str]] = [
    ("active", "Actief"),
    ("inactive", "Inactief"),
    ("pending", "In afwachting"),
    ("in_progress", "In uitvoering"),
    ("executed", "Uitgevoerd"),
    ("no_execution", "Geen uitvoering"),
]
STATUS_IDS = {short: i + 1 for i, (short, _) in enumerate(STATUSES)}
STATUS_NAMES = dict(STATUSES)

# --- scans (§3.7), seeder order: expert, quick, lite -----------------------------------------------------------
SCANS: dict[str, tuple[int, str]] = {
    "expert-scan": (1, "Expert scan"),
    "quick-scan": (2, "Uitgebreide variant"),
    "lite-scan": (3, "Eenvoudige variant"),
}
DEFAULT_SCANS = ("quick-scan", "lite-scan")

# --- measure applications (§3.8), id = seed position ------------------------------------------------------------
MEASURES: list[tuple[str, str]] = [
    ("floor-insulation", "Vloerisolatie"),
    ("bottom-insulation", "Bodemisolatie"),
    ("floor-insulation-research", "Vloerisolatie, meer info nodig"),
    ("cavity-wall-insulation", "Spouwmuurisolatie"),
    ("facade-wall-insulation", "Binnengevelisolatie"),
    ("wall-insulation-research", "Muurisolatie, meer info nodig"),
    ("glass-in-lead", "Glas-in-lood vervangen"),
    ("hrpp-glass-only", "HR++ glas"),
    ("hrpp-glass-frames", "HR++ glas + kozijn"),
    ("hr3p-frames", "HR+++ glas + kozijn"),
    ("crack-sealing", "Kierdichting verbeteren"),
    ("roof-insulation-pitched-inside", "Schuin dak isoleren van binnenuit"),
    ("roof-insulation-pitched-replace-tiles", "Schuin dak isoleren + dakpannen vervangen"),
    ("roof-insulation-flat-current", "Plat dak isoleren op dakbedekking"),
    ("roof-insulation-flat-replace-current", "Plat dak isoleren + dakbedekking vervangen"),
    ("high-efficiency-boiler-replace", "CV-ketel vervangen "),
    ("heater-place-replace", "Zonneboiler plaatsen/vervangen"),
    ("solar-panels-place-replace", "Zonnepanelen plaatsen/vervangen"),
    ("ventilation-balanced-wtw", "Gebalanceerde ventilatie"),
    ("ventilation-decentral-wtw", "Decentrale mechanische ventilatie"),
    ("ventilation-demand-driven", "Vraaggestuurde ventilatie"),
    ("hybrid-heat-pump-outside-air", "Hybride warmtepomp met buitenlucht"),
    ("hybrid-heat-pump-ventilation-air", "Hybride warmtepomp met ventilatielucht"),
    ("hybrid-heat-pump-pvt-panels", "Hybride warmtepomp met pvt panelen"),
    ("full-heat-pump-outside-air", "Volledige warmtepomp met buitenlucht"),
    ("full-heat-pump-ground-heat", "Volledige warmtepomp met bodemwarmte"),
    ("full-heat-pump-pvt-panels", "Volledige warmtepomp met pvt panelen"),
    ("heat-pump-boiler-place-replace", "Warmtepompboiler plaatsen/vervangen"),
    ("save-energy-with-light", "Besparen met verlichting"),
    ("energy-efficient-equipment", "Energiezuinige apparatuur"),
    ("energy-efficient-installations", "Energiezuinige installaties"),
    ("save-energy-with-crack-sealing", "Besparen door kierdichting"),
    ("improve-radiators", "Verbeteren van de radiatoren"),
    ("improve-heating-installations", "Verbeteren van de verwarmingsinstallatie"),
    ("save-energy-with-warm-tap-water", "Besparen op warm tapwater"),
    ("general", "Algemeen"),
    ("repair-joint", "Voegwerk repareren"),
    ("clean-brickwork", "Metselwerk reinigen"),
    ("impregnate-wall", "Gevelimpregnatie"),
    ("paint-wall", "Gevelschilderwerk (stuc- of metselwerk)"),
    ("paint-wood-elements", "Gevelschilderwerk (hout)"),
    ("replace-tiles", "Dakpannen vervangen"),
    ("replace-roof-insulation", "Dakbedekking vervangen"),
    ("inspect-repair-roofs", "Dakreparatie"),
    ("replace-zinc-pitched", "Zinkwerk schuin dak"),
    ("replace-zinc-flat", "Zinkwerk plat dak"),
]
MEASURE_BY_ID = {i + 1: (short, name) for i, (short, name) in enumerate(MEASURES)}
MEASURE_ID_BY_SHORT = {short: i + 1 for i, (short, _) in enumerate(MEASURES)}

# The advisable morph types: PHP class names, no morph map.
MEASURE_TYPES = {
    "measure": "App\\Models\\MeasureApplication",
    "cooperation": "App\\Models\\CooperationMeasureApplication",
    "custom": "App\\Models\\CustomMeasureApplication",
}

# WoonplanPayload's question ↔ measure map. The flat-roof question short is not seeded (findByShort → null), so
# flat-roof measures never get a surface: their entry maps to None.
QUANTITY_QUESTIONS: dict[str, tuple[str | None, str]] = {
    **dict.fromkeys(
        ("floor-insulation", "bottom-insulation", "floor-insulation-research"), ("insulation-floor-surface", "surface")
    ),
    **dict.fromkeys(
        ("cavity-wall-insulation", "facade-wall-insulation", "wall-insulation-research"),
        ("insulation-wall-surface", "surface"),
    ),
    "glass-in-lead": ("glass-in-lead-replace-glass-surface", "surface"),
    "hrpp-glass-only": ("hrpp-glass-only-replacement-glass-surface", "surface"),
    "hrpp-glass-frames": ("hrpp-glass-frame-replacement-glass-surface", "surface"),
    "hr3p-frames": ("hr3p-glass-frame-replacement-glass-surface", "surface"),
    **dict.fromkeys(
        ("roof-insulation-pitched-inside", "roof-insulation-pitched-replace-tiles"),
        ("pitched-roof-insulation-surface", "surface"),
    ),
    **dict.fromkeys(("roof-insulation-flat-current", "roof-insulation-flat-replace-current"), (None, "surface")),
    "solar-panels-place-replace": ("desired-solar-panel-count", "count"),
}

# Measure categories (Verbeterjehuis mapping targets) for cooperation and custom measures.
MEASURE_CATEGORIES: list[dict[str, Any]] = [
    {"id": 1, "short": "vloerisolatie", "name": "Vloerisolatie"},
    {"id": 2, "short": "gevelisolatie", "name": "Gevelisolatie"},
    {"id": 3, "short": "elektrische-verwarming", "name": "Elektrische verwarming"},
    {"id": 4, "short": "zonnepanelen", "name": "Zonnepanelen"},
    {"id": 5, "short": "ventilatie", "name": "Ventilatie"},
    {"id": 6, "short": "warmtepomp", "name": "Warmtepomp"},
]
MEASURE_CATEGORY_BY_SHORT = {c["short"]: c for c in MEASURE_CATEGORIES}


# --- tool questions (§2.4 gebruik) ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Option:
    """One answer option: `value` is a model id (model-backed) or the custom value's short (custom values)."""

    value: int | str
    name: str
    short: str | None


@dataclass(frozen=True)
class ToolQuestion:
    id: int
    short: str
    name: str
    # "int" / "float" / "str" for free values; "model" / "custom" for choices
    kind: str
    multi: bool = False
    options: tuple[Option, ...] = field(default_factory=tuple)

    def cast(self, value: Any) -> Any:
        """The Caster of a free value (INT / FLOAT); choices keep their raw value."""
        if value is None or self.options:
            return value
        try:
            if self.kind == "int":
                return int(float(value))
            if self.kind == "float":
                return float(value)
        except (TypeError, ValueError):
            return value
        return value


def _custom(*pairs: tuple[str, str]) -> tuple[Option, ...]:
    return tuple(Option(short, name, short) for short, name in pairs)


def _model(*rows: tuple[int, str, str | None]) -> tuple[Option, ...]:
    return tuple(Option(i, name, short) for i, name, short in rows)


HEAT_SOURCES = _custom(
    ("hr-boiler", "Gasketel"),
    ("heat-pump", "Warmtepomp"),
    ("infrared", "Warmtepanelen / Infrarood"),
    ("district-heating", "Stadsverwarming"),
    ("sun-boiler", "Zonneboiler"),
    ("none", "Anders..."),
)
COOK_TYPES = _custom(("gas", "Gas"), ("electric", "Elektrisch"), ("induction", "Inductie"))
ENERGY_LABELS = _model(*[(i + 1, name, None) for i, name in enumerate(["X", "?", "A", "B", "C", "D", "E", "F", "G"])])

CURRENT_QUESTIONS: list[ToolQuestion] = [
    ToolQuestion(
        1,
        "building-type-category",
        "Wat voor soort woning heeft u?",
        "model",
        options=_model(
            (1, "Appartement", "apartment"),
            (2, "Hoekwoning", "corner-house"),
            (3, "Vrijstaand", "detached-house"),
            (4, "2 onder 1 kap", "2-homes-under-1-roof"),
            (5, "Tussenwoning", "terraced-house"),
        ),
    ),
    ToolQuestion(
        2,
        "building-type",
        "Wat voor soort :name heeft u",
        "model",
        options=_model(
            (1, "Vrijstaande woning", None),
            (2, "2 onder 1 kap", None),
            (3, "Hoekwoning", None),
            (4, "Tussenwoning", None),
            (5, "Benedenwoning hoek", None),
            (6, "Benedenwoning tussen", None),
            (7, "Bovenwoning hoek", None),
            (8, "Bovenwoning tussen", None),
            (9, "Appartement tussen op een tussenverdieping", None),
            (10, "Appartement hoek op een tussenverdieping", None),
        ),
    ),
    ToolQuestion(
        3,
        "building-contract-type",
        "Is het een huur- of koopwoning?",
        "custom",
        options=_custom(
            ("bought", "Koopwoning"), ("rented", "Huurwoning corporatie"), ("rented-private", "Particuliere huur")
        ),
    ),
    ToolQuestion(5, "build-year", "Wat is het bouwjaar?", "int"),
    ToolQuestion(6, "building-layers", "Hoeveel bouwlagen heeft het huis?", "int"),
    ToolQuestion(
        4,
        "roof-type",
        "Type dak",
        "model",
        options=_model(
            (1, "Hellend dak", "pitched"),
            (2, "Plat dak", "flat"),
            (4, "Zadeldak", "gabled-roof"),
            (5, "Rond dak", "rounded-roof"),
            (6, "Rieten dak", "straw-roof"),
            (7, "Geen dak", "none"),
        ),
    ),
    ToolQuestion(
        7,
        "monument",
        "Is het een monument?",
        "custom",
        options=_custom(("1", "Ja"), ("2", "Nee"), ("0", "Onbekend"), ("3", "Beschermd stads- of dorpsgezicht")),
    ),
    ToolQuestion(8, "energy-label", "Wat is het huidige energielabel?", "model", options=ENERGY_LABELS),
    ToolQuestion(9, "surface", "Wat is de gebruiksoppervlakte van de woning?", "float"),
    ToolQuestion(
        12,
        "resident-count",
        "Hoeveel mensen wonen er in de woning?",
        "custom",
        options=_custom(
            ("1", "Alleen"),
            ("2", "Twee"),
            ("3", "Drie"),
            ("4", "Vier"),
            ("5", "Vijf"),
            ("6", "Zes"),
            ("7", "Zeven"),
            ("8", "Acht"),
        ),
    ),
    ToolQuestion(
        16,
        "water-comfort",
        "Wat is het comfortniveau voor het gebruik van warm tapwater?",
        "model",
        options=_model((1, "Standaard", None), (2, "Comfortabel", None), (3, "Extra comfortabel", None)),
    ),
    ToolQuestion(17, "cook-type", "Hoe wordt er gekookt?", "custom", options=COOK_TYPES),
    ToolQuestion(18, "amount-gas", "Wat is het gasgebruik van afgelopen jaar?", "int"),
    ToolQuestion(19, "amount-electricity", "Wat is het elektragebruik van het afgelopen jaar?", "int"),
    ToolQuestion(
        27,
        "current-wall-insulation",
        "Wat is de staat van de muurisolatie?",
        "model",
        options=_model(
            (1, "Onbekend", None),
            (2, "Geen isolatie", None),
            (3, "Matige isolatie (tot 8 cm isolatie)", None),
            (4, "Goede isolatie (8 tot 20 cm isolatie)", None),
            (5, "Zeer goede isolatie (meer dan 20 cm isolatie)", None),
        ),
    ),
    ToolQuestion(
        28,
        "current-floor-insulation",
        "Wat is de staat van de vloerisolatie?",
        "model",
        options=_model(
            (6, "Onbekend", None),
            (7, "Geen isolatie", None),
            (8, "Matige isolatie (tot 8 cm isolatie)", None),
            (9, "Goede isolatie (8 tot 20 cm isolatie)", None),
            (10, "Zeer goede isolatie (meer dan 20 cm isolatie)", None),
        ),
    ),
    ToolQuestion(32, "heat-source", "Wat wordt er gebruikt voor verwarming", "custom", True, HEAT_SOURCES),
    ToolQuestion(33, "heat-source-other", "Wat wordt er dan gebruikt voor verwarming?", "str"),
    ToolQuestion(
        43,
        "boiler-setting-comfort-heat",
        "Met welke stooktemperatuur kan het huis comfortabel verwarmd worden?",
        "custom",
        options=_custom(
            ("temp-high", "Op hoge temperatuur"),
            ("temp-50", "Op 50 graden"),
            ("temp-low", "Op lage temperatuur"),
            ("unsure", "Weet ik niet"),
        ),
    ),
    ToolQuestion(62, "wall-surface", "Geveloppervlakte van de woning", "float"),
    ToolQuestion(
        44, "has-solar-panels", "Heeft u zonnepanelen?", "custom", options=_custom(("yes", "Ja"), ("no", "Nee"))
    ),
    ToolQuestion(45, "solar-panel-count", "Hoeveel zonnepanelen zijn er aanwezig?", "int"),
]
NEW_QUESTIONS: list[ToolQuestion] = [
    ToolQuestion(123, "new-heat-source", "Wat moet er komen voor verwarming?", "custom", True, HEAT_SOURCES),
    ToolQuestion(130, "new-cook-type", "Hoe wordt er gekookt in de nieuwe situatie?", "custom", options=COOK_TYPES),
    ToolQuestion(215, "insulation-wall-surface", "Te isoleren geveloppervlakte", "float"),
    ToolQuestion(301, "desired-solar-panel-count", "Hoeveel zonnepanelen moeten er komen?", "int"),
    ToolQuestion(
        302,
        "solar-panel-orientation",
        "Wat is de oriëntatie van de panelen?",
        "model",
        options=_model(
            (1, "noord-oost", "n-o"),
            (2, "oost-noord-oost", "o-n-o"),
            (3, "oost", "o"),
            (4, "oost-zuid-oost", "o-z-o"),
            (5, "zuid-oost", "z-o"),
            (6, "zuid-zuid-oost", "z-z-o"),
            (7, "zuid", "z"),
            (8, "zuid-zuid-west", "z-z-w"),
            (9, "zuid-west", "z-w"),
            (10, "west-zuid-west", "w-z-w"),
        ),
    ),
]
# Quantity questions of the woonplan that are not in the gebruik payload (answers still live per building).
OTHER_QUESTIONS: list[ToolQuestion] = [
    ToolQuestion(210, "insulation-floor-surface", "Te isoleren vloeroppervlakte", "float"),
    ToolQuestion(220, "glass-in-lead-replace-glass-surface", "Glas-in-lood: te vervangen glasoppervlakte", "float"),
    ToolQuestion(221, "hrpp-glass-only-replacement-glass-surface", "HR++ glas: te vervangen glasoppervlakte", "float"),
    ToolQuestion(
        222, "hrpp-glass-frame-replacement-glass-surface", "HR++ glas + kozijn: te vervangen glasoppervlakte", "float"
    ),
    ToolQuestion(
        223, "hr3p-glass-frame-replacement-glass-surface", "HR+++ glas + kozijn: te vervangen glasoppervlakte", "float"
    ),
    ToolQuestion(230, "pitched-roof-insulation-surface", "Te isoleren oppervlakte van het hellende dak", "float"),
]
TOOL_QUESTIONS: dict[str, ToolQuestion] = {q.short: q for q in (*CURRENT_QUESTIONS, *NEW_QUESTIONS, *OTHER_QUESTIONS)}

# `exists:tool_question_custom_values,short` is not scoped to one question: any custom value short passes.
CUSTOM_VALUE_SHORTS: frozenset[str] = frozenset(
    str(o.value) for q in TOOL_QUESTIONS.values() if q.kind == "custom" for o in q.options
)

# The API may answer only these (ToolQuestionHelper::SUPPORTED_API_SHORTS).
SUPPORTED_API_SHORTS = ("amount-gas", "amount-electricity", "resident-count")

CO2_SAVING_GAS = 1.88  # kg CO2 per m³ gas (Kengetallen::CO2_SAVING_GAS)

# Job classes: integration_processes.process and the attempt log's `process`.
JOB_CLASSES = {
    "afspraak": "App\\Jobs\\Econobis\\Out\\SendAppointmentDateToEconobis",
    "woning-status": "App\\Jobs\\Econobis\\Out\\SendBuildingStatusToEconobis",
    "scan-status": "App\\Jobs\\Econobis\\Out\\SendScanStatusToEconobis",
    "gebruik": "App\\Jobs\\Econobis\\Out\\SendBuildingFilledInAnswersToEconobis",
    "woonplan": "App\\Jobs\\Econobis\\Out\\SendUserActionPlanAdvicesToEconobis",
    "pdf": "App\\Jobs\\Econobis\\Out\\SendPdfReportToEconobis",
    "delete": "App\\Jobs\\Econobis\\Out\\SendUserDeletedToEconobis",
}
