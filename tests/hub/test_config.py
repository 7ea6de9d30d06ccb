"""Tenants file: parsing, clear errors naming the key, secrets only as environment-variable names, one
validation path (load_config) that resolves secrets and refuses inbound credentials shared between tenants,
and a one-line error for every file that cannot be read."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

import connectors
from couplings import COUPLINGS
from hub.config import (
    MAX_CONFIG_BYTES,
    SANDBOX_TENANTS,
    ConfigError,
    load_config,
    parse_config,
    sandbox_config,
    sandbox_port_base,
    sandbox_ports,
    sandbox_region,
    sandbox_tenant_ids,
    shared_inbound_credentials,
    shown_env_name,
    validate_config,
)
from hub.connector import Connector

REGISTRY = connectors.registry()

GOOD = """
tenants:
  coop-a:
    name: Energiecoöperatie A
    partners:
      econobis:
        base_url: https://coop-a.econobis.nl/
        settings: {username: hub-sync@coop-a.nl, client_id: "2"}
        secrets: {password: HUB_COOP_A_ECONOBIS_PASSWORD, client_secret: HUB_COOP_A_ECONOBIS_CLIENT_SECRET}
"""

# Two tenants with both partners, every secret by its own variable (FULL_ENV): valid as it stands.
FULL = """
tenants:
  coop-a:
    name: Coop A
    partners:
      econobis:
        base_url: https://coop-a.econobis.nl
        settings: {username: hub@coop-a.nl, client_id: 2}
        secrets:
          password: HUB_A_ECONOBIS_PASSWORD
          client_secret: HUB_A_ECONOBIS_CLIENT_SECRET
          webform_key: HUB_A_ECONOBIS_WEBFORM_KEY
          hoom_endpoint_key: HUB_A_ECONOBIS_HOOM_ENDPOINT_KEY
      hoomdossier:
        base_url: https://hoomdossier.nl
        settings: {slug: coop-a, campaign_ids: [11], register_from: 2026-12-01}
        secrets: {token: HUB_A_HOOM_TOKEN, inbound_key: HUB_A_HOOM_INBOUND_KEY, inbound_token: HUB_A_HOOM_INBOUND_TOKEN}
  coop-b:
    name: Coop B
    partners:
      hoomdossier:
        base_url: https://hoomdossier.nl
        settings: {slug: coop-b}
        secrets: {token: HUB_B_HOOM_TOKEN, inbound_key: HUB_B_HOOM_INBOUND_KEY, inbound_token: HUB_B_HOOM_INBOUND_TOKEN}
"""
FULL_ENV = {
    "HUB_A_ECONOBIS_PASSWORD": "pw-a-9f8e7d6c",
    "HUB_A_ECONOBIS_CLIENT_SECRET": "cs-a-1a2b3c4d",
    "HUB_A_ECONOBIS_WEBFORM_KEY": "wf-a-5e6f7a8b",
    "HUB_A_ECONOBIS_HOOM_ENDPOINT_KEY": "hk-a-3c2b1a0f",
    "HUB_A_HOOM_TOKEN": "1|tok-a-0c9d8e7f",
    "HUB_A_HOOM_INBOUND_KEY": "in-key-a-6b5a4c3d",
    "HUB_A_HOOM_INBOUND_TOKEN": "in-tok-a-2e1f0a9b",
    "HUB_B_HOOM_TOKEN": "2|tok-b-8c7d6e5f",
    "HUB_B_HOOM_INBOUND_KEY": "in-key-b-4a3b2c1d",
    "HUB_B_HOOM_INBOUND_TOKEN": "in-tok-b-0f9e8d7c",
    "HUB_MART_PSEUDONYM_KEY": "pseudonym-key-for-config-tests-7c1e",
}


def problems(text: str, env: dict[str, str] | None = None) -> list[str]:
    """What the one validation path says about `text`: structure, then the registry, the couplings and the
    environment."""
    try:
        config = parse_config(text, "hub.yaml")
    except ConfigError as exc:
        return [line.strip() for line in str(exc).splitlines()]
    return validate_config(config, REGISTRY, FULL_ENV if env is None else env, COUPLINGS)


def assert_refused(text: str, needle: str, env: dict[str, str] | None = None, hidden: tuple[str, ...] = ()) -> str:
    found = problems(text, env)
    joined = "\n".join(found)
    assert needle in joined, joined
    for value in hidden:
        assert value not in joined, f"{value!r} echoed in: {joined}"
    return joined


def test_a_valid_file_parses_and_secrets_resolve_from_the_environment():
    cfg = parse_config(GOOD, "hub.yaml")
    t = cfg.tenant("coop-a")
    assert t.partner("econobis").base_url == "https://coop-a.econobis.nl"
    assert t.secret("econobis", "password", env={"HUB_COOP_A_ECONOBIS_PASSWORD": "pw"}) == "pw"
    assert problems(FULL) == []


def test_missing_secret_names_the_variable_and_the_key():
    t = parse_config(GOOD).tenant("coop-a")
    with pytest.raises(
        ConfigError,
        match=r"HUB_COOP_A_ECONOBIS_PASSWORD.*tenants\.coop-a\.partners\.econobis\.secrets\.password",
    ):
        t.secret("econobis", "password", env={})


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("tenants: [", "not valid YAML"),
        ("foo: 1", "top-level `tenants:`"),
        (GOOD.replace("https://coop-a.econobis.nl/", "coop-a"), "tenants.coop-a.partners.econobis.base_url"),
        (GOOD.replace("HUB_COOP_A_ECONOBIS_PASSWORD", "s3cret value"), "NAME of an environment variable"),
        (GOOD.replace('client_id: "2"', 'client_id: "2", password: x'), "looks like a secret"),
        (GOOD.replace("econobis:", "salesforce:"), "unknown partner"),
        (GOOD.replace("coop-a:", "Coop A:"), "lower-case slug"),
    ],
)
def test_malformed_files_give_errors_naming_the_key(text, needle):
    with pytest.raises(ConfigError, match=re.escape(needle)):
        parse_config(text, "hub.yaml")


# --- 1. inbound credentials unique across tenants ---------------------------------------------------------------


def test_the_same_variable_for_two_tenants_inbound_key_is_refused_naming_both():
    text = FULL.replace("inbound_key: HUB_B_HOOM_INBOUND_KEY", "inbound_key: HUB_A_HOOM_INBOUND_KEY")
    msg = assert_refused(text, "tenants coop-a and coop-b share an inbound credential", hidden=tuple(FULL_ENV.values()))
    assert "tenants.coop-a.partners.hoomdossier.secrets.inbound_key" in msg
    assert "tenants.coop-b.partners.hoomdossier.secrets.inbound_key" in msg
    assert "both name the environment variable HUB_A_HOOM_INBOUND_KEY" in msg


def test_two_variables_holding_the_same_value_are_refused_without_the_value():
    env = {**FULL_ENV, "HUB_B_HOOM_INBOUND_TOKEN": FULL_ENV["HUB_A_HOOM_INBOUND_TOKEN"]}
    msg = assert_refused(FULL, "hold the same value", env=env, hidden=(FULL_ENV["HUB_A_HOOM_INBOUND_TOKEN"],))
    assert "tenants.coop-a.partners.hoomdossier.secrets.inbound_token" in msg
    assert "tenants.coop-b.partners.hoomdossier.secrets.inbound_token" in msg


def test_a_key_of_one_tenant_equal_to_a_token_of_another_is_refused():
    env = {**FULL_ENV, "HUB_B_HOOM_INBOUND_TOKEN": FULL_ENV["HUB_A_HOOM_INBOUND_KEY"]}
    msg = assert_refused(FULL, "share an inbound credential", env=env)
    assert "coop-a.partners.hoomdossier.secrets.inbound_key and tenants.coop-b.partners.hoomdossier.secrets" in msg


def test_one_tenant_using_one_credential_for_two_routes_is_refused():
    env = {**FULL_ENV, "HUB_A_HOOM_INBOUND_TOKEN": FULL_ENV["HUB_A_HOOM_INBOUND_KEY"]}
    assert_refused(FULL, "tenant coop-a uses one inbound credential twice", env=env)


def test_a_webhook_secret_shared_inside_two_rotation_lists_is_refused():
    config = sandbox_config()
    a, b = config.tenants[:2]
    var_a, var_b = a.partners["webform"].secrets["signing_secrets"], b.partners["webform"].secrets["signing_secrets"]
    shared = "whsec_c2hhcmVkLXNlY3JldC1vZi10d28tZGVza3M="
    env = {var_a: f"whsec_b2xkLXNlY3JldC1vZi1hLWRlc2s= {shared}", var_b: f"{shared} whsec_bmV3LXNlY3JldC1vZi1i"}
    problems = shared_inbound_credentials(config, REGISTRY, env)
    assert len(problems) == 1 and f"tenants {a.id} and {b.id} share an inbound credential" in problems[0]
    assert shared not in problems[0] and "whsec_" not in problems[0]


def test_outbound_secrets_may_be_shared():
    """Only inbound credentials name a tenant; two tenants may well share, say, a partner token variable."""
    assert problems(FULL.replace("HUB_B_HOOM_TOKEN", "HUB_A_HOOM_TOKEN")) == []


def test_the_embedded_sandbox_default_passes_its_demo_secrets_are_per_tenant():
    config = sandbox_config()
    assert validate_config(config, REGISTRY, env={}) == []
    values = [
        v
        for t in config.tenants
        for name in t.partners
        for s in REGISTRY.get(name).inbound_secrets
        for v in t.secret(name, s, env={}).split()  # a webhook source may hold several secrets (rotation)
    ]
    assert len(values) >= 6 and len(set(values)) == len(values)


# --- 2. one validation path ------------------------------------------------------------------------------------


def test_load_config_is_the_one_path_structure_registry_secrets_and_sharing(tmp_path, monkeypatch):
    f = tmp_path / "hub.yaml"
    f.write_text(FULL, encoding="utf-8")
    for k, v in FULL_ENV.items():
        monkeypatch.setenv(k, v)
    assert [t.id for t in load_config(f, registry=REGISTRY).tenants] == ["coop-a", "coop-b"]
    monkeypatch.delenv("HUB_B_HOOM_INBOUND_KEY")
    with pytest.raises(ConfigError) as err:
        load_config(f, registry=REGISTRY)
    assert "missing secret: environment variable HUB_B_HOOM_INBOUND_KEY" in str(err.value)
    f.write_text(FULL.replace("inbound_key: HUB_B_HOOM_INBOUND_KEY, ", ""), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"tenants\.coop-b\.partners\.hoomdossier\.secrets\.inbound_key is required"):
        load_config(f, registry=REGISTRY)


def test_a_coupling_requires_the_secrets_its_steps_need():
    """A tenant with Econobis and Hoomdossier needs Econobis' hoom_endpoint_key (the forward posts with it):
    without it a Dagster run would fail at the forward, so the file is refused up front."""
    text = FULL.replace("          hoom_endpoint_key: HUB_A_ECONOBIS_HOOM_ENDPOINT_KEY\n", "")
    assert_refused(
        text,
        "tenants.coop-a.partners.econobis.secrets.hoom_endpoint_key is required: the tenant has econobis and "
        "hoomdossier (econobis_hoomdossier)",
    )


def test_every_route_builds_once_the_config_is_valid(monkeypatch):
    """What `hub serve` builds after load_config raises nothing for a valid config (no later refusal)."""
    from hub.store import Store

    for k, v in FULL_ENV.items():
        monkeypatch.setenv(k, v)
    config = load_config_text(FULL)
    store = Store.open("sqlite://")
    try:
        webhooks = any(c.webhooks for c in REGISTRY)  # one router for every signed-webhook source
        assert len(REGISTRY.routers(config, store)) == len([c for c in REGISTRY if c.routes]) + webhooks
    finally:
        store.dispose()


def load_config_text(text: str):
    from hub.config import ensure_valid

    return ensure_valid(parse_config(text, "hub.yaml"), REGISTRY, couplings=COUPLINGS)


# --- 3. secrets only by variable name --------------------------------------------------------------------------

LITERAL = "XK7QPZ9WLMNB4RT2"


@pytest.mark.parametrize(
    ("edit", "needle"),
    [
        (("slug: coop-a,", f"slug: coop-a, inbound_key: {LITERAL},"), "settings: inbound_key looks like a secret"),
        (("client_id: 2}", f"client_id: 2, webform_key: {LITERAL}}}"), "settings: webform_key looks like a secret"),
        (("client_id: 2}", f"client_id: 2, bearer: {LITERAL}}}"), "settings: bearer looks like a secret"),
        (
            ("client_id: 2}", f"client_id: 2, client_credentials: {LITERAL}}}"),
            "settings: client_credentials looks like a secret",
        ),
        (("client_id: 2}", f"client_id: 2, credentials: [{LITERAL}]}}"), "settings: credentials looks like a secret"),
        (("client_id: 2}", f"client_id: 2, auth: {{basic: {LITERAL}}}}}"), "settings: auth looks like a secret"),
        (
            ("client_id: 2}", f"client_id: 2, tls: {{private_key: {LITERAL}}}}}"),
            "settings: tls.private_key looks like a secret",
        ),
        (("client_id: 2}", f"client_id: 2, oauth: {{id: {LITERAL}}}}}"), "settings: oauth looks like a secret"),
        (
            ("client_id: 2}", f"client_id: 2, extra: [{{api_key: {LITERAL}}}]}}"),
            "settings: extra.0.api_key looks like a secret",
        ),
        (("client_id: 2}", f"client_id: 2, passphrase: {LITERAL}}}"), "settings: passphrase looks like a secret"),
        (
            ("        settings: {slug: coop-a", f"        inbound_key: {LITERAL}\n        settings: {{slug: coop-a"),
            "inbound_key: a secret may only be given under `secrets:`",
        ),
        (("password: HUB_A_ECONOBIS_PASSWORD", f"password: {LITERAL}"), "secrets: password must be the NAME"),
        (("password: HUB_A_ECONOBIS_PASSWORD", "password: hunter2-lower"), "secrets: password must be the NAME"),
    ],
)
def test_a_literal_secret_outside_secrets_is_refused_without_echoing_it(edit, needle):
    assert_refused(FULL.replace(*edit), needle, hidden=(LITERAL, "hunter2"))


def test_a_declared_secret_field_under_settings_is_refused_even_when_its_name_looks_harmless():
    from pydantic import BaseModel

    class Settings(BaseModel):
        region: str = "vl"

    pin = Connector(name="lockbox", title="Lockbox", summary="", secrets=("pin",), settings=Settings)
    with REGISTRY.registered(pin):
        config = parse_config(
            "tenants:\n  coop-a:\n    name: A\n    partners:\n      lockbox:\n        base_url: https://l.example\n"
            "        settings: {region: vl, nested: {pin: '9911'}}\n        secrets: {pin: HUB_A_LOCKBOX_PIN}\n"
        )
        msg = "\n".join(validate_config(config, REGISTRY, env={"HUB_A_LOCKBOX_PIN": "1234"}))
    assert "tenants.coop-a.partners.lockbox.settings.nested.pin is a secret of Lockbox" in msg
    assert "9911" not in msg and "1234" not in msg


@pytest.mark.parametrize(
    ("name", "shown"),
    [
        ("HUB_COOP_A_ECONOBIS_PASSWORD", True),
        ("HUB_COOP2_OAUTH2_SECRET", True),
        ("HUB_2026_KEY", True),
        ("HUB_K7QPZ9WLMNB4RT2X", False),  # a word with many digits among letters
        ("HUB_XKQPZWLMNBRT", False),  # six or more letters and no vowel
        ("K7QPZ9WL_MNB4RT2X", False),  # words of consonants and digits
        ("HUB_" + "A" * 30, False),  # a word longer than 24
        ("XK7QPZ9WLMNB4RT2", False),  # not a name at all (no underscore): refused at parse time too
    ],
)
def test_a_variable_name_is_printed_only_when_plausible(name, shown):
    t = parse_config(GOOD.replace("HUB_COOP_A_ECONOBIS_PASSWORD", "HUB_OK_NAME")).tenant("coop-a")
    t = t.model_copy(
        update={"partners": {"econobis": t.partner("econobis").model_copy(update={"secrets": {"password": name}})}}
    )
    with pytest.raises(ConfigError) as err:
        t.secret("econobis", "password", env={})
    assert (name in str(err.value)) is shown
    assert (shown_env_name(name) == name) is shown
    assert "tenants.coop-a.partners.econobis.secrets.password" in str(err.value)


def test_a_sandbox_partner_must_be_on_loopback():
    """`sandbox: true` keeps demo values in the file: never for a system off this machine."""
    text = FULL.replace(
        "        base_url: https://coop-a.econobis.nl\n",
        "        base_url: https://coop-a.econobis.nl\n"
        "        sandbox: true\n"
        "        sandbox_secret_values: {password: x}\n",
    )
    assert_refused(text, "sandbox: true is only allowed for a loopback base_url")
    assert problems(text.replace("https://coop-a.econobis.nl", "http://127.0.0.1:18101")) == []


# --- 4. URLs ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "needle"),
    [
        ("https://hub:XK7QPZ9WLMNB4RT2@coop-a.econobis.nl", "must not carry a user name or password"),
        ("https://XK7QPZ9WLMNB4RT2@coop-a.econobis.nl", "must not carry a user name or password"),
        ("https://coop-a.econobis.nl/?token=XK7QPZ9WLMNB4RT2", "parameter(s) ['token']"),
        ("https://coop-a.econobis.nl/api?api_key=XK7QPZ9WLMNB4RT2", "parameter(s) ['api_key']"),
        ("https://coop-a.econobis.nl?key=XK7QPZ9WLMNB4RT2&a=1", "parameter(s) ['key']"),
        ("https://coop-a.econobis.nl?access_token=XK7QPZ9WLMNB4RT2", "parameter(s) ['access_token']"),
        ("https://coop-a.econobis.nl?page=XK7QPZ9WLMNB4RT2", "must not have a query string"),
        ("https://coop-a.econobis.nl?code=XK7QPZ9WLMNB4RT2", "parameter(s) ['code']"),
        ("https://coop-a.econobis.nl#XK7QPZ9WLMNB4RT2", "must not have a #fragment"),
        ('"https://coop a.econobis.nl"', "must not contain whitespace"),
        ('"https://coop-a.econobis.nl\\tXK7QPZ9WLMNB4RT2"', "must not contain whitespace"),
        ("ftp://coop-a.econobis.nl", "must be an http(s) URL"),
        ("coop-a.econobis.nl", "must be an http(s) URL"),
        ("javascript:XK7QPZ9WLMNB4RT2", "must be an http(s) URL"),
        ("https://", "must be an http(s) URL"),
        ("https://coop-a.econobis.nl:99999", "not a valid URL"),
        ("https://coop-a.econobis.nl:XK7QPZ9WLMNB4RT2", "not a valid URL"),
        ("https://coop_a!.econobis.nl", "must name a valid host"),
        ("https://[not-an-ip]/", "not a valid URL"),
    ],
)
def test_urls_with_credentials_queries_or_odd_hosts_are_refused_without_echo(url, needle):
    msg = assert_refused(FULL.replace("https://coop-a.econobis.nl", url), needle, hidden=(LITERAL,))
    assert "tenants.coop-a.partners.econobis.base_url" in msg


@pytest.mark.parametrize("url", ["https://coop-a.econobis.nl/api/", "http://127.0.0.1:8080", "https://[::1]:8443"])
def test_ordinary_urls_pass(url):
    assert problems(FULL.replace("https://coop-a.econobis.nl", url)) == []


# --- 5. typed settings -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("edit", "needle"),
    [
        (
            ("campaign_ids: [11]", "campaign_ids: eleven"),
            "hoomdossier.settings.campaign_ids: Input should be a valid list",
        ),
        (
            ("campaign_ids: [11]", "campaign_ids: [eleven]"),
            "hoomdossier.settings.campaign_ids.0: Input should be a valid integer",
        ),
        (("campaign_ids: [11]", "campaign_ids: [11, -3]"), "settings.campaign_ids.1: Input should be greater than 0"),
        (
            ("register_from: 2026-12-01", "register_from: someday"),
            "hoomdossier.settings.register_from: Input should be a valid date",
        ),
        (("register_from: 2026-12-01", "register_from: 2026-13-45"), "not valid YAML"),
        (("slug: coop-a,", "slug: Coop A,"), "tenants.coop-a.partners.hoomdossier.settings.slug: String should match"),
        (
            ("slug: coop-a,", "slug: coop-a, budget_per_minuut: 5,"),
            "settings.budget_per_minuut: Extra inputs are not permitted",
        ),
        (
            ("client_id: 2}", "client_id: 2, budget_per_minute: -1}"),
            "econobis.settings.budget_per_minute: Input should be greater than 0",
        ),
        (("client_id: 2}", "client_id: true}"), "econobis.settings.client_id: Input should be a valid string"),
        (("username: hub@coop-a.nl, ", ""), "econobis.settings.username: Field required"),
        (
            ("    name: Coop B\n", "    name: Coop B\n    fresh_within_hours: soon\n"),
            "tenants.coop-b.fresh_within_hours",
        ),
        (
            ("    name: Coop B\n", "    name: Coop B\n    follow_up: {after_days: a week}\n"),
            "tenants.coop-b.follow_up.after_days",
        ),
        (
            ("    name: Coop B\n", "    name: Coop B\n    mart_personal_data: 'yes please'\n"),
            "tenants.coop-b.mart_personal_data",
        ),
    ],
)
def test_typed_settings_are_validated_with_the_key_named(edit, needle):
    assert edit[0] in FULL
    assert_refused(FULL.replace(*edit), needle)


# --- 6. unreadable files ---------------------------------------------------------------------------------------

BILLION_LAUGHS = (
    "a: &a [x,x,x,x,x,x,x,x,x,x]\n"
    + "".join(f"{chr(98 + i)}: &{chr(98 + i)} [" + ",".join([f"*{chr(97 + i)}"] * 10) + "]\n" for i in range(8))
    + "tenants: *i\n"
)

UNREADABLE: list[tuple[str, bytes, str]] = [
    ("non-UTF-8", b"tenants:\n  coop-a:\n    name: Co\xf6p\n", "is not UTF-8 text (byte 31 cannot be decoded)"),
    ("Latin-1 password", FULL.encode().replace(b"HUB_A_ECONOBIS_PASSWORD", b"p\xe4ss"), "is not UTF-8 text"),
    ("empty", b"", "is empty"),
    ("only whitespace and comments", b"\n  \n", "is empty"),
    ("only a comment", b"# nothing yet\n", "is empty"),
    ("a list", b"- tenants\n- coop-a\n", "must be a mapping with a top-level `tenants:` key, not a list"),
    ("a scalar", b"42\n", "not an integer"),
    ("a string", b"hello\n", "not a string"),
    ("two documents", b"tenants: []\n---\ntenants: []\n", "but found another document at line 2"),
    ("billion laughs", BILLION_LAUGHS.encode(), "expands to more than 100000 nodes"),
    ("recursive alias", b"tenants: &t [*t]\n", "a YAML alias refers to itself"),
    ("deep nesting", b"tenants: " + b"[" * 5000 + b"]" * 5000 + b"\n", "not valid YAML"),
    ("nested 50 deep", b"tenants: " + b"[" * 50 + b"]" * 50 + b"\n", "nested more than 40 levels"),
    ("too large", b"tenants: []\n#" + b"x" * MAX_CONFIG_BYTES, "is larger than"),
    ("python tag", b"tenants: !!python/object/apply:os.system [echo hi]\n", "could not determine a constructor"),
    ("NUL byte", b"tenants:\x00 []\n", "unacceptable character #x0000"),
    ("tab indentation", b"tenants:\n\tcoop-a: {}\n", "cannot start any token"),
    ("unclosed flow", b"tenants: [", "not valid YAML"),
    ("undefined alias", b"tenants: *nope\n", "found undefined alias"),
    ("unhashable key", b"tenants:\n  ? [a]\n  : b\n", "found unhashable key"),
    ("a huge int", b"tenants: " + b"9" * 5000 + b"\n", "not valid YAML"),
    (
        "tenants a scalar",
        b"tenants: 5\n",
        "tenants: must be a list of tenants or a mapping keyed by tenant id, not an integer",
    ),
    ("tenants a string", b"tenants: coop-a\n", "not a string"),
    ("tenants empty", b"tenants: {}\n", "at least one tenant is required"),
    ("tenants null", b"tenants:\n", "not empty"),
    ("tenant body a list", b"tenants:\n  coop-a: [name, partners]\n", "tenants.coop-a: must be a mapping"),
    ("tenant body a string", b"tenants:\n  coop-a: hello\n", "tenants.coop-a: must be a mapping"),
    ("tenant list entry a string", b"tenants: [coop-a]\n", "tenants.0: must be a mapping"),
    ("tenant id an int", b"tenants:\n  5: {name: x, partners: {}}\n", "tenants.5: a tenant id must be a string"),
    ("id differs from key", b"tenants:\n  coop-a: {id: coop-b, name: x, partners: {}}\n", "differs from the key"),
    (
        "partners a list",
        b"tenants:\n  coop-a: {name: x, partners: [econobis]}\n",
        "tenants.coop-a.partners: Input should be a valid dictionary",
    ),
    (
        "secrets a list",
        b"tenants:\n  coop-a: {name: x, partners: {hoomdossier: {base_url: 'https://h.nl', secrets: [HUB_A_B]}}}\n",
        "partners.hoomdossier.secrets: Input should be a valid dictionary",
    ),
    ("unknown top-level key", b"tenant: {}\ntenants: []\n", "unknown top-level key(s) ['tenant']"),
]


@pytest.mark.parametrize(("what", "data", "needle"), UNREADABLE, ids=[u[0] for u in UNREADABLE])
def test_every_unreadable_or_malformed_file_gives_one_config_error(tmp_path, what, data, needle):
    f = tmp_path / "hub.yaml"
    f.write_bytes(data)
    with pytest.raises(ConfigError) as err:
        load_config(f, registry=REGISTRY, env=FULL_ENV)
    msg = str(err.value)
    assert needle in msg, msg
    assert "Traceback" not in msg and "p\xe4ss" not in msg
    assert "\n" not in msg, f"{what}: not one line: {msg}"


def test_yaml_errors_do_not_quote_the_file(tmp_path):
    """PyYAML prints the offending line with a caret; that line could hold a literal secret."""
    f = tmp_path / "hub.yaml"
    f.write_text(f"tenants:\n  coop-a:\n    password: {LITERAL}\n   bad: [\n", encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_config(f, registry=REGISTRY)
    assert LITERAL not in str(err.value) and "line" in str(err.value)


def test_a_directory_a_missing_file_and_a_byte_order_mark(tmp_path, monkeypatch):
    with pytest.raises(ConfigError, match="is a directory, not a file"):
        load_config(tmp_path, registry=REGISTRY)
    monkeypatch.setenv("HUB_CONFIG", str(tmp_path / "nonexistent.yaml"))
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(registry=REGISTRY)
    f = tmp_path / "bom.yaml"
    f.write_bytes(b"\xef\xbb\xbf" + FULL.encode())
    assert len(load_config(f, registry=REGISTRY, env=FULL_ENV).tenants) == 2


def test_a_file_without_read_permission(tmp_path, monkeypatch):
    f = tmp_path / "hub.yaml"
    f.write_text(FULL, encoding="utf-8")
    f.chmod(0)
    if os.geteuid() == 0:  # root reads a file whatever its mode: refuse the open as the kernel would

        def denied(self, *args, **kwargs):
            raise PermissionError(13, "Permission denied", str(self))

        monkeypatch.setattr(Path, "open", denied)
    try:
        with pytest.raises(ConfigError, match="cannot be read: permission denied"):
            load_config(f, registry=REGISTRY, env=FULL_ENV)
    finally:
        f.chmod(0o600)


def test_anchors_under_x_keys_are_allowed(tmp_path):
    text = "x-hoom: &hoom\n  base_url: https://hoomdossier.nl\n" + FULL.replace(
        "        base_url: https://hoomdossier.nl\n", "        <<: *hoom\n"
    )
    assert problems(text) == []


# --- the embedded default, ports ----------------------------------------------------------------------------


def test_no_file_means_the_embedded_sandbox_tenants(monkeypatch, tmp_path):
    monkeypatch.delenv("HUB_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)
    cfg = load_config()
    assert [t.id for t in cfg.tenants] == [tid for tid, _ in SANDBOX_TENANTS]
    assert all(pc.base_url.startswith("http://127.0.0.1:") for t in cfg.tenants for pc in t.partners.values())
    assert cfg.tenants[0].secret("econobis", "password", env={}).startswith("sandbox-")


def test_each_embedded_tenant_gets_the_sandboxes_of_its_region():
    """The Dutch cooperations keep every Dutch partner; the Leuven desk (no CRM) has the web form and Woningpas."""
    cfg = sandbox_config()
    by_region = {tid: sandbox_region(tid) for tid, _ in SANDBOX_TENANTS}
    for t in cfg.tenants:
        wanted = {c.name for c in REGISTRY.with_sandbox() if c.sandbox and c.sandbox.serves(by_region[t.id].code)}
        assert set(t.partners) == wanted, t.id
        assert (t.country, t.timezone) == (by_region[t.id].country, by_region[t.id].timezone)
    # the premium portal serves both regions (ISDE for the cooperations, Mijn VerbouwPremie for the desk)
    assert set(cfg.tenant("coop-noord").partners) == {
        "econobis", "hoomdossier", "webform", "fluvius", "bag", "ep_online"
    }  # fmt: skip
    assert set(cfg.tenant("coop-zuid").partners) == {
        "econobis", "hoomdossier", "webform", "fluvius", "bag", "ep_online"
    }  # fmt: skip
    leuven = cfg.tenant("loket-leuven")
    assert (
        set(leuven.partners) == {"webform", "woningpas", "fluvius"} and leuven.name == "Energieloket Leuven (sandbox)"
    )
    assert (leuven.country, leuven.timezone) == ("BE", "Europe/Brussels")
    assert sandbox_tenant_ids(["vl"]) == ("loket-leuven",) and "loket-leuven" not in sandbox_tenant_ids(["nl"])


def test_a_partner_joins_a_region_by_its_own_sandbox_declaration():
    """A Flemish partner (Woningpas, later) declares `regions={"vl"}` in its SandboxFactory: the Leuven desk
    gets it, the Dutch cooperations do not, and no other file changes."""
    from dataclasses import replace

    from tests import fake_connector

    flemish = replace(
        fake_connector.CONNECTOR, sandbox=replace(fake_connector.CONNECTOR.sandbox, regions=frozenset({"vl"}))
    )
    with REGISTRY.registered(flemish):
        cfg = sandbox_config()
        assert [t.id for t in cfg.tenants if t.has(flemish.name)] == list(sandbox_tenant_ids(["vl"]))
        assert sandbox_ports()[flemish.name] == {"*": sandbox_port_base() + flemish.sandbox.port_offset}
    per_tenant = replace(flemish, sandbox=replace(flemish.sandbox, per_tenant=True))
    with REGISTRY.registered(per_tenant):
        ports = sandbox_ports()[per_tenant.name]
        assert list(ports) == ["loket-leuven"]  # numbered over every sandbox tenant: its port stays its own
        number = 1 + [tid for tid, _ in SANDBOX_TENANTS].index("loket-leuven")
        assert ports["loket-leuven"] == sandbox_port_base() + per_tenant.sandbox.port_offset + number


def test_hub_config_env_var_pointing_nowhere_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("HUB_CONFIG", "/nonexistent/hub.yaml")
    with pytest.raises(ConfigError, match="does not exist"):
        load_config()


def test_sandbox_port_base_is_configurable(monkeypatch):
    monkeypatch.setenv("HUB_SANDBOX_PORT_BASE", "19000")
    assert sandbox_config().tenants[0].partner("econobis").base_url == "http://127.0.0.1:19001"


def test_the_docs_example_is_valid():
    """docs/configuration.md's first tenants file passes the one validation path (with its variables set)."""
    doc = (Path(__file__).resolve().parents[2] / "docs" / "configuration.md").read_text(encoding="utf-8")
    block = re.search(r"```yaml\n(tenants:.*?)```", doc, re.S)
    assert block is not None
    config = parse_config(block.group(1), "docs")
    names = sorted({v for t in config.tenants for p in t.partners.values() for v in p.secrets.values()})
    env = {var: f"value-{i}" for i, var in enumerate(names)}
    env["HUB_MART_PSEUDONYM_KEY"] = "a-long-random-pseudonym-key"  # the docs say a real hub needs it
    assert validate_config(config, REGISTRY, env) == []


def test_a_real_tenant_without_the_pseudonym_key_is_refused_and_a_short_key_too():
    """Every entry point loads the config through validate_config: a hub with a real tenant cannot start
    without HUB_MART_PSEUDONYM_KEY, so no process hashes an erased id with the sandbox key (and then fails to
    recognise it, re-importing the erased resident). The key's value never appears in the message."""
    env = {k: v for k, v in FULL_ENV.items() if k != "HUB_MART_PSEUDONYM_KEY"}
    assert any("HUB_MART_PSEUDONYM_KEY" in p and "coop-a" in p for p in problems(FULL, env))
    short = {**env, "HUB_MART_PSEUDONYM_KEY": "short-key"}
    msg = "\n".join(problems(FULL, short))
    assert "shorter than 16" in msg and "short-key" not in msg
    assert problems(FULL) == []
    # the embedded sandbox default needs no key
    assert validate_config(sandbox_config(), REGISTRY, env={}) == []


def test_the_mart_directory_moves_with_hub_mart_dir(tmp_path, monkeypatch):
    from hub.config import HubPaths

    monkeypatch.setenv("HUB_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("HUB_MART_DIR", raising=False)
    assert HubPaths.from_env().mart_dir == (tmp_path / "home" / "mart").resolve()
    monkeypatch.setenv("HUB_MART_DIR", str(tmp_path / "volume" / "mart"))
    paths = HubPaths.from_env()
    assert paths.mart_dir == (tmp_path / "volume" / "mart").resolve()
    paths.ensure()
    assert paths.mart_dir.is_dir() and paths.sqlite_path.parent == (tmp_path / "home").resolve()
