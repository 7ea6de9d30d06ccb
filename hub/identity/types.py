"""What a register answered about one dwelling's address, in the core's words (no partner named).

A connector for an address register (e.g. a national building register) turns its partner's answer into
`RegisterObject`s and hands a `Resolution` per dwelling to `hub.identity.resolve.apply_resolutions`, which decides
whether the dwelling takes the register's key, or a match candidate is raised for a person."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class RegisterObject:
    """One addressable object a register returned for a query.

    - `key`: the dwelling key it stands for (`nl:bag:vbo:…`, hub/canonical/keys.py);
    - `address`: its official address: street, number, letter, addition, postcode, city (strings, "" when none);
    - `identifiers`: the register's other ids, scheme → value or list (e.g. `nl:bag:num`, `nl:bag:pnd`, `nl:bag:wpl`);
    - `residential`: whether its use includes living (a woonfunctie);
    - `side_address`: the query matched one of its side addresses, not its main one;
    - `exact`: letter and addition equal what was asked (after normalising case and separators);
    - `facts`: building facts for the dwelling file under the register's source rank (build_year, surface_m2; a
      missing build year is left out, never defaulted);
    - `area`: the dwelling's area as far as the register's answer tells it (hub/canonical/areas.py), or None; it
      goes to the dwelling under the register's rank for `area` (a finer area from elsewhere may outrank it)."""

    key: str
    address: dict[str, str]
    identifiers: dict[str, Any] = field(default_factory=dict)
    residential: bool = True
    side_address: bool = False
    exact: bool = True
    facts: dict[str, Any] = field(default_factory=dict)
    area: dict[str, Any] | None = None

    def evidence(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "address": self.address,
            "identifiers": self.identifiers,
            "residential": self.residential,
            "side_address": self.side_address,
            "exact": self.exact,
            "facts": self.facts,
        }


@dataclass(frozen=True)
class Resolution:
    """The register's answer for one dwelling: what was asked (`query`, the dwelling's address as the register
    was asked it), when, and every object it returned (empty: not found). `error` names an answer that is no
    answer (the register refused the query as invalid): the dwelling stays as it is and is asked again later."""

    dwelling_id: str
    source: str
    source_ref: str
    answered_at: datetime
    query: dict[str, Any]
    objects: tuple[RegisterObject, ...] = ()
    error: str | None = None
