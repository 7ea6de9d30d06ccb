"""Fixtures: RSA key pairs made once per session, and a sandbox Woningpas on loopback per test with two clients
registered (one with both scopes, one that may only read)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

from connectors.woningpas.client import SHARED_TOKENS
from connectors.woningpas.sandbox.credentials import new_private_key, public_pem
from connectors.woningpas.sandbox.server import RunningWoningpas, start_woningpas
from connectors.woningpas.sandbox.state import WoningpasSandbox
from connectors.woningpas.settings import SCOPE_READ
from hub.sandbox.runtime import SimClock
from tests.connectors.woningpas.wp_helpers import CLIENT, READER


@pytest.fixture(scope="session")
def key() -> RSAPrivateKey:
    return new_private_key()


@pytest.fixture(scope="session")
def other_key() -> RSAPrivateKey:
    return new_private_key()


@pytest.fixture
def start_wp(key: RSAPrivateKey) -> Iterator[Callable[..., RunningWoningpas]]:
    started: list[RunningWoningpas] = []

    def _start(**kw: Any) -> RunningWoningpas:
        kw.setdefault("dwellings", 80)
        kw.setdefault("clock", SimClock())
        sb = WoningpasSandbox(**kw)
        sb.register_client(CLIENT, public_pem(key))
        sb.register_client(READER, public_pem(key), scopes=[SCOPE_READ])
        running = start_woningpas(sb)
        started.append(running)
        return running

    yield _start
    for running in started:
        running.stop()


@pytest.fixture
def wp(start_wp: Callable[..., RunningWoningpas]) -> RunningWoningpas:
    return start_wp()


@pytest.fixture(autouse=True)
def _fresh_token_cache() -> Iterator[None]:
    SHARED_TOKENS.clear()
    yield
    SHARED_TOKENS.clear()
