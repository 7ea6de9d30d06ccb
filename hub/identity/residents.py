"""Residents that may be one person, within a tenant: the comparison frame, Splink's pair scores, and the candidates.

Two records of one person reach the hub when partners share no id (a desk's web-form sign-up, a register holder, a
CRM contact). `link_residents` scores the tenant's live residents as pairs with Splink 4 on DuckDB and raises a
`resident` match candidate per likely pair; it merges on its own only above a high threshold AND when an
authoritative id agrees (the same national person id, kept here only as a keyed hash, or the same register
dwelling key). Everything else waits on a person (hub/identity/decide.py)."""

from __future__ import annotations

import logging
import re
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import duckdb
import pyarrow as pa
from sqlalchemy import Connection, select

from hub.canonical.keys import fold, normalise_nl_postcode
from hub.identity import candidates as cands
from hub.identity import decide as decisions
from hub.pseudonym import current_key, keyed_hash
from hub.store import Store, chunks
from hub.store import tables as t

log = logging.getLogger(__name__)

AUTO_BY = "hub:auto"
REASON = "likely_same_person"
REGISTRY_PREFIXES = ("nl:bag:vbo:", "be:vl:geu:")
SAMPLE_U_FROM = 1_000  # from this many residents u is estimated from the tenant itself (random pairs)
U_SAMPLE_PAIRS = 1_000_000
U_SAMPLE_SEED = 14  # a fixed seed: the same store gives the same u values, run after run

# what Splink compares (the frame's other columns are for the gate and the evidence only)
COMPARED = ("first_name", "last_name", "email", "phone", "postcode", "house_number")
FRAME_SCHEMA = pa.schema(
    [
        ("unique_id", pa.string()),
        ("first_name", pa.string()),
        ("last_name", pa.string()),
        ("email", pa.string()),
        ("phone", pa.string()),
        ("postcode", pa.string()),
        ("house_number", pa.string()),
        ("dwelling_keys", pa.list_(pa.string())),
        ("registry_keys", pa.list_(pa.string())),
        ("person_ids", pa.list_(pa.string())),
        ("systems", pa.list_(pa.string())),
    ]
)
_COUNTRY_CODES = {"NL": "31", "BE": "32"}


# --- the frame -------------------------------------------------------------------------------------------------


def _clean(value: Any) -> str | None:
    text = fold(str(value)) if value is not None else ""
    return text or None


def last_name(prefix: str | None, last: str | None) -> str | None:
    """Prefix folded into the last name, spaces and punctuation dropped: "van der Berg", "Van den Berg" and
    "vanderberg" compare alike, as residents write them."""
    joined = re.sub(r"[^\w]", "", fold(f"{prefix or ''} {last or ''}"))
    return joined or None


def email(value: str | None) -> str | None:
    text = (value or "").strip().lower()
    return text if "@" in text else None


def phone(value: str | None, country: str = "NL") -> str | None:
    """Digits in international form without the plus (31612345678): "+31 6-1234 5678", "0031612345678" and
    "06 12345678" (a Dutch resident) are one number. Too short to be a number: None."""
    digits = re.sub(r"\D", "", value or "")
    if digits.startswith("00"):
        digits = digits[2:]
    elif digits.startswith("0"):
        digits = _COUNTRY_CODES.get(country.upper(), "31") + digits[1:]
    return digits if len(digits) >= 9 else None


def postcode(value: str | None, country: str = "NL") -> str | None:
    if not value:
        return None
    if country.upper() == "NL":
        return normalise_nl_postcode(value)
    digits = re.sub(r"\s", "", value)
    return digits if re.fullmatch(r"\d{4}", digits) else None


def house_number(value: Any) -> str | None:
    """The number's digits ("265", "265-B" → "265"); the letter and addition stay out: an apartment written
    without its addition still compares alike, and the gate's register key tells the homes apart."""
    m = re.match(r"\s*0*(\d+)", str(value or ""))
    return m.group(1) if m and m.group(1) else None


def person_id_hash(tenant: str, national_id: str) -> str | None:
    """The keyed hash a national person id (INSZ, BSN) is compared by: the frame never holds the number."""
    digits = re.sub(r"\D", "", national_id or "")
    return keyed_hash(current_key(), "person-id", tenant, digits) if len(digits) >= 9 else None


def residents_frame(
    store: Store, conn: Connection, tenant: str, *, person_id_xrefs: Iterable[tuple[str, str]] = ()
) -> pa.Table:
    """The tenant's live residents (persons) with their comparison columns, one row each (FRAME_SCHEMA).

    A resident's dwellings are those they are the resident of, then those their intakes name; the first gives
    postcode and house number. `dwelling_keys` lists every such live dwelling's key and `registry_keys` those
    that are a register's (`nl:bag:vbo:`, `be:vl:geu:`). `person_ids` are keyed hashes of the
    national ids the hub holds for the resident: in their premium files, and as the external ids of the
    (system, entity) cross-references in `person_id_xrefs` (a partner that keys its holders on a national id
    declares where). `systems` are the partner systems with an xref to the resident."""
    residents = [
        r for r in store.live_entities(conn, "resident", tenant) if r["data"].get("kind", "person") == "person"
    ]
    ids = sorted(r["canonical_id"] for r in residents)
    # a resident's dwellings: those they are the resident of, then those of their intakes (a sign-up for a home
    # another record of theirs, or a housemate, holds)
    owned = sorted(
        store.entities_of(conn, "dwelling", tenant=tenant, parents=ids, live=True),
        key=lambda d: (d["created_at"], d["canonical_id"]),
    )
    intakes = store.entities_of(conn, "intake", tenant=tenant, parents=ids, live=True)
    via = {str(i["data"].get("dwelling_id")) for i in intakes if i["data"].get("dwelling_id")}
    by_dwelling = {d["canonical_id"]: d for d in owned}
    missing = sorted(via - set(by_dwelling))
    if missing:
        by_dwelling.update(
            (d["canonical_id"], d) for d in store.entities_of(conn, "dwelling", tenant=tenant, ids=missing, live=True)
        )
    dwellings: dict[str, list[dict[str, Any]]] = {}
    for d in owned:
        dwellings.setdefault(str(d["parent_id"]), []).append(d["data"])
    for i in sorted(intakes, key=lambda i: (i["created_at"], i["canonical_id"])):
        via_row = by_dwelling.get(str(i["data"].get("dwelling_id")))
        homes = dwellings.setdefault(str(i["parent_id"]), [])
        if via_row is not None and via_row["data"] not in homes:
            homes.append(via_row["data"])
    person_ids: dict[str, set[str]] = {}
    of_intake = {i["canonical_id"]: str(i["parent_id"]) for i in intakes}
    for pf in store.entities_of(conn, "premium_file", tenant=tenant, parents=list(of_intake), live=True):
        h = person_id_hash(tenant, pf["data"].get("national_id") or "")
        if h and pf["parent_id"] in of_intake:
            person_ids.setdefault(of_intake[pf["parent_id"]], set()).add(h)
    systems: dict[str, set[str]] = {}
    wanted = {(s, e) for s, e in person_id_xrefs}
    x = t.xref
    for chunk in chunks(ids):
        for r in conn.execute(
            select(x.c.system, x.c.entity, x.c.external_id, x.c.canonical_id).where(
                x.c.tenant == tenant, x.c.canonical_id.in_(list(chunk))
            )
        ):
            if r.system != "hub":
                systems.setdefault(r.canonical_id, set()).add(r.system)
            if (r.system, r.entity) in wanted:
                h = person_id_hash(tenant, r.external_id)
                if h:
                    person_ids.setdefault(r.canonical_id, set()).add(h)
    rows: dict[str, list[Any]] = {name: [] for name in FRAME_SCHEMA.names}
    by_id = {r["canonical_id"]: r["data"] for r in residents}
    for rid in ids:
        data, homes = by_id[rid], dwellings.get(rid, [])
        home = homes[0] if homes else {}
        country = str(home.get("country") or "NL")
        keys = [str(h["dwelling_key"]) for h in homes if h.get("dwelling_key")]
        rows["unique_id"].append(rid)
        rows["first_name"].append(_clean(data.get("first_name")) or _clean(data.get("initials")))
        rows["last_name"].append(last_name(data.get("last_name_prefix"), data.get("last_name")))
        rows["email"].append(email(data.get("email")))
        rows["phone"].append(phone(data.get("phone"), country))
        rows["postcode"].append(postcode(home.get("postcode"), country))
        rows["house_number"].append(house_number(home.get("number")))
        rows["dwelling_keys"].append(keys)
        rows["registry_keys"].append([k for k in keys if k.startswith(REGISTRY_PREFIXES)])
        rows["person_ids"].append(sorted(person_ids.get(rid, ())))
        rows["systems"].append(sorted(systems.get(rid, ())))
    return pa.table(rows, schema=FRAME_SCHEMA)


# --- the scores ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScoredPair:
    """Two residents Splink compared: `left` < `right` (canonical ids), the probability and weight, and the
    evidence per compared field: `{field: {"gamma": int, "level": label}}` plus `agree` / `similar` / `differ`
    / `missing` lists of the fields, so a person reads why."""

    left: str
    right: str
    match_probability: float
    match_weight: float
    evidence: dict[str, Any]


def settings(n_residents: int) -> Any:
    """Splink settings with m and u declared (see the comments): no training at run time.

    The prior (`probability_two_random_records_match`, 1e-4) says: about one pair in ten thousand is one person
    written twice: a tenant of a few thousand residents with a few per cent of them signed up twice. With it
    a pair needs about +13 of match weight from its fields before it is even odds.
    m (a pair that is one person agrees at this level) and u (two different residents of the tenant agree at it)
    per field, non-null levels from the best to `else`:
    - first name: exact / JW ≥ .92 (a typo) / JW ≥ .80 / else. A person rarely writes a wholly other first name
      (m(else) .0005), so two first names that differ outweigh a shared surname, address and phone: a household
      is several people at one address with one surname, and they must stay apart.
    - last name (prefix folded in): exact / JW .92 / .88 / .70 / else; u(exact) .003: surnames repeat.
    - email: exact / same local part / JW .88 full / JW .88 local part / else. Exact is near proof (u 1e-4); a
      person has several addresses, so m(else) .25 costs little. The fuzzy levels weigh little: housemates'
      addresses at one family domain (kees@deboer.nl, anneke@deboer.nl) and namesakes' generated ones
      (first.last.123@) are alike without being one person.
    - phone (international digits): exact / else; u .005: a household shares a landline.
    - postcode: exact / else, u .02 (a neighbourhood campaign brings many residents of one postcode area);
      house number: exact / else, u .02.
    From `SAMPLE_U_FROM` residents on, u of the names and the email is estimated from the tenant's own random
    pairs (names repeat more in one village than in another); phone, postcode and number keep theirs, since
    what makes them agree between two people is a household, which random pairs do not sample."""
    from splink import SettingsCreator, block_on
    from splink import comparison_library as cl

    comparisons: list[Any] = [
        cl.JaroWinklerAtThresholds("first_name", [0.92, 0.8]).configure(
            m_probabilities=[0.85, 0.1, 0.0495, 0.0005], u_probabilities=[0.01, 0.005, 0.03, 0.955]
        ),
        cl.NameComparison("last_name").configure(
            m_probabilities=[0.88, 0.06, 0.03, 0.02, 0.01], u_probabilities=[0.003, 0.002, 0.004, 0.05, 0.941]
        ),
        cl.EmailComparison("email").configure(
            m_probabilities=[0.6, 0.1, 0.02, 0.03, 0.25], u_probabilities=[0.0001, 0.0004, 0.01, 0.005, 0.9845]
        ),
        # shared by a household: random pairs of the tenant (almost never housemates) would teach u values that
        # make a shared address and landline near proof; they keep the declared u on both paths
        _fixed_u(cl.ExactMatch("phone").configure(m_probabilities=[0.6, 0.4], u_probabilities=[0.005, 0.995])),
        _fixed_u(cl.ExactMatch("postcode").configure(m_probabilities=[0.9, 0.1], u_probabilities=[0.02, 0.98])),
        _fixed_u(cl.ExactMatch("house_number").configure(m_probabilities=[0.9, 0.1], u_probabilities=[0.02, 0.98])),
    ]
    return SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="unique_id",
        probability_two_random_records_match=1e-4,
        comparisons=comparisons,
        blocking_rules_to_generate_predictions=[
            block_on("postcode", "house_number"),
            block_on("email"),
            block_on("phone"),
            block_on("last_name", "postcode"),
        ],
        retain_intermediate_calculation_columns=False,
        retain_matching_columns=True,
    )


def _fixed_u(creator: Any) -> dict[str, Any]:
    """The comparison as settings, its u values kept when u is estimated from random pairs."""
    spec: dict[str, Any] = creator.get_comparison("duckdb").as_dict()
    for level in spec["comparison_levels"]:
        level["fix_u_probability"] = True
    return spec


def _levels(linker: Any) -> dict[str, dict[int, str]]:
    """field → gamma value → the level's label, from the linker's own settings."""
    out: dict[str, dict[int, str]] = {}
    for c in linker._settings_obj.comparisons:
        out[c.output_column_name] = {lvl.comparison_vector_value: lvl.label_for_charts for lvl in c.comparison_levels}
    return out


def _evidence(row: dict[str, Any], levels: dict[str, dict[int, str]]) -> dict[str, Any]:
    ev: dict[str, Any] = {"agree": [], "similar": [], "differ": [], "missing": [], "fields": {}}
    for name, labels in levels.items():
        gamma = int(row[f"gamma_{name}"])
        ev["fields"][name] = {"gamma": gamma, "level": labels.get(gamma, "?")}
        top = max(labels)
        bucket = "missing" if gamma < 0 else "agree" if gamma == top else "differ" if gamma == 0 else "similar"
        ev[bucket].append(name)
    return ev


def score_pairs(frame: pa.Table, *, threshold: float = 0.0, sample_u_from: int = SAMPLE_U_FROM) -> list[ScoredPair]:
    """Every blocked pair of `frame` scored, those with match probability ≥ `threshold`, best first.

    With fewer than `sample_u_from` residents the declared m and u score the pairs (deterministic, no
    training); from it on, u of names and email is estimated from random pairs of the tenant itself (fixed
    seed), the rest stays as declared."""
    pairs, _ = _score(frame, threshold=threshold, sample_u_from=sample_u_from)
    return pairs


def _score(frame: pa.Table, *, threshold: float, sample_u_from: int) -> tuple[list[ScoredPair], int]:
    """(pairs ≥ threshold, how many pairs were scored in all)."""
    if frame.num_rows < 2:
        return [], 0
    from splink import DuckDBAPI, Linker

    con = duckdb.connect()
    try:
        con.register("residents_in", frame.select(["unique_id", *COMPARED]))
        con.execute("CREATE TABLE residents AS SELECT * FROM residents_in")
        linker = Linker("residents", settings(frame.num_rows), DuckDBAPI(connection=con), set_up_basic_logging=False)
        if frame.num_rows >= sample_u_from:
            linker.training.estimate_u_using_random_sampling(max_pairs=U_SAMPLE_PAIRS, seed=U_SAMPLE_SEED)
        scored = linker.inference.predict().as_pandas_dataframe()
        levels = _levels(linker)
    finally:
        con.close()
    out = []
    for row in scored.to_dict("records"):
        p = float(row["match_probability"])
        if p < threshold:
            continue
        left, right = sorted((str(row["unique_id_l"]), str(row["unique_id_r"])))
        out.append(ScoredPair(left, right, p, float(row["match_weight"]), _evidence(row, levels)))
    out.sort(key=lambda s: (-s.match_probability, s.left, s.right))
    return out, len(scored)


# --- candidates and automatic links ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Actions:
    """The seam to the candidate store and the decisions (tests may put fakes here)."""

    raise_candidate: Callable[..., int] = cands.raise_candidate
    decide: Callable[..., Any] = decisions.decide
    status: Callable[[Store, Connection, str, int], str | None] = lambda store, conn, tenant, cid: (
        cands.get(store, conn, tenant, cid) or {}
    ).get("status")


@dataclass
class ResidentLinkReport:
    """What one run did: residents compared, pairs scored, candidates raised, pairs linked automatically, and
    why each candidate was or was not linked (`outcomes`)."""

    tenant: str
    residents: int = 0
    pairs_scored: int = 0
    candidates: int = 0
    auto_linked: int = 0
    u_estimated: bool = False
    splink_seconds: float = 0.0
    outcomes: Counter[str] = field(default_factory=Counter)
    candidate_ids: list[int] = field(default_factory=list)

    def metadata(self) -> dict[str, Any]:
        return {
            "residents": self.residents,
            "pairs_scored": self.pairs_scored,
            "candidates": self.candidates,
            "auto_linked": self.auto_linked,
            "u_estimated": self.u_estimated,
            "splink_seconds": round(self.splink_seconds, 2),
            "outcomes": dict(sorted(self.outcomes.items())),
        }


def authority(left: dict[str, Any], right: dict[str, Any]) -> str | None:
    """Which authoritative id agrees ("person_id", "registry_dwelling"), "person_ids_differ" when both have one
    and they differ (two people, whatever their names say), None when there is none to ask."""
    lp, rp = set(left["person_ids"]), set(right["person_ids"])
    if lp and rp:
        return "person_id" if lp & rp else "person_ids_differ"
    if set(left["registry_keys"]) & set(right["registry_keys"]):
        return "registry_dwelling"
    return None


def _side(row: dict[str, Any]) -> dict[str, Any]:
    """One side of a candidate as a coordinator reads it (no national id, no hash)."""
    name = " ".join(p for p in (row["first_name"], row["last_name"]) if p) or "?"
    address = " ".join(p for p in (row["postcode"], row["house_number"]) if p)
    return {"name": name, "address": address, "systems": row["systems"], "dwelling_keys": row["dwelling_keys"]}


def link_residents(
    store: Store,
    tenant: str,
    *,
    candidate_threshold: float = 0.8,
    auto_threshold: float = 0.99,
    person_id_xrefs: Sequence[tuple[str, str]] = (),
    sample_u_from: int = SAMPLE_U_FROM,
    actions: Actions | None = None,
) -> ResidentLinkReport:
    """Score the tenant's residents and raise a `resident` candidate for each pair ≥ `candidate_threshold`
    (suggesting to merge into `left`); merge one (`by="hub:auto"`) only when its probability is ≥
    `auto_threshold` AND an authoritative id agrees. A pair a person decided already is not raised again;
    a pair whose resident an earlier automatic merge absorbed is left (the decision withdrew it)."""
    act = actions or Actions()
    report = ResidentLinkReport(tenant)
    with store.begin() as conn:
        frame = residents_frame(store, conn, tenant, person_id_xrefs=person_id_xrefs)
    report.residents = frame.num_rows
    report.u_estimated = frame.num_rows >= sample_u_from
    t0 = time.monotonic()
    pairs, report.pairs_scored = _score(frame, threshold=candidate_threshold, sample_u_from=sample_u_from)
    report.splink_seconds = time.monotonic() - t0
    rows = {r["unique_id"]: r for r in frame.to_pylist()}
    auto: list[tuple[int, ScoredPair, str]] = []
    with store.begin() as conn:
        for pair in pairs:
            left, right = rows[pair.left], rows[pair.right]
            agrees = authority(left, right)
            evidence = {
                **pair.evidence,
                "left": _side(left),
                "right": _side(right),
                "authoritative": agrees,
                "match_weight": round(pair.match_weight, 2),
            }
            cid = act.raise_candidate(
                store,
                conn,
                tenant,
                cands.RESIDENT,
                (pair.left, pair.right),
                REASON,
                evidence,
                score=pair.match_probability,
                suggestion={"decision": decisions.MERGE, "keep": pair.left},
            )
            report.candidates += 1
            report.candidate_ids.append(cid)
            if act.status(store, conn, tenant, cid) not in (None, "open"):
                report.outcomes["decided_before"] += 1
            elif pair.match_probability < auto_threshold:
                report.outcomes["candidate:below_auto_threshold"] += 1
            elif agrees in ("person_id", "registry_dwelling"):
                auto.append((cid, pair, agrees))
            else:
                report.outcomes[f"candidate:{agrees or 'no_authoritative_id'}"] += 1
    absorbed: set[str] = set()
    for cid, pair, agrees in auto:
        if pair.left in absorbed or pair.right in absorbed:
            report.outcomes["candidate:absorbed_earlier"] += 1
            continue
        note = f"p={pair.match_probability:.4f}, {agrees} agrees; agree: {', '.join(pair.evidence['agree'])}"
        try:
            act.decide(store, tenant, cid, decisions.MERGE, by=AUTO_BY, note=note)
        except decisions.DecisionError as exc:
            # an earlier merge in this run withdrew it, or a person decided it meanwhile: theirs stands
            log.info("resident auto-link skipped", extra={"tenant": tenant, "candidate": cid, "why": str(exc)})
            report.outcomes["candidate:not_open"] += 1
            continue
        absorbed.add(pair.right)
        report.auto_linked += 1
        report.outcomes[f"merged:{agrees}"] += 1
    log.info("residents linked", extra={"tenant": tenant, **report.metadata()})
    return report
