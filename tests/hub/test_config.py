"""Tenants file: parsing, clear errors naming the key, secrets only as environment-variable names."""

from __future__ import annotations

import pytest

from hub.config import ConfigError, load_config, parse_config, sandbox_config

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


def test_a_valid_file_parses_and_secrets_resolve_from_the_environment():
    cfg = parse_config(GOOD, "hub.yaml")
    t = cfg.tenant("coop-a")
    assert t.partner("econobis").base_url == "https://coop-a.econobis.nl"
    assert t.secret("econobis", "password", env={"HUB_COOP_A_ECONOBIS_PASSWORD": "pw"}) == "pw"


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
        (GOOD.replace("https://coop-a.econobis.nl/", "coop-a"), "tenants.0.partners.econobis.base_url"),
        (GOOD.replace("HUB_COOP_A_ECONOBIS_PASSWORD", "s3cret value"), "NAME of an environment variable"),
        (GOOD.replace('client_id: "2"', 'client_id: "2", password: x'), "looks like a secret"),
        (GOOD.replace("econobis:", "salesforce:"), "unknown partner"),
        (GOOD.replace("coop-a:", "Coop A:"), "lower-case slug"),
    ],
)
def test_malformed_files_give_errors_naming_the_key(text, needle):
    with pytest.raises(ConfigError, match=needle.replace(".", r"\.").replace("[", r"\[")):
        parse_config(text, "hub.yaml")


def test_no_file_means_the_embedded_sandbox_tenants(monkeypatch, tmp_path):
    monkeypatch.delenv("HUB_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)
    cfg = load_config()
    assert [t.id for t in cfg.tenants] == ["coop-noord", "coop-zuid"]
    assert all(t.partner("econobis").base_url.startswith("http://127.0.0.1:") for t in cfg.tenants)
    assert cfg.tenants[0].secret("econobis", "password", env={}).startswith("sandbox-")


def test_hub_config_env_var_pointing_nowhere_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("HUB_CONFIG", "/nonexistent/hub.yaml")
    with pytest.raises(ConfigError, match="does not exist"):
        load_config()


def test_sandbox_port_base_is_configurable(monkeypatch):
    monkeypatch.setenv("HUB_SANDBOX_PORT_BASE", "19000")
    assert sandbox_config().tenants[0].partner("econobis").base_url == "http://127.0.0.1:19001"
