"""Erasure in Hoomdossier. API v1 has no delete the hub may call (contracts/hoomdossier.md §1.4: index,
register and building-coach-status only); a user is deleted by a cooperation admin in Hoomdossier itself
(`UserService::deleteUser`), which then posts `delete` for the user to Econobis — that is, to the hub's
receiver. So the hub's notice is an instruction in the coordinator's task (carried by a connector with a
coordinator channel), and the erasure is confirmed when Hoomdossier's own `delete` message for the
resident's account or building arrives (hub.erasure.observe_gone, from the inbox apply)."""

from __future__ import annotations

from connectors.hoomdossier.routes import REGISTER
from connectors.hoomdossier.settings import COACH_LINK_OPERATION, ECONOBIS_CONTACTS, INBOX_SOURCE, PARTNER
from hub.connector import ErasurePlan, ErasureSubject


def plan(subject: ErasureSubject) -> ErasurePlan | None:
    accounts = sorted(
        set(subject.ids(PARTNER, "account"))
        | {str(d["hoomdossier_account_id"]) for d in subject.of("resident") if d.get("hoomdossier_account_id")}
    )
    buildings = sorted(
        set(subject.ids(PARTNER, "building"))
        | {str(d["hoomdossier_building_id"]) for d in subject.of("dwelling_file") if d.get("hoomdossier_building_id")}
    )
    contacts = subject.ids(ECONOBIS_CONTACTS, "contact")  # in the register proxy's key
    if not accounts and not buildings:
        return None
    what = ", ".join([*(f"account-id {a}" for a in accounts), *(f"gebouw {b}" for b in buildings)])
    return ErasurePlan(
        payload=None,
        manual=(
            f"verwijder in Hoomdossier de gebruiker ({what}) via Beheer → Gebruikers; Hoomdossier meldt de "
            "verwijdering daarna zelf aan de hub."
        ),
        watch=tuple([*(("account", a) for a in accounts), *(("building", b) for b in buildings)]),
        inbox=tuple((INBOX_SOURCE, f"{b}/") for b in buildings),
        idempotency=tuple((REGISTER, f"contact:{c}") for c in contacts),
        outbox=tuple((COACH_LINK_OPERATION, "resident_contact_id", c) for c in contacts),
    )
