"""What the admin API shows of the tables: a cooperation with its tokens, a user with account, building, status,
coaches, advices, answers and sync times, and the job queue."""

from __future__ import annotations

from typing import Any

from connectors.hoomdossier.sandbox import outbound
from connectors.hoomdossier.sandbox.dossier import Dossier, iso
from connectors.hoomdossier.sandbox.lookups import JOB_CLASSES, STATUS_IDS, STATUS_NAMES
from connectors.hoomdossier.sandbox.state import Cooperation


def describe_cooperation(coop: Cooperation, tokens: dict[str, list[str]]) -> dict[str, Any]:
    return {
        **coop.to_array(),
        "scans": list(coop.scans),
        "tokens": [t for t, abilities in tokens.items() if f"access:{coop.slug}" in abilities or "*" in abilities],
    }


def describe_user(
    dossier: Dossier, slug: str, contact_id: Any = None, user_id: Any = None, email: str | None = None
) -> dict[str, Any]:
    st = dossier.state
    with st.lock:
        _, user = dossier.find_user(slug, contact_id, user_id, email)
        account = st.accounts[user.account_id]
        building = st.building_of(user)
        status = st.current_status(building.id) if building else None
        coaches = []
        for coach_id in st.connected_coach_ids(building.id) if building else []:
            coach = st.users[coach_id]
            coaches.append({"user_id": coach.id, "contact_id": coach.contact_id, "account_id": coach.account_id})
        return {
            "user": {
                "id": user.id,
                "account_id": user.account_id,
                "cooperation_id": user.cooperation_id,
                "first_name": user.first_name,
                "last_name": user.last_name,
                "phone_number": user.phone_number,
                "extra": dict(user.extra),
                "roles": list(user.roles),
                "allow_access": user.allow_access,
                "tool_last_changed_at": iso(user.tool_last_changed_at),
            },
            "account": {"id": account.id, "email": account.email},
            "building": None
            if building is None
            else {
                "id": building.id,
                "street": building.street,
                "number": building.number,
                "extension": building.extension,
                "postal_code": building.postal_code,
                "city": building.city,
                "country_code": building.country_code,
            },
            "status": None
            if status is None
            else {
                "id": STATUS_IDS[status.status],
                "short": status.status,
                "name": STATUS_NAMES[status.status],
                "appointment_date": outbound.fmt_datetime(status.appointment_date),
            },
            "connected_coaches": coaches,
            "advices": [
                {
                    "id": a.id,
                    "measure_type": a.advisable_type,
                    "measure_id": a.advisable_id,
                    "name": a.name,
                    "category": a.category,
                    "visible": a.visible,
                    "savings_gas": a.savings_gas,
                    "savings_electricity": a.savings_electricity,
                    "updated_at": iso(a.updated_at),
                }
                for a in sorted(st.advices.values(), key=lambda a: a.id)
                if a.user_id == user.id
            ],
            "answers": dict(st.tool_answers.get(building.id, {})) if building else {},
            "synced_at": {
                endpoint: iso(st.synced_at(building.id, process))
                for endpoint, process in JOB_CLASSES.items()
                if building and st.synced_at(building.id, process)
            },
        }


def queued_jobs(dossier: Dossier) -> list[dict[str, Any]]:
    with dossier.state.lock:
        return [j.describe() for j in sorted(dossier.jobs, key=lambda j: (j.available_at, j.id))]
