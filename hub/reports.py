"""What every run report shares: its fields as plain values for run metadata and the CLI's JSON."""

from __future__ import annotations

from typing import Any


class RunReport:
    """Mixin for the dataclass reports of pushes and forwards."""

    def as_dict(self) -> dict[str, Any]:
        return {k: (dict(v) if isinstance(v, dict) else v) for k, v in self.__dict__.items()}
