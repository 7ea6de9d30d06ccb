"""`hub demo`: the whole graph through Dagster against the sandboxes, and the funnel it ends with.

The demo personas (names, postcodes per sandbox tenant) and what each stage prints live here, not in the CLI."""

from __future__ import annotations

import argparse
import os
import string
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from app.errors import UserError
from app.sandbox_stack import refuse_ports_in_use
from connectors import registry
from connectors.hoomdossier.sandbox.credentials import REGISTER_FROM_ENV
from connectors.hoomdossier.sandbox.lookups import MEASURE_ID_BY_SHORT
from couplings import COUPLINGS
from hub.config import (
    SANDBOX_TENANTS,
    HubConfig,
    HubPaths,
    ensure_valid,
    receiver_port,
    sandbox_config,
    sandbox_port_base,
    sandbox_ports,
)
from hub.store import Store

WONINGPAS = "woningpas"


def cmd_demo(args: argparse.Namespace) -> int:
    """The whole graph through Dagster against the sandboxes: per tenant the sync job (pull, inbox, canonical
    model with its checks, follow-ups of stalled dossiers, Hoomdossier plans, pushes) twice — the second
    run pushes what the first one planned — then the mart job behind its freshness gate."""
    os.environ.pop("HUB_CONFIG", None)  # the demo always runs against the embedded sandbox tenants
    paths = HubPaths.from_env()
    paths.root.mkdir(parents=True, exist_ok=True)
    # Everything that can refuse the demo is asked before anything is removed or started: another demo on this
    # HUB_HOME, the ports, a state store the demo did not make.
    with demo_lock(paths):
        refuse_ports_in_use(sandbox_ports(), receiver_port(), sandbox_port_base(), ". Nothing was changed.")
        url = os.environ.get("HUB_DATABASE_URL")
        if url:
            refuse_a_store_by_url(url)
        else:
            reset_demo_store(paths, args.reset_store)
        return _run_demo(args, paths)


def refuse_a_store_by_url(url: str) -> None:
    """The demo writes its sandbox tenants' records into the store it is given and never deletes one it reaches
    by HUB_DATABASE_URL (a production database, perhaps): such a store must hold nothing yet, else UserError names
    what it holds (an unreachable one is the store's own error, later)."""
    from sqlalchemy.engine import make_url

    tenants, _ = _store_holds(url)
    if tenants:
        shown = make_url(url).render_as_string(hide_password=True)
        raise UserError(
            f"HUB_DATABASE_URL ({shown}) names a state store that holds records of {', '.join(sorted(tenants))}; "
            "the demo writes its sandbox tenants into the store it is given and starts from an empty one: unset "
            "HUB_DATABASE_URL (the demo then uses $HUB_HOME/hub.sqlite) or point it at an empty database. "
            "Nothing was changed."
        )


def _run_demo(args: argparse.Namespace, paths: HubPaths) -> int:
    from dagster import DagsterInstance

    import definitions
    from app.cli import _dagster_home, _open_store, _print_funnel, _start_default_stack
    from hub.mart import read_funnel

    if Path("hub.yaml").exists():
        print("note: ./hub.yaml is ignored by the demo; it uses the embedded sandbox tenants")
    _dagster_home(paths)
    started = time.monotonic()
    clocks = demo_clocks()
    # Hoomdossier registers the intakes of the month before the demo's clock (not of every day since the seed's)
    os.environ[REGISTER_FROM_ENV] = (clocks["econobis"]["start"].date() - timedelta(days=30)).isoformat()
    config = ensure_valid(sandbox_config(), registry(), couplings=COUPLINGS)  # the check every entry point runs
    print(
        f"Starting the sandboxes for {len(config.tenants)} tenants ({', '.join(t.id for t in config.tenants)}): "
        + "; ".join(
            f"{c.title} for {', '.join(t.id for t in config.tenants_with(c.name))}"
            for c in registry().with_sandbox()
            if config.tenants_with(c.name)
        )
        + f" ({args.residents} residents each in Econobis), and the hub's receiver…"
    )
    store = _open_store()
    if not os.environ.get("HUB_DATABASE_URL"):
        mark_demo_store(paths)
    stack = _start_default_stack(args.residents, throttle=60, store=store, options=clocks)
    defs = definitions.defs
    quiet = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
    failed = 0
    try:
        econobis = stack.running.get("econobis", [])
        campaigns = {r.tenant: r.sandbox.db.ids["campaigns"][0] for r in econobis}
        _register_demo_homes(stack, config, args.signups, args.form_signups)
        _queue_demo_signups(config, args.signups, campaigns)
        _post_form_signups(stack, args.form_signups)
        pushes: dict[str, PushTally] = {}
        known_ids: dict[str, dict[str, str]] = {}
        premium_lines: dict[str, str] = {}
        identity_lines: dict[str, str] = {}
        with DagsterInstance.get() as instance:
            for tenant in config.tenants:
                for n in (1, 2):
                    result = defs.resolve_job_def("sync_job").execute_in_process(
                        partition_key=tenant.id,
                        instance=instance,
                        run_config=quiet,
                        tags={"hub/tenant": tenant.id, "hub/demo": "true"},
                        raise_on_error=False,
                    )
                    failed += not result.success
                    _print_run(f"{tenant.id} sync {n}", result, pushes.setdefault(tenant.id, PushTally()))
                    if n == 1 and WONINGPAS in tenant.partners and stack.running.get(WONINGPAS) is not None:
                        desk = desk_records_mandates(store, stack.running[WONINGPAS], tenant.id)
                        known_ids[tenant.id] = desk.insz
                        print("  " + desk.line())
                    if n == 1 and HOOMDOSSIER in tenant.partners:
                        print("  " + residents_use_hoomdossier(stack, tenant.id).line())
                    if n == 1 and ECONOBIS in tenant.partners:
                        print("  " + coordinator_handles_follow_ups(stack, tenant.id).line())
                    if n == 1 and PREMIUMS in tenant.partners:
                        works = residents_supply_works(store, stack, tenant.id, national_ids=known_ids.get(tenant.id))
                        print("  " + works.line())
            # the portal decides on its clock and pays: the premium assets follow (webhooks and the poll), the
            # CRM's budgetaanvraag follows the decision
            for days in (45, 30):
                today = advance_portal(stack, days) if stack.running.get(PREMIUMS) is not None else None
                for tenant in config.tenants_with(PREMIUMS):
                    jobs = [f"{PREMIUMS}_job"] + (["econobis_push_job"] if tenant.has("econobis") else [])
                    for job in jobs:
                        result = defs.resolve_job_def(job).execute_in_process(
                            partition_key=tenant.id,
                            instance=instance,
                            run_config=quiet,
                            tags={"hub/tenant": tenant.id, "hub/demo": "true", "hub/today": today or ""},
                            raise_on_error=False,
                        )
                        failed += not result.success
                        _print_run(
                            f"{tenant.id} {job} (portal clock +{days} days: {today})",
                            result,
                            pushes.setdefault(tenant.id, PushTally()),
                        )
            result = defs.resolve_job_def("mart_job").execute_in_process(
                instance=instance, run_config=quiet, raise_on_error=False
            )
            failed += not result.success
            _print_run("mart", result)
            premium_lines = {t.id: premium_summary_line(store, t.id) for t in config.tenants_with(PREMIUMS)}
            identity_lines = {t.id: identity_summary_line(store, t) for t in config.tenants}
    finally:
        stack.stop()
        store.dispose()
    mart = paths.mart_dir / "hub.duckdb"
    if mart.exists():
        for tenant in config.tenants_with(WONINGPAS):
            print(f"\n{tenant.id}: " + epc_summary_line(mart, tenant.id))
    for tenant_id, line in premium_lines.items():
        print(f"\n{tenant_id}: {line}")
    for tenant_id, line in identity_lines.items():
        if line:
            print(f"\n{tenant_id}: {line}")
    print()
    for tenant_id, tally in pushes.items():
        print(f"{tenant_id}: {tally.line()}")
    if mart.exists():
        _print_funnel(read_funnel(mart))
        print(f"\nMart: {mart} (+ Parquet in {paths.mart_dir / 'parquet'})")
    for tenant in config.tenants:
        print(f"Report: {report_path(paths, tenant.id)} (hub report)")
    print(f"Dagster runs recorded in {paths.dagster_home}: run `make ui` to browse them.")
    print(f"Done in {time.monotonic() - started:.1f}s{'' if not failed else f' — {failed} run(s) FAILED'}.")
    return 1 if failed else 0


# --- safety first: one demo per HUB_HOME, and never a store the demo did not make ---------------------------------

DEMO_LOCK = "demo.lock"
DEMO_MARKER = "hub.sqlite.demo"  # beside the store: the demo made it (its inode, so a new file is not taken for it)


@contextmanager
def demo_lock(paths: HubPaths) -> Iterator[None]:
    """Held while a demo runs on this HUB_HOME (an OS lock: released however the process ends)."""
    import fcntl

    f = (paths.root / DEMO_LOCK).open("a+", encoding="utf-8")
    try:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            f.seek(0)
            pid = f.read().strip() or "?"
            raise UserError(
                f"another `hub demo` is running on HUB_HOME={paths.root} (pid {pid}); wait for it, or set HUB_HOME "
                "to another directory. Nothing was changed."
            ) from None
        f.seek(0)
        f.truncate()
        f.write(str(os.getpid()))
        f.flush()
        yield
    finally:
        f.close()


def _store_holds(url: str) -> tuple[set[str], int]:
    """The tenants a state store holds records of, and its live residents, read without migrating it; a store
    that cannot be read (or a file that is none) holds what could be read of it."""
    from sqlalchemy import create_engine, inspect, text
    from sqlalchemy.exc import SQLAlchemyError

    tenants: set[str] = set()
    residents = 0
    try:
        engine = create_engine(url)
    except (SQLAlchemyError, ValueError):
        return tenants, residents
    try:
        with engine.connect() as conn:
            present = set(inspect(conn).get_table_names())
            for table in ("entities", "inbox", "outbox", "quarantine"):
                if table in present:
                    tenants |= {r[0] for r in conn.execute(text(f"SELECT DISTINCT tenant FROM {table}"))}
            if "entities" in present:
                live = "SELECT count(*) FROM entities WHERE entity = 'resident' AND deleted_at IS NULL"
                residents = int(conn.execute(text(live)).scalar_one())
    except SQLAlchemyError:
        pass
    finally:
        engine.dispose()
    return tenants, residents


def _made_by_demo(paths: HubPaths) -> bool:
    marker = paths.root / DEMO_MARKER
    try:
        return marker.read_text(encoding="utf-8").strip() == str(paths.sqlite_path.stat().st_ino)
    except (OSError, ValueError):
        return False


def reset_demo_store(paths: HubPaths, reset: bool = False) -> None:
    """Start the demo's state store afresh, as its sandboxes start afresh (cursors, xrefs and the outbox of an
    earlier demo would point at records the new sandboxes do not have). Only a store the demo made itself
    (its marker, and rows of the sandbox tenants only) or one without rows is removed; any other store only
    with `reset` (`hub demo --reset-store`), else UserError names it and what it holds."""
    db = paths.sqlite_path
    if not db.exists():
        return
    tenants, residents = _store_holds(f"sqlite:///file:{db}?mode=ro&uri=true")  # read-only: never creates it
    ours = _made_by_demo(paths) and tenants <= {t for t, _ in SANDBOX_TENANTS}
    if tenants and not ours and not reset:
        raise UserError(
            f"{db} is a state store the demo did not make ({residents} residents of {', '.join(sorted(tenants))}); "
            "the demo starts from an empty store and would delete it. Set HUB_HOME to another directory for the "
            "demo, or pass --reset-store to delete this store. Nothing was changed."
        )
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    (paths.root / DEMO_MARKER).unlink(missing_ok=True)


def mark_demo_store(paths: HubPaths) -> None:
    """Mark the store just created as the demo's (the next demo may start it afresh without asking)."""
    (paths.root / DEMO_MARKER).write_text(str(paths.sqlite_path.stat().st_ino), encoding="utf-8")


def demo_clocks(now: datetime | None = None) -> dict[str, dict[str, Any]]:
    """The sandboxes' clocks set to the hub's: each seeds its history in the years before `now` (default: this
    moment, Amsterdam wall-clock) instead of its fixed seed date, so the dates the hub compares with its own
    clock (stalled dossiers, the Hoomdossier registration window, label dates) are recent as in production. The
    premium portal and BAG run on the real clock already."""
    from hub.sandbox.runtime import AMS

    at = (now or datetime.now(AMS)).astimezone(AMS).replace(tzinfo=None, microsecond=0)
    return {"econobis": {"start": at}, "hoomdossier": {"start": at}, "ep_online": {"today": at.date()}}


def report_path(paths: HubPaths, tenant_id: str) -> Path:
    """Where `hub report` writes a tenant's HTML report."""
    return paths.mart_dir / "reports" / f"{tenant_id}.html"


# What the demo prints of each stage's materialization: the core stages here, each partner's own from its
# connector declaration (`demo_lines`).
CORE_LINES = {
    "canonical_model": "canonical: {residents} residents, {dwellings} dwellings, {dossiers} dossiers, "
    "{journey_events} journey events",
    "stalled_dossiers": "stalled dossiers: {stalled_found} found, {follow_ups_queued} follow-ups queued, "
    "{without_kans} without a kans (quarantined for the coordinator)",
    "match_candidates": "identity: {open_candidates} open match candidates {by_reason}",
    "hub_freshness": "freshness: {stale} of {tenants} tenants stale",
    "reporting_mart": "mart rebuilt: {rows_dossiers} dossiers",
    "mart_report": "report: {reports} HTML file(s) in {out_dir} (open offline in a browser)",
}


def demo_lines() -> dict[str, str | tuple[str, ...]]:
    lines: dict[str, str | tuple[str, ...]] = dict(CORE_LINES)
    for c in registry():
        lines.update(c.demo_lines)
    return lines


def demo_line(formats: str | tuple[str, ...], metadata: dict[str, Any]) -> str:
    """The first of `formats` whose fields the metadata all has (else the last), filled in."""
    options = (formats,) if isinstance(formats, str) else formats
    for f in options:
        if all(name in metadata for _, name, _, _ in string.Formatter().parse(f) if name):
            return f.format_map(metadata)
    return options[-1].format_map(_Missing(metadata))


@dataclass
class PushTally:
    """What a tenant's push steps sent over the whole demo: items per partner, and the partner write calls."""

    items: dict[str, int] = field(default_factory=dict)
    writes: int = 0

    def add(self, node: str, md: dict[str, Any]) -> None:
        if node.endswith("_push") and isinstance(md.get("sent"), int):
            partner = node.removesuffix("_push")
            self.items[partner] = self.items.get(partner, 0) + md["sent"]
            self.writes += int(md.get("partner_writes") or 0)

    def line(self) -> str:
        titles = {c.name: c.title for c in registry()}
        parts = ", ".join(f"{titles.get(p, p)} {n}" for p, n in sorted(self.items.items()) if n)
        return (
            f"pushed {sum(self.items.values())} items to its partners ({parts or 'none'}) in {self.writes} partner "
            "write calls (an item found already there by its lookup takes none)"
        )


def _print_run(label: str, result: Any, pushes: PushTally | None = None) -> None:
    print(f"\n{label}: {'ok' if result.success else 'FAILED'}")
    lines = demo_lines()
    for event in result.all_events:
        if event.event_type_value == "ASSET_MATERIALIZATION":
            mat = event.event_specific_data.materialization
            node = mat.asset_key.to_user_string()
            md = {k: v.value for k, v in mat.metadata.items()}
            if pushes is not None:
                pushes.add(node, md)
            if "skipped" in md:
                print(f"  {node}: skipped ({md['skipped']})")
            elif node in lines:
                print("  " + demo_line(lines[node], md))
        elif event.event_type_value == "ASSET_CHECK_EVALUATION":
            ev = event.event_specific_data
            if not ev.passed:
                print(f"  check {ev.check_name}: {ev.severity.value} — {ev.description or 'see the UI'}")
        elif event.event_type_value == "STEP_FAILURE":
            print(f"  step {event.step_key} failed: {str(event.event_specific_data.error.message)[:300]}")


class _Missing(dict):  # type: ignore[type-arg]
    def __missing__(self, key: str) -> str:
        return "?"


DEMO_FIRST_NAMES = ("Sanne", "Joost", "Fatima", "Henk", "Iris", "Ruud", "Noor", "Bram")


def _post_form_signups(stack: Any, per_tenant: int) -> None:
    """A few sign-ups per tenant through the sandbox web form (its residents: Dutch for a cooperation, Flemish
    for the Leuven desk), as signed webhooks to the receiver, each delivered twice (a sender's retry). The sync
    job's web-form inbox sends them on to Econobis once, or, for a tenant without a CRM, opens their dossiers
    in the hub once."""
    form = stack.running.get("webform")
    if form is None or per_tenant <= 0 or stack.receiver is None:
        return
    for tenant in form.sandbox.tenants:
        sender = form.sandbox.sender(tenant)
        for data in form.sandbox.demo_signups(tenant, per_tenant):
            webhook_id, body, resp = sender.post(data)
            sender.deliver(body, webhook_id)  # the form tool's retry: stored once
            if resp.status_code >= 300:
                print(f"  web form {tenant}: the receiver answered {resp.status_code}")
    print(
        f"Posted {per_tenant} signed web-form sign-ups per tenant ({', '.join(form.sandbox.tenants)}) to the "
        "receiver (each delivered twice)."
    )


def _demo_home(tenant_id: str, i: int) -> dict[str, str]:
    """Where the demo's i-th sign-up of a cooperation lives."""
    noord = tenant_id == "coop-noord"
    return {
        "street": "Havenkade",
        "number": str(10 + i),
        "postcode": "1621AA" if noord else "5281AA",
        "city": "Hoorn" if noord else "Boxtel",
    }


def _register_demo_homes(stack: Any, config: HubConfig, signups: int, form_signups: int) -> None:
    """The sandbox BAG knows only the homes it was seeded with (the Econobis residents'); the real register knows
    every home, so the homes of the demo's new sign-ups are told to it first (`POST /__sandbox/addresses`)."""
    import requests

    bag = stack.running.get("bag")
    form = stack.running.get("webform")
    if bag is None:
        return
    homes: list[dict[str, Any]] = []
    for t in config.tenants_with("bag"):
        homes += [_demo_home(t.id, i) for i in range(signups)]
        if form is not None and t.id in form.sandbox.tenants:
            homes += [{k: d[k] for k in ("street", "number", "postcode", "city")}
                      for d in form.sandbox.demo_signups(t.id, form_signups)]  # fmt: skip
    resp = requests.post(f"{bag.server.base_url}/__sandbox/addresses", json={"addresses": homes}, timeout=10)
    resp.raise_for_status()


def _queue_demo_signups(config: HubConfig, per_tenant: int, campaigns: dict[str, int]) -> None:
    """A few sign-ups per sandbox tenant, as a web form would deliver them to the hub."""
    from app.cli import _open_store
    from connectors.econobis.commands import SignUp, enqueue_signup

    if per_tenant <= 0:
        return
    store = _open_store()
    try:
        for t in config.tenants:
            if t.id not in campaigns:  # a tenant without a sandbox Econobis
                continue
            for i in range(per_tenant):
                first = DEMO_FIRST_NAMES[i % len(DEMO_FIRST_NAMES)]
                home = _demo_home(t.id, i)
                enqueue_signup(
                    store,
                    t.id,
                    SignUp(
                        key=f"demo-{t.id}-{i:03d}",
                        first_name=first,
                        last_name=f"Aanmelder{i:03d}",
                        email=f"{first.lower()}.aanmelder{i}@example.org",
                        street=home["street"],
                        number=home["number"],
                        postcode=home["postcode"],
                        city=home["city"],
                        campaign_id=campaigns[t.id],  # the sandbox's first campaign
                        measures=["Vloerisolatie", "Spouwmuurisolatie"][: 1 + i % 2],
                        sources=["Website"],
                        consent=True,
                    ),
                )
    finally:
        store.dispose()


# --- the Dutch cooperations between the first and the second sync: residents in Hoomdossier, the coordinator -----

ECONOBIS = "econobis"
HOOMDOSSIER = "hoomdossier"


@dataclass
class HoomActivity:
    """What the residents the first sync registered in Hoomdossier did before the second sync."""

    registered: int = 0
    scans_started: int = 0  # residents who completed sub-steps of a scan (Hoomdossier tells Econobis)
    answered: int = 0  # of those, residents who also answered questions about their home
    woonplans: int = 0  # of those, residents whose action plan (woonplan) the coach made with them
    idle: int = 0

    def line(self) -> str:
        return (
            f"Hoomdossier: {self.registered} residents registered; {self.scans_started} filled in part of a scan "
            f"({self.answered} also answered questions about their home, {self.woonplans} with a woonplan of "
            f"advised measures), {self.idle} did nothing yet"
        )


# the woonplans the demo's coaches make (Hoomdossier's measure applications, yearly savings as its
# calculations give them: m³ gas, kWh): one plan per resident in turn
WOONPLANS: tuple[tuple[tuple[str, int, int], ...], ...] = (
    (("roof-insulation-pitched-inside", 310, 0), ("hrpp-glass-only", 180, 0)),
    (("cavity-wall-insulation", 420, 0), ("solar-panels-place-replace", 0, 2900)),
    (("floor-insulation", 240, 0), ("hybrid-heat-pump-outside-air", 650, -1100), ("crack-sealing", 60, 0)),
)


def residents_use_hoomdossier(stack: Any, tenant: str) -> HoomActivity:
    """What registered residents do in Hoomdossier (the sandbox's scenarios, as a resident in the tool): of every
    three, one completes two sub-steps of the quick scan and answers questions, one a sub-step of the lite scan,
    one does nothing. Their events go out as Hoomdossier's jobs (to the hub's receiver) before the next sync.
    App-level coordination: the Hoomdossier sandbox's residents are the demo's."""
    out = HoomActivity()
    running = stack.running.get(HOOMDOSSIER)
    if running is None:
        return out
    sb = running.sandbox
    coop = next((c for c in sb.state.cooperations.values() if c.slug == tenant), None)
    if coop is None:
        return out
    users = sorted(
        (
            u
            for u in sb.state.users.values()
            if u.cooperation_id == coop.id and not u.deleted and "coach" not in u.roles and u.related_with_econobis()
        ),
        key=lambda u: u.id,
    )
    out.registered = len(users)
    for i, u in enumerate(users):
        if i % 3 == 0:
            sb.complete_sub_step(tenant, u.contact_id, "quick-scan")
            sb.complete_sub_step(tenant, u.contact_id, "quick-scan")
            sb.set_answers(tenant, u.contact_id, {"resident-count": 2 + i % 3})
            plan = WOONPLANS[(i // 3) % len(WOONPLANS)]
            sb.allow_access(tenant, u.contact_id)  # the resident lets the cooperation see the plan
            sb.set_woonplan(
                tenant,
                u.contact_id,
                [
                    {"measure_id": MEASURE_ID_BY_SHORT[m], "savings_gas": gas, "savings_electricity": kwh}
                    for m, gas, kwh in plan
                ],
            )
            out.scans_started += 1
            out.answered += 1
            out.woonplans += 1
        elif i % 3 == 1:
            sb.complete_sub_step(tenant, u.contact_id, "lite-scan")
            out.scans_started += 1
        else:
            out.idle += 1
    sb.advance(300)  # five minutes on: the scheduler's woonplan command sends the changed plans, jobs run
    return out


@dataclass
class FollowUpsHandled:
    """The hub's follow-up kansacties in a cooperation's Econobis and those its coordinator handled."""

    follow_ups: int = 0
    handled: int = 0

    def line(self) -> str:
        return (
            f"coordinator: {self.handled} of {self.follow_ups} follow-up kansacties handled in Econobis "
            "(called the resident: Afgehandeld)"
        )


def coordinator_handles_follow_ups(stack: Any, tenant: str, marker: str = "Opvolgen:") -> FollowUpsHandled:
    """The coordinator calls every other resident the hub's follow-ups name and marks that kansactie handled in
    Econobis (the sandbox's `edit`, as in the UI); the next sync reads it back. App-level coordination."""
    out = FollowUpsHandled()
    running = next((r for r in stack.running.get(ECONOBIS, []) if r.tenant == tenant), None)
    if running is None:
        return out
    sb = running.sandbox
    ours = sorted(
        qid
        for qid, q in sb.db.tables["quotation_requests"].items()
        if q.get("deleted_at") is None and str(q.get("quotation_text") or "").startswith(marker)
    )
    out.follow_ups = len(ours)
    for qid in ours[::2]:
        sb.edit("quotation_requests", qid, {"status": "handled"})
        out.handled += 1
    return out


# --- the Flemish desk: mandates between the first and the second sync --------------------------------------------


@dataclass
class DeskMandates:
    """What the desk did for a tenant's residents: the holders the sandbox Woningpas knows them as, the
    mandates given there and recorded in the hub, and the residents left without one (no call for them)."""

    tenant: str
    mandated: list[str] = field(default_factory=list)  # resident canonical ids
    without: list[str] = field(default_factory=list)
    insz: dict[str, str] = field(default_factory=dict)  # resident id → INSZ (for tests; never printed)
    under_obligation: int = 0

    def line(self) -> str:
        return (
            f"desk: {len(self.mandated)} Woningpas mandates recorded ({self.under_obligation} of those homes "
            f"under a renovation obligation), {len(self.without)} resident(s) without one (not asked for)"
        )


def desk_records_mandates(
    store: Store, woningpas: Any, tenant: str, *, leave_out: int = 1, reference_prefix: str = "M-DEMO"
) -> DeskMandates:
    """What a Flemish desk does once the web form's residents have dossiers: each resident gives the desk a
    mandate in Woningpas (the sandbox: `POST /__sandbox/holders` makes them the holder of the unit at their
    address, `POST /__sandbox/mandates` gives the mandate to the tenant's client), and the desk records it in
    the hub (`register_mandate`: the INSZ and the mandate). The last `leave_out` residents (in address order)
    give none, to show no call is made for them; the first one's home is bought under the renovation
    obligation (forced), the others' follow the sandbox's own draw. App-level coordination: the web-form
    dossiers and the Woningpas sandbox and connector meet here, not in either connector."""
    import requests

    from connectors.woningpas.mandates import register_mandate
    from connectors.woningpas.sandbox.credentials import sandbox_client_id

    with store.engine.connect() as conn:
        residents = {r["canonical_id"]: r["data"] for r in store.live_entities(conn, "resident", tenant)}
        homes = [
            d["data"]
            for d in store.live_entities(conn, "dwelling", tenant)
            if d["data"].get("resident_id") in residents and d["data"].get("country") == "BE"
        ]
    homes.sort(key=lambda d: (d.get("postcode") or "", d.get("street") or "", d.get("number") or "", d["resident_id"]))
    out = DeskMandates(tenant)
    cut = max(0, len(homes) - leave_out)
    base = f"{woningpas.base_url}/__sandbox"
    with requests.Session() as http:
        for i, home in enumerate(homes):
            rid = home["resident_id"]
            person = residents[rid]
            body = {
                "first_name": person.get("first_name") or "",
                "last_name": " ".join(p for p in (person.get("last_name_prefix"), person.get("last_name")) if p),
                "street": home.get("street"),
                "number": home.get("number"),
                "box": home.get("box") or home.get("addition"),
                "postcode": home.get("postcode"),
                "municipality": home.get("city"),
            }
            if i == 0:
                body["obligation"] = True  # at least one home of the demo under the renovation obligation
            held = http.post(f"{base}/holders", json=body, timeout=10)
            held.raise_for_status()
            holder = held.json()
            out.insz[rid] = holder["insz"]
            if i >= cut:
                out.without.append(rid)
                continue
            given = http.post(
                f"{base}/mandates", json={"client_id": sandbox_client_id(tenant), "insz": holder["insz"]}, timeout=10
            )
            given.raise_for_status()
            with store.begin() as conn:
                register_mandate(
                    store, conn, tenant, rid, holder["insz"], f"{reference_prefix}-{i + 1:03d}", requested_by="desk"
                )
            out.mandated.append(rid)
            out.under_obligation += bool(holder["renovation_obligation"])
    return out


def epc_summary(mart: Path, tenant: str) -> dict[str, Any]:
    """The EPC labels of a tenant's dossiers (from the mart: the dwelling's current label) and the dossiers
    under a renovation obligation with their deadlines; no names, no addresses."""
    import duckdb

    con = duckdb.connect(str(mart), read_only=True)
    try:
        labels = con.execute(
            "SELECT coalesce(energy_label, '-'), count(*) FROM dossiers WHERE tenant = ? GROUP BY 1 ORDER BY 1",
            [tenant],
        ).fetchall()
        obligations = con.execute(
            "SELECT obligation_deadline, obligation_met FROM dossiers WHERE tenant = ? AND obligation_deadline "
            "IS NOT NULL ORDER BY obligation_deadline",
            [tenant],
        ).fetchall()
    finally:
        con.close()
    return {
        "dossiers": sum(n for _, n in labels),
        "labels": {label: n for label, n in labels},
        "obligations": [(deadline, bool(met)) for deadline, met in obligations],
    }


def epc_summary_line(mart: Path, tenant: str) -> str:
    s = epc_summary(mart, tenant)
    labels = ", ".join(f"{label} {n}" for label, n in s["labels"].items() if label != "-")
    unknown = s["labels"].get("-", 0)
    open_ = [d for d, met in s["obligations"] if not met]
    met = len(s["obligations"]) - len(open_)
    deadlines = ", ".join(d.isoformat() if isinstance(d, date) else str(d) for d in open_)
    return (
        f"EPC labels of its {s['dossiers']} dossiers: {labels or 'none'}"
        + (f" ({unknown} without a label: no mandate or no EPC)" if unknown else "")
        + f"; {len(s['obligations'])} under a renovation obligation"
        + (f" (deadline {deadlines})" if open_ else "")
        + (f", {met} already met" if met else "")
    )


# --- premiums: the residents' works are done -----------------------------------------------------------------------

PREMIUMS = "fluvius"
WEBFORM = "webform"


@dataclass
class PremiumWorks:
    """What the demo's residents supplied for premiums once their works were done, per tenant."""

    tenant: str
    dossiers: list[str] = field(default_factory=list)
    too_old: int = 0

    def line(self) -> str:
        return (
            f"residents: works done for {len(self.dossiers)} dossiers — invoices, income, IBAN and consent to apply "
            f"given through the desk's form, each gave the organisation a mandate in the premium portal "
            f"({self.too_old} with an invoice older than 24 months)"
        )


def residents_supply_works(
    store: Store, stack: Any, tenant: str, *, n: int = 4, national_ids: dict[str, str] | None = None
) -> PremiumWorks:
    """What a resident does once the works are done: the desk's form sends the invoices, income, IBAN and the
    consent to apply in their name (a signed `works.completed`), and the resident gives the organisation a
    mandate in the premium portal (the sandbox: `put_mandaat`). Chosen: the tenant's dossiers with executed
    works in the CRM first, then the others, `n` in all; the last one's invoice is older than 24 months (a
    refusal the hub foresees). `national_ids`: resident → the INSZ the desk knows (Woningpas), else the
    persona's. App-level coordination: the web form's sandbox, the premium portal's and the model meet here."""
    from datetime import timedelta

    from connectors.fluvius.sandbox.credentials import sandbox_client_id
    from connectors.webform.sandbox.personas import works_completed
    from connectors.webform.settings import WORKS_COMPLETED

    out = PremiumWorks(tenant)
    form, portal = stack.running.get(WEBFORM), stack.running.get(PREMIUMS)
    if form is None or portal is None or stack.receiver is None:
        return out
    with store.engine.connect() as conn:
        executed = {
            str(r["data"].get("intake_id"))
            for r in store.live_entities(conn, "opportunity", tenant)
            if str(r["data"].get("status", "")).startswith("executed")
        }
        dossiers = sorted(
            (r for r in store.live_entities(conn, "dossier", tenant) if r["data"].get("phase") != "stopped"),
            key=lambda r: (str(r["data"].get("intake_id")) not in executed, r["canonical_id"]),
        )[:n]
    sender = form.sandbox.sender(tenant)
    today = portal.sandbox.now().date()
    for i, d in enumerate(dossiers):
        old = i == len(dossiers) - 1 and len(dossiers) > 1
        when = (today - timedelta(days=800 if old else 60 + 10 * i)).isoformat()
        data = works_completed(tenant, i, dossier=d["canonical_id"], executed_on=when, invoice_date=when)
        own = _invoices_of_kansen(store, tenant, str(d["data"].get("intake_id")), when, i)
        if own:  # the invoices of the works the CRM has as executed (the persona's roof otherwise)
            data["invoices"] = own
            data["documents"] = [_scan(inv["number"], "factuur", inv["number"]) for inv in own] + [
                doc for doc in data["documents"] if doc["kind"] not in ("factuur", "voorschotfactuur")
            ]
        rid = str(d["data"].get("resident_id"))
        if national_ids and rid in national_ids:
            data["national_id"] = national_ids[rid]
        portal.sandbox.put_mandaat(sandbox_client_id(tenant), str(data["national_id"]))
        resp = sender.post(data, event=WORKS_COMPLETED)[2]
        if resp.status_code >= 300:
            print(f"  web form {tenant}: the receiver answered {resp.status_code}")
            continue
        out.dossiers.append(d["canonical_id"])
        out.too_old += old
    return out


def _invoices_of_kansen(store: Store, tenant: str, intake: str, when: str, i: int) -> list[dict[str, Any]]:
    """One invoice per executed kans of the intake whose works the tenant's premium covers, as a contractor
    writes it (with the ISDE meldcode of such a product for a Dutch tenant)."""
    from connectors.fluvius.categories import portal_category
    from connectors.fluvius.params import ISDE_MEASURES
    from connectors.fluvius.settings import ISDE, MVP
    from hub.config import sandbox_region

    regeling = MVP if sandbox_region(tenant).country == "BE" else ISDE
    with store.engine.connect() as conn:
        kansen = [
            r["data"]
            for r in store.live_entities(conn, "opportunity", tenant)
            if str(r["data"].get("intake_id")) == intake and str(r["data"].get("status", "")).startswith("executed")
        ]
    out: list[dict[str, Any]] = []
    for n, k in enumerate(kansen):
        pc = portal_category(regeling, k.get("measure_category"), list(k.get("measures") or []))
        if pc is None or any(o["category"] == k.get("measure_category") for o in out):
            continue
        invoice: dict[str, Any] = {
            "number": f"F-{i:03d}-{n + 1}",
            "date": when,
            "amount_excl_vat": 4800.0 + 250 * n,
            "vat_pct": 21.0 if regeling == ISDE else 6.0,
            "category": k.get("measure_category"),
            "measure": (k.get("measures") or [None])[0],
            "quantity": 1.0 if pc.unit == "stuk" else 45.0,
            "unit": pc.unit,
            "executed_on": when,
        }
        if regeling == ISDE:
            code = next((m for m in ISDE_MEASURES.values() if m.categorie == pc.categorie), None)
            if code is None:
                continue
            invoice["meldcode"] = code.meldcode
        else:
            invoice["contractor_kbo"] = "0403362424"
        out.append(invoice)
    return out


def _scan(label: str, kind: str, invoice_number: str | None = None) -> dict[str, Any]:
    import base64

    doc = {
        "kind": kind,
        "filename": f"{kind}-{label}.pdf",
        "media_type": "application/pdf",
        "content_base64": base64.b64encode(f"%PDF-1.4\n% {kind} {label}\n%%EOF\n".encode()).decode(),
    }
    if invoice_number:
        doc["invoice_number"] = invoice_number
    return doc


def advance_portal(stack: Any, days: int) -> str:
    """Move the sandbox premium portal's clock on (decisions and payments fall due, webhooks go out); returns
    the portal's date, the hub's `today` for the runs that follow."""
    import requests

    portal = stack.running[PREMIUMS]
    resp = requests.post(f"{portal.base_url}/__sandbox/clock", json={"advance_days": days}, timeout=60)
    resp.raise_for_status()
    return str(portal.sandbox.now().date())


def premium_summary_line(store: Store, tenant: str) -> str:
    from connectors.fluvius.report import overview, summary_line

    with store.engine.connect() as conn:
        return summary_line(overview(store, conn, tenant))


def identity_summary_line(store: Store, tenant: Any) -> str:
    """Per tenant with an address register: the dwellings keyed by it, those waiting on a person, and the labels
    before and after of its renovated dossiers."""
    from hub.identity.checks import shared_dwelling_keys, unkeyed_dwellings
    from hub.labels import before_after

    served = {c for p in tenant.partners if p in registry() for c in registry().get(p).keys_dwellings_of}
    if not served:
        return ""
    f = unkeyed_dwellings(store, tenant.id, served)
    with store.begin() as conn:
        by_reason: dict[str, int] = {}
        for c in store.candidates(conn, tenant.id):
            by_reason[c["reason"]] = by_reason.get(c["reason"], 0) + 1
    labels = before_after(store, tenant.id)
    share = f"{f['keyed_share']:.0%}" if f["keyed_share"] is not None else "-"
    changes = ", ".join(f"{k} {v}" for k, v in list(labels.changes.items())[:5]) or "none"
    return (
        f"{f['register_keyed']} of {f['dwellings']} dwellings keyed by the register ({share}), {f['open_candidate']} "
        f"waiting on a match decision ({', '.join(f'{k} {v}' for k, v in sorted(by_reason.items())) or 'none'}), "
        f"{f['neither']} neither, {len(shared_dwelling_keys(store, tenant.id))} keys shared; labels before and after "
        f"for {labels.with_both} of {labels.renovated} renovated dossiers ({changes})"
    )
