"""The sandbox Econobis' lookup tables (contracts/econobis.md §1), with `code_ref`s and fresh-install ids.

`Lookups(id_shift=…)` moves every numeric id so tests prove the hub keys on code_ref, never on ids."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# (fresh id, name, code_ref)
INTAKE_STATUS = [
    (1, "Open", "open"),
    (2, "Afgesloten met kans", "closed_with_opportunity"),
    (3, "Afgesloten zonder kans", "closed_without_opportunity"),
    (4, "In behandeling", "in_progress"),
]
OPPORTUNITY_STATUS = [
    (1, "Actief", "active"),
    (2, "In afwachting", "pending"),
    (3, "Uitgevoerd", "executed"),
    (4, "Uitvoering, doe het zelf", "executed-do-it-yourself"),
    (5, "Geen uitvoering", "no_execution"),
    (6, "Opdracht", "mandate"),
    (7, "Inactief", "inactive"),
    (8, "Verwijderd in Hoomdossier", "deleted_in_hd"),
    (9, "In uitvoering", "in_progress"),
    (10, "Uitgevoerd zonder maatregel", "executed_without_measure"),
    (11, "Subsidie aanvaag in afwachting", "subsidy-request_pending"),
    (12, "Subsidie aanvraag toegekend", "subsidy-request_granted"),
    (13, "Subsidie aanvraag afgewezen", "subsidy-request_rejected"),
]
OPPORTUNITY_ACTIONS = [
    (1, "Offerteverzoek", "quotation-request"),
    (2, "Bezoek", "visit"),
    (3, "Budgetaanvraag", "subsidy-request"),
    (4, "Doorverwijzing", "redirection"),
]
# (fresh id, name, code_ref, action code_ref) — code_ref is only unique per action type.
QUOTATION_REQUEST_STATUS = [
    (19, "Offerte nog niet aangevraagd", "not-made", "quotation-request"),
    (5, "Offerte aangevraagd", "default", "quotation-request"),
    (21, "Offerte aanvraag in behandeling", "under-review", "quotation-request"),
    (1, "In overweging bij bewoner", "under-review-occupant", "quotation-request"),
    (2, "Bewoner is akkoord", "approved", "quotation-request"),
    (3, "Bewoner heeft afgewezen", "not-approved", "quotation-request"),
    (4, "Offerte niet mogelijk", "not-possible", "quotation-request"),
    (6, "Geen reactie ontvangen", "no-response", "quotation-request"),
    (22, "Uitgevoerd", "executed", "quotation-request"),
    (23, "Offerteverzoek akkoord", "pm-approved", "quotation-request"),
    (24, "Offerteverzoek niet akkoord", "pm-not-approved", "quotation-request"),
    (7, "Geen afspraak gemaakt", "default", "visit"),
    (20, "Geen afspraak kunnen maken", "not-made", "visit"),
    (8, "Afspraak gemaakt", "made", "visit"),
    (9, "Afspraak uitgevoerd", "done", "visit"),
    (14, "Afspraak afgezegd", "cancelled", "visit"),
    (10, "Budgetaanvraag open", "default", "subsidy-request"),
    (11, "Budgetaanvraag gemaakt", "made", "subsidy-request"),
    (12, "Budgetaanvraag akkoord", "pm-approved", "subsidy-request"),
    (13, "Budgetaanvraag niet akkoord", "pm-not-approved", "subsidy-request"),
    (28, "Aanvraag gekoppeld", "linked", "subsidy-request"),
    (15, "Budgetaanvraag verstuurd naar bewoner", "under-review-occupant", "subsidy-request"),
    (16, "Subsidieaanvraag in behandeling", "under-review", "subsidy-request"),
    (17, "Subsidie aanvraag beschikt", "approved", "subsidy-request"),
    (18, "Subsidie aanvraag niet beschikt", "not-approved", "subsidy-request"),
    (25, "Subsidievaststelling in behandeling", "under-review-det", "subsidy-request"),
    (26, "Subsidie vastgesteld", "approved-det", "subsidy-request"),
    (27, "Subsidie niet vastgesteld", "not-approved-det", "subsidy-request"),
    (29, "Doorverwezen", "default", "redirection"),
    (32, "Nog doorverwijzen", "still_refer", "redirection"),
    (30, "In behandeling", "under-review", "redirection"),
    (31, "Afgehandeld", "handled", "redirection"),
]
SOURCES = [
    (1, "E-mail", None),
    (2, "Website", None),
    (3, "Evenement", None),
    (4, "Telefoon", None),
    (5, "Enquete", None),
    (6, "Energieloket", None),
    (7, "Digitaal energieloket", None),
    (8, "Mobiel Energieloket", None),
    (9, "Bewonersavond", None),
    (10, "Netwerk", None),
    (11, "Huisbezoek", None),
    (12, "Online", None),
    (13, "Woningdossier", "housing_file"),
    (14, "Gemeente", None),
]
REASONS = [(1, "Milieu", None), (2, "Comfort", None), (3, "Besparing", None)]
MEASURE_CATEGORIES = [
    (1, "Vloerisolatie"),
    (2, "Gevelisolatie"),
    (3, "Dakisolatie"),
    (4, "Isolatieglas"),
    (5, "Kierdichting"),
    (6, "Ventilatie"),
    (7, "Cv-ketel"),
    (8, "Warmtepomp"),
    (9, "Biomassa"),
    (10, "Warmte afgifte"),
    (11, "Zonnepanelen"),
    (12, "Zonneboiler"),
    (13, "Opslag"),
    (14, "Overig"),
    (15, "Domotica"),
    (16, "Leidingisolatie overig"),
    (17, "Warm water toestel"),
    (18, "Energiebespaaradvies"),
    (19, "Energiebespaarcoaching"),
]
# (fresh id, name, category id, external_hoom_id): real instances mix legacy numeric Hoom ids (Hoomdossier's
# measure_applications ids, which its woonplan sends) with slugs, which never match a numeric measure_id
MEASURES = [
    (1, "Vloerisolatie", 1, "floor-insulation"),
    (2, "Bodemisolatie", 1, "floor-insulation-research"),
    (3, "Spouwmuurisolatie", 2, "4"),
    (4, "Binnengevelisolatie", 2, "inner-wall-insulation"),
    (5, "Dakisolatie hellend dak", 3, "roof-insulation-pitched-inside"),
    (6, "Dakisolatie plat dak", 3, "roof-insulation-flat-current"),
    (7, "HR++ glas", 4, "8"),
    (8, "Triple glas", 4, "glass-in-lead"),
    (9, "Kierdichting", 5, "crack-sealing"),
    (10, "Ventilatie", 6, "ventilation"),
    (11, "HR-ketel", 7, "high-efficiency-boiler"),
    (12, "Hybride warmtepomp", 8, "hybrid-heat-pump-outside-air"),
    (13, "Volledige warmtepomp", 8, "full-heat-pump-outside-air"),
    (14, "Zonnepanelen", 11, "solar-panels-place-replace"),
    (15, "Zonneboiler", 12, "heater-place-replace"),
    (16, "Overig uit Hoomdossier", 14, "overig-uit-hoomdossier"),
    (17, "Energiebespaaradvies", 18, None),
]
BUILDING_TYPES = [
    (1, "Vrijstaand"),
    (2, "Hoekwoning"),
    (3, "Tussenwoning"),
    (4, "Appartement"),
    (5, "Appartement VVE"),
    (6, "Gehele tussenwoning"),
    (7, "Beneden woning meerdere verdiepingen"),
    (8, "2 onder 1 kap"),
    (9, "Onbekend"),
]
ROOF_TYPES = [
    (1, "Hellend dak met dakpannen"),
    (2, "Hellend dak met bitumen"),
    (3, "Platdak"),
    (4, "Geen dak"),
    (5, "Hellend rietdak"),
    (6, "Puntdak"),
    (7, "Afgerond dak"),
    (8, "Onbekend"),
]
ENERGY_LABELS = [
    (1, "A+++"),
    (2, "A++"),
    (3, "A+"),
    (4, "A"),
    (5, "B"),
    (6, "C"),
    (7, "D"),
    (8, "E"),
    (9, "F"),
    (10, "G"),
    (11, "Onbekend"),
]
CAMPAIGN_STATUS = [(1, "Niet gestart"), (2, "Gestart"), (3, "In afwachting"), (4, "Klaar")]
CAMPAIGN_TYPES = [
    (1, "Huis aan huis"),
    (2, "Email"),
    (3, "Internet"),
    (4, "Campagne op maat"),
    (5, "Energiecafé"),
    (6, "Wijkaanpak"),
]
CONTACT_STATUS = [
    ("interested", "Belangstellend"),
    ("member", "Lid"),
    ("memberAspirant", "Aspirant lid"),
    ("memberYouth", "Jeugdlid"),
    ("stopped", "Uitgeschreven"),
    ("donor", "Donateur"),
    ("none", "Geen"),
    ("portal", "Portal"),
    ("webform", "Webformulier"),
    ("importEsClient", "Import ES klant"),
]


@dataclass
class Lookups:
    """Lookup rows by table, with ids shifted by `id_shift` (0 = fresh install)."""

    id_shift: int = 0
    tables: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        s = self.id_shift

        def rows(spec: list[tuple[Any, ...]], keys: tuple[str, ...]) -> list[dict[str, Any]]:
            return [dict(zip(keys, (r[0] + s, *r[1:]), strict=True)) for r in spec]

        self.tables = {
            "intakeStatuses": rows(INTAKE_STATUS, ("id", "name", "codeRef")),
            "opportunityStatus": rows(OPPORTUNITY_STATUS, ("id", "name", "codeRef")),
            "opportunityActions": rows(OPPORTUNITY_ACTIONS, ("id", "name", "codeRef")),
            "intakeSources": rows(SOURCES, ("id", "name", "codeRef")),
            "intakeReasons": rows(REASONS, ("id", "name", "codeRef")),
            "measureCategories": rows(MEASURE_CATEGORIES, ("id", "name")),
            "measures": rows(MEASURES, ("id", "name", "measureCategoryId", "externalHoomId")),
            "buildingTypes": rows(BUILDING_TYPES, ("id", "name")),
            "roofTypes": rows(ROOF_TYPES, ("id", "name")),
            "energyLabels": rows(ENERGY_LABELS, ("id", "name")),
            "campaignStatuses": rows(CAMPAIGN_STATUS, ("id", "name")),
            "campaignTypes": rows(CAMPAIGN_TYPES, ("id", "name")),
        }
        # measures refer to categories by (shifted) id
        for m in self.tables["measures"]:
            m["measureCategoryId"] += s
        self.tables["quotationRequestStatus"] = [
            {"id": r[0] + s, "name": r[1], "codeRef": r[2], "opportunityActionId": self.action_id(r[3])}
            for r in QUOTATION_REQUEST_STATUS
        ]
        self.tables["contactStatuses"] = [{"id": c, "name": n} for c, n in CONTACT_STATUS]

    # code_ref → row helpers used by the seed and the status engine

    def by_code(self, table: str, code: str) -> dict[str, Any]:
        for row in self.tables[table]:
            if row.get("codeRef") == code:
                return row
        raise KeyError(f"{table} has no code_ref {code!r}")

    def by_id(self, table: str, row_id: int) -> dict[str, Any]:
        for row in self.tables[table]:
            if row["id"] == row_id:
                return row
        raise KeyError(f"{table} has no id {row_id}")

    def action_id(self, code: str) -> int:
        return self.by_code("opportunityActions", code)["id"]

    def qr_status(self, action_code: str, status_code: str) -> dict[str, Any] | None:
        aid = self.action_id(action_code)
        for row in self.tables["quotationRequestStatus"]:
            if row["opportunityActionId"] == aid and row["codeRef"] == status_code:
                return row
        return None

    def qr_status_codes(self, action_code: str) -> set[str]:
        aid = self.action_id(action_code)
        return {r["codeRef"] for r in self.tables["quotationRequestStatus"] if r["opportunityActionId"] == aid}
