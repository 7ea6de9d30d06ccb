"""Woningpas endpoints, scopes, limits and the tenant's settings model (contracts/woningpas_premiums.md §6.3).

Woningpas has no public API: the sandbox and this client model one in the ACM/IDM style (OAuth2 client
credentials with a `private_key_jwt` client assertion, §1.3), with data only under a holder's mandate."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, StrictStr, field_validator

from hub.connector import PartnerSettings

PARTNER = "woningpas"

SCOPE_READ = "woningpas.lezen"
SCOPE_WRITE_DOCUMENTS = "woningpas.documenten.schrijven"
SCOPES = (SCOPE_READ, SCOPE_WRITE_DOCUMENTS)

# the ACM/IDM token endpoint below the issuer (authenticatie.vlaanderen.be/op + /v1/token)
TOKEN_PATH = "/op/v1/token"
ISSUER_PATH = "/op"
CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
# ACM/IDM refuses assertions that live longer than 10 minutes; ours live 5 (clock skew to spare)
ASSERTION_LIFETIME_SECONDS = 300
# a cached access token is renewed this long before it expires (a run's calls never meet an expired one)
TOKEN_REFRESH_MARGIN_SECONDS = 120.0
# the optional secret holding the PEM private key, when it is not in a file (`settings.signing_key_file`)
PRIVATE_KEY_SECRET = "private_key"

API = "/woningpas/v1"
FEED_PAGE_SIZE = 100
FEED_MAX_PAGE_SIZE = 1000
DOCUMENT_TYPES = ("attest", "keuring", "vergunning", "verslag", "renovatiebewijs", "plan", "foto")
# the sandbox's throttle is 300 requests a minute per client: a bucket of 240/min with a burst of 10 stays under
DEFAULT_BUDGET_PER_MINUTE = 240.0
DEFAULT_BUDGET_BURST = 10.0

Scope = Literal["woningpas.lezen", "woningpas.documenten.schrijven"]


class WoningpasSettings(PartnerSettings):
    """`partners.woningpas.settings` of a tenant. The private key signing the client assertion comes from the
    file `signing_key_file` names, or else from the secret `private_key` (an environment variable holding the
    PEM) — never from the tenants file itself."""

    # the client id the organisation got in the Beheerportaal (iss = sub of the assertion)
    client_id: StrictStr = Field(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9._:@-]+$")
    # default: {base_url}/op/v1/token; ACM/IDM's own is https://authenticatie.vlaanderen.be/op/v1/token
    token_url: StrictStr | None = None
    # the assertion's `aud`: the issuer; default the token URL without /v1/token
    audience: StrictStr | None = None
    scopes: tuple[Scope, ...] = ("woningpas.lezen",)
    # a PEM file with the RSA private key (only the path is in the config)
    signing_key_file: StrictStr | None = None
    # the `kid` header of the assertion, when the client registered several keys
    key_id: StrictStr | None = Field(default=None, max_length=200)
    page_size: int = Field(default=FEED_PAGE_SIZE, ge=1, le=FEED_MAX_PAGE_SIZE)
    token_refresh_margin_seconds: float = Field(default=TOKEN_REFRESH_MARGIN_SECONDS, ge=0, le=1800)
    # the follow-up list gets a dossier whose renovation deadline is this near while it is still early
    obligation_warn_days: int = Field(default=365, ge=0, le=3650)
    # canonical document kinds uploaded to the resident's Woningpas as `verslag` (with their consent)
    report_kinds: tuple[StrictStr, ...] = ("hoomdossier-report", "desk-report")

    @field_validator("token_url", "audience")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("https://", "http://")):
            raise ValueError("must be an http(s) URL")
        return value.rstrip("/") if value else value

    @field_validator("signing_key_file")
    @classmethod
    def _a_path_not_a_key(cls, value: str | None) -> str | None:
        if value is not None and ("-----BEGIN" in value or "\n" in value):
            # the value is not echoed: it may be the key itself
            raise ValueError("must be the path of a PEM file, never the key itself (the value is not shown)")
        return value

    @field_validator("scopes")
    @classmethod
    def _some_scope(cls, value: tuple[Scope, ...]) -> tuple[Scope, ...]:
        if not value:
            raise ValueError("name at least one scope")
        return tuple(dict.fromkeys(value))


# --- the pull and the push -------------------------------------------------------------------------------------

# xref entities (system `woningpas`): the holder's INSZ → resident, a unit → its dwelling, its dwelling file, an
# EPC, a document the hub uploaded (`{gebouweenheidId}/{document_id}` → the canonical document)
HOLDER = "holder"
UNIT = "unit"
UNIT_FILE = "unit-file"
EPC = "epc"
UPLOADED = "uploaded"
# quarantine: a pass that does not map (`woningpas`, entity `unit`, external id `{gebouweenheidId}@{resident}`)
QUARANTINE_SOURCE = PARTNER
# cursors (system `woningpas`): the change feed's, the units and holders to read again, a holder read once
FEED_CURSOR = "feed"
PENDING_CURSOR = "pending"
HOLDER_CURSOR_PREFIX = "holder:"
# outbox operations
UPLOAD_REPORT = "upload-report"
ERASE = "erase-request"
REPORT_DOCUMENT_TYPE = "verslag"
# canonical document kinds that are a coach's report (Hoomdossier's PDF, a desk's own), uploaded as `verslag`
REPORT_KINDS = ("hoomdossier-report", "desk-report")
# a renovation deadline this near while the dossier is in one of these phases puts it on the follow-up list
OBLIGATION_WARN_DAYS = 365
EARLY_PHASES = ("interest", "contact", "advice")
OBLIGATION_FOLLOW_UP = "renovation-deadline"
MATCH_FOLLOW_UP = "address-match"
PUSH_BATCH = 200
