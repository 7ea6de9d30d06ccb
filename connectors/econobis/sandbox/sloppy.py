"""Addresses as residents and coordinators write them, over the seed's true addresses (contracts §4, issue 14).

The seed draws every address in its true form (the form the BAG register holds); this pass rewrites a share of
them the way people type: the postcode lower-case or without its space, the addition glued, spaced or
lower-cased, a letter dropped, a number's toevoeging written with a word ("3hg"), a postcode typo. And a small
share of homes is written twice: a second contact of the same household at the same true address, written
another way. A separate RNG per address (seeded from the instance seed and the address id), so the seed's own
draws and every count stay as they were. The true form of every address stays in sandbox-only state
(`true_addresses`: address id → {postcode, number, letter, addition, street, city}), which the BAG sandbox's seed
reads (couplings/bag_econobis.py); the Econobis API never shows it."""

from __future__ import annotations

import random
import re
from typing import Any

# shares [MOD]: how often an address is written otherwise than the register has it
POSTCODE_STYLE = 0.12  # "2594an", "2594 an", "2594AN"
ADDITION_STYLE = 0.5  # of addresses with an addition: "a2", "A 2", "a-2"
DROPPED_LETTER = 0.03  # of addresses with a letter: written without it
WORDY_ADDITION = 0.02  # of addresses with a number-only toevoeging: "3hg", "3 hoog"
POSTCODE_TYPO = 0.01  # a wrong last letter: the register does not know the address
HOUSEHOLD_TWICE = 0.03  # of resident contacts: a second contact of the household at the same home


def split_true(addition: str) -> tuple[str, str]:
    """The seed's Econobis-style addition → BAG's (huisletter, huisnummertoevoeging)."""
    a = (addition or "").strip()
    if not a:
        return "", ""
    if re.fullmatch(r"[A-Za-z]", a):
        return a.upper(), ""
    m = re.fullmatch(r"([A-Za-z])-(\w{1,4})", a)
    if m:
        return m.group(1).upper(), m.group(2).upper()
    return "", a.upper()[:4]


def _postcode(pc: str, r: random.Random) -> str:
    digits, letters = pc.replace(" ", "")[:4], pc.replace(" ", "")[4:]
    return r.choice([f"{digits}{letters.lower()}", f"{digits} {letters.lower()}", f"{digits}{letters}"])


def _written_addition(letter: str, addition: str, r: random.Random) -> str:
    if letter and addition:
        return r.choice([f"{letter.lower()}{addition}", f"{letter} {addition}", f"{letter.lower()}-{addition}"])
    if letter:
        return letter.lower()
    return r.choice([addition.lower(), f" {addition}"]).strip()


def write_as_residents(db: Any, seed: int) -> dict[int, dict[str, Any]]:
    """Rewrite the sandbox's addresses in place; returns each address's true form."""
    truth: dict[int, dict[str, Any]] = {}
    addresses = db.tables["addresses"]
    for aid in sorted(addresses):
        a = addresses[aid]
        letter, toev = split_true(a.get("addition") or "")
        truth[aid] = {
            "postcode": a["postal_code"].replace(" ", "").upper(),
            "number": int(a["number"]),
            "letter": letter,
            "addition": toev,
            "street": a["street"],
            "city": a["city"],
        }
    # households written twice: the later contact's address becomes the earlier one's home
    persons = [
        c
        for c in sorted(db.tables["contacts"].values(), key=lambda c: c["id"])
        if c.get("type_id") == "person" and not c.get("inspection_person_type_id")
    ]
    by_contact = {a["contact_id"]: aid for aid, a in sorted(addresses.items()) if a.get("primary")}
    previous: int | None = None
    for c in persons:
        aid = by_contact.get(c["id"])
        if aid is None:
            continue
        r = random.Random(f"{seed}:household:{c['id']}")
        if previous is not None and r.random() < HOUSEHOLD_TWICE:
            home = dict(truth[previous])
            truth[aid] = home
            row = addresses[aid]
            row.update(street=home["street"], city=home["city"], number=home["number"])
            row["postal_code"] = f"{home['postcode'][:4]} {home['postcode'][4:]}"
            row["addition"] = "-".join(p for p in (home["letter"], home["addition"]) if p)
            # the second writer writes it another way
            if home["letter"] or home["addition"]:
                row["addition"] = _written_addition(home["letter"], home["addition"], r)
                if home["addition"].isdigit() and r.random() < 0.5:
                    row["addition"] = "-".join(p for p in (home["letter"], f"{home['addition']}hg") if p)
            elif r.random() < 0.5:
                # "begane grond" / "huis": a suffix the register does not have
                row["addition"] = r.choice(["bg", "hs", "huis"])
            else:
                row["postal_code"] = _postcode(row["postal_code"], r)
            previous = None
            continue
        previous = aid
    for aid in sorted(addresses):
        row, true = addresses[aid], truth[aid]
        r = random.Random(f"{seed}:address:{aid}")
        if r.random() < POSTCODE_STYLE:
            row["postal_code"] = _postcode(row["postal_code"], r)
        if true["letter"] or true["addition"]:
            if r.random() < ADDITION_STYLE:
                row["addition"] = _written_addition(true["letter"], true["addition"], r)
            if true["letter"] and r.random() < DROPPED_LETTER:
                row["addition"] = true["addition"]
            elif true["addition"].isdigit() and not true["letter"] and r.random() < WORDY_ADDITION:
                row["addition"] = f"{true['addition']}hg"
        if r.random() < POSTCODE_TYPO:
            pc = row["postal_code"].replace(" ", "")
            last = "Z" if pc[-1].upper() != "Z" else "Y"
            row["postal_code"] = f"{pc[:4]} {pc[4]}{last}"
            truth[aid] = {**true, "typo": True}
    return truth
