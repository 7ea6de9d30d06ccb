"""The part of a sandbox Econobis that the write handlers (webform, SPA writes, Hoomdossier endpoints) use.
A Protocol, so the handlers need not import `EconobisSandbox` and `app.py` can import them without a cycle."""

from __future__ import annotations

import random
from contextlib import AbstractContextManager
from typing import Any, Protocol

from connectors.econobis.sandbox.db import SandboxDB
from connectors.econobis.sandbox.lookups import Lookups
from connectors.econobis.sandbox.outbound import Cooperation
from hub.sandbox.runtime import SimClock


class SandboxState(Protocol):
    """Tables, lookups, clock and outbound settings of one instance; every write holds `write_lock`."""

    # Read-only properties: a plain attribute of a concrete class satisfies them, and handlers cannot rebind.
    @property
    def db(self) -> SandboxDB: ...

    @property
    def lookups(self) -> Lookups: ...

    @property
    def clock(self) -> SimClock: ...

    @property
    def cooperation(self) -> Cooperation: ...

    @property
    def rng(self) -> random.Random: ...

    @property
    def write_lock(self) -> AbstractContextManager[Any]: ...
