"""A Flemish desk without a CRM (`loket-leuven`, issue 12 item 1): its residents sign up through the sandbox web
form (signed webhooks to the hub's receiver), and the hub opens their dossiers itself — exactly one per distinct
sign-up however often it is delivered or re-posted; a malformed Flemish sign-up is quarantined with its reason
and the good ones go on. Then the same through Dagster: the Leuven desk's partition of the sync job runs only its
own partner's work (the Dutch partners' assets skip it) and the mart's funnel counts its dossiers."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from app.sandbox_stack import SandboxStack, start_stack
from connectors.webform import connector as webform
from connectors.webform.settings import APPLY_QUARANTINE
from hub.config import sandbox_tenant_ids
from hub.connector import PartnerRun
from hub.store import Store
from hub.store import tables as t

[TENANT] = sandbox_tenant_ids(["vl"])


@pytest.fixture
def stack(store: Store) -> Iterator[SandboxStack]:
    s = start_stack(5, store=store, throttle=1_000_000, tenants=(TENANT,))
    try:
        yield s
    finally:
        s.stop()


def hub_runs(stack: SandboxStack, store: Store) -> dict[str, Any]:
    """The web-form inbox as its asset runs it for a tenant no coupling takes sign-ups on: the check, then
    the connector's own step that opens the dossiers in the hub."""
    inbox = webform.CONNECTOR.inbox
    assert inbox is not None and inbox.unclaimed is not None
    run = PartnerRun(store, stack.config, stack.config.tenant(TENANT))
    return {**inbox.apply(run).metadata(), **inbox.unclaimed(run).metadata()}


def live(store: Store, entity: str) -> list[dict[str, Any]]:
    with store.begin() as conn:
        return [dict(r) for r in store.live_entities(conn, entity, [TENANT])]


def test_the_desk_has_only_its_own_sandboxes(stack):
    # no Econobis or Hoomdossier is started for a Flemish desk; Woningpas is (registered for the Flemish region),
    # and the premium portal (every region: Mijn VerbouwPremie for the desk)
    assert set(stack.running) == {"webform", "woningpas", "fluvius"}
    assert set(stack.config.tenant(TENANT).partners) == {"webform", "woningpas", "fluvius"}


def test_each_distinct_signup_opens_one_dossier_and_replays_change_nothing(stack, store):
    form = stack.webform.sandbox
    sender = form.sender(TENANT)
    residents = form.demo_signups(TENANT, 6)
    deliveries = []
    for data in residents:
        webhook_id, body, resp = sender.post(data)
        assert resp.status_code == 200 and resp.json()["stored"] is True
        deliveries.append((webhook_id, body))
        for _ in range(2):  # the form tool's retries: same webhook-id, stored once
            assert sender.deliver(body, webhook_id).json()["stored"] is False
    for data in residents[:2]:  # a double submit: the same sign-up under a new webhook-id
        assert sender.post(data)[2].status_code == 200
    bad = {**form.demo_signups(TENANT, 7)[6], "postcode": "3000 AB", "box": "3de verdieping"}
    assert sender.post(bad)[2].status_code == 200  # the receiver stores it; the check refuses it
    assert store.count(t.inbox, tenant=TENANT, source="webform") == 6 + 2 + 1

    runs = hub_runs(stack, store)
    assert (runs["applied"], runs["quarantined_on_apply"]) == (8, 1)
    assert (runs["dossiers_opened"], runs["dossiers_already_open"]) == (6, 2)
    dossiers = live(store, "dossier")
    assert len(dossiers) == 6 and {d["data"]["phase"] for d in dossiers} == {"interest"}
    assert len(live(store, "intake")) == 6 and len(live(store, "resident")) == 6
    dwellings = live(store, "dwelling")
    assert {d["data"]["country"] for d in dwellings} == {"BE"}
    assert all(d["natural_key"].startswith("be:addr:") for d in dwellings)
    by_key = {d["natural_key"]: d["data"] for d in dwellings}
    for s in residents:
        box = s.get("box") or ""
        d = by_key[f"be:addr:{s['postcode']}|{s['street'].lower()}|{s['number'].upper()}|{box}"]
        assert (d["street"], d["postcode"], d["city"], d["box"]) == (
            s["street"],
            s["postcode"],
            s["city"],
            s.get("box"),
        )

    with store.begin() as conn:
        [q] = conn.execute(t.quarantine.select()).mappings().all()
        statuses = sorted(r["status"] for r in conn.execute(t.inbox.select()).mappings())
    assert q["source"] == APPLY_QUARANTINE and "postcode" in q["reason"] and "box" in q["reason"]
    assert "3000 AB" not in q["reason"] and bad["last_name"] not in q["reason"]
    assert statuses == ["failed"] + ["kept"] * 8

    # later: every delivery again, and the good ones re-posted — nothing new
    for webhook_id, body in deliveries:
        assert sender.deliver(body, webhook_id).json()["stored"] is False
    sender.post(residents[3])
    again = hub_runs(stack, store)
    assert again["dossiers_opened"] == 0 and again["dossiers_already_open"] == 1
    assert len(live(store, "dossier")) == 6


def test_the_sandbox_form_page_posts_a_flemish_signup(stack, store):
    import requests

    form = stack.webform
    page = requests.get(f"{form.base_url}/{TENANT}", timeout=10)
    submission = page.text.split('name="submission_id" value="', 1)[1].split('"', 1)[0]
    answers = {
        "submission_id": submission,
        "first_name": "Jef",
        "last_name": "Vermeulen",
        "phone": "+32 16 22 33 44",
        "street": "Diestsestraat",
        "number": "104",
        "box": "bus 2",
        "postcode": "3000",
        "city": "Leuven",
        "consent": "on",
    }
    for _ in range(2):  # a double-clicked submit
        assert requests.post(f"{form.base_url}/{TENANT}", data=answers, timeout=10).status_code == 200
    runs = hub_runs(stack, store)
    assert (runs["dossiers_opened"], runs["dossiers_already_open"]) == (1, 1)
    [dwelling] = live(store, "dwelling")
    assert dwelling["natural_key"] == "be:addr:3000|diestsestraat|104|2"
    # the deelgemeente the resident's postcode names, with the municipality's NIS code
    area = dwelling["data"]["area"]
    assert (area["level"], area["neighbourhood_code"], area["municipality_code"]) == (
        "deelgemeente",
        "24062-3000",
        "24062",
    )
    assert (area["neighbourhood_name"], area["municipality_name"], area["source"]) == ("Leuven", "Leuven", "webform")


def test_an_erased_desk_resident_leaves_nothing_in_the_hub(stack, store):
    from hub.erasure import erase, find_residents
    from tests.erasure.test_erase_econobis import _dump

    data = {**stack.webform.sandbox.demo_signups(TENANT, 1)[0], "email": "Hanne.Claes@Example.be"}
    for _ in range(2):
        stack.webform.sandbox.sender(TENANT).post(data)
    assert hub_runs(stack, store)["dossiers_opened"] == 1
    [rid] = find_residents(store, TENANT, "hanne.claes@example.be")
    erase(store, stack.config, TENANT, rid, "coordinator:leuven-1")
    dump = _dump(store)
    for value in ("hanne.claes@example.be", data["last_name"].lower(), data["street"].lower()):
        assert value not in dump, value
    assert len(live(store, "dossier")) == 1  # the dossier stays for the counts, without the resident


def test_the_sync_job_runs_only_the_desks_partner_and_the_funnel_counts_its_dossiers(tmp_path, monkeypatch):
    import yaml
    from dagster import DagsterInstance

    from hub.config import HubPaths
    from hub.mart import read_funnel

    monkeypatch.setenv("HUB_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("HUB_DATABASE_URL", raising=False)
    paths = HubPaths.from_env()
    paths.ensure()
    store = Store.open(paths.database_url())
    s = start_stack(5, store=store, throttle=1_000_000, tenants=(TENANT,))
    # the desk alone (its entry of the embedded default): the Dutch tenants, never synced here, would hold the
    # mart's freshness gate shut
    cfg_file = tmp_path / "hub.yaml"
    desk = s.config.tenant(TENANT).model_dump()
    cfg_file.write_text(yaml.safe_dump({"tenants": [desk]}, allow_unicode=True), encoding="utf-8")
    monkeypatch.setenv("HUB_CONFIG", str(cfg_file))
    try:
        sender = s.webform.sandbox.sender(TENANT)
        for data in s.webform.sandbox.demo_signups(TENANT, 4):
            webhook_id, body, _ = sender.post(data)
            sender.deliver(body, webhook_id)
        import definitions

        with DagsterInstance.ephemeral() as instance:
            result = definitions.defs.resolve_job_def("sync_job").execute_in_process(
                partition_key=TENANT, instance=instance
            )
            assert result.success
            md = {
                m.asset_key.to_user_string(): {k: v.value for k, v in m.metadata.items()}
                for m in (
                    e.event_specific_data.materialization
                    for e in result.all_events
                    if e.event_type_value == "ASSET_MATERIALIZATION"
                )
            }
            assert md["webform_inbox"]["dossiers_opened"] == 4 and "signups_queued" not in md["webform_inbox"]
            for asset in ("econobis_pull", "econobis_push", "hoomdossier_inbox", "hoomdossier_push"):
                assert "skipped" in md[asset], asset  # the Dutch partners' assets skip the desk
            assert md["canonical_model"]["dossiers"] == 4
            mart = definitions.defs.resolve_job_def("mart_job").execute_in_process(instance=instance)
            assert mart.success
    finally:
        s.stop()
        store.dispose()
    funnel = [r for r in read_funnel(paths.mart_dir / "hub.duckdb") if r[0] == TENANT]
    assert {(campaign, phase): now for _, campaign, phase, now, _ in funnel if now} == {
        ("Energieloket: renovatiebegeleiding (sandbox)", "interest"): 4
    }


def test_the_inbox_asset_runs_the_coupling_where_it_applies_and_the_hub_step_elsewhere(tmp_path, monkeypatch):
    """The web-form inbox of a cooperation goes on to Econobis and opens nothing in the hub; the desk's opens
    its dossiers in the hub and queues nothing: never both, whatever the tenant."""
    from dagster import DagsterInstance, materialize

    from assets import default_resources, webform_inbox

    monkeypatch.setenv("HUB_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("HUB_DATABASE_URL", raising=False)
    monkeypatch.delenv("HUB_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)  # no ./hub.yaml: the embedded default
    with DagsterInstance.ephemeral() as instance:
        md = {}
        for tenant in ("coop-noord", TENANT):
            res = materialize([webform_inbox], partition_key=tenant, instance=instance, resources=default_resources())
            assert res.success
            md[tenant] = res.asset_materializations_for_node("webform_inbox")[0].metadata
    assert "signups_queued" in md["coop-noord"] and "dossiers_opened" not in md["coop-noord"]
    assert "dossiers_opened" in md[TENANT] and "signups_queued" not in md[TENANT]
