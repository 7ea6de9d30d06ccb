"""`hub demo`: the whole graph through Dagster against the sandboxes, and the funnel it ends with.

The demo personas (names, postcodes per sandbox tenant) and what each stage prints live here, not in the CLI."""

from __future__ import annotations

import argparse
import os
import string
import time
from pathlib import Path
from typing import Any

from connectors import registry
from couplings import COUPLINGS
from hub.config import HubConfig, HubPaths, ensure_valid, sandbox_config


def cmd_demo(args: argparse.Namespace) -> int:
    """The whole graph through Dagster against the sandboxes: per tenant the sync job (pull, inbox, canonical
    model with its checks, follow-ups of stalled dossiers, Hoomdossier plans, pushes) twice — the second
    run pushes what the first one planned — then the mart job behind its freshness gate."""
    from dagster import DagsterInstance

    import definitions
    from app.cli import _dagster_home, _open_store, _print_funnel, _start_default_stack
    from hub.mart import read_funnel

    os.environ.pop("HUB_CONFIG", None)  # the demo always runs against the embedded sandbox tenants
    if Path("hub.yaml").exists():
        print("note: ./hub.yaml is ignored by the demo; it uses the embedded sandbox tenants")
    paths = HubPaths.from_env()
    _dagster_home(paths)
    started = time.monotonic()
    if not os.environ.get("HUB_DATABASE_URL"):
        # The sandboxes start fresh every time, so the demo's state store does too (cursors, xrefs and the
        # outbox of an earlier demo would point at records the new sandboxes do not have).
        for suffix in ("", "-wal", "-shm"):
            Path(f"{paths.sqlite_path}{suffix}").unlink(missing_ok=True)
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
    stack = _start_default_stack(args.residents, throttle=60, store=store)
    defs = definitions.defs
    quiet = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
    failed = 0
    try:
        econobis = stack.running.get("econobis", [])
        campaigns = {r.tenant: r.sandbox.db.ids["campaigns"][0] for r in econobis}
        _queue_demo_signups(config, args.signups, campaigns)
        _post_form_signups(stack, args.form_signups)
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
                    _print_run(f"{tenant.id} sync {n}", result)
            result = defs.resolve_job_def("mart_job").execute_in_process(
                instance=instance, run_config=quiet, raise_on_error=False
            )
            failed += not result.success
            _print_run("mart", result)
    finally:
        stack.stop()
        store.dispose()
    mart = paths.mart_dir / "hub.duckdb"
    if mart.exists():
        _print_funnel(read_funnel(mart))
        print(f"\nMart: {mart} (+ Parquet in {paths.mart_dir / 'parquet'})")
    print(f"Dagster runs recorded in {paths.dagster_home}: run `make ui` to browse them.")
    print(f"Done in {time.monotonic() - started:.1f}s{'' if not failed else f' — {failed} run(s) FAILED'}.")
    return 1 if failed else 0


# What the demo prints of each stage's materialization: the core stages here, each partner's own from its
# connector declaration (`demo_lines`).
CORE_LINES = {
    "canonical_model": "canonical: {residents} residents, {dwellings} dwellings, {dossiers} dossiers, "
    "{journey_events} journey events",
    "stalled_dossiers": "stalled dossiers: {stalled_found} found, {follow_ups_queued} follow-ups queued, "
    "{without_kans} without a kans (quarantined for the coordinator)",
    "hub_freshness": "freshness: {stale} of {tenants} tenants stale",
    "reporting_mart": "mart rebuilt: {rows_dossiers} dossiers",
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


def _print_run(label: str, result: Any) -> None:
    print(f"\n{label}: {'ok' if result.success else 'FAILED'}")
    lines = demo_lines()
    for event in result.all_events:
        if event.event_type_value == "ASSET_MATERIALIZATION":
            mat = event.event_specific_data.materialization
            node = mat.asset_key.to_user_string()
            md = {k: v.value for k, v in mat.metadata.items()}
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
                enqueue_signup(
                    store,
                    t.id,
                    SignUp(
                        key=f"demo-{t.id}-{i:03d}",
                        first_name=first,
                        last_name=f"Aanmelder{i:03d}",
                        email=f"{first.lower()}.aanmelder{i}@example.org",
                        street="Havenkade",
                        number=str(10 + i),
                        postcode="1621AA" if t.id == "coop-noord" else "5281AA",
                        city="Hoorn" if t.id == "coop-noord" else "Boxtel",
                        campaign_id=campaigns[t.id],  # the sandbox's first campaign
                        measures=["Vloerisolatie", "Spouwmuurisolatie"][: 1 + i % 2],
                        sources=["Website"],
                        consent=True,
                    ),
                )
    finally:
        store.dispose()
