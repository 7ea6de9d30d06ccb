"""The Woningpas client on the core partner client: it signs its own assertion, caches the access token until
shortly before it expires (shared by a run's steps), logs in again after a 401, reads the private key only from
the file or environment variable the config names, and never lets the key, an assertion or a token into a log
line or an error."""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from connectors.woningpas.client import WoningpasClient
from connectors.woningpas.sandbox.credentials import private_pem
from connectors.woningpas.sandbox.server import SANDBOX
from connectors.woningpas.settings import PARTNER, SCOPES
from hub.config import ConfigError, PartnerConfig, TenantConfig
from hub.connector import REGISTRY, SandboxStart
from hub.http import PartnerAuthError, PartnerRateLimited, PartnerRejected, RetryPolicy
from tests.connectors.woningpas.wp_helpers import CLIENT, admin, examples, mandate

ENV = "HUB_COOP_ZUID_WONINGPAS_PRIVATE_KEY"


@pytest.fixture
def key_file(tmp_path, key) -> Path:
    path = tmp_path / "woningpas.pem"
    path.write_bytes(private_pem(key))
    path.chmod(0o600)
    return path


def tenant(running, *, key_file=None, env_var=None, **settings) -> TenantConfig:
    values = {"client_id": CLIENT, "scopes": list(SCOPES), **settings}
    if key_file is not None:
        values["signing_key_file"] = str(key_file)
    return TenantConfig(
        id="coop-zuid",
        name="Energiehuis Zuid",
        country="BE",
        partners={
            PARTNER: PartnerConfig(
                base_url=running.base_url, settings=values, secrets={"private_key": env_var} if env_var else {}
            )
        },
    )


def client_for(running, key_file, **kw) -> WoningpasClient:
    kw.setdefault("now", running.sandbox.now_ts)  # the client's clock is the sandbox's: tests move both
    return WoningpasClient.for_tenant(tenant(running, key_file=key_file), **kw)


# --- tokens -----------------------------------------------------------------------------------------------------


def test_the_token_is_fetched_once_and_shared_by_a_runs_clients(wp, key_file):
    unit = examples(wp)["house"]
    mandate(wp, unit["holders"][0])
    step_one, step_two = client_for(wp, key_file), client_for(wp, key_file)
    first = step_one.token()
    step_one.passport(unit["gebouweenheidId"])
    step_one.changes()
    assert step_two.token() == first
    step_two.documents(unit["gebouweenheidId"])
    assert wp.sandbox.auth.issued == 1


def test_the_token_is_reused_until_shortly_before_expiry_then_renewed(wp, key_file):
    c = client_for(wp, key_file, env=None)
    first = c.token()
    # 3600 s life, renewed 120 s before the end
    admin(wp, "POST", "/clock", json={"advance_seconds": 3600 - 120 - 5})
    assert c.token() == first and wp.sandbox.auth.issued == 1
    admin(wp, "POST", "/clock", json={"advance_seconds": 10})
    second = c.token()
    assert second != first and wp.sandbox.auth.issued == 2
    c.changes()  # the renewed token works
    assert c.token() == second


def test_a_401_makes_the_client_log_in_again_once(wp, key_file):
    c = client_for(wp, key_file)
    c.changes()
    wp.sandbox.auth.tokens.clear()  # the provider forgot every token (a restart, a revocation)
    assert c.changes().cursor
    assert wp.sandbox.auth.issued == 2


def test_a_refused_login_is_an_auth_error_naming_oauths_code(wp, key_file):
    c = WoningpasClient.for_tenant(tenant(wp, key_file=key_file, client_id="not-registered"), now=wp.sandbox.now_ts)
    with pytest.raises(PartnerAuthError) as err:
        c.token()
    assert err.value.status == 401 and "invalid_client" in err.value.message and err.value.attempts == 1


def test_the_assertion_names_the_issuer_of_the_token_url_it_is_sent_to(wp, key_file):
    c = client_for(wp, key_file)
    assert c.auth.signer.audience == wp.issuer
    # an explicit audience that is not the issuer is refused by the provider
    wrong = WoningpasClient.for_tenant(tenant(wp, key_file=key_file, audience="https://elders.example/op"),
                                       now=wp.sandbox.now_ts)  # fmt: skip
    with pytest.raises(PartnerAuthError):
        wrong.token()


# --- the private key --------------------------------------------------------------------------------------------


def test_the_key_can_come_from_an_environment_variable(wp, key):
    t = tenant(wp, env_var=ENV)
    c = WoningpasClient.for_tenant(t, env={ENV: private_pem(key).decode()}, now=wp.sandbox.now_ts)
    assert c.token()


def test_the_key_comes_from_exactly_one_named_place(wp, key, key_file, tmp_path):
    with pytest.raises(ConfigError, match="either"):
        WoningpasClient.for_tenant(tenant(wp, key_file=key_file, env_var=ENV), env={ENV: "x"})
    with pytest.raises(ConfigError, match="no signing key"):
        WoningpasClient.for_tenant(tenant(wp))
    with pytest.raises(ConfigError, match="cannot be read"):
        WoningpasClient.for_tenant(tenant(wp, key_file=tmp_path / "missing.pem"))
    with pytest.raises(ConfigError, match=f"environment variable {ENV[:6]}"):
        WoningpasClient.for_tenant(tenant(wp, env_var=ENV), env={})


def test_a_bad_key_is_refused_without_showing_it(wp, tmp_path):
    garbage = "-----BEGIN PRIVATE KEY-----\nTm90IGEga2V5IGF0IGFsbA==\n-----END PRIVATE KEY-----\n"
    with pytest.raises(ConfigError) as err:
        WoningpasClient.for_tenant(tenant(wp, env_var=ENV), env={ENV: garbage})
    assert "not an unencrypted PEM private key" in str(err.value) and "Tm90" not in str(err.value)
    weak = tmp_path / "weak.pem"
    weak.write_bytes(private_pem(rsa.generate_private_key(public_exponent=65537, key_size=1024)))
    with pytest.raises(ConfigError, match="at least 2048 bits"):
        WoningpasClient.for_tenant(tenant(wp, key_file=weak))


def test_the_settings_refuse_a_key_pasted_where_its_path_belongs(wp):
    pasted = "-----BEGIN PRIVATE KEY-----\nTm90IGEga2V5\n-----END PRIVATE KEY-----"
    pc = PartnerConfig(base_url=wp.base_url, settings={"client_id": CLIENT, "signing_key_file": pasted})
    problems = REGISTRY.get(PARTNER).check_partner_config("coop-zuid", pc)
    assert any("never the key itself" in p for p in problems) and not any("Tm90" in p for p in problems)
    t = TenantConfig(id="coop-zuid", name="Zuid", partners={PARTNER: pc})
    with pytest.raises(ConfigError, match="never the key itself") as err:
        WoningpasClient.for_tenant(t)
    assert "Tm90" not in str(err.value)


def test_no_key_assertion_or_token_reaches_a_log_line_or_an_error(wp, key, key_file, caplog):
    caplog.set_level(logging.DEBUG)
    c = client_for(wp, key_file, policy=RetryPolicy(backoff_initial=0.01, jitter=0))
    admin(wp, "POST", "/faults", json={"rules": [{"route": "/woningpas/v1/*", "burst_every": 100, "burst_length": 1}]})
    c.changes()  # a 503, retried (and logged), then the page
    access_token = c.token()
    with pytest.raises(PartnerAuthError) as err:
        c.passport(examples(wp)["house"]["gebouweenheidId"])  # no mandate: 403
    assert "MANDAAT_ONTBREKEND" in err.value.message
    signed = c.auth.signer.assertion()
    secrets = [access_token, signed, *private_pem(key).decode().splitlines()[1:-1]]
    texts = [caplog.text, str(err.value), err.value.body or "", repr(c.auth.signer)]
    assert any("partner call retried" in r.getMessage() for r in caplog.records)
    for text in texts:
        for s in secrets:
            assert s not in text
    assert "key=***" in repr(c.auth.signer)


# --- the calls --------------------------------------------------------------------------------------------------


def test_the_calls_a_pull_needs(wp, key_file):
    ex = examples(wp)
    insz = ex["two_epcs"]["holders"][0]
    mandate(wp, insz)
    c = client_for(wp, key_file, env=None)
    props = c.properties(insz)
    unit = ex["two_epcs"]["gebouweenheidId"]
    assert unit in [p["gebouweenheidId"] for p in props]
    assert c.passport(unit)["secties"]["energie"]["status"] == "ok"
    assert c.passport_by_address(ex["two_epcs"]["adresObjectId"])["gebouweenheidId"] == unit
    assert c.epc(ex["two_epcs"]["attestnummers"][0], attest=True)["Documenten"]
    pages = list(c.iter_changes(limit=3))
    assert len(pages) > 1 and not pages[-1].more
    ids = [ch["wijziging_id"] for p in pages for ch in p.changes]
    assert len(ids) == len(set(ids))
    admin(wp, "POST", "/changes", json={"gebouweenheidId": unit, "sectie": "vergunningen"})
    assert [ch["sectie"] for ch in c.changes(cursor=pages[-1].cursor).changes] == ["vergunningen"]


def test_an_upload_is_safe_to_repeat_and_a_reused_key_is_rejected(wp, key_file):
    unit = examples(wp)["house"]
    mandate(wp, unit["holders"][0])
    c = client_for(wp, key_file, policy=RetryPolicy(backoff_initial=0.01, jitter=0))
    # the first answer is lost after the upload was stored: the retry with the same key gets the same document
    rule = {"route": "/woningpas/v1/gebouweenheden/*/documenten", "method": "POST", "burst_every": 100,
            "burst_length": 1, "after_processing": True}  # fmt: skip
    admin(wp, "POST", "/faults", json={"rules": [rule]})
    args = {
        "type": "renovatiebewijs",
        "filename": "factuur.pdf",
        "content": b"%PDF-1.4 x",
        "media_type": "application/pdf",
    }
    doc = c.upload_document(unit["gebouweenheidId"], idempotency_key="run-1-item-7", **args)
    assert c.http.stats.retries == 1
    mine = [d for d in c.documents(unit["gebouweenheidId"]) if d["toegevoegd_door"] == CLIENT]
    assert [d["document_id"] for d in mine] == [doc["document_id"]]
    with pytest.raises(PartnerRejected) as err:
        c.upload_document(unit["gebouweenheidId"], idempotency_key="run-1-item-7", **{**args, "content": b"%PDF y"})
    assert err.value.status == 409 and "IDEMPOTENCY_KEY_HERGEBRUIKT" in err.value.message
    c.delete_document(unit["gebouweenheidId"], doc["document_id"])
    with pytest.raises(PartnerRejected, match="DOCUMENT_AL_VERWIJDERD"):
        c.delete_document(unit["gebouweenheidId"], doc["document_id"])


def test_a_share_links_token_is_redacted_from_then_on(wp, key_file):
    unit = examples(wp)["house"]
    mandate(wp, unit["holders"][0])
    c = client_for(wp, key_file)
    until = wp.sandbox.now().date().replace(year=wp.sandbox.now().year + 1).isoformat()
    with pytest.raises(PartnerRejected, match="ONGELDIGE_GELDIG_TOT"):
        c.share_link(unit["gebouweenheidId"], until)
    link = c.share_link(unit["gebouweenheidId"], wp.sandbox.now().date().isoformat())
    assert link["token"] not in c.http.redactor.text(link["url"])


def test_a_long_retry_after_ends_the_call_with_the_wait(wp, key_file):
    rule = {"route": "/woningpas/v1/wijzigingen", "throttle_rate": 1.0, "retry_after": 9}
    admin(wp, "POST", "/faults", json={"rules": [rule]})
    c = client_for(wp, key_file, policy=RetryPolicy(max_retry_after=1))
    with pytest.raises(PartnerRateLimited) as err:
        c.changes()
    assert err.value.retry_after == 9.0 and "TE_VEEL_VERZOEKEN" in err.value.message


# --- the sandbox as the stack starts it -------------------------------------------------------------------------


def test_the_sandbox_factory_plugs_in_with_a_key_file_it_makes(tmp_path, monkeypatch):
    monkeypatch.setenv("HUB_HOME", str(tmp_path / "hub"))
    running = SANDBOX.start(
        SandboxStart(tenants=("coop-zuid",), ports={}, residents=40, throttle=60, options={"mandate_share": 0.5})
    )
    try:
        port = SANDBOX.ports(running)["*"]
        pc = SANDBOX.config("coop-zuid", port, "127.0.0.1", None)
        key_path = Path(pc.settings["signing_key_file"])
        assert key_path.is_relative_to(tmp_path) and "SANDBOX-ONLY" in key_path.name
        assert os.stat(key_path).st_mode & 0o077 == 0
        described = SANDBOX.describe(running)["coop-zuid"]
        assert described["client_id"] == pc.settings["client_id"] and described["issuer"] == running.issuer
        t = TenantConfig(id="coop-zuid", name="Zuid", country="BE", partners={PARTNER: pc})
        c = WoningpasClient.for_tenant(t)
        assert c.changes().changes  # mandates were seeded for the demo client
    finally:
        SANDBOX.stop(running)


def test_steps_logging_in_side_by_side_share_one_token(wp, key_file):
    clients = [client_for(wp, key_file) for _ in range(4)]
    tokens: list[str] = []
    threads = [threading.Thread(target=lambda c=c: tokens.append(c.token())) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(tokens)) == 1 and wp.sandbox.auth.issued == 1
