"""The premium portal's endpoints, scopes, limits, names and the tenant's settings model
(contracts/woningpas_premiums.md §6.4).

Neither Mijn VerbouwPremie (Flanders, run with Fluvius) nor RVO's ISDE has a public API: the sandbox and this
client model one service for both regelingen (`MVP_VL`, `ISDE_NL`), with the real rules of §2 and §3.1. A client
(the desk's or cooperation's organisation) is registered for one regeling and acts under the resident's
mandate (MVP: a mandate person → organisation; ISDE: a "machtiging intermediair")."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, StrictStr, field_validator

from hub.connector import PartnerSettings

PARTNER = "fluvius"

Regeling = Literal["MVP_VL", "ISDE_NL"]
MVP = "MVP_VL"
ISDE = "ISDE_NL"
REGELINGEN: tuple[str, ...] = (MVP, ISDE)
# a tenant's regeling when its settings name none: by the tenant's country
REGELING_BY_COUNTRY = {"BE": MVP, "NL": ISDE}

SCOPE_APPLY = "premies.aanvragen"
SCOPE_READ = "premies.lezen"
SCOPES = (SCOPE_APPLY, SCOPE_READ)

TOKEN_PATH = "/oauth/v1/token"
API = "/premies/v1"
FEED_PAGE_SIZE = 50
FEED_MAX_PAGE_SIZE = 200
DOCUMENT_KINDS = (
    "factuur",
    "voorschotfactuur",
    "aannemersattest",
    "foto",
    "aanslagbiljet",
    "betaalbewijs",
    "productinfo",
)
MAX_DOCUMENT_BYTES = 10 * 1024 * 1024
# the portal keeps an Idempotency-Key this long (sandbox clock); a retry after that must look up by reference
IDEMPOTENCY_KEEP_SECONDS = 24 * 3600
# the sandbox's limit is 120 requests a minute per client: a bucket of 100/min with a burst of 10 stays under
DEFAULT_BUDGET_PER_MINUTE = 100.0
DEFAULT_BUDGET_BURST = 10.0
TOKEN_REFRESH_MARGIN_SECONDS = 120.0

# the webhook event the portal sends on every status change
STATUS_CHANGED = "aanvraag.status_gewijzigd"
EVENTS = (STATUS_CHANGED,)
# the signing secrets of the portal's webhooks (one or more `whsec_…`, whitespace separated while rotating)
WEBHOOK_SECRETS = "webhook_secrets"
CLIENT_SECRET = "client_secret"

# --- names in the hub -------------------------------------------------------------------------------------------

# xref entities (system `fluvius`): the portal's aanvraag id → the canonical premium application of each
# category (`{id}/{categorie}`), and → the aanvraag's hub reference (`application`)
APPLICATION = "application"
APPLICATION_CATEGORY = "application-category"
# inbox source of the portal's webhooks; quarantine of an aanvraag that does not map
INBOX_SOURCE = "fluvius"
QUARANTINE_SOURCE = "fluvius:aanvraag"
PLAN_QUARANTINE = "fluvius:plan"
# cursors (system `fluvius`): the poll feed's
FEED_CURSOR = "feed"
# outbox operations: one per application (draft → documents → submit, resumable), an appeal, a withdrawal
APPLY = "premium-apply"
# the documents the portal asked for (aanvulling_gevraagd), once the resident supplied them
MORE_DOCUMENTS = "premium-documents"
APPEAL = "premium-appeal"
WITHDRAW = "premium-withdraw"
ERASE = "erase-request"
# follow-up kinds on the hub's list
FOLLOW_UP_DOCUMENTS = "premium-documents"
FOLLOW_UP_APPEAL = "premium-appeal-window"
FOLLOW_UP_INVOICE_WINDOW = "premium-invoice-window"
FOLLOW_UP_REFUSAL = "premium-foreseeable-refusal"
FOLLOW_UP_MANDATE = "premium-mandate"
PUSH_BATCH = 100


class FluviusSettings(PartnerSettings):
    """`partners.fluvius.settings` of a tenant. The client secret is a secret (`secrets.client_secret`, an
    environment-variable name), never a setting."""

    # the regeling the tenant applies under; default by the tenant's country (BE: MVP_VL, NL: ISDE_NL)
    regeling: Regeling | None = None
    client_id: StrictStr = Field(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9._:@-]+$")
    # default: {base_url}/oauth/v1/token
    token_url: StrictStr | None = None
    page_size: int = Field(default=FEED_PAGE_SIZE, ge=1, le=FEED_MAX_PAGE_SIZE)
    token_refresh_margin_seconds: float = Field(default=TOKEN_REFRESH_MARGIN_SECONDS, ge=0, le=1800)
    # the invoice-window watch: a dossier whose first invoice is this close to 24 months without a submitted
    # application goes on the follow-up list (once)
    invoice_window_warn_days: int = Field(default=60, ge=1, le=700)
    # an appeal window closing this soon after a (partly) refused decision goes on the follow-up list
    appeal_warn_days: int = Field(default=10, ge=1, le=60)
    # the webhook events the receiver accepts, and how far webhook-timestamp may be from now (≤ 5 minutes)
    events: tuple[StrictStr, ...] = EVENTS
    tolerance_seconds: int = Field(default=300, ge=5, le=300)

    @field_validator("token_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("https://", "http://")):
            raise ValueError("must be an http(s) URL")
        return value.rstrip("/") if value else value

    @field_validator("events")
    @classmethod
    def _known(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = sorted(set(value) - set(EVENTS))
        if unknown:
            raise ValueError(f"unknown event type(s) {unknown}; known: {list(EVENTS)}")
        return value


def regeling_of(settings: FluviusSettings, country: str) -> str:
    """The tenant's regeling: its settings', else its country's."""
    return settings.regeling or REGELING_BY_COUNTRY.get(country.upper(), ISDE)
