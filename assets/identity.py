"""Identity in the Dagster UI, per tenant: the open match candidates with their evidence (`match_candidates`, after
the model; it also scores the tenant's residents as pairs), the coordinator's decision on one (`match_decision`,
launched with a config by `decide_match_job`), and the checks that no dwelling key is shared by two dwellings and
that every dwelling a register serves has its key or waits on a person."""

from typing import Any, Literal

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetCheckSeverity,
    AssetExecutionContext,
    AssetKey,
    Config,
    Failure,
    MaterializeResult,
    MetadataValue,
    asset,
    asset_check,
)
from pydantic import Field

from assets.partners import to_metadata
from assets.resources import per_tenant, tenant_partitions
from hub.connector import Registry
from hub.identity.candidates import REASONS
from hub.identity.checks import shared_dwelling_keys, unkeyed_dwellings
from hub.identity.decide import DecisionError, decide, undo
from hub.identity.residents import link_residents
from hub.store import Store

LISTED = 50  # candidates listed in the metadata table (the CLI lists all)


def _address(side: dict[str, Any] | None) -> str:
    a = (side or {}).get("address") or {}
    parts = [a.get("street"), a.get("number"), a.get("addition"), a.get("postcode"), a.get("city")]
    return " ".join(str(p) for p in parts if p) or "—"


def summary(c: dict[str, Any]) -> str:
    """What the candidate is about, in one cell: each side's address or name, and the register's objects."""
    ev = c.get("evidence") or {}
    if c["kind"] == "resident":
        left, right = ev.get("left") or {}, ev.get("right") or {}
        return f"{left.get('name', '?')} ↔ {right.get('name', '?')}; agree: {', '.join(ev.get('agree', [])) or '—'}"
    if "left" in ev:
        return f"{_address(ev.get('left'))} ↔ {_address(ev.get('right'))}"
    objects = ", ".join(o.get("key", "?").rsplit(":", 1)[-1] for o in ev.get("register", [])) or "none"
    return f"{_address(ev.get('dwelling'))} → register: {objects}"


def candidates_table(rows: list[dict[str, Any]]) -> str:
    lines = ["| # | kind | reason | about | score | suggestion |", "|---|---|---|---|---|---|"]
    for c in rows[:LISTED]:
        sug = c.get("suggestion") or {}
        hint = sug.get("keep") or sug.get("choice") or ""
        score = f"{c['score']:.3f}" if c.get("score") is not None else ""
        text = f"{sug.get('decision', '')} {hint}".strip().replace("|", "/")
        lines.append(f"| {c['id']} | {c['kind']} | {c['reason']} | {summary(c).replace('|', '/')} | {score} | {text} |")
    if len(rows) > LISTED:
        lines.append(f"| … | | {len(rows) - LISTED} more: `hub matches list --tenant …` | | | |")
    return "\n".join(lines)


def identity_assets(reg: Registry) -> tuple[list[Any], list[Any]]:
    countries = {c.name: c.keys_dwellings_of for c in reg if c.keys_dwellings_of}
    lookups = [AssetKey(f"{name}_pull") for name in countries if reg.get(name).pull is not None]
    person_ids = [(c.name, e) for c in reg for e in c.person_id_entities]

    @asset(
        name="match_candidates",
        **per_tenant("canonical", {"python"}),
        deps=[AssetKey("canonical_model"), *lookups],
        required_resource_keys={"state_store", "hub_config"},
        description=(
            "The tenant's open match candidates, each with the evidence of both sides: dwellings a register "
            "answered doubtfully about (several objects, a side address, no residential use, not found) or two "
            "dwellings that resolve to one register object, and residents that look like one person (scored as "
            "pairs with Splink; linked automatically only above a high threshold when an authoritative id "
            "agrees). Nothing merges until a person decides: launch decide_match_job with the candidate's number, "
            "or `hub matches merge|keep-apart|undo`."
        ),
    )
    def match_candidates(context: AssetExecutionContext) -> MaterializeResult:
        tenant = context.partition_key
        with context.resources.state_store.session() as store:
            linked = link_residents(store, tenant, person_id_xrefs=person_ids)
            with store.begin() as conn:
                rows = store.candidates(conn, tenant)
        by_reason: dict[str, int] = {}
        for c in rows:
            by_reason[c["reason"]] = by_reason.get(c["reason"], 0) + 1
        return MaterializeResult(
            metadata={
                "open_candidates": len(rows),
                "by_reason": MetadataValue.json(by_reason),
                "candidates": MetadataValue.md(candidates_table(rows) if rows else "No open candidates."),
                "reasons": MetadataValue.md("\n".join(f"- **{k}**: {v}" for k, v in REASONS.items())),
                **to_metadata({f"residents_{k}": v for k, v in linked.metadata().items()}),
            }
        )

    @asset_check(
        asset=match_candidates,
        partitions_def=tenant_partitions,
        required_resource_keys={"state_store"},
        description="No dwelling key (a register's or an address key) is held by two live canonical dwellings.",
    )
    def dwelling_keys_unique(context: AssetCheckExecutionContext) -> AssetCheckResult:
        with context.resources.state_store.session() as store:
            shared = shared_dwelling_keys(store, context.partition_key)
        return AssetCheckResult(
            passed=not shared,
            severity=AssetCheckSeverity.ERROR,
            metadata={"shared_keys": len(shared), "examples": MetadataValue.json(dict(list(shared.items())[:10]))},
        )

    @asset_check(
        asset=match_candidates,
        partitions_def=tenant_partitions,
        required_resource_keys={"state_store", "hub_config"},
        description=(
            "Every dwelling of a country an address register of the tenant serves (BAG for the Netherlands) carries "
            "the register's key, or an open match candidate says why not (warns)."
        ),
    )
    def dwellings_register_keyed(context: AssetCheckExecutionContext) -> AssetCheckResult:
        tenant = context.partition_key
        cfg = context.resources.hub_config.load().tenant(tenant)
        served = {c for name, cs in countries.items() if cfg.has(name) for c in cs}
        if not served:
            return AssetCheckResult(passed=True, metadata={"skipped": f"tenant {tenant} has no address register"})
        with context.resources.state_store.session() as store:
            figures = unkeyed_dwellings(store, tenant, served)
        return AssetCheckResult(
            passed=figures["neither"] == 0,
            severity=AssetCheckSeverity.WARN,
            metadata=to_metadata(figures),
        )

    return [match_candidates], [dwelling_keys_unique, dwellings_register_keyed]


class MatchDecisionConfig(Config):
    """A coordinator's decision on one match candidate of the chosen tenant (see the match_candidates asset)."""

    candidate: int = Field(description="the candidate's number (# in match_candidates' table)")
    decision: Literal["merge", "keep-apart", "undo"] = Field(
        description="merge: one home / one person; keep-apart: two (or keep the dwelling as it is); undo: reverse "
        "the last decision and reopen it"
    )
    choice: str = Field(
        default="",
        description="merge of two: the canonical id to keep (default: the suggestion); merge of one dwelling: the "
        "register key to take (default: the suggestion)",
    )
    decided_by: str = Field(default="coordinator", description="who decides (a role or staff id, no name)")
    note: str = Field(default="", description="why (kept with the decision)")


def apply_decision(store: Store, tenant: str, config: MatchDecisionConfig) -> dict[str, Any]:
    if config.decision == "undo":
        return undo(store, tenant, config.candidate, by=config.decided_by, note=config.note).metadata()
    return decide(
        store,
        tenant,
        config.candidate,
        config.decision,
        by=config.decided_by,
        note=config.note,
        choice=config.choice or None,
    ).metadata()


@asset(
    name="match_decision",
    **per_tenant("operations", {"python"}),
    required_resource_keys={"state_store"},
    description=(
        "Apply a coordinator's decision on one match candidate of the chosen tenant: merge (every dependant and "
        "partner xref moves to the kept record), keep-apart, or undo. Launch decide_match_job, pick the tenant, "
        "give the candidate's number and the decision in the config."
    ),
)
def match_decision(context: AssetExecutionContext, config: MatchDecisionConfig) -> MaterializeResult:
    with context.resources.state_store.session() as store:
        try:
            result = apply_decision(store, context.partition_key, config)
        except DecisionError as exc:
            raise Failure(description=str(exc)) from exc
    context.log.info("match candidate #%s: %s", config.candidate, result["status"])
    return MaterializeResult(metadata=to_metadata(result))
