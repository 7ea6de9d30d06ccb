"""Validation of the two write endpoints, as Laravel 12 with Hoomdossier's Dutch language file does it
(contracts/hoomdossier.md §1.6-1.8; `lang/nl/validation.php`).

Reproduced from the framework: all failing fields are reported at once, each attribute's rules run in order and
stop only after a failed `required`; non-required rules are skipped for an absent or empty-string value and —
with `nullable` — for null; `min`/`max`/`gt` compare numbers only when the attribute also has `numeric`/`integer`
(else string length); `integer` is PHP's FILTER_VALIDATE_INT ("012" and "12.5" fail, 12.0 passes); the
after-validation hooks run even when rules failed, so a repeat register reports `email` AND `extra.contact_id`.
Messages use the attribute names of the language file (`E-mailadres`, `contact ID`, …); an attribute without a
name is shown as its key with underscores replaced (`Tool questions.amount-gas veld is verplicht.`).

Hoomdossier's own rules (app/Rules/*) use the regexes of the repository: PostalCode (NL/BE), HouseNumber,
HouseNumberExtension (after the request lower-cases it and strips whitespace and dashes) and PhoneNumber (NL
forms 06/+31/0031/(0xx); BE mobile only)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from connectors.hoomdossier.sandbox.lookups import CUSTOM_VALUE_SHORTS, SUPPORTED_API_SHORTS
from connectors.hoomdossier.sandbox.state import Cooperation, State
from hub.sandbox.php import php_filter_int, php_is_numeric, php_string, php_truthy

ATTRIBUTES = {
    "email": "E-mailadres",
    "first_name": "Voornaam",
    "last_name": "Achternaam",
    "postal_code": "Postcode",
    "number": "Huisnummer",
    "house_number_extension": "Toevoeging",
    "street": "Straat",
    "city": "Plaats",
    "phone_number": "Telefoonnummer",
    "extra.contact_id": "contact ID",
    "users.extra.contact_id": "contact ID",
    "building_coach_statuses.coach_contact_id": "coach contact ID",
    "building_coach_statuses.resident_contact_id": "bewoner contact ID",
}

MESSAGES = {
    "required": ":Attribute veld is verplicht.",
    "string": "De :attribute moet een tekst zijn.",
    "email": "De :attribute moet een geldig e-mailadres zijn.",
    "max.numeric": ":Attribute mag niet groter dan :max zijn.",
    "max.string": "De :attribute mag niet meer dan :max karakters bevatten.",
    "max.array": "De :attribute mag niet meer dan :max items bevatten.",
    "min.numeric": ":Attribute moet tenminste :min zijn.",
    "min.string": "De :attribute moet tenminste :min karakters bevatten.",
    "min.array": "De :attribute moet tenminste :min items bevatten.",
    "gt.numeric": "De :attribute moet groter zijn dan :value.",
    "gt.string": "De :attribute moet meer dan :value tekens bevatten.",
    "gt.array": "De :attribute moet meer dan :value waardes bevatten.",
    "integer": "De :attribute moet een afgerond getal zijn.",
    "numeric": ":Attribute moet een getal bevatten",
    "array": "De :attribute moet een array zijn",
    "in": "De geselecteerde :attribute is ongeldig.",
    "exists": "De geselecteerde waarde is ongeldig.",
    "unique": "De :attribute is al geregistreerd.",
    "email.unique": "Het e-mailadres is al geregistreerd.",
    "postal_code": ":Attribute is een ongeldige postcode.",
    "house_number": ":Attribute is een ongeldig huisnummer.",
    "house_number_extension": ":Attribute is een ongeldige huisnummer toevoeging.",
    "phone_number": ":Attribute is een ongeldig telefoonnummer.",
    # custom after-validation messages
    "contact-id-unique": "De :attribute is al geregistreerd. Zoek in het Hoomdossier dit contact op en vul in in "
    "Econobis het Hoomaccount ID in. Vul eventueel het Econobis contact ID (wat in de URL staat) in het "
    "Hoomdossier in.",
    "contact-id.not-found": "Opgegeven contact ID voor :attribute is niet bekend als gebruiker in het Hoomdossier.",
    "users.incorrect-role": "Gevonden gebruiker voor :attribute heeft niet de verwachte rol (:role).",
    "building-coach-statuses.already-linked": "De opgegeven coach is al gekoppeld aan de gegeven woning.",
    "building-coach-statuses.no-access": "Bewoner heeft geen toestemming gegeven om gegevens te delen.",
}

POSTAL_CODE = {
    "nl": re.compile(r"^[1-9][0-9]{3} ?(?!sa|sd|ss)[a-z]{2}$", re.IGNORECASE | re.ASCII),
    "be": re.compile(r"^[1-9][0-9]{3}$", re.IGNORECASE | re.ASCII),
}
HOUSE_NUMBER = re.compile(r"^([1-9]{1}((\s?-\s?[A-Za-z0-9]+)|[A-Za-z0-9 ]*))$", re.ASCII)
HOUSE_NUMBER_EXTENSION = re.compile(r"^([a-zA-Z0-9 \/]{0,5}|beneden)$", re.ASCII)
PHONE_NUMBER = {
    "nl": re.compile(
        r"(^\+[0-9]{2}|^\+[0-9]{2}\(0\)|^\(\+[0-9]{2}\)\(0\)|^00[0-9]{2}|^0)([0-9]{9}$|[0]{1}[0-9\-\s]{9}$)"
        r"|^\(0[1-9]{2}\)\s?[0-9]{7}|^\(0[1-9]{3}\)\s?[0-9]{6}|(\+31[0]?[1-9]{1}[0-9\s\-]{9})",
        re.ASCII,
    ),
    "be": re.compile(r"^((00|\+)32|0)(45[56]|46[05-8]|47\d|48\d|49\d)(\d{6})$", re.ASCII),
}
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_EMAIL = re.compile(rf"^{_ATOM}(\.{_ATOM})*@[^\s@.]+(\.[^\s@.]+)*$")


class ServerError(Exception):
    """A PHP error inside the request (e.g. `foreach` over a string): Laravel answers 500."""


def clean_input(value: Any) -> Any:
    """Laravel's global TrimStrings + ConvertEmptyStringsToNull, recursively."""
    if isinstance(value, str):
        value = value.strip()
        return None if value == "" else value
    if isinstance(value, dict):
        return {k: clean_input(v) for k, v in value.items()}
    if isinstance(value, list):
        return [clean_input(v) for v in value]
    return value


def data_get(data: Any, dotted: str) -> tuple[bool, Any]:
    """(present, value) of a dotted key, as `Arr::has` / `data_get`."""
    current = data
    for part in dotted.split("."):
        if isinstance(current, dict) and part in current:
            current = current[part]
        elif isinstance(current, list) and part.isdigit() and int(part) < len(current):
            current = current[int(part)]
        else:
            return False, None
    return True, current


# --- a small Laravel validator ---------------------------------------------------------------------------------

Rule = str | tuple[str, Callable[[Any], bool]]


class Validator:
    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data
        self.errors: dict[str, list[str]] = {}

    @staticmethod
    def display(attribute: str) -> str:
        return ATTRIBUTES.get(attribute, attribute.replace("_", " "))

    def message(self, key: str, attribute: str, **params: Any) -> str:
        name = self.display(attribute)
        text = MESSAGES[key].replace(":Attribute", name[:1].upper() + name[1:]).replace(":attribute", name)
        for param, value in params.items():
            text = text.replace(f":{param}", str(value))
        return text

    def add(self, attribute: str, message: str) -> None:
        self.errors.setdefault(attribute, []).append(message)

    def expand(self, attribute: str) -> list[str]:
        """`roles.*` → `roles.0`, `roles.1`, … for the items present."""
        if not attribute.endswith(".*"):
            return [attribute]
        present, value = data_get(self.data, attribute[:-2])
        if not present:
            return []
        if isinstance(value, list):
            return [f"{attribute[:-2]}.{i}" for i in range(len(value))]
        if isinstance(value, dict):
            return [f"{attribute[:-2]}.{k}" for k in value]
        return []

    def _validate(self, attribute: str, rules: list[Rule]) -> None:
        present, value = data_get(self.data, attribute)
        names = [r if isinstance(r, str) else r[0] for r in rules]
        nullable = "nullable" in names
        numeric_rules = "numeric" in names or "integer" in names
        for rule in rules:
            name, param = [*rule.split(":", 1), ""][:2] if isinstance(rule, str) else (rule[0], "")
            if name == "nullable":
                continue
            if name == "required":
                if value is None or (isinstance(value, str) and value.strip() == "") or value in ([], {}):
                    self.add(attribute, self.message("required", attribute))
                    return  # a failed implicit rule stops this attribute
                continue
            if not present or (isinstance(value, str) and value.strip() == "") or (nullable and value is None):
                continue
            if isinstance(rule, tuple):
                if not rule[1](value):
                    self.add(attribute, self.message(rule[0], attribute))
                continue
            failed = self._check(attribute, name, param, value, numeric_rules)
            if failed:
                self.add(attribute, failed)

    @staticmethod
    def _size(value: Any, numeric_rules: bool) -> float:
        """Validator::getSize: the number itself only with a numeric rule, else a count or a string length."""
        if numeric_rules and php_is_numeric(value):
            return float(value)
        if isinstance(value, list | dict):
            return float(len(value))
        return float(len(php_string(value)))

    @staticmethod
    def _type(value: Any, numeric_rules: bool) -> str:
        """Validator::getAttributeType (picks the message variant): decided by the rules, then the value."""
        if numeric_rules:
            return "numeric"
        return "array" if isinstance(value, list | dict) else "string"

    def _check(self, attribute: str, name: str, param: str, value: Any, numeric_rules: bool) -> str | None:
        """None when the rule passes, else its message for this attribute."""
        if name == "string":
            ok = isinstance(value, str)
        elif name == "email":
            ok = isinstance(value, str) and _EMAIL.match(value) is not None and len(value) <= 320
        elif name == "integer":
            ok = php_filter_int(value)
        elif name == "numeric":
            ok = php_is_numeric(value)
        elif name == "array":
            ok = isinstance(value, list | dict)
        elif name == "in":
            ok = not isinstance(value, list | dict) and php_string(value) in param.split(",")
        elif name in ("max", "min"):
            size = self._size(value, numeric_rules)
            ok = size <= float(param) if name == "max" else size >= float(param)
            if not ok:
                return self.message(f"{name}.{self._type(value, numeric_rules)}", attribute, **{name: param})
            return None
        elif name == "gt":
            # validateGt: a size comparison only for a numeric value and parameter, else false
            ok = php_is_numeric(value) and self._size(value, numeric_rules) > float(param)
            if not ok:
                return self.message(f"gt.{self._type(value, numeric_rules)}", attribute, value=param)
            return None
        else:  # pragma: no cover - programming error
            raise ValueError(f"unknown rule {name}")
        return None if ok else self.message(name, attribute)

    def run(self, attribute: str, rules: list[Rule]) -> None:
        for concrete in self.expand(attribute):
            self._validate(concrete, rules)


# --- RegisterFormRequest ---------------------------------------------------------------------------------------


def prepare_register(data: dict[str, Any]) -> dict[str, Any]:
    """prepareForValidation: `strtolower(preg_replace('/[\\s-]+/', '', $this->get('house_number_extension', '')))`."""
    raw = data.get("house_number_extension", "")
    if isinstance(raw, list | dict):
        raise ServerError("strtolower(): Argument #1 ($string) must be of type string, array given")
    return {**data, "house_number_extension": re.sub(r"[\s-]+", "", php_string(raw)).lower()}


def _country_rule(regexes: dict[str, re.Pattern[str]], country: str, strip: Callable[[str], str]) -> Any:
    def check(value: Any) -> bool:
        if country not in regexes or isinstance(value, list | dict):
            return False
        return regexes[country].search(strip(php_string(value))) is not None

    return check


def _extension_ok(value: Any) -> bool:
    return not isinstance(value, list | dict) and HOUSE_NUMBER_EXTENSION.match(php_string(value)) is not None


def _house_number_ok(value: Any) -> bool:
    if isinstance(value, list | dict):
        return False
    return HOUSE_NUMBER.match(php_string(value).strip().replace(" ", "")) is not None


def _custom_value_exists(value: Any) -> bool:
    return not isinstance(value, list | dict | bool) and php_string(value) in CUSTOM_VALUE_SHORTS


TOOL_QUESTION_RULES: dict[str, list[Rule]] = {
    "amount-gas": ["required", "numeric", "integer", "min:0", "max:9999999999"],
    "amount-electricity": ["required", "numeric", "integer", "min:-10000", "max:9999999999"],
    "resident-count": ["required", ("exists", _custom_value_exists)],
}


def validate_register(state: State, coop: Cooperation, data: dict[str, Any]) -> dict[str, list[str]]:
    """The RegisterFormRequest of §1.6 on cleaned input (after `prepare_register`). Returns the 422 map."""
    country = coop.country.lower()
    v = Validator(data)
    account = state.account_by_email(data.get("email"))
    associated = account is not None and state.user_of_account(account.id, coop.id) is not None
    # An account of another cooperation with this e-mail: the whole `email` rule is unset (it will be re-used).
    if account is None or associated:
        v.run("email", ["required", "string", "email", "max:255", ("email.unique", lambda _v: not associated)])
    for attribute in ("first_name", "last_name"):
        v.run(attribute, ["required", "string", "max:255"])
    v.run("postal_code", ["required", ("postal_code", _country_rule(POSTAL_CODE, country, lambda s: s))])
    v.run("number", ["required", "integer", ("house_number", _house_number_ok)])
    v.run("house_number_extension", ["nullable", "string", ("house_number_extension", _extension_ok)])
    for attribute in ("street", "city"):
        v.run(attribute, ["required", "string", "max:255"])
    phone = _country_rule(PHONE_NUMBER, country, lambda s: s.replace("-", "").replace(" ", ""))
    v.run("phone_number", ["nullable", ("phone_number", phone)])
    v.run("extra.contact_id", ["nullable", "numeric", "integer", "gt:0"])
    v.run("roles", ["nullable", "array"])
    v.run("roles.*", ["string", "in:resident,coach"])

    answers = data.get("tool_questions", []) if "tool_questions" in data else []
    if not isinstance(answers, dict | list):
        # foreach over null/a string: PHP warning → ErrorException → 500
        raise ServerError("foreach() argument must be of type array|object")
    if isinstance(answers, dict):
        for short in answers:
            if short in SUPPORTED_API_SHORTS:
                v.run(f"tool_questions.{short}", TOOL_QUESTION_RULES[short])

    # after(): contact id unique per cooperation
    present, contact_id = data_get(data, "extra.contact_id")
    if present and php_truthy(contact_id) and state.user_by_contact(coop.id, contact_id) is not None:
        v.add("extra.contact_id", v.message("contact-id-unique", "users.extra.contact_id"))
    return v.errors


# --- BuildingCoachStatusFormRequest ----------------------------------------------------------------------------

COACH_KEY = "building_coach_statuses.coach_contact_id"
RESIDENT_KEY = "building_coach_statuses.resident_contact_id"


def validate_coach_link(state: State, coop: Cooperation, data: dict[str, Any]) -> dict[str, list[str]]:
    """The rules and the after() checks of §1.7, in the repository's order (two independent chains: coach
    not found → not a coach → already linked to the resident's building; resident not found → no access)."""
    v = Validator(data)
    for key in (COACH_KEY, RESIDENT_KEY):
        v.run(key, ["required", "numeric", "integer", "gt:0"])
    _, coach_cid = data_get(data, COACH_KEY)
    _, resident_cid = data_get(data, RESIDENT_KEY)
    if php_truthy(coach_cid) and php_truthy(resident_cid):
        coach = state.user_by_contact(coop.id, coach_cid)
        resident = state.user_by_contact(coop.id, resident_cid)
        if coach is None:
            v.add(COACH_KEY, v.message("contact-id.not-found", COACH_KEY))
        elif "coach" not in coach.roles:
            v.add(COACH_KEY, v.message("users.incorrect-role", COACH_KEY, role="coach"))
        elif resident is not None:
            building = state.building_of(resident)
            if building is not None and coach.id in state.connected_coach_ids(building.id):
                v.add(COACH_KEY, v.message("building-coach-statuses.already-linked", COACH_KEY))
        if resident is None:
            v.add(RESIDENT_KEY, v.message("contact-id.not-found", RESIDENT_KEY))
        elif not resident.allow_access:
            v.add(RESIDENT_KEY, v.message("building-coach-statuses.no-access", RESIDENT_KEY))
    return v.errors
