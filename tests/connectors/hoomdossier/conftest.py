"""Fixtures: a fake Econobis and a sandbox Hoomdossier (two cooperations: coop-noord NL linked to the fake,
coop-zuid BE without a link) on loopback, without a background worker so tests drive time themselves."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from connectors.hoomdossier.sandbox.app import CooperationConfig, HoomdossierSandbox
from connectors.hoomdossier.sandbox.server import RunningHoomdossier, start_hoomdossier
from tests.connectors.hoomdossier.hoom_helpers import API_KEY, COACH, NOORD, ZUID, FakeEconobis


@pytest.fixture(scope="session")
def _fake_econobis() -> Iterator[FakeEconobis]:
    fake = FakeEconobis()
    yield fake
    fake.server.stop()


@pytest.fixture
def econobis(_fake_econobis: FakeEconobis) -> FakeEconobis:
    """The shared fake Econobis, emptied for this test (one server for the session keeps the suite fast)."""
    _fake_econobis.calls.clear()
    _fake_econobis.script.clear()
    _fake_econobis.default = ("json", 200, ["Hoomdossier woning bijgewerkt."])
    return _fake_econobis


@pytest.fixture
def start_hoom(econobis: FakeEconobis) -> Iterator[Callable[..., RunningHoomdossier]]:
    started: list[RunningHoomdossier] = []

    def _start(worker_interval: float | None = None, **kw: Any) -> RunningHoomdossier:
        kw.setdefault("outbound_timeout", 0.5)
        kw.setdefault("frozen_clock", True)
        kw.setdefault("coaches", {NOORD: [COACH]})
        sb = HoomdossierSandbox(
            [
                CooperationConfig(NOORD, "Energiecoöperatie Noord", "NL", econobis.url, API_KEY),
                CooperationConfig(ZUID, "Energiecoöperatie Zuid", "BE"),
            ],
            **kw,
        )
        running = start_hoomdossier(sb, worker_interval=worker_interval)
        started.append(running)
        return running

    yield _start
    for running in started:
        running.stop()


@pytest.fixture
def hoom(start_hoom: Callable[..., RunningHoomdossier]) -> RunningHoomdossier:
    return start_hoom()
