"""The INSZ (rijksregisternummer), the Flemish holder's id the Woningpas API asks for: one checksum, used by the
hub's mandate records and by the sandbox that refuses a bad one."""

from __future__ import annotations

import re

_INSZ = re.compile(r"^\d{11}$")


def valid_insz(value: str) -> bool:
    """An INSZ: 11 digits whose last two are 97 - (the first nine mod 97), with a 2 in front of the nine for
    people born from 2000 on."""
    if not _INSZ.match(value or ""):
        return False
    base, check = int(value[:9]), int(value[9:])
    return check in (97 - base % 97, 97 - int("2" + value[:9]) % 97)
