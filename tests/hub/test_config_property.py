"""Property: whatever the tenants file holds (random YAML structures, mutations of a valid file — wrong types,
deleted keys, literal secrets where names or settings go — or odd bytes), loading and validating it either
succeeds or raises ConfigError, never another exception, and no secret value of the environment appears in
any message. Bounded (a few hundred examples each, no deadline) so it runs in seconds."""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import connectors
from couplings import COUPLINGS
from hub.config import ConfigError, HubConfig, load_config
from tests.hub.test_config import FULL, FULL_ENV

REGISTRY = connectors.registry()
# what the environment holds: the valid file's secrets, plus values that look like variable names
ENV = {**FULL_ENV, "HUB_A_SPARE_ONE": "XK7QPZ9WLMNB4RT2", "HUB_A_SPARE_TWO": "K7QPZ9WL_MNB4RT2X"}
SECRETS = sorted(set(ENV.values()))
BASE = yaml.safe_load(FULL)
# HUB_PROPERTY_EXAMPLES raises the count for a longer hunt (3,000 each ran clean when this was written)
COMMON = settings(
    max_examples=int(os.environ.get("HUB_PROPERTY_EXAMPLES", "200")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


def identifiers(doc: Any) -> set[str]:
    """Strings the file uses as identifiers: mapping keys and tenant ids. Errors name keys and tenants by
    these (as logs and the Dagster UI do), so a secret written as one is not something a message can hide."""
    out: set[str] = set()
    if isinstance(doc, dict):
        for k, v in doc.items():
            out.add(str(k))
            if k == "id":
                out.add(str(v))
            out |= identifiers(v)
    elif isinstance(doc, list):
        for v in doc:
            out |= identifiers(v)
    return out


def outcome(tmp_path: Path, data: bytes, doc: Any = None) -> HubConfig | ConfigError:
    f = tmp_path / "hub.yaml"
    f.write_bytes(data)
    try:
        return load_config(f, registry=REGISTRY, env=ENV, couplings=COUPLINGS)
    except ConfigError as exc:
        message = str(exc)
        named = identifiers(doc)
        for value in SECRETS:
            if value not in named:
                assert value not in message, f"secret {value!r} echoed: {message}"
        assert "Traceback" not in message
        return exc


leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**6), max_value=10**6),
    st.floats(allow_nan=False),
    st.text(max_size=20),
    st.dates(),
    st.sampled_from(SECRETS),
    st.sampled_from(["https://x.example", "HUB_A_HOOM_TOKEN", "coop-a", "econobis", "hoomdossier", ""]),
)
keys = st.one_of(
    st.text(max_size=12),
    st.sampled_from(
        [
            "tenants",
            "name",
            "partners",
            "base_url",
            "settings",
            "secrets",
            "id",
            "econobis",
            "hoomdossier",
            "slug",
            "campaign_ids",
            "password",
            "inbound_key",
            "token",
            "sandbox",
            "sandbox_secret_values",
            "follow_up",
            "x-anchor",
        ]
    ),
)
trees = st.recursive(
    leaves,
    lambda children: st.one_of(st.lists(children, max_size=4), st.dictionaries(keys, children, max_size=4)),
    max_leaves=25,
)


@COMMON
@given(tree=trees, wrap=st.booleans())
def test_random_yaml_structures(tmp_path, tree, wrap):
    doc = {"tenants": tree} if wrap else tree
    outcome(tmp_path, yaml.safe_dump(doc, allow_unicode=True).encode(), doc)


def _paths(node: Any, here: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [here]
    if isinstance(node, dict):
        for k, v in node.items():
            out += _paths(v, (*here, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _paths(v, (*here, i))
    return out


ALL_PATHS = [p for p in _paths(BASE) if p]


def _set(doc: Any, path: tuple[Any, ...], value: Any) -> None:
    for step in path[:-1]:
        doc = doc[step]
    doc[path[-1]] = value


def _delete(doc: Any, path: tuple[Any, ...]) -> None:
    for step in path[:-1]:
        doc = doc[step]
    del doc[path[-1]]


def _get(doc: Any, path: tuple[Any, ...]) -> Any:
    for step in path:
        doc = doc[step]
    return doc


@st.composite
def mutations(draw: st.DrawFn) -> dict[str, Any]:
    doc = copy.deepcopy(BASE)
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        live = [p for p in _paths(doc) if p]
        if not live:
            break
        path = draw(st.sampled_from(live))
        kind = draw(st.sampled_from(["delete", "replace", "secret", "secret-key", "url", "type"]))
        try:
            target = _get(doc, path)
        except (KeyError, IndexError, TypeError):
            continue
        if kind == "delete":
            _delete(doc, path)
        elif kind == "replace":
            _set(doc, path, draw(trees))
        elif kind == "secret":  # a literal secret where a name, a setting or anything else goes
            _set(doc, path, draw(st.sampled_from(SECRETS)))
        elif kind == "secret-key" and isinstance(target, dict):  # a secret-looking key with a literal value
            name = draw(
                st.sampled_from(
                    [
                        "webform_key",
                        "inbound_key",
                        "bearer",
                        "client_credentials",
                        "auth",
                        "private_key",
                        "password",
                        "token",
                        "pin",
                        "credentials",
                    ]
                )
            )
            target[name] = draw(st.sampled_from(SECRETS))
        elif kind == "url":
            secret = draw(st.sampled_from(SECRETS))
            url = draw(
                st.sampled_from(
                    [
                        f"https://hub:{secret}@crm.example",
                        f"https://{secret}@crm.example",
                        f"https://crm.example/?token={secret}",
                        f"https://crm.example?api_key={secret}",
                        f"https://crm .example/{secret}",
                        f"ftp://crm.example/{secret}",
                        f"https://crm.example:{secret}",
                        f"https://crm.example#{secret}",
                        f"{secret}",
                    ]
                )
            )
            _set(doc, path, url)
        elif kind == "type":
            _set(doc, path, draw(st.sampled_from([[], {}, None, 0, 1.5, True, "text", [target]])))
    return doc


@COMMON
@given(doc=mutations())
def test_mutations_of_a_valid_file(tmp_path, doc):
    outcome(tmp_path, yaml.safe_dump(doc, allow_unicode=True).encode(), doc)


RAW = FULL.encode()


@COMMON
@given(
    edits=st.lists(
        st.tuples(st.integers(min_value=0, max_value=len(RAW)), st.binary(min_size=0, max_size=4), st.integers(0, 3)),
        min_size=1,
        max_size=6,
    )
)
def test_odd_bytes_in_a_valid_file(tmp_path, edits):
    data = bytearray(RAW)
    for pos, insert, cut in edits:
        pos = min(pos, len(data))
        data[pos : pos + cut] = insert
    outcome(tmp_path, bytes(data))


@COMMON
@given(data=st.binary(max_size=300))
def test_random_bytes(tmp_path, data):
    outcome(tmp_path, data)


def test_the_unmutated_file_loads():
    """The base of the mutations is valid, so they test refusals of a file that was fine."""
    assert isinstance(load_config_bytes(RAW), HubConfig)


def load_config_bytes(data: bytes) -> HubConfig:
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        result = outcome(Path(d), data)
    if isinstance(result, ConfigError):
        pytest.fail(str(result))
    return result
