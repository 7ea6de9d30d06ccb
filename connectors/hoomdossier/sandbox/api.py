"""The inbound API v1 behind the HTTP layer: Sanctum token lookup, and the two write endpoints, register (§1.6)
and the coach link (§1.7), each giving an `Answer` that app.py encodes."""

from __future__ import annotations

from typing import Any, NamedTuple

from connectors.hoomdossier.sandbox.dossier import Dossier
from connectors.hoomdossier.sandbox.lookups import SUPPORTED_API_SHORTS, TOOL_QUESTIONS
from connectors.hoomdossier.sandbox.state import BuildingCoachStatus
from connectors.hoomdossier.sandbox.validation import (
    COACH_KEY,
    RESIDENT_KEY,
    ServerError,
    clean_input,
    data_get,
    prepare_register,
    validate_coach_link,
    validate_register,
)
from hub.sandbox.php import php_int

SERVER_ERROR = {"message": "Server Error"}
COOPERATION_NOT_FOUND = {"message": "No query results for model [App\\Models\\Cooperation]."}


class Answer(NamedTuple):
    """An HTTP answer of the API: status code and the body before JSON encoding."""

    status: int
    body: Any


def default_token(slug: str, index: int = 1) -> str:
    """The default Sanctum plaintext token of the `index`-th cooperation (1-based, constructor order)."""
    return f"{index}|sandbox-hoom-token-{slug}"


class InboundApi:
    """Token → abilities, and the write endpoints once the request is authenticated and authorised."""

    def __init__(self, dossier: Dossier, tokens: dict[str, list[str]]) -> None:
        self.dossier = dossier
        self.state = dossier.state
        self.tokens = tokens

    # --- tokens ---------------------------------------------------------------------------------------------

    def token_for(self, slug: str) -> str:
        """The token that was made for `slug` (one with exactly the ability `access:{slug}`, else a `*` one)."""
        for token, abilities in self.tokens.items():
            if abilities == [f"access:{slug}"]:
                return token
        for token, abilities in self.tokens.items():
            if "*" in abilities:
                return token
        raise KeyError(slug)

    def abilities_for(self, authorization: str | None) -> list[str] | None:
        """Sanctum v4: `Bearer <id>|<secret>` looked up by id and compared by hash; without a pipe, by hash."""
        if not authorization or not authorization.lower().startswith("bearer "):
            return None
        plain = authorization[7:].strip()
        if plain in self.tokens:
            return self.tokens[plain]
        if "|" not in plain:
            for token, abilities in self.tokens.items():
                if token.split("|", 1)[-1] == plain:
                    return abilities
        return None

    # --- write endpoints ------------------------------------------------------------------------------------

    def register(self, slug: str, data: dict[str, Any]) -> Answer:
        """POST /api/v1/register for cooperation `slug`."""
        with self.state.lock:
            coop = self.state.cooperation_by_slug(slug)
            if coop is None:
                return Answer(404, COOPERATION_NOT_FOUND)
            try:
                cleaned = prepare_register(clean_input(data))
                errors = validate_register(self.state, coop, cleaned)
            except ServerError:
                return Answer(500, SERVER_ERROR)
            if errors:
                return Answer(422, errors)
            extra = dict(cleaned["extra"]) if isinstance(cleaned.get("extra"), dict) else {}
            if extra.get("contact_id") is not None:
                # "Force as INT"; the value passed the `integer` rule, so (int) is exact here
                extra["contact_id"] = php_int(extra["contact_id"])
            raw_roles = cleaned.get("roles")
            if raw_roles is None:
                roles = ["resident"]
            else:
                roles = list(dict.fromkeys(raw_roles.values() if isinstance(raw_roles, dict) else raw_roles))
            user = self.dossier.create_user(
                coop,
                email=cleaned["email"],
                first_name=cleaned["first_name"],
                last_name=cleaned["last_name"],
                phone_number=cleaned.get("phone_number") or "",
                extra=extra,
                roles=[str(r) for r in roles],
                address={
                    "postal_code": cleaned["postal_code"],
                    "number": cleaned["number"],
                    "extension": cleaned.get("house_number_extension") or "",
                    "street": cleaned["street"],
                    "city": cleaned["city"],
                },
            )
            answers = cleaned.get("tool_questions")
            if isinstance(answers, dict) and {"resident", "coach"} & set(user.roles):
                building = self.dossier.building(user)
                stored = self.state.tool_answers.setdefault(building.id, {})
                for short, value in answers.items():
                    if short in SUPPORTED_API_SHORTS and value is not None:
                        stored[short] = TOOL_QUESTIONS[short].cast(value)
            return Answer(201, {"account_id": user.account_id, "user_id": user.id})

    def link_coach(self, slug: str, data: dict[str, Any]) -> Answer:
        """POST /api/v1/building-coach-status for cooperation `slug`."""
        with self.state.lock:
            coop = self.state.cooperation_by_slug(slug)
            if coop is None:
                return Answer(404, COOPERATION_NOT_FOUND)
            cleaned = clean_input(data)
            errors = validate_coach_link(self.state, coop, cleaned)
            if errors:
                return Answer(422, errors)
            coach = self.state.user_by_contact(coop.id, data_get(cleaned, COACH_KEY)[1])
            resident = self.state.user_by_contact(coop.id, data_get(cleaned, RESIDENT_KEY)[1])
            assert coach is not None and resident is not None
            building = self.state.building_of(resident)
            if building is None:
                return Answer(500, SERVER_ERROR)
            st = self.state
            st.building_permissions.add((coach.id, building.id))
            st.building_coach_statuses.append(
                BuildingCoachStatus(
                    st.next_id("building_coach_statuses"), coach.id, building.id, "added", self.dossier.clock.now()
                )
            )
            self.dossier.set_status(building, "in_progress")
            return Answer(200, [])
