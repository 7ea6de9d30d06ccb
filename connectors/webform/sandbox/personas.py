"""The sandbox form's residents: deterministic sign-ups per sandbox tenant, in the words and addresses of its
region — Flemish residents of Leuven and its deelgemeenten for an energieloket (street, huisnummer, bus,
4-digit postcode, gemeente as residents write it, +32 numbers), Dutch ones for a cooperation. `hub demo` and
the flow tests post them; the same tenant, count and seed always give the same sign-ups."""

from __future__ import annotations

import random
from typing import Any

from hub.config import sandbox_region

# Leuven's streets with their postcode and the (deel)gemeente a resident writes: Leuven 3000, Heverlee 3001,
# Kessel-Lo 3010, Wilsele 3012, Wijgmaal 3018.
LEUVEN_STREETS: tuple[tuple[str, str, str], ...] = (
    ("Naamsestraat", "3000", "Leuven"),
    ("Tiensestraat", "3000", "Leuven"),
    ("Diestsestraat", "3000", "Leuven"),
    ("Brusselsestraat", "3000", "Leuven"),
    ("Bondgenotenlaan", "3000", "Leuven"),
    ("Vital Decosterstraat", "3000", "Leuven"),
    ("Tervuursesteenweg", "3001", "Heverlee"),
    ("Naamsesteenweg", "3001", "Heverlee"),
    ("Diestsesteenweg", "3010", "Kessel-Lo"),
    ("Martelarenlaan", "3010", "Kessel-Lo"),
    ("Aarschotsesteenweg", "3012", "Wilsele"),
    ("Wijgmaalsesteenweg", "3018", "Wijgmaal"),
)
FLEMISH_FIRST_NAMES = ("Lotte", "Wout", "Elise", "Jef", "Fien", "Arne", "Marie", "Seppe", "Hanne", "Lucas", "Nore")
FLEMISH_LAST_NAMES = (
    "Peeters",
    "Janssens",
    "Maes",
    "Jacobs",
    "Mertens",
    "Willems",
    "Claes",
    "Goossens",
    "Wouters",
    "De Smet",
    "Vermeulen",
    "Van den Broeck",
)
FLEMISH_MEASURES = ("Dakisolatie", "Spouwmuurisolatie", "Warmtepomp", "Zonnepanelen", "Hoogrendementsbeglazing")
FLEMISH_SOURCES = ("Website", "Infoavond", "Stadsmagazine", "Buren")
DUTCH_FIRST_NAMES = ("Sanne", "Joost", "Fatima", "Henk", "Iris", "Ruud", "Noor", "Bram")
DUTCH_PLACES = {"coop-noord": ("1621AB", "Hoorn"), "coop-zuid": ("5281AB", "Boxtel")}


def _mail_part(text: str) -> str:
    return "".join(ch for ch in text.lower() if ch.isalnum())


def flemish_signup(tenant: str, i: int, campaign: int | str, rng: random.Random) -> dict[str, Any]:
    """One resident of Leuven signing up at the energieloket (a house, or an apartment with its bus)."""
    first = rng.choice(FLEMISH_FIRST_NAMES)
    last = rng.choice(FLEMISH_LAST_NAMES)
    street, postcode, city = rng.choice(LEUVEN_STREETS)
    number = str(rng.randint(1, 240)) + ("A" if rng.random() < 0.1 else "")
    data: dict[str, Any] = {
        "id": f"{tenant}-{i:05d}",
        "first_name": first,
        "last_name": last,
        "country": "BE",
        "street": street,
        "number": number,
        "postcode": postcode,
        "city": city,
        "campaign": campaign,
        "measures": sorted(rng.sample(FLEMISH_MEASURES, rng.randint(1, 2))),
        "sources": [rng.choice(FLEMISH_SOURCES)],
        "consent": {"privacy_policy": True, "text_version": "2026-01"},
    }
    if rng.random() < 0.35:  # an apartment: the busnummer as the Adressenregister writes it
        data["box"] = rng.choice(("1", "2", "3", "0101", "0201", "0102"))
    if rng.random() < 0.8:
        data["email"] = f"{_mail_part(first)}.{_mail_part(last)}{i}@example.be"
    if rng.random() < 0.6 or "email" not in data:
        mobile = rng.random() < 0.7
        digits = [rng.randint(0, 9) for _ in range(6)]
        rest = f"{digits[0]}{digits[1]} {digits[2]}{digits[3]} {digits[4]}{digits[5]}"
        data["phone"] = f"+32 4{rng.choice('6789')}{rng.randint(0, 9)} {rest}" if mobile else f"+32 16 {rest}"
    return data


def dutch_signup(tenant: str, i: int, campaign: int | str) -> dict[str, Any]:
    """One resident of a Dutch cooperation's town signing up through the municipality's form."""
    first = DUTCH_FIRST_NAMES[(i + 3) % len(DUTCH_FIRST_NAMES)]
    postcode, city = DUTCH_PLACES.get(tenant, ("1621AB", "Hoorn"))
    return {
        "id": f"demo-form-{i:03d}",
        "first_name": first,
        "last_name": f"Formulier{i:03d}",
        "email": f"{first.lower()}.formulier{i}@example.org",
        "street": "Raadhuisplein",
        "number": str(1 + i),
        "postcode": postcode,
        "city": city,
        "campaign": campaign,
        "measures": ["Vloerisolatie"],
        "sources": ["Website"],
        "consent": {"privacy_policy": True},
    }


def signups(tenant: str, n: int, campaign: int | str, seed: int = 0) -> list[dict[str, Any]]:
    """`n` deterministic sign-ups of a sandbox tenant's residents, in its region's words and addresses."""
    if sandbox_region(tenant).code == "vl":
        rng = random.Random(f"webform-{tenant}-{seed}")
        return [flemish_signup(tenant, i, campaign, rng) for i in range(n)]
    return [dutch_signup(tenant, i, campaign) for i in range(n)]


# --- works.completed: what a resident supplies for premiums once the works are done --------------------------

# a tiny but well-formed PDF: the sandbox's invoice scans and tax assessments (no personal data in it)
SAMPLE_PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj 2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj "
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
)
# test values that pass the checksums (not real people's): INSZ mod 97, BSN elfproef, IBAN mod 97, KBO mod 97
SANDBOX_INSZ = ("85073003328", "90020112305")
SANDBOX_BSN = ("111222333", "123456782")
SANDBOX_IBAN = {"BE": "BE68539007547034", "NL": "NL91ABNA0417164300"}
SANDBOX_KBO = "0403362424"


def _pdf(label: str) -> str:
    import base64

    return base64.b64encode(SAMPLE_PDF + f"% {label}\n".encode("ascii")).decode("ascii")


def works_completed(
    tenant: str,
    i: int,
    *,
    signup: str | None = None,
    dossier: str | None = None,
    executed_on: str = "2026-09-15",
    invoice_date: str = "2026-09-20",
    documents: bool = True,
) -> dict[str, Any]:
    """A deterministic works.completed of the tenant's `i`-th resident (roof insulation, in Flanders with a heat
    pump too), for the dossier of sign-up `signup` (the form's submission id) or `dossier` (the hub's id)."""
    flemish = sandbox_region(tenant).code == "vl"
    country = "BE" if flemish else "NL"
    roof = {
        "number": f"F-{2026}{i:04d}-1",
        "date": invoice_date,
        "amount_excl_vat": 4200.0 + 10 * i,
        "vat_pct": 6.0 if flemish else 21.0,
        "category": "Dakisolatie",
        "measure": "Dakisolatie hellend dak",
        "quantity": 62.0,
        "unit": "m2",
        "executed_on": executed_on,
        "material": {"brand": "Isover", "type": "Multimax 30", "rd": 4.5},
    }
    if flemish:
        roof["contractor_kbo"] = SANDBOX_KBO
    else:
        roof["meldcode"] = "ISO-DAK-01"
    invoices = [roof]
    if flemish:
        invoices.append(
            {
                "number": f"F-{2026}{i:04d}-2",
                "date": invoice_date,
                "amount_excl_vat": 9800.0,
                "vat_pct": 6.0,
                "contractor_kbo": SANDBOX_KBO,
                "category": "Warmtepomp",
                "measure": "Volledige warmtepomp",
                "quantity": 1,
                "unit": "stuk",
                "executed_on": executed_on,
            }
        )
    docs: list[dict[str, Any]] = []
    if documents:
        docs = [
            {
                "kind": "factuur",
                "filename": f"factuur-{inv['number']}.pdf",
                "media_type": "application/pdf",
                "content_base64": _pdf(f"{tenant} invoice {inv['number']}"),
                "invoice_number": inv["number"],
            }
            for inv in invoices
        ]
        extra = "aanslagbiljet" if flemish else "betaalbewijs"
        docs.append(
            {
                "kind": extra,
                "filename": f"{extra}.pdf",
                "media_type": "application/pdf",
                "content_base64": _pdf(f"{tenant} {extra} {i}"),
            }
        )
    data: dict[str, Any] = {
        "id": f"{tenant}-works-{i:04d}",
        "capacity": "eigenaar_bewoner",
        "national_id": (SANDBOX_INSZ if flemish else SANDBOX_BSN)[i % 2],
        "iban": SANDBOX_IBAN[country],
        "grid_connection_year": 1987 if flemish else None,
        "building_type": "woning",  # what the resident says; a register's or partner's type goes first
        "energy_loan": False if flemish else None,
        "invoices": invoices,
        "documents": docs,
        "consent": {
            "apply_for_premium": True,
            "mandate_reference": f"MDT-{tenant}-{i:04d}",
            "given_at": "2026-10-01T10:00:00+02:00",
        },
    }
    if flemish:
        data["ean"] = f"5414488{i:011d}"
        data["income"] = {"tax_year": 2025, "taxable_income": 41000.0, "dependants": 1, "household_type": "koppel"}
    if signup is not None:
        data["signup"] = signup
    if dossier is not None:
        data["dossier"] = dossier
    return {k: v for k, v in data.items() if v is not None}
