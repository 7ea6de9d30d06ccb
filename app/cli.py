"""The `hub` command: run the sandboxes, the demo, a pull, the mart build and its report or the Dagster UI.

A composition root in the top layer (app/), like definitions.py: it may import every layer below, and loops
over the connector registry instead of naming partners, except for the Econobis-only operator commands
(`pull`, `push`, `signup`) and the sandbox's Econobis link overrides."""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, NoReturn

from pydantic import ValidationError

from app import demo
from app.errors import UserError, user_error, validation_summary
from app.instance import write_instance_yaml
from app.progress import print_table, progress_bars, summary_table
from app.sandbox_stack import SandboxStack, port_hint, refuse_ports_in_use, start_stack
from connectors import registry
from hub import progress
from hub.config import (
    ConfigError,
    HubConfig,
    HubPaths,
    load_config,
    receiver_port,
    sandbox_port_base,
    sandbox_ports,
)
from hub.connector import Connector, PartnerRun
from hub.http import PartnerError
from hub.logs import configure_logging
from hub.receiver import create_receiver
from hub.store import Store

ROOT = Path(__file__).resolve().parents[1]
DEMO_RESIDENTS = 400


# The Dagster instance `hub ui` and `hub demo` use. Runs queue; one run per partition (tenant, or tenant and
# day) at a time, so a schedule, a sensor and a backfill of one tenant take turns; at most two steps per
# partner pool (econobis, hoomdossier) run at once across all runs.
DAGSTER_YAML = """\
telemetry:
  enabled: false
concurrency:
  pools:
    default_limit: 2
    granularity: op
  runs:
    max_concurrent_runs: 8
    tag_concurrency_limits:
      - key: dagster/partition
        value:
          applyLimitPerUniqueValue: true
        limit: 1
"""


def write_dagster_home(home: Path) -> Path:
    """A Dagster home with the hub's instance settings (an existing dagster.yaml is left as the user made it)."""
    return write_instance_yaml(home, DAGSTER_YAML)  # on PostgreSQL with HUB_DAGSTER_PG_URL (app/instance.py)


def _dagster_home(paths: HubPaths) -> Path:
    paths.ensure()
    home = write_dagster_home(paths.dagster_home)
    os.environ["DAGSTER_HOME"] = str(home)
    return home


def _start_default_stack(
    residents: int,
    throttle: int,
    store: Store | None,
    id_shift: int = 0,
    options: Mapping[str, Mapping[str, Any]] | None = None,
) -> SandboxStack:
    """Every registered sandbox and (with a store) the receiver, on the embedded config's ports; `options`:
    partner → keywords for its sandbox (e.g. the demo's clocks)."""
    base = sandbox_port_base()
    refuse_ports_in_use(sandbox_ports(), receiver_port(), base)
    try:
        return start_stack(
            residents,
            store=store,
            throttle=throttle,
            ports=sandbox_ports(),
            receiver_port=receiver_port(),
            options=options,
            id_shift=id_shift,
        )
    except RuntimeError as exc:  # a port taken between the look and the start
        raise UserError(f"{exc}; {port_hint(base)}") from None


def _wait_for_signal() -> None:
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    while not stop.is_set():
        stop.wait(0.5)


def cmd_sandbox(args: argparse.Namespace) -> int:
    """Every registered partner's sandbox + (unless --no-receiver) the hub's receiver between them."""
    store = None if args.no_receiver else _open_store()
    stack = _start_default_stack(args.residents, args.throttle, store, id_shift=args.id_shift)
    for r in stack.running.get("econobis", []):  # explicit overrides of where Econobis' outbound calls go
        if args.hoom_link is not None:
            r.sandbox.cooperation.hoom_link = args.hoom_link or None
        if args.hoom_connect_coach_link is not None:
            r.sandbox.cooperation.hoom_connect_coach_link = args.hoom_connect_coach_link or None
    listing = sandbox_listing(stack)
    tenants, receiver = listing["tenants"], listing["receiver"]
    if args.json:
        print(json.dumps(listing), flush=True)
    else:
        print(f"Sandboxes ready ({args.residents} residents per tenant). Ctrl-C stops them.")
        print(f"\n  receiver    {receiver or '(not started: --no-receiver)'}")
        titles = {c.name: c.title for c in stack.connectors}
        for tenant, parts in tenants.items():
            print(f"\n  {tenant}")
            for partner, info in parts.items():
                if partner == "tenant":
                    continue
                print(f"    {titles.get(partner, partner)}")
                for key, value in info.items():
                    print(f"      {key:<24} {value}")
        print(flush=True)
    try:
        _wait_for_signal()
    finally:
        stack.stop()
        if store is not None:
            store.dispose()
    return 0


def sandbox_listing(stack: SandboxStack) -> dict[str, Any]:
    """What `hub sandbox` prints: per tenant, every partner's base URL and demo credentials; the receiver."""
    tenants: dict[str, dict[str, Any]] = {}
    for partner, per_tenant in stack.describe().items():
        for tenant, info in per_tenant.items():
            tenants.setdefault(tenant, {"tenant": tenant})[partner] = info
    return {"tenants": tenants, "receiver": stack.receiver.base_url if stack.receiver else None}


def cmd_serve(args: argparse.Namespace) -> int:
    """The receiver alone (production): partner-compatible routes in front of the state store."""
    import uvicorn

    config = _load(args)  # what check-config checks, with the same message
    store = _open_store()
    app = create_receiver(config, store, registry().routers(config, store))
    port = args.port if args.port is not None else receiver_port()
    print(f"hub receiver on http://{args.host}:{port} for {', '.join(t.id for t in config.tenants)}", flush=True)
    uvicorn.run(app, host=args.host, port=port, log_level="warning", access_log=False, workers=1)
    return 0


def cmd_hoomdossier(args: argparse.Namespace) -> int:
    """One pass of the Hoomdossier coupling without Dagster: apply and forward received messages, plan and
    push registrations and coach links."""
    from connectors.econobis.connector import pusher

    config = _load(args)
    store = _open_store()
    tenants = [config.tenant(args.tenant)] if args.tenant else config.tenants_with("hoomdossier")
    with progress_bars(not args.no_progress):
        return _hoomdossier_pass(store, config, tenants, pusher, args.json)


def _hoomdossier_pass(store: Store, config: HubConfig, tenants: list[Any], pusher: Any, as_json: bool = False) -> int:
    from couplings.econobis_hoomdossier import (
        apply_hoomdossier_inbox,
        forward_hoomdossier_inbox,
        plan_hoomdossier,
        push_hoomdossier,
    )

    failed = 0
    results: list[dict[str, Any]] = []
    for t in tenants:
        try:
            out: dict[str, Any] = {"tenant": t.id, "applied": apply_hoomdossier_inbox(store, t.id).as_dict()}
            out["forwarded"] = forward_hoomdossier_inbox(store, t).as_dict()
            out["planned"] = plan_hoomdossier(store, t)
            out["econobis_push"] = pusher(PartnerRun(store, config, t, {"share_login": False})).run().as_dict()
            out["hoomdossier_push"] = push_hoomdossier(store, t).as_dict()
        except PartnerError as exc:
            failed += _partner_failed("hoomdossier", t.id, exc)
            continue
        results.append(out)
    if as_json:
        print(json.dumps(results, indent=2, default=str))
    elif results:
        columns = ["tenant", "applied", "apply quarantined", "forwarded", "forward later", "planned"]
        columns += ["sent to Econobis", "sent to Hoomdossier", "quarantined on push"]
        rows = [
            [
                r["tenant"],
                r["applied"].get("applied"),
                r["applied"].get("quarantined"),
                r["forwarded"].get("forwarded"),
                r["forwarded"].get("retry_later"),
                sum(v for v in r["planned"].values() if isinstance(v, int)),
                r["econobis_push"].get("sent"),
                r["hoomdossier_push"].get("sent"),
                (r["econobis_push"].get("quarantined") or 0) + (r["hoomdossier_push"].get("quarantined") or 0),
            ]
            for r in results
        ]
        print_table(summary_table("hub hoomdossier", columns, rows))
    return 1 if failed else 0


def _partner_failed(command: str, tenant: str, exc: PartnerError) -> int:
    """One line on stderr for a partner that failed a tenant's step (its message is redacted already); the
    command goes on with the next tenant and exits 1."""
    print(
        f"{command} failed for tenant {tenant}: {exc.partner} {type(exc).__name__}: {exc.message}"
        f" ({exc.method} {exc.endpoint}, after {exc.attempts} attempt(s))",
        file=sys.stderr,
    )
    return 1


def _print_funnel(rows: list[tuple[Any, ...]]) -> None:
    from hub.canonical import FUNNEL

    phases = [p.value for p in FUNNEL]
    by_scope: dict[tuple[str, str], dict[str, tuple[int, int]]] = {}
    for tenant, campaign, phase, now, through in rows:
        by_scope.setdefault((tenant, campaign), {})[phase] = (now, through)
    width = max([len(c) for _, c in by_scope] + [8])
    tw = max([len(t) for t, _ in by_scope] + [10]) + 1
    head = f"{'tenant':<{tw}} {'campaign':<{width}} " + " ".join(f"{p[:9]:>9}" for p in phases) + f" {'total':>6}"
    print("\nDossiers per phase now (and below: how many went through each phase)\n")
    print(head)
    print("-" * len(head))
    for (tenant, campaign), counts in by_scope.items():
        nows = [counts.get(p, (0, 0))[0] for p in phases]
        print(f"{tenant:<{tw}} {campaign:<{width}} " + " ".join(f"{n:>9}" for n in nows) + f" {sum(nows):>6}")
        through = [counts.get(p, (0, 0))[1] for p in phases[:-1]]
        print(f"{'':<{tw}} {'  through':<{width}} " + " ".join(f"{n:>9}" for n in through))


def _load(args: argparse.Namespace) -> HubConfig:
    """The tenants file through the one validation path (hub.config.load_config): every command refuses what
    `hub check-config` refuses, with the same message."""
    from couplings import COUPLINGS

    return load_config(args.config, registry=registry(), couplings=COUPLINGS)


def _open_store() -> Store:
    """The state store of $HUB_HOME / $HUB_DATABASE_URL (migrated on open)."""
    paths = HubPaths.from_env()
    paths.ensure()
    return Store.open(paths.database_url())


def _partner_runs(args: argparse.Namespace, has: Callable[[Connector], bool]) -> Iterator[tuple[str, PartnerRun]]:
    """(partner, run) for every registered connector with the capability (or the one `--partner` names), for
    every tenant that has it (or the one `--tenant` names). Logins are not shared outside Dagster runs."""
    config = _load(args)
    store = _open_store()
    for c in registry():
        if not has(c) or (args.partner and c.name != args.partner):
            continue
        tenants = [config.tenant(args.tenant)] if args.tenant else config.tenants_with(c.name)
        for t in tenants:
            if t.has(c.name):
                yield c.name, PartnerRun(store, config, t, {"share_login": False})


# The summary table's figures: column → the metadata keys that may carry it (the first a partner reports).
PULL_FIGURES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("seen", ("records_seen", "asked", "applications_read", "units_read")),
    ("new", ("created",)),
    ("updated", ("updated", "changed")),
    ("unchanged", ("unchanged", "already_known")),
    ("quarantined", ("quarantined", "registrations_quarantined")),
    ("calls", ("partner_calls", "register_calls")),
    ("seconds", ("seconds",)),
)
PUSH_FIGURES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("due", ("claimed",)),
    ("sent", ("sent",)),
    ("found", ("found_by_lookup",)),
    ("later", ("retry_later",)),
    ("quarantined", ("quarantined",)),
    ("withheld", ("withheld_without_consent",)),
    ("writes", ("partner_writes",)),
    ("seconds", ("seconds",)),
)


def _json_value(v: Any) -> Any:
    return getattr(v, "text", str(v))


def _figure(values: Mapping[str, Any], keys: tuple[str, ...]) -> Any:
    return next((values[k] for k in keys if k in values), None)


def _run_partners(
    args: argparse.Namespace,
    what: str,
    has: Callable[[Connector], bool],
    step: Callable[[Connector, PartnerRun], Any],
    figures: tuple[tuple[str, tuple[str, ...]], ...],
) -> int:
    """`step` for every partner × tenant (`_partner_runs`), a progress bar each; then one summary table on
    stdout (one line per partner and tenant), or with --json every outcome's figures as one JSON array. A
    partner that fails a tenant is one line on stderr; the others go on, and the exit is 1."""
    results: list[dict[str, Any]] = []
    failed = 0
    with progress_bars(not args.no_progress):
        for partner, run in _partner_runs(args, has):
            row: dict[str, Any] = {"partner": partner, "tenant": run.tenant_id}
            with progress.task(f"{what} {partner} {run.tenant_id}"):
                try:
                    row |= {"ok": True, **step(registry().get(partner), run).metadata()}
                except PartnerError as exc:
                    failed += _partner_failed(what, run.tenant_id, exc)
                    row |= {"ok": False, "error": user_error(exc)}
            results.append(row)
    if args.json:
        print(json.dumps(results, indent=2, default=_json_value))
    elif results:
        rows = [
            [r["partner"], r["tenant"], "ok" if r["ok"] else "FAILED", *(_figure(r, keys) for _, keys in figures)]
            for r in results
        ]
        print_table(summary_table(f"hub {what}", ["partner", "tenant", "result", *(c for c, _ in figures)], rows))
    else:
        print(f"hub {what}: no configured tenant has a partner with a {what}", file=sys.stderr)
    return 1 if failed else 0


def cmd_pull(args: argparse.Namespace) -> int:
    """Each partner's pull for the configured tenants, without Dagster (`--full`: the nightly re-read)."""

    def step(c: Connector, run: PartnerRun) -> Any:
        assert c.pull is not None
        return c.pull.run(run, args.full)

    return _run_partners(args, "pull", lambda c: c.pull is not None, step, PULL_FIGURES)


def _read_signups(name: str) -> str:
    if name == "-":
        return sys.stdin.read()
    path = Path(name)
    if not path.is_file():
        raise UserError(f"no sign-up file {name}" + (" (it is a directory)" if path.is_dir() else ""))
    return path.read_text(encoding="utf-8")


def cmd_signup(args: argparse.Namespace) -> int:
    """Queue sign-ups (JSON lines, one SignUp each) for a tenant's Econobis; pushed by `hub push`."""
    from connectors.econobis.commands import SignUp, enqueue_signup

    tenant = _load(args).tenant(args.tenant)
    text = _read_signups(args.file)  # before the store: a missing file touches nothing
    store = _open_store()
    queued = bad = 0
    try:
        for n, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                signup = SignUp.model_validate_json(line)
            except ValidationError as exc:
                bad += 1
                print(f"line {n}: not a valid sign-up: {validation_summary(exc)}", file=sys.stderr)
                continue
            enqueue_signup(store, tenant.id, signup)
            queued += 1
    finally:
        store.dispose()
    print(f"queued {queued} sign-up(s) for {tenant.id}" + (f"; {bad} line(s) refused" if bad else ""))
    return 1 if bad else 0


def cmd_push(args: argparse.Namespace) -> int:
    """Each partner's due outbox items, pushed without Dagster."""

    def step(c: Connector, run: PartnerRun) -> Any:
        assert c.push is not None
        return c.push.run(run)

    return _run_partners(args, "push", lambda c: c.push is not None, step, PUSH_FIGURES)


def cmd_mart(args: argparse.Namespace) -> int:
    from hub.mart import build_mart, read_funnel

    config = _load(args)  # before the store: a bad file touches nothing
    paths = HubPaths.from_env()
    paths.ensure()
    store = Store.open(paths.database_url())
    try:
        with progress_bars(not args.no_progress):
            result = build_mart(store, config, paths.mart_dir)
    finally:
        store.dispose()
    if args.json:
        print(json.dumps({"mart": str(result.path), "rows": result.rows, "seconds": result.seconds}, indent=2))
        return 0
    _print_funnel(read_funnel(result.path))
    print(f"\nmart: {result.path} ({sum(result.seconds.values()):.1f} s)")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    """Write the HTML report per tenant from the published mart (hub/mart/report.py); prints each file's path."""
    from hub.mart import MART_FILE
    from hub.mart.report import ReportError, write_report

    config = _load(args)
    tenants = [config.tenant(args.tenant).id] if args.tenant else [tc.id for tc in config.tenants]
    paths = HubPaths.from_env()
    out = Path(args.out) if args.out else paths.mart_dir / "reports"
    try:
        with progress_bars(not args.no_progress):
            written = write_report(paths.mart_dir / MART_FILE, out, tenants)
    except ReportError as exc:  # no mart yet, or a tenant it does not have
        raise UserError(str(exc)) from None
    for path in written.values():
        print(path)
    return 0


def cmd_erase(args: argparse.Namespace) -> int:
    """Erase one resident of one tenant (or, without --resident/--email, continue the open erasures): the
    store purged, the mart republished, each partner told; prints the audit record (docs/erasure.md)."""
    from hub.erasure import ErasureError, audit_record, confirm, erase, find_residents, resume
    from hub.pseudonym import PseudonymKeyMissing

    config = _load(args)  # before the store: a bad file touches nothing
    paths = HubPaths.from_env()
    paths.ensure()
    store = Store.open(paths.database_url())
    try:
        started = None
        if args.confirm:
            if not (args.tenant and args.request and args.requested_by):
                print("hub erase: --confirm needs --tenant, --request and --requested-by", file=sys.stderr)
                return 2
            _print_erasures(
                [audit_record(confirm(store, args.tenant, args.request, args.confirm, args.requested_by))], args.json
            )
            return 0
        if args.resident or args.email:
            if not (args.tenant and args.requested_by):
                print("hub erase: --tenant and --requested-by are required with --resident/--email", file=sys.stderr)
                return 2
            ids = [args.resident] if args.resident else find_residents(store, config.tenant(args.tenant).id, args.email)
            if not ids:
                print(f"no live resident of {args.tenant} has that e-mail address (erased already?)", file=sys.stderr)
                return 1
            for rid in ids:
                started = erase(store, config, args.tenant, rid, args.requested_by)
                if started.already_done:
                    print(f"erasure {started.request_id} was completed already; nothing changed")
        records = resume(store, config, paths.mart_dir)
        if started is not None and started.already_done:
            records.append(started.audit)
        _print_erasures(records, args.json)
        return 0
    except (ErasureError, PseudonymKeyMissing) as exc:
        print(f"hub erase: {exc}", file=sys.stderr)
        return 2
    finally:
        store.dispose()


def _print_erasures(records: list[dict[str, Any]], as_json: bool) -> None:
    """The erasure audit records: a line each (each partner's step as partner=status), or JSON with --json."""
    if as_json:
        print(json.dumps(records, indent=2))
        return
    if not records:
        print("hub erase: no erasure open")
        return
    rows = [
        [
            r["request"],
            r["tenant"],
            r["status"],
            r["store"].get("status"),
            r["mart"].get("status"),
            ", ".join(f"{name}={step.get('status')}" for name, step in sorted(r["partners"].items())) or None,
            r["requested_by"],
            r["completed_at"],
        ]
        for r in records
    ]
    columns = ["request", "tenant", "status", "store", "mart", "partners", "requested by", "completed"]
    print_table(summary_table("hub erase", columns, rows))


def cmd_purge(args: argparse.Namespace) -> int:
    """The retention purge: personal data blanked from processed payloads older than each tenant's
    `retention_days` (default 30)."""
    from hub.erasure import purge_retention

    config = _load(args)
    store = _open_store()
    try:
        purged = purge_retention(store, config)
        if args.json:
            print(json.dumps(purged, indent=2))
        else:
            keys = sorted({k for figures in purged.values() for k in figures})
            rows = [[tenant, *(figures.get(k) for k in keys)] for tenant, figures in purged.items()]
            print_table(summary_table("hub purge", ["tenant", *(k.replace("_", " ") for k in keys)], rows))
    finally:
        store.dispose()
    return 0


def cmd_consent(args: argparse.Namespace) -> int:
    """Show one resident's consent, or record what the resident told the cooperation directly (grant or
    withdraw, per purpose and partner) as the coordinator's statement (docs/consent.md)."""
    from hub.consent import ConsentError, consent_report, record_by_coordinator
    from hub.erasure import find_residents

    config = _load(args)
    tenant = config.tenant(args.tenant)
    store = _open_store()
    try:
        ids = [args.resident] if args.resident else find_residents(store, tenant.id, args.email)
        if len(ids) != 1:
            print(
                f"hub consent: {len(ids)} live residents of {tenant.id} have that e-mail address; "
                "name one with --resident",
                file=sys.stderr,
            )
            return 1
        if args.action != "show":
            if not (args.partner and args.by):
                print("hub consent: grant and withdraw need --partner and --by", file=sys.stderr)
                return 2
            done = record_by_coordinator(
                store, tenant.id, ids[0], args.purpose, args.partner, args.action == "grant", args.by, tenant.partners
            )
            print(
                f"recorded: {args.purpose} with {args.partner} {'granted' if args.action == 'grant' else 'withdrawn'}"
                f"{'' if done.logged else ' (it stood already)'}; {done.resumed} withheld item(s) due again"
            )
        _print_consent(consent_report(store, tenant.id, ids[0]), args.json)
        return 0
    except ConsentError as exc:
        print(f"hub consent: {exc}", file=sys.stderr)
        return 2
    finally:
        store.dispose()


def _print_consent(report: dict[str, Any], as_json: bool) -> None:
    """What is in force for the resident and the statements behind it, as two tables (JSON with --json)."""
    if as_json:
        print(json.dumps(report, indent=2))
        return

    def row(r: dict[str, Any]) -> list[Any]:
        return [r["purpose"], r["partner"], "granted" if r["granted"] else "withdrawn", r["source"], r["observed_at"]]

    columns = ["purpose", "partner", "statement", "source", "observed at"]
    title = f"consent of resident {report['resident']} ({report['tenant']}): in force"
    print_table(summary_table(title, columns, [row(r) for r in report["standing"]]))
    print()
    history = [[*row(r), "yes" if r.get("in_force") else ""] for r in report["history"]]
    print_table(summary_table("statements, oldest first", [*columns, "in force"], history))


def cmd_mandate(args: argparse.Namespace) -> int:
    """The desk records a resident's Woningpas mandate (given by the resident in Woningpas itself, with eID or
    itsme) with their INSZ, withdraws it, or lists the tenant's (connectors/woningpas/mandates.py). The INSZ is
    never printed in full: only its last 3 digits."""
    from connectors.woningpas.mandates import (
        MandateError,
        list_mandates,
        mask_insz,
        normalise_insz,
        register_mandate,
        withdraw_mandate,
    )
    from connectors.woningpas.settings import PARTNER as WONINGPAS

    config = _load(args)
    tenant = config.tenant(args.tenant)
    if WONINGPAS not in tenant.partners:
        print(f"hub mandate: tenant {tenant.id} has no {WONINGPAS} partner", file=sys.stderr)
        return 2
    if args.action in ("add", "withdraw"):
        missing = [f"--{n.replace('_', '-')}" for n in ("resident", "reference") if not getattr(args, n)]
        missing += ["--insz"] if args.action == "add" and not args.insz else []
        missing += ["--requested-by"] if not args.requested_by else []
        if missing:
            print(f"hub mandate {args.action} needs {', '.join(missing)}", file=sys.stderr)
            return 2
    store = _open_store()
    try:
        with store.begin() as conn:
            if args.action == "add":
                done = register_mandate(
                    store, conn, tenant.id, args.resident, args.insz, args.reference, requested_by=args.requested_by
                )
                masked = mask_insz(normalise_insz(args.insz))
                print(
                    f"recorded: the Woningpas mandate {args.reference} of resident {args.resident} (INSZ {masked})"
                    f"{'' if done.logged else ' (it stood already)'}; the next pull reads their passes"
                )
            elif args.action == "withdraw":
                done = withdraw_mandate(
                    store, conn, tenant.id, args.resident, args.reference, requested_by=args.requested_by
                )
                print(
                    f"recorded: the Woningpas mandate of resident {args.resident} withdrawn"
                    f"{'' if done.logged else ' (it was withdrawn already)'}; the pull no longer reads their passes"
                )
            else:
                rows = list_mandates(store, conn, tenant.id)
                if args.json:
                    print(json.dumps([r.__dict__ for r in rows], indent=2))
                    return 0
                print(f"{len(rows)} resident(s) of {tenant.id} with a known INSZ")
                for r in rows:
                    state = {True: "granted", False: "withdrawn", None: "none"}[r.granted]
                    ref = f"{r.source_ref or ''} {r.recorded_at or ''}".strip()
                    print(f"  {r.resident_id}  INSZ {r.insz_masked}  {state:<9} {ref}")
        return 0
    except MandateError as exc:
        print(f"hub mandate: {exc}", file=sys.stderr)
        return 2
    finally:
        store.dispose()


def cmd_premiums(args: argparse.Namespace) -> int:
    """A tenant's premium applications (per category: status, amounts, the portal's or the hub's reason codes,
    the prefilled share) and what each dossier still needs from the resident (connectors/fluvius/report.py)."""
    from connectors.fluvius.report import overview, summary_line
    from connectors.fluvius.settings import PARTNER as PREMIUMS

    config = _load(args)
    tenant = config.tenant(args.tenant)
    if PREMIUMS not in tenant.partners:
        print(f"hub premiums: tenant {tenant.id} has no premium portal ({PREMIUMS})", file=sys.stderr)
        return 2
    store = _open_store()
    try:
        with store.begin() as conn:
            o = overview(store, conn, tenant.id)
    finally:
        store.dispose()
    if args.json:
        print(json.dumps(o, indent=2, default=str))
        return 0
    print(f"{tenant.id}: " + summary_line(o))
    for a in o["applications"]:
        codes = ",".join(a["reason_codes"])
        amounts = f"requested {a['requested'] or '-'} granted {a['granted'] or '-'} paid {a['paid'] or '-'}"
        print(
            f"  {str(a['dossier'])[:8]}  {a['scheme']:<7} {a['category']:<18} {a['status']:<24} "
            f"{a['dossier_number'] or '':<17} {amounts} {codes}"
        )
    for n in o["still_needed"]:
        print(f"  still needed for dossier {str(n['dossier'])[:8]}: {'; '.join(n['items'])}")
    return 0


def cmd_woningpas(args: argparse.Namespace) -> int:
    """The coordinator's decision on a Woningpas address-match candidate (a follow-up task `address-match`):
    --accept joins the unit to the dwelling the task names, --reject makes it a dwelling of its own; without
    --task, the open candidates are listed."""
    from connectors.woningpas.pull import decide_match
    from connectors.woningpas.settings import MATCH_FOLLOW_UP
    from hub.followup import open_follow_ups

    config = _load(args)
    tenant = config.tenant(args.tenant)
    store = _open_store()
    try:
        with store.engine.connect() as conn:
            tasks = {t["_id"]: t for t in open_follow_ups(store, conn, tenant.id, MATCH_FOLLOW_UP)}
        if not args.task:
            print(f"{len(tasks)} open address-match task(s) of {tenant.id}")
            for tid, t in sorted(tasks.items()):
                print(f"  {tid}  {t.get('reason', '')}")
            return 0
        task = tasks.get(args.task)
        if task is None:
            print(
                f"hub woningpas match: tenant {tenant.id} has no open address-match task {args.task}", file=sys.stderr
            )
            return 2
        if args.accept == args.reject:
            print("hub woningpas match: give one of --accept or --reject", file=sys.stderr)
            return 2
        detail = task.get("detail") or {}
        unit = int(detail["gebouweenheid"])
        decide_match(store, tenant.id, unit, str(detail["candidate_dwelling"]) if args.accept else None)
        print(
            f"decided: Woningpas gebouweenheid {unit} "
            + ("joins the dossier's dwelling" if args.accept else "is a dwelling of its own")
            + "; the next pull imports it"
        )
        return 0
    finally:
        store.dispose()


def cmd_matches(args: argparse.Namespace) -> int:
    """Match candidates of a tenant: list the open ones (or all with --all), show one with its evidence, decide one
    (merge | keep-apart) or undo a decision."""
    from assets.identity import MatchDecisionConfig, apply_decision, summary
    from hub.identity.candidates import REASONS
    from hub.identity.decide import DecisionError

    config = _load(args)
    tenant = config.tenant(args.tenant)
    store = _open_store()
    try:
        if args.action == "list":
            with store.begin() as conn:
                rows = store.candidates(conn, tenant.id, kind=args.kind, status=None if args.all else "open")
            if args.json:
                print(json.dumps(rows, indent=2, default=str))
                return 0
            print(f"{len(rows)} {'' if args.all else 'open '}match candidate(s) of {tenant.id}")
            for c in rows:
                score = f" p={c['score']:.3f}" if c.get("score") is not None else ""
                print(f"  #{c['id']:<5} {c['status']:<10} {c['kind']:<9} {c['reason']:<22}{score}  {summary(c)}")
            return 0
        if args.candidate is None:
            print(f"hub matches {args.action}: give the candidate's number (--candidate N)", file=sys.stderr)
            return 2
        if args.action == "show":
            with store.begin() as conn:
                found = store.candidate(conn, tenant.id, args.candidate)
            if found is None:
                print(f"hub matches show: tenant {tenant.id} has no match candidate #{args.candidate}", file=sys.stderr)
                return 2
            c = found
            print(f"#{c['id']} {c['kind']} · {c['reason']} ({REASONS.get(c['reason'], '')}) · {c['status']}")
            print(
                json.dumps(
                    {k: c[k] for k in ("subjects", "score", "suggestion", "evidence", "decision")},
                    indent=2,
                    default=str,
                )
            )
            return 0
        decision = {"merge": "merge", "keep-apart": "keep-apart", "undo": "undo"}[args.action]
        cfg = MatchDecisionConfig(
            candidate=args.candidate,
            decision=decision,  # type: ignore[arg-type]
            choice=args.choice or "",
            decided_by=args.decided_by,
            note=args.note or "",
        )
        try:
            result = apply_decision(store, tenant.id, cfg)
        except DecisionError as exc:
            print(f"hub matches {args.action}: {exc}", file=sys.stderr)
            return 2
        moved = result.get("moved") or {}
        print(
            f"#{args.candidate}: {result['status']}"
            + (f" (kept {result['kept']}, absorbed {result['absorbed']})" if result.get("absorbed") else "")
            + (f"; moved {moved.get('entities', 0)} records and {moved.get('xrefs', 0)} partner ids" if moved else "")
        )
        return 0
    finally:
        store.dispose()


def _quarantine_tenants(args: argparse.Namespace, config: HubConfig) -> list[Any]:
    return [config.tenant(args.tenant)] if args.tenant else list(config.tenants)


def _quarantine_view(q: Mapping[str, Any], payload: bool = False) -> dict[str, Any]:
    """An entry as a person sees it: its reason and (with `payload`) its payload with personal data masked as
    in logs (hub.redact); a byte-exact refused body only by its size."""
    from hub.redact import redact_personal

    out: dict[str, Any] = {
        "id": q["id"],
        "tenant": q["tenant"],
        "source": q["source"],
        "entity": q["entity"],
        "external_id": q["external_id"],
        "status": "open" if q["resolved_at"] is None else "resolved",
        "occurrences": q["occurrences"],
        "first_seen_at": q["first_seen_at"],
        "last_seen_at": q["last_seen_at"],
        "resolved_at": q["resolved_at"],
        "reason": redact_personal(str(q["reason"])),
    }
    if payload:
        out["payload"] = redact_personal(q["payload"])
        body = q.get("payload_bytes")
        out["payload_bytes"] = f"{len(body)} bytes (not shown)" if body else None
    return out


def cmd_quarantine(args: argparse.Namespace) -> int:
    """What the hub could not process, per tenant: `list` (open entries, or all with --all), `show` one entry
    with its reason and payload (personal data masked), `replay` them by each source's rule — the same
    replay as Dagster's `quarantine_replay` (hub.work.replay_tenant), re-reads from the partner included."""
    config = _load(args)
    tenants = _quarantine_tenants(args, config)
    store = _open_store()
    try:
        if args.action == "list":
            return _quarantine_list(args, store, tenants)
        if args.action == "show":
            return _quarantine_show(args, store, tenants)
        return _quarantine_replay(args, store, config, tenants)
    finally:
        store.dispose()


def _quarantine_list(args: argparse.Namespace, store: Store, tenants: list[Any]) -> int:
    entries: list[dict[str, Any]] = []
    with store.begin() as conn:
        for t in tenants:
            found = store.quarantine_entries(
                conn, t.id, sources=args.source or (), ids=args.id or (), reason=args.reason, include_resolved=args.all
            )
            entries += [_quarantine_view(q) for q in found]
    shown = entries if args.limit <= 0 else entries[: args.limit]
    if args.json:
        print(json.dumps(shown, indent=2, default=str))
        return 0
    which = "" if args.all else "open "
    if not entries:
        print(f"no {which}quarantine entries" + (" match" if args.source or args.id or args.reason else ""))
        return 0
    rows = [
        [
            e["id"],
            e["tenant"],
            e["source"],
            e["entity"],
            e["external_id"],
            e["status"],
            e["occurrences"],
            f"{e['last_seen_at']:%Y-%m-%d %H:%M}",
            e["reason"][:90] + ("…" if len(e["reason"]) > 90 else ""),
        ]
        for e in shown
    ]
    columns = ["id", "tenant", "source", "entity", "external id", "status", "seen", "last seen", "reason"]
    print_table(
        summary_table(f"{len(entries)} {which}quarantine entr{'y' if len(entries) == 1 else 'ies'}", columns, rows)
    )
    if len(shown) < len(entries):
        print(f"… and {len(entries) - len(shown)} more (--limit 0 lists all, --json for every field)")
    return 0


def _quarantine_show(args: argparse.Namespace, store: Store, tenants: list[Any]) -> int:
    if not args.id or len(args.id) != 1:
        raise UserError("show needs one entry: --id N (the number `hub quarantine list` shows)")
    with store.begin() as conn:
        found = [q for t in tenants if (q := store.quarantine_entry(conn, t.id, args.id[0])) is not None]
    if not found:
        where = f"tenant {args.tenant}" if args.tenant else "any configured tenant"
        raise UserError(f"{where} has no quarantine entry {args.id[0]}")
    view = _quarantine_view(found[0], payload=True)
    if args.json:
        print(json.dumps(view, indent=2, default=str))
        return 0
    print(
        f"#{view['id']} {view['tenant']} · {view['source']} · {view['entity']} {view['external_id']} · {view['status']}"
    )
    seen = f"seen {view['occurrences']} time(s), first {view['first_seen_at']:%Y-%m-%d %H:%M}"
    seen += f", last {view['last_seen_at']:%Y-%m-%d %H:%M}"
    if view["resolved_at"]:
        seen += f", resolved {view['resolved_at']:%Y-%m-%d %H:%M}"
    print(seen)
    print(f"reason: {view['reason']}")
    print("payload (personal data masked):")
    print(json.dumps(view["payload"], indent=2, default=str, ensure_ascii=False))
    if view["payload_bytes"]:
        print(f"refused body: {view['payload_bytes']}")
    return 0


def _quarantine_replay(args: argparse.Namespace, store: Store, config: HubConfig, tenants: list[Any]) -> int:
    from assets.operations import replay_rules
    from couplings import COUPLINGS
    from hub.work import replay_tenant

    rules = replay_rules(registry(), COUPLINGS)
    results: list[dict[str, Any]] = []
    failed = 0
    with progress_bars(not args.no_progress):
        for t in tenants:

            def reread(partner: str, records: dict[str, list[str]], t: Any = t) -> dict[str, Any] | None:
                c = registry().get(partner)
                if c.pull is None or c.pull.reread is None or not t.has(partner):
                    return None
                return dict(c.pull.reread(PartnerRun(store, config, t, {"share_login": False}), records).metadata())

            with progress.task(f"replay {t.id}"):
                try:
                    done = replay_tenant(
                        store, t.id, rules, reread, args.source or None, args.id or None, reason=args.reason
                    )
                except PartnerError as exc:
                    failed += _partner_failed("quarantine replay", t.id, exc)
                    continue
            if done.unknown is not None:
                failed += 1
                print(f"hub quarantine replay: {done.unknown}", file=sys.stderr)
            r = done.report
            results.append(
                {
                    "tenant": t.id,
                    "open_before": sum(done.before.values()),
                    "requeued": r.requeued,
                    "reread_from_partner": r.reread,
                    "reread_still_quarantined": done.reread_still_quarantined,
                    "nothing_left_to_replay": r.gone,
                    "not_replayable": {s: {"open": n, "why": r.why.get(s, "")} for s, n in r.not_replayable.items()},
                    "no_replay_rule": r.unknown,
                    "open_after": sum(done.after.values()),
                    "open_after_by_source": done.after,
                    "replayed": r.preview,
                }
            )
    if args.json:
        print(json.dumps(results, indent=2, default=str))
    elif results:
        rows = [
            [
                x["tenant"],
                x["open_before"],
                sum(x["requeued"].values()),
                x["reread_from_partner"],
                x["reread_still_quarantined"],
                x["nothing_left_to_replay"],
                sum(v["open"] for v in x["not_replayable"].values()),
                sum(x["no_replay_rule"].values()),
                x["open_after"],
            ]
            for x in results
        ]
        columns = ["tenant", "open before", "due again", "re-read", "still failing", "nothing left", "not replayable",
                   "no rule", "open after"]  # fmt: skip
        print_table(summary_table("hub quarantine replay", columns, rows))
        print("due again: the outbox and inbox send them on their next run (`hub push`, or the Dagster sensors)")
    return 1 if failed else 0


def cmd_ui(args: argparse.Namespace) -> int:
    """The sandboxes (Econobis per tenant, Hoomdossier, the receiver) and `dagster dev` (webserver + daemon:
    schedules, sensors, backfills, run queue) on the hub's definitions and instance settings."""
    home = _dagster_home(HubPaths.from_env())
    store = _open_store()
    stack = _start_default_stack(args.residents, throttle=60, store=store)
    print(f"Sandboxes up; Dagster UI on http://{args.host}:{args.port} (DAGSTER_HOME={home}). Ctrl-C stops both.")
    env = {**os.environ, "DAGSTER_HOME": str(home)}
    cmd = [sys.executable, "-m", "dagster", "dev", "-f", "definitions.py", "-h", args.host, "-p", str(args.port)]
    # its own process group: a stop reaches the webserver, daemon and code server it starts, not only itself
    child = subprocess.Popen(cmd, env=env, cwd=ROOT, start_new_session=True)
    try:
        return wait_until_stopped(child)
    finally:
        stack.stop()
        store.dispose()


def _interrupt(*_: Any) -> NoReturn:
    raise KeyboardInterrupt


def wait_until_stopped(child: subprocess.Popen[Any]) -> int:
    """Wait for a child started in its own session; Ctrl-C or SIGTERM stops it and its whole group
    (`stop_process_group`). SIGTERM is turned into Ctrl-C here, so the stop runs after the wait is left: a stop run
    inside the handler, with `wait` still holding the child, could not reap it and would wait out every grace."""
    before = signal.signal(signal.SIGTERM, _interrupt)
    try:
        return child.wait()
    except KeyboardInterrupt:
        stop_process_group(child)
        return child.wait()
    finally:
        signal.signal(signal.SIGTERM, before)
        stop_process_group(child)  # nothing left, as a rule; at once then


def stop_process_group(child: subprocess.Popen[Any], grace: tuple[float, float, float] = (20.0, 10.0, 5.0)) -> None:
    """Stop a child started in its own session and everything it started: SIGINT first (as Ctrl-C: `dagster dev`
    then stops its webserver and daemon), SIGTERM and SIGKILL to the whole group for what is left after each grace
    period. Returns when no process of the group is left (or after the last grace period)."""
    for sig, wait in zip((signal.SIGINT, signal.SIGTERM, signal.SIGKILL), grace, strict=True):
        try:
            os.killpg(child.pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            child.poll()  # reap the child itself: a zombie still counts as a member of its group
            try:
                os.killpg(child.pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.1)


def cmd_migrate(args: argparse.Namespace) -> int:
    _open_store().dispose()
    print("state store is at the newest migration")
    return 0


def receiver_openapi() -> dict[str, Any]:
    """The receiver's OpenAPI document, generated from every connector's routes. Built on the sandbox tenants
    and an in-memory store: the document describes the routes, not a deployment's tenants or secrets."""
    from hub.config import sandbox_config
    from hub.receiver.app import openapi_document

    config = sandbox_config()
    store = Store.open("sqlite://")
    try:
        return openapi_document(create_receiver(config, store, registry().routers(config, store)))
    finally:
        store.dispose()


def cmd_openapi(args: argparse.Namespace) -> int:
    """Print the receiver's OpenAPI document (docs/openapi.json is this output, checked by a test)."""
    print(json.dumps(receiver_openapi(), indent=2, ensure_ascii=False))
    return 0


def cmd_check_config(args: argparse.Namespace) -> int:
    """The same load and validation every other command, `hub serve` and Dagster run (hub.config.load_config):
    what they would refuse, this refuses first, with the same message (exit 2)."""
    config = _load(args)
    print(f"{config.source}: {len(config.tenants)} tenant(s) OK: {', '.join(t.id for t in config.tenants)}")
    return 0


LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


class HubParser(argparse.ArgumentParser):
    """argparse with the hub's refusal of a bad argument: one line, `hub pull: error: …`, exit 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see `{self.prog} --help`)\n")


def _tenant_option(p: argparse.ArgumentParser, required: bool = False, what: str = "") -> None:
    p.add_argument(
        "--tenant",
        required=required,
        help=f"the tenant's id, e.g. coop-noord{'' if required else ' (default: every configured tenant)'}{what}",
    )


def _json_option(p: argparse.ArgumentParser, what: str = "") -> None:
    p.add_argument("--json", action="store_true", help=f"print JSON on stdout instead of a table{what}")


def _partner_option(p: argparse.ArgumentParser, names: list[str], what: str) -> None:
    p.add_argument("--partner", choices=names, help=f"only this partner (default: every partner with a {what})")


def build_parser() -> argparse.ArgumentParser:
    reg = registry()
    p = HubParser(
        prog="hub",
        description="Renovation-journey integration hub",
        epilog="A wrong value or file ends in one line `hub …: error: …` and exit 2; HUB_DEBUG=1 shows the traceback.",
    )
    p.add_argument("--config", help="tenants file (default: $HUB_CONFIG, ./hub.yaml, else the sandbox tenants)")
    p.add_argument(
        "--log-level",
        type=str.upper,
        choices=LOG_LEVELS,
        default=os.environ.get("HUB_LOG_LEVEL", "WARNING").upper(),
        help="JSON log events on stderr from this level on (default: $HUB_LOG_LEVEL or WARNING)",
    )
    p.add_argument(
        "--no-progress",
        action="store_true",
        help="no progress bars (they are drawn on stderr only when it is a terminal)",
    )
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    s = sub.add_parser("sandbox", help="run the partner sandboxes on loopback until Ctrl-C")
    s.add_argument("--residents", type=int, default=DEMO_RESIDENTS, help="residents per tenant in each sandbox CRM")
    s.add_argument("--throttle", type=int, default=60, help="requests per minute per client (Econobis: 60)")
    s.add_argument("--id-shift", type=int, default=0, help="shift lookup ids (prove the hub keys on code_ref)")
    s.add_argument("--json", action="store_true", help="print base URLs and credentials as one JSON object")
    s.add_argument("--hoom-link", help="URL Econobis registers residents at (default: the hub's receiver)")
    s.add_argument("--hoom-connect-coach-link", help="URL Econobis links coaches at (default: the hub's receiver)")
    s.add_argument("--no-receiver", action="store_true", help="do not start the hub's receiver between them")
    s.set_defaults(fn=cmd_sandbox)

    sv = sub.add_parser("serve", help="run the receiver (Econobis- and Hoomdossier-compatible routes)")
    sv.add_argument("--host", default="127.0.0.1", help="the address to listen on (default: 127.0.0.1)")
    sv.add_argument("--port", type=int, default=None, help="default: $HUB_RECEIVER_PORT or HUB_SANDBOX_PORT_BASE")
    sv.set_defaults(fn=cmd_serve)

    hd = sub.add_parser("hoomdossier", help="one pass of the Hoomdossier coupling (no Dagster)")
    _tenant_option(hd, what=" with Hoomdossier")
    _json_option(hd, " (every tenant's figures as one array)")
    hd.set_defaults(fn=cmd_hoomdossier)

    d = sub.add_parser("demo", help="sandboxes → push sign-ups and pull through Dagster → mart → funnel")
    d.add_argument(
        "--residents", type=int, default=DEMO_RESIDENTS, help="residents per cooperation in the sandbox Econobis"
    )
    d.add_argument("--signups", type=int, default=8, help="sign-ups queued for each cooperation's Econobis first")
    d.add_argument(
        "--form-signups", type=int, default=3, help="sign-ups per tenant posted as signed webhooks by the sandbox form"
    )
    d.add_argument(
        "--reset-store",
        action="store_true",
        help="delete a state store the demo did not make (the demo refuses to otherwise; its own it starts afresh)",
    )
    d.set_defaults(fn=demo.cmd_demo)

    pl = sub.add_parser("pull", help="run each partner's pull for the configured tenants (no Dagster)")
    _tenant_option(pl)
    _partner_option(pl, [c.name for c in reg.with_pull()], "pull")
    pl.add_argument("--full", action="store_true", help="ignore cursors and re-read everything")
    _json_option(pl, " (every figure of every partner and tenant)")
    pl.set_defaults(fn=cmd_pull)

    sg = sub.add_parser("signup", help="queue sign-ups (JSON lines) for a tenant's Econobis")
    sg.add_argument("file", help="a file of JSON lines, one sign-up each, or - for stdin")
    _tenant_option(sg, required=True)
    sg.set_defaults(fn=cmd_signup)

    ps = sub.add_parser("push", help="push each partner's due outbox items (no Dagster)")
    _tenant_option(ps)
    _partner_option(ps, [c.name for c in reg.with_push()], "push")
    _json_option(ps, " (every figure of every partner and tenant)")
    ps.set_defaults(fn=cmd_push)

    m = sub.add_parser("mart", help="rebuild the DuckDB mart from the state store")
    _json_option(m, " (the file, its rows per table and the stages' seconds)")
    m.set_defaults(fn=cmd_mart)

    rp = sub.add_parser("report", help="write an HTML report per tenant from the mart (charts, works offline)")
    _tenant_option(rp)
    rp.add_argument("--out", help="the directory to write into (default: the mart's reports/ beside hub.duckdb)")
    rp.set_defaults(fn=cmd_report)

    qu = sub.add_parser("quarantine", help="what the hub could not process: list, show, replay")
    qu.add_argument(
        "action",
        choices=("list", "show", "replay"),
        help="list entries; show one (--id) with its reason and payload; replay them by each source's rule",
    )
    _tenant_option(qu)
    qu.add_argument(
        "--source",
        action="append",
        metavar="SOURCE",
        help="only this source, e.g. outbox:econobis, inbox:hoomdossier, econobis (repeatable)",
    )
    qu.add_argument("--reason", help="only entries whose reason contains this text (any case)")
    qu.add_argument("--id", type=int, action="append", metavar="N", help="only entry N (repeatable; show: one)")
    qu.add_argument("--all", action="store_true", help="list: resolved entries too")
    qu.add_argument("--limit", type=int, default=100, help="list: at most N rows (default 100; 0: all)")
    _json_option(qu)
    qu.set_defaults(fn=cmd_quarantine)

    er = sub.add_parser("erase", help="erase one resident of one tenant (or continue open erasures)")
    er.add_argument("--tenant", help="the resident's tenant, e.g. coop-noord")
    who = er.add_mutually_exclusive_group()
    who.add_argument("--resident", help="the resident's canonical id")
    who.add_argument("--email", help="the resident's e-mail address (looked up, never stored)")
    er.add_argument("--requested-by", help="the coordinator's role or staff id (not the resident's name)")
    er.add_argument("--confirm", metavar="PARTNER", help="confirm by hand that PARTNER deleted the subject")
    er.add_argument("--request", help="the erasure request id (with --confirm)")
    _json_option(er, " (the audit records)")
    er.set_defaults(fn=cmd_erase)

    co = sub.add_parser("consent", help="show a resident's consent, or record a grant or withdrawal by hand")
    co.add_argument("action", choices=("show", "grant", "withdraw"), help="show it, or record a grant or withdrawal")
    _tenant_option(co, required=True)
    subject = co.add_mutually_exclusive_group(required=True)
    subject.add_argument("--resident", help="the resident's canonical id")
    subject.add_argument("--email", help="the resident's e-mail address (looked up, never stored)")
    co.add_argument("--purpose", default="share-with-partner", help="share-with-partner (default), ...")
    co.add_argument("--partner", help="the partner the statement is about, e.g. hoomdossier")
    co.add_argument("--by", help="the coordinator's role or staff id (not the resident's name)")
    _json_option(co, " (the consent report)")
    co.set_defaults(fn=cmd_consent)

    md = sub.add_parser("mandate", help="record, withdraw or list residents' Woningpas mandates (with their INSZ)")
    md.add_argument("action", choices=("add", "withdraw", "list"), help="record one, withdraw one, or list them")
    _tenant_option(md, required=True)
    md.add_argument("--resident", help="the resident's canonical id")
    md.add_argument("--insz", help="the resident's INSZ (rijksregisternummer; add only; never printed in full)")
    md.add_argument("--reference", help="the mandate's reference in Woningpas, e.g. M-2026-001")
    md.add_argument("--requested-by", help="the coordinator's role or staff id (not the resident's name)")
    md.add_argument("--json", action="store_true", help="list: as JSON")
    md.set_defaults(fn=cmd_mandate)

    pr = sub.add_parser("premiums", help="a tenant's premium applications and what dossiers still need")
    _tenant_option(pr, required=True)
    pr.add_argument("--json", action="store_true", help="as JSON")
    pr.set_defaults(fn=cmd_premiums)

    wp = sub.add_parser("woningpas", help="Woningpas: decide an address-match candidate (or list them)")
    wps = wp.add_subparsers(dest="woningpas_command", required=True, metavar="COMMAND")
    wm = wps.add_parser("match", help="accept or reject the join a match task proposes; without --task: list")
    _tenant_option(wm, required=True)
    wm.add_argument("--task", help="the follow-up task's id")
    wm.add_argument("--accept", action="store_true", help="the unit is the dwelling the task names")
    wm.add_argument("--reject", action="store_true", help="not the same home: the unit becomes its own dwelling")
    wm.set_defaults(fn=cmd_woningpas)

    mt = sub.add_parser("matches", help="match candidates: list, show, merge, keep-apart, undo")
    mt.add_argument(
        "action",
        choices=("list", "show", "merge", "keep-apart", "undo"),
        help="list them; show one; decide one (merge or keep-apart); undo a decision",
    )
    _tenant_option(mt, required=True)
    mt.add_argument("--candidate", type=int, help="the candidate's number (from `list`)")
    mt.add_argument(
        "--choice",
        help="merge of two: the canonical id to keep (default: the suggestion); of one dwelling: the register key",
    )
    mt.add_argument("--kind", choices=("dwelling", "resident"), help="list: only this kind")
    mt.add_argument("--all", action="store_true", help="list: decided ones too")
    mt.add_argument("--decided-by", default="coordinator", help="who decides (a role or staff id, not a name)")
    mt.add_argument("--note", help="why (kept with the decision)")
    mt.add_argument("--json", action="store_true", help="list: as JSON")
    mt.set_defaults(fn=cmd_matches)

    pg = sub.add_parser("purge", help="retention purge: blank personal data in processed payloads > N days old")
    _json_option(pg, " (per tenant, what was blanked)")
    pg.set_defaults(fn=cmd_purge)

    u = sub.add_parser("ui", help="sandboxes + the Dagster UI (dagster dev)")
    u.add_argument("--residents", type=int, default=DEMO_RESIDENTS, help="residents per tenant in each sandbox CRM")
    u.add_argument("--host", default="127.0.0.1", help="the address the UI listens on (default: 127.0.0.1)")
    u.add_argument("--port", type=int, default=3000, help="the UI's port (default: 3000)")
    u.set_defaults(fn=cmd_ui)

    sub.add_parser("migrate", help="create or upgrade the state store").set_defaults(fn=cmd_migrate)
    sub.add_parser("check-config", help="validate the tenants file and its secrets").set_defaults(fn=cmd_check_config)
    sub.add_parser("openapi", help="print the receiver's OpenAPI document (JSON)").set_defaults(fn=cmd_openapi)
    return p


def _debug() -> bool:
    return os.environ.get("HUB_DEBUG", "").strip().lower() not in ("", "0", "false", "no")


def main(argv: list[str] | None = None) -> int:
    """Run one command. What is the user's to fix (a bad argument, file, config or value, a partner out of
    reach) ends in one line on stderr and exit 2 (app/errors.py); anything else is a bug and raises with its
    traceback, as everything does with HUB_DEBUG=1."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help (0) or a refused argument (2, its line printed already)
        return exc.code if isinstance(exc.code, int) else 2
    if args.log_level not in LOG_LEVELS:  # a default from $HUB_LOG_LEVEL, which argparse does not check
        levels = ", ".join(LOG_LEVELS)
        print(
            f"hub: error: HUB_LOG_LEVEL={args.log_level!r} is not a log level (choose from {levels})", file=sys.stderr
        )
        return 2
    configure_logging(args.log_level)
    try:
        return int(args.fn(args))
    except KeyboardInterrupt:
        print("hub: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        line = user_error(exc)
        if line is None or _debug():
            raise
        print(line if isinstance(exc, ConfigError) else f"hub {args.command}: error: {line}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
