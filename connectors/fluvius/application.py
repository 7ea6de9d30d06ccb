"""The premium application of one dossier, built from the canonical model ("apply with known data").

For a dossier whose works are executed — the CRM's executed opportunities (kansen) with their category and
measures, or the invoices the resident gave through the desk's form — the hub fills the portal's application
body (`POST /premies/v1/aanvragen`) from what it already holds: the applicant (the resident's name; capacity,
national id and IBAN from the premium file), the building (dwelling key and address; type, build year and
permits from the dwelling file; the current EPC's number; grid-connection year and EAN from the premium file),
the income (Mijn VerbouwPremie only) and, per portal category the executed measures map to (categories.py), the
quantity (invoice, else the woonplan's advice), the date of the works, the ISDE meldcode and the invoices.

Per field the plan says where the value came from (`sources`: the field's provenance in the store —
`econobis`, `hoomdossier`, `woningpas`, `webform-signup` (the resident's sign-up), `resident-form` (what the
resident gave for this application: a works.completed event) — or `missing`), and `prefilled_share` is the
share of the application's fields (documents included) filled from anything but the resident's premium form,
over all fields including the missing ones. What the hub cannot know is listed as `still_needed`, in plain
English and without personal data; what stops an application altogether is in `blocked_reasons` (no consent to
apply, no executed works, an energy loan running). The body is only given when nothing is missing or blocking
(`draft` holds it regardless, for the coordinator's view).

Pure reading: nothing here writes (plan.py records the applications and queues them)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import Connection

from connectors.fluvius import categories as cats
from connectors.fluvius.settings import ISDE, MVP, PARTNER
from hub.connector import REGISTRY
from hub.consent import Purpose, check
from hub.store import EntityRow, Provenance, Store

MISSING = "missing"
RESIDENT_FORM = "resident-form"
SIGNUP = "webform-signup"
# an executed opportunity whose works had no measure claims nothing
NOT_WORKS = frozenset({"executed_without_measure"})
HEAT_PUMPS = frozenset({"warmtepomp", "warmtepompboiler", "warmtepomp_hybride"})
INVOICE_DOCS = ("factuur", "voorschotfactuur")


@dataclass
class Plan:
    """One dossier's application, as far as the hub can fill it."""

    dossier_id: str
    regeling: str
    intake_id: str | None = None
    resident_id: str | None = None
    dwelling_id: str | None = None
    referentie: str | None = None
    # the wire body: only when nothing is missing or blocking (else None; `draft` has it anyway)
    body: dict[str, Any] | None = None
    draft: dict[str, Any] = field(default_factory=dict)
    # the portal categories the body applies for, in body order
    categories: list[str] = field(default_factory=list)
    # portal category → the canonical opportunities (the CRM's kansen) whose executed works it claims
    opportunity_ids: dict[str, list[str]] = field(default_factory=dict)
    # portal category → the canonical invoices it carries
    invoice_ids: dict[str, list[str]] = field(default_factory=dict)
    # documents to upload: {document_id, kind (the portal's soort), category, filename, media_type}
    documents: list[dict[str, Any]] = field(default_factory=list)
    # field path (e.g. "aanvrager.iban", "categorieen[dak].hoeveelheid") → where its value came from
    sources: dict[str, str] = field(default_factory=dict)
    prefilled_share: float = 0.0
    still_needed: list[str] = field(default_factory=list)
    blocked_reasons: list[str] = field(default_factory=list)

    @property
    def ready(self) -> bool:
        return self.body is not None


def source_of(prov: Provenance | Mapping[str, Any] | None) -> str:
    """A provenance record → the plan's source name: the partner that set the field, the resident's sign-up or
    their premium form (both the web form's: told apart by the reference), `hub` when nobody is recorded."""
    if not prov:
        return "hub"
    source = str(prov.get("source") or "hub")
    if source == "webform":
        return SIGNUP if str(prov.get("source_ref") or "").startswith("signup:") else RESIDENT_FORM
    return source


def reference(tenant: str, dossier_id: str, categories: Iterable[str]) -> str:
    """The hub's stable key of the application of these categories of one dossier (the portal's `referentie`)."""
    basis = "\n".join([tenant, dossier_id, *sorted(set(categories))])
    return "hub-" + hashlib.sha256(basis.encode("utf-8")).hexdigest()[:16]


def executed_statuses() -> frozenset[str]:
    """The opportunity statuses that mean the works are done (the connectors' journey rules), without the
    'executed without a measure' kind."""
    return frozenset(REGISTRY.journey_rules().opportunity_executed) - NOT_WORKS


def candidates(store: Store, conn: Connection, tenant: str) -> list[str]:
    """The tenant's live dossiers with executed works or a premium file (the resident supplied premium details),
    sorted."""
    executed = executed_statuses()
    intakes = {
        str(r["data"].get("intake_id"))
        for r in store.live_entities(conn, "opportunity", tenant)
        if r["data"].get("status") in executed
    }
    intakes |= {str(r["data"].get("intake_id")) for r in store.live_entities(conn, "premium_file", tenant)}
    intakes |= {str(r["data"].get("intake_id")) for r in store.live_entities(conn, "invoice", tenant)}
    return sorted(
        str(r["canonical_id"])
        for r in store.live_entities(conn, "dossier", tenant)
        if str(r["data"].get("intake_id")) in intakes
    )


class _Reader:
    """The dossier's canonical records and their provenance, read once."""

    def __init__(self, store: Store, conn: Connection, tenant: str) -> None:
        self.store, self.conn, self.tenant = store, conn, tenant
        self.prov: dict[str, dict[str, Provenance]] = {}

    def one(self, cid: str | None, entity: str) -> EntityRow | None:
        if not cid:
            return None
        row = self.store.load_entities(self.conn, [cid], tenant=self.tenant).get(cid)
        if row is None or row["entity"] != entity or row["deleted_at"] is not None:
            return None
        self._load_prov([cid])
        return row

    def children(self, entity: str, parents: Iterable[str | None]) -> list[EntityRow]:
        wanted = [p for p in parents if p]
        if not wanted:
            return []
        rows = self.store.entities_of(self.conn, entity, tenant=self.tenant, parents=wanted, live=True)
        rows.sort(key=lambda r: (str(r["created_at"]), str(r["canonical_id"])))
        self._load_prov([r["canonical_id"] for r in rows])
        return rows

    def many(self, entity: str, ids: Iterable[str]) -> dict[str, EntityRow]:
        wanted = [i for i in ids if i]
        rows = self.store.entities_of(self.conn, entity, tenant=self.tenant, ids=wanted, live=True) if wanted else []
        self._load_prov([r["canonical_id"] for r in rows])
        return {str(r["canonical_id"]): r for r in rows}

    def _load_prov(self, ids: list[str]) -> None:
        new = [i for i in ids if i not in self.prov]
        if new:
            found = self.store.load_provenance(self.conn, new, tenant=self.tenant)
            for i in new:
                self.prov[i] = found.get(i, {})

    def source(self, row: EntityRow | None, *fields: str) -> str:
        """Who set the first of `fields` that has provenance, else the entity's origin (any field's)."""
        if row is None:
            return MISSING
        owners = self.prov.get(str(row["canonical_id"]), {})
        for f in fields:
            if f in owners:
                return source_of(owners[f])
        return source_of(next(iter(owners.values()), None))


@dataclass
class _Fields:
    """The body's fields as they are filled: path → source."""

    sources: dict[str, str] = field(default_factory=dict)
    needed: list[str] = field(default_factory=list)

    def put(self, target: dict[str, Any], key: str, path: str, value: Any, source: str) -> bool:
        """Set `target[key]` when there is a value (recording its source); False when there is none."""
        if value is None or value == "" or value == {}:
            return False
        target[key] = value
        self.sources[path] = source
        return True

    def want(self, target: dict[str, Any], key: str, path: str, value: Any, source: str, needed: str | None) -> bool:
        """As `put`, for a field the application needs: missing → recorded as missing and listed as needed."""
        if self.put(target, key, path, value, source):
            return True
        self.sources[path] = MISSING
        if needed and needed not in self.needed:
            self.needed.append(needed)
        return False


def _name(resident: Mapping[str, Any]) -> str | None:
    parts = [resident.get("first_name"), resident.get("last_name_prefix"), resident.get("last_name")]
    text = " ".join(str(p) for p in parts if p)
    return text or resident.get("organisation_name") or None


def _address(d: Mapping[str, Any]) -> dict[str, Any] | None:
    adres = {
        "straat": d.get("street"),
        "huisnummer": d.get("number"),
        "bus": d.get("box"),
        "toevoeging": d.get("addition"),
        "postcode": d.get("postcode"),
        "gemeente": d.get("city"),
        "land": d.get("country"),
    }
    adres = {k: v for k, v in adres.items() if v}
    return adres if adres.get("postcode") and adres.get("huisnummer") else None


def _building_type(dwelling: Mapping[str, Any], files: list[EntityRow]) -> tuple[str | None, EntityRow | None]:
    for f in files:
        text = f"{f['data'].get('building_form') or ''} {f['data'].get('building_type') or ''}".lower()
        if not text.strip():
            continue
        if any(w in text for w in ("appartement", "apartment", "flat", "studio")):
            return "appartement", f
        return "woning", f
    return None, None


def _date(value: Any) -> date | None:
    try:
        return date.fromisoformat(str(value)[:10]) if value else None
    except ValueError:
        return None


def _num(value: Any) -> float | None:
    try:
        return None if value is None else float(value)
    except (TypeError, ValueError):
        return None


def build(
    store: Store,
    conn: Connection,
    tenant: str,
    dossier_id: str,
    regeling: str,
    today: date,
    exclude: Iterable[str] = (),
) -> Plan:
    """The application of `dossier_id` under `regeling` (MVP_VL or ISDE_NL) as of `today`, for the executed
    categories not in `exclude` (those already applied for)."""
    if regeling not in (MVP, ISDE):
        raise ValueError(f"unknown regeling {regeling!r}")
    plan = Plan(dossier_id, regeling)
    r = _Reader(store, conn, tenant)
    dossier = r.one(dossier_id, "dossier")
    if dossier is None:
        plan.blocked_reasons.append("the dossier is not known (or erased)")
        return plan
    dd = dossier["data"]
    intake = r.one(dd.get("intake_id"), "intake")
    plan.intake_id = str(dd.get("intake_id"))
    idata = intake["data"] if intake else {}
    plan.resident_id = dd.get("resident_id") or idata.get("resident_id")
    plan.dwelling_id = dd.get("dwelling_id") or idata.get("dwelling_id")
    resident = r.one(plan.resident_id, "resident")
    dwelling = r.one(plan.dwelling_id, "dwelling")
    files = r.children("dwelling_file", [plan.dwelling_id])
    advices = r.children("advice", [str(f["canonical_id"]) for f in files])
    certificates = r.children("energy_certificate", [plan.dwelling_id])
    pfs = r.children("premium_file", [plan.intake_id])
    pf = pfs[-1] if pfs else None
    pfd: dict[str, Any] = dict(pf["data"]) if pf else {}
    invoices = r.children("invoice", [plan.intake_id])
    opportunities = r.children("opportunity", [plan.intake_id])
    actions = r.children("action", [str(o["canonical_id"]) for o in opportunities])
    doc_entries = [e for e in pfd.get("documents") or [] if isinstance(e, dict) and e.get("id")]
    docs = r.many(
        "document",
        [str(e["id"]) for e in doc_entries]
        + [str(i["data"]["document_id"]) for i in invoices if i["data"].get("document_id")],
    )
    entry_of = {str(e["id"]): e for e in doc_entries}
    f = _Fields()
    is_mvp = regeling == MVP

    # --- which categories: the executed works -------------------------------------------------------------
    excluded = set(exclude)
    executed = executed_statuses()
    groups: dict[str, dict[str, Any]] = {}
    for o in opportunities:
        od = o["data"]
        if od.get("status") not in executed:
            continue
        pc = cats.portal_category(regeling, od.get("measure_category"), list(od.get("measures") or []))
        if pc is None or pc.categorie in excluded:
            continue
        g = groups.setdefault(pc.categorie, {"pc": pc, "opps": [], "invoices": [], "advices": []})
        g["opps"].append(o)
    # an invoice that names only the category an executed kans has (no measure) belongs to that kans's group
    # (a "Gevelisolatie" invoice of a cavity-wall kans is cavity-wall insulation)
    by_raw: dict[str, set[str]] = {}
    for categorie, g in groups.items():
        for o in g["opps"]:
            by_raw.setdefault(str(o["data"].get("measure_category")), set()).add(categorie)
    for inv in invoices:
        idat = inv["data"]
        pc = cats.portal_category(regeling, idat.get("category"), [idat.get("measure") or ""])
        if pc is None or pc.categorie in excluded:
            continue
        same = by_raw.get(str(idat.get("category")), set())
        if not idat.get("measure") and pc.categorie not in same and len(same) == 1:
            groups[next(iter(same))]["invoices"].append(inv)
            continue
        g = groups.setdefault(pc.categorie, {"pc": pc, "opps": [], "invoices": [], "advices": []})
        g["invoices"].append(inv)
    for a in advices:
        ad = a["data"]
        canon = cats.advice_category(ad.get("measure"), ad.get("name"), ad.get("category"))
        pc = cats.portal_category(regeling, canon, [ad.get("name") or ""])
        if pc is not None and pc.categorie in groups:
            groups[pc.categorie]["advices"].append(a)

    # --- blocking -------------------------------------------------------------------------------------------
    if not groups:
        plan.blocked_reasons.append(
            "no executed works a premium covers (no executed opportunity or invoice of a subsidised category"
            + (" not yet applied for)" if excluded else ")")
        )
    if plan.resident_id is None or resident is None:
        plan.blocked_reasons.append("the dossier has no resident")
    else:
        verdict = check(store, conn, tenant, [plan.resident_id], Purpose.APPLY_FOR_PREMIUM, PARTNER)
        if not verdict.allowed:
            plan.blocked_reasons.append(
                "the resident's consent to apply for premiums in their name was withdrawn"
                if verdict.withdrawn
                else "no consent recorded to apply for premiums in the resident's name"
            )
        else:
            standing: Mapping[str, Any] = verdict.standing.get(plan.resident_id) or {}
            ref = str(standing.get("source_ref") or "")
            if not ref.startswith("mandate:") and standing.get("source") != "coordinator":
                f.needed.append(
                    "a mandate for the desk to apply in the resident's name"
                    + (" (Mijn VerbouwPremie mandate)" if is_mvp else " (machtiging intermediair)")
                )
    if dwelling is None:
        plan.blocked_reasons.append("the dossier has no dwelling")
    if is_mvp and pfd.get("energy_loan") is True:
        plan.blocked_reasons.append("an energy loan runs: the Energiehuis applies for the premium itself")

    # --- applicant ------------------------------------------------------------------------------------------
    aanvrager: dict[str, Any] = {}
    rdata = resident["data"] if resident else {}
    f.want(
        aanvrager,
        "naam",
        "aanvrager.naam",
        _name(rdata),
        r.source(resident, "last_name", "organisation_name"),
        "the applicant's name",
    )
    nid = pfd.get("national_id")
    id_key, id_len = ("insz", 11) if is_mvp else ("bsn", 9)
    f.want(
        aanvrager,
        id_key,
        f"aanvrager.{id_key}",
        nid if isinstance(nid, str) and len(nid) == id_len else None,
        r.source(pf, "national_id"),
        "the national register number (INSZ)" if is_mvp else "the citizen service number (BSN)",
    )
    f.want(
        aanvrager,
        "iban",
        "aanvrager.iban",
        pfd.get("iban"),
        r.source(pf, "iban"),
        "the IBAN of the account the premium is paid to",
    )
    capacity, cap_source = pfd.get("capacity"), r.source(pf, "capacity")
    if not capacity:
        for fl in files:
            if fl["data"].get("owner_occupied") is True:
                capacity, cap_source = "eigenaar_bewoner", r.source(fl, "owner_occupied")
                break
    f.want(
        aanvrager,
        "hoedanigheid",
        "aanvrager.hoedanigheid",
        capacity,
        cap_source,
        "the applicant's capacity (owner-occupier, landlord, …)",
    )

    # --- building -------------------------------------------------------------------------------------------
    gebouw: dict[str, Any] = {}
    dw = dwelling["data"] if dwelling else {}
    f.want(
        gebouw,
        "dwelling_key",
        "gebouw.dwelling_key",
        dw.get("dwelling_key"),
        r.source(dwelling, "dwelling_key"),
        "the dwelling's address",
    )
    f.want(
        gebouw,
        "adres",
        "gebouw.adres",
        _address(dw),
        r.source(dwelling, "street", "postcode"),
        "the dwelling's address",
    )
    ean_needed = "the EAN code of the electricity connection (on the energy bill)" if is_mvp else None
    if is_mvp:
        f.want(gebouw, "ean", "gebouw.ean", pfd.get("ean"), r.source(pf, "ean"), ean_needed)
    else:
        f.put(gebouw, "ean", "gebouw.ean", pfd.get("ean"), r.source(pf, "ean"))
    btype, bfile = _building_type(dw, files)
    if btype is None and dw.get("box"):
        btype, bsrc = "appartement", r.source(dwelling, "box")
    elif btype is None and pfd.get("building_type"):
        btype, bsrc = str(pfd["building_type"]), r.source(pf, "building_type")
    else:
        bsrc = r.source(bfile, "building_form", "building_type")
    f.want(gebouw, "type", "gebouw.type", btype, bsrc, "the type of building (house or apartment)")
    heat_pump = bool(set(groups) & HEAT_PUMPS)
    year = pfd.get("grid_connection_year")
    if is_mvp and heat_pump:
        f.want(
            gebouw,
            "aansluitingsjaar",
            "gebouw.aansluitingsjaar",
            year,
            r.source(pf, "grid_connection_year"),
            "the year the building was connected to the electricity grid",
        )
    else:
        f.put(gebouw, "aansluitingsjaar", "gebouw.aansluitingsjaar", year, r.source(pf, "grid_connection_year"))
    permit, psrc = pfd.get("permit_date"), r.source(pf, "permit_date")
    if not permit:
        dated = sorted(
            (str(p.get("date")), fl)
            for fl in files
            for p in fl["data"].get("permits") or []
            if isinstance(p, dict) and p.get("date")
        )
        if dated:
            permit, psrc = dated[-1][0][:10], r.source(dated[-1][1], "permits")
    permit_needed = is_mvp and heat_pump and isinstance(year, int) and year >= 2014
    if permit_needed:
        f.want(gebouw, "vergunningsdatum", "gebouw.vergunningsdatum", permit, psrc, "the date of the building permit")
    else:
        f.put(gebouw, "vergunningsdatum", "gebouw.vergunningsdatum", permit, psrc)
    for fl in files:
        if f.put(gebouw, "bouwjaar", "gebouw.bouwjaar", fl["data"].get("build_year"), r.source(fl, "build_year")):
            break
    current = [c for c in certificates if c["data"].get("current")] or certificates
    for c in sorted(current, key=lambda c: str(c["data"].get("issued_on") or ""), reverse=True):
        if f.put(gebouw, "epc", "gebouw.epc", c["data"].get("certificate_number"), r.source(c, "certificate_number")):
            break

    # --- income (Mijn VerbouwPremie, owner-occupiers) ------------------------------------------------------
    inkomen: dict[str, Any] | None = None
    owner_occupier = capacity in (None, "eigenaar_bewoner")
    if is_mvp and owner_occupier:
        inc = pfd.get("income") if isinstance(pfd.get("income"), dict) else None
        inkomen = {}
        src = r.source(pf, "income")
        needed = "the figures of the most recent tax assessment (aanslagbiljet): year, joint taxable income, household"
        inc = inc or {}
        for key, value in (
            ("aanslagjaar", inc.get("tax_year")),
            ("gezamenlijk_belastbaar_inkomen", inc.get("taxable_income")),
            ("personen_ten_laste", inc.get("dependants")),
            ("gezinstype", inc.get("household_type")),
        ):
            f.want(inkomen, key, f"inkomen.{key}", value, src, needed)

    # --- categories ------------------------------------------------------------------------------------------
    werfadres = ", ".join(str(x) for x in (_address(dw) or {}).values())
    items: list[dict[str, Any]] = []
    incomplete: set[str] = set()
    category_needs: set[int] = set()  # indexes in f.needed of what one category lacks
    for categorie in sorted(groups):
        before = len(f.needed)
        g = groups[categorie]
        portal: cats.PortalCategory = g["pc"]
        subj = cats.subject(categorie)
        base = f"categorieen[{categorie}]"
        item: dict[str, Any] = {"categorie": categorie}
        sub_source = (
            r.source(g["opps"][0], "measures", "measure_category")
            if g["opps"]
            else (r.source(g["invoices"][0], "measure", "category") if g["invoices"] else MISSING)
        )
        if portal.subtype is not None:
            f.put(item, "subtype", f"{base}.subtype", portal.subtype, sub_source)
        # quantity: the invoices', else the woonplan's advice, else one device
        qty = [q for q in (_num(i["data"].get("quantity")) for i in g["invoices"]) if q is not None]
        qsrc = (
            r.source(next(i for i in g["invoices"] if _num(i["data"].get("quantity")) is not None), "quantity")
            if qty
            else MISSING
        )
        quantity: float | None = round(sum(qty), 2) if qty else None
        if quantity is None:
            for a in g["advices"]:
                if _num(a["data"].get("quantity")) is not None and (
                    portal.unit != "m2" or a["data"].get("quantity_unit") == "m2"
                ):
                    quantity, qsrc = _num(a["data"]["quantity"]), r.source(a, "quantity")
                    break
        if quantity is None and portal.unit == "stuk" and g["opps"]:
            quantity, qsrc = 1.0, r.source(g["opps"][0], "measure_category", "status")
        if portal.unit == "forfait":
            f.put(item, "hoeveelheid", f"{base}.hoeveelheid", quantity, qsrc)
        else:
            unit_words = "surface (m²)" if portal.unit == "m2" else "number of devices"
            f.want(item, "hoeveelheid", f"{base}.hoeveelheid", quantity, qsrc, f"the {unit_words} of the {subj}")
        item["eenheid"] = portal.unit
        # the date: the invoices' execution date, else the CRM's executed quotation
        date_key = "installatiedatum" if (not is_mvp and cats.is_appliance(regeling, categorie)) else "uitvoeringsdatum"
        executed_on = sorted(
            ((_date(i["data"].get("executed_on")), i) for i in g["invoices"] if _date(i["data"].get("executed_on"))),
            key=lambda t: t[0] or date.min,
        )
        when: date | None = None
        wsrc = MISSING
        if executed_on:
            when, wsrc = executed_on[-1][0], r.source(executed_on[-1][1], "executed_on")
        else:
            opp_ids = {str(o["canonical_id"]) for o in g["opps"]}
            done = sorted(
                (
                    (_date(a["data"].get("date_executed")), a)
                    for a in actions
                    if a["data"].get("opportunity_id") in opp_ids and _date(a["data"].get("date_executed"))
                ),
                key=lambda t: t[0] or date.min,
            )
            if done:
                when, wsrc = done[-1][0], r.source(done[-1][1], "date_executed")
        f.want(
            item,
            date_key,
            f"{base}.{date_key}",
            when.isoformat() if when else None,
            wsrc,
            f"the date the {subj} was finished",
        )
        if not is_mvp:
            codes = [(i["data"].get("meldcode"), i) for i in g["invoices"] if i["data"].get("meldcode")]
            f.want(
                item,
                "meldcode",
                f"{base}.meldcode",
                codes[0][0] if codes else None,
                r.source(codes[0][1], "meldcode") if codes else MISSING,
                f"the ISDE meldcode of the {subj} (on the invoice)",
            )
        material: dict[str, Any] = {}
        for i in g["invoices"]:
            m = i["data"].get("material") or {}
            for src_key, key in (("brand", "merk"), ("type", "type"), ("rd", "rd"), ("ug", "ug"), ("u", "u")):
                if m.get(src_key) is not None and key not in material:
                    f.put(material, key, f"{base}.materiaal.{key}", m[src_key], r.source(i, "material"))
        if material:
            item["materiaal"] = material
        # invoices
        facturen: list[dict[str, Any]] = []
        if not g["invoices"]:
            f.sources[f"{base}.facturen"] = MISSING
            f.needed.append(f"the invoice of the {subj}")
        for i in sorted(
            g["invoices"], key=lambda i: (str(i["data"].get("issued_on") or ""), str(i["data"].get("number")))
        ):
            idat = i["data"]
            fb = f"{base}.facturen[{idat.get('number')}]"
            fa: dict[str, Any] = {"is_voorschot": bool(idat.get("is_advance"))}
            f.want(
                fa,
                "nummer",
                f"{fb}.nummer",
                idat.get("number"),
                r.source(i, "number"),
                f"the number of the invoice of the {subj}",
            )
            f.want(
                fa,
                "datum",
                f"{fb}.datum",
                idat.get("issued_on"),
                r.source(i, "issued_on"),
                f"the date of the invoice of the {subj}",
            )
            f.want(
                fa,
                "bedrag_excl_btw",
                f"{fb}.bedrag_excl_btw",
                idat.get("amount_excl_vat"),
                r.source(i, "amount_excl_vat"),
                f"the amount excl. VAT of the invoice of the {subj}",
            )
            f.put(fa, "btw_pct", f"{fb}.btw_pct", idat.get("vat_pct"), r.source(i, "vat_pct"))
            f.want(
                fa,
                "aannemer_kbo",
                f"{fb}.aannemer_kbo",
                idat.get("contractor_kbo"),
                r.source(i, "contractor_kbo"),
                f"the contractor's company number on the invoice of the {subj}" if is_mvp else None,
            )
            if werfadres:
                fa["werfadres"] = werfadres
            facturen.append(fa)
        item["facturen"] = facturen
        items.append(item)
        plan.categories.append(categorie)
        plan.opportunity_ids[categorie] = sorted(str(o["canonical_id"]) for o in g["opps"])
        plan.invoice_ids[categorie] = [str(i["canonical_id"]) for i in g["invoices"]]

        # documents of this category: the invoice scans, and the premium file's documents for its invoices
        numbers = {str(i["data"].get("number")) for i in g["invoices"]}
        scans = 0
        for i in g["invoices"]:
            did = i["data"].get("document_id")
            if did and str(did) in docs:
                e = entry_of.get(str(did), {})
                kind = e.get("kind") or ("voorschotfactuur" if i["data"].get("is_advance") else "factuur")
                _doc(plan, str(did), kind, categorie, e)
                scans += 1
        for e in doc_entries:
            if e.get("invoice_number") in numbers and str(e["id"]) in docs and e.get("kind") not in INVOICE_DOCS:
                _doc(plan, str(e["id"]), str(e["kind"]), categorie, e)
        f.sources[f"documenten[factuur:{categorie}]"] = RESIDENT_FORM if scans else MISSING
        if not scans:
            f.needed.append(f"a scan of the invoice of the {subj}")
        if not is_mvp:
            paid = [
                e
                for e in doc_entries
                if e.get("kind") == "betaalbewijs"
                and str(e["id"]) in docs
                and e.get("invoice_number") in (*numbers, None)
            ]
            for e in paid:  # the proof of payment goes with each category it covers
                _doc(plan, str(e["id"]), "betaalbewijs", categorie, e)
            f.sources[f"documenten[betaalbewijs:{categorie}]"] = RESIDENT_FORM if paid else MISSING
            if not paid:
                f.needed.append(f"proof of payment of the invoice of the {subj}")
        if len(f.needed) > before:
            incomplete.add(categorie)  # applied for once the resident supplies what it lacks
            category_needs.update(range(before, len(f.needed)))
    # documents for the application as a whole
    for e in doc_entries:
        if e.get("invoice_number") is None and str(e["id"]) in docs and e.get("kind") not in INVOICE_DOCS:
            _doc(plan, str(e["id"]), str(e["kind"]), None, e)
    if inkomen is not None:
        has = any(d["kind"] == "aanslagbiljet" for d in plan.documents)
        f.sources["documenten[aanslagbiljet]"] = RESIDENT_FORM if has else MISSING
        if not has:
            f.needed.append("the most recent tax assessment (aanslagbiljet)")

    # --- the body, the share -----------------------------------------------------------------------------
    plan.referentie = reference(tenant, dossier_id, plan.categories) if plan.categories else None
    draft: dict[str, Any] = {
        "regeling": regeling,
        "referentie": plan.referentie,
        "aanvrager": aanvrager,
        "gebouw": gebouw,
    }
    if inkomen is not None:
        draft["inkomen"] = inkomen
    draft["categorieen"] = items
    plan.draft = draft
    plan.sources = f.sources
    plan.still_needed = f.needed if groups else []
    # the categories that are complete are applied for now; one still lacking something waits for it (it is in
    # `still_needed`) without holding the others back — unless what is missing is the application's own
    complete = [c for c in plan.categories if c not in incomplete]
    application_needs = [n for i, n in enumerate(f.needed) if i not in category_needs]

    def counted_path(path: str) -> bool:
        """A field of the application as sent (a waiting category's fields are not in it)."""
        return not any(path.startswith(f"categorieen[{c}]") or path.endswith(f":{c}]") for c in incomplete)

    counted = [src for path, src in f.sources.items() if counted_path(path)]
    prefilled = sum(1 for s in counted if s not in (RESIDENT_FORM, MISSING))
    plan.prefilled_share = round(prefilled / len(counted), 4) if counted else 0.0
    if not plan.blocked_reasons and not application_needs and complete:
        plan.body = {**draft, "categorieen": [i for i in items if i["categorie"] in complete]}
        plan.categories = complete
        plan.documents = [d for d in plan.documents if d.get("category") in (None, *complete)]
        plan.referentie = reference(tenant, dossier_id, complete)
        plan.body["referentie"] = plan.referentie
    return plan


def _doc(plan: Plan, document_id: str, kind: str, categorie: str | None, entry: Mapping[str, Any]) -> None:
    """A document to upload for `categorie` (None: for the application); one document may go with several
    categories (an invoice for roof and walls), once each."""
    if any(d["document_id"] == document_id and d["category"] == categorie for d in plan.documents):
        return
    if categorie is None and any(d["document_id"] == document_id for d in plan.documents):
        return  # already attached to a category
    plan.documents.append(
        {
            "document_id": document_id,
            "kind": kind,
            "category": categorie,
            "filename": str(entry.get("filename") or "document.pdf"),
            "media_type": str(entry.get("media_type") or "application/pdf"),
        }
    )
