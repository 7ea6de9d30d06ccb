"""Econobis endpoints, limits and sentinels: the names and numbers the connector's calls depend on (grid names,
page sizes, retry waits, cursor keys), in one place. Econobis' error dialect is in errors.py."""

from __future__ import annotations

PARTNER = "econobis"
# The sandbox tenants its sandbox serves (hub/config.py: SANDBOX_REGIONS): the Dutch cooperations.
SANDBOX_REGIONS = frozenset({"nl"})
# The inbox source of the messages Hoomdossier posts to the hub in Econobis' own contract (routes.py): the
# Econobis-shaped endpoints a Hoomdossier cooperation points its Econobis link at. It is also the partner
# name whose tenants' `inbound_key` those endpoints accept, the partner a registration (make-hoomdossier)
# shares the resident's data with, and the one Econobis' privacy agreement covers. The one place this
# connector names another.
HOOMDOSSIER_INBOX = "hoomdossier"
# The partners whose sharing the resident's privacy agreement in Econobis (`didAgreeAvg`, akkoord
# privacybeleid) consents to (docs/consent.md): the cooperation's own Hoomdossier.
PRIVACY_AGREEMENT_COVERS: tuple[str, ...] = (HOOMDOSSIER_INBOX,)
# Where a lost webform sign-up is looked for: the newest intakes of the campaign (a lost call is recent).
LOOKUP_PAGE = 50
# Pushes claimed per run.
PUSH_BATCH = 1000
# A registration withheld for want of the resident's consent looks at the contact again after this (not an
# attempt): a change Econobis records no revision for is seen at the latest then.
CONSENT_WAIT_SECONDS = 86400.0

# --- the pull (connectors.econobis.sync) ------------------------------------------------------------------

# Every grid the pull reads, in the order a run reads them: contacts first, since the others link to them.
STREAMS = ("contact", "intake", "opportunity", "quotation-request", "housing-file")
# The grids with a createdAt filter: what a date-range backfill re-reads.
WINDOW_STREAMS = ("intake", "opportunity", "quotation-request")
# The `meta` key under which a grid lists every id matching the filters (the housing-file grid has none).
IDS_TOTAL = {
    "intake": "intakeIdsTotal",
    "opportunity": "opportunityIdsTotal",
    "quotation-request": "quotationRequestIdsTotal",
}
# Rows per grid call unless the caller asks for fewer.
PAGE_SIZE = 500
# Reads of one window (or of the audit trail) while rows still slip past page boundaries; a window's rows
# still missing after that are fetched by their detail endpoint.
MAX_PASSES = 2

# Cursor keys next to the per-stream ones: the learned status name → code_ref pairs, and the audit-trail position.
NAMES_CURSOR = "status-names"
AUDIT_CURSOR = "audit-trail"
# The audit cursor's second before anything was read (Econobis' wall-clock format).
AUDIT_EPOCH = "1970-01-01 00:00:00"
# audit-trail `model` → the stream whose detail endpoint re-reads it
AUDIT_MODELS = {
    "Contact": "contact",
    "Intake": "intake",
    "Opportunity": "opportunity",
    "QuotationRequest": "quotation-request",
    "HousingFile": "housing-file",
}
# child models whose changes belong to a contact (found through xrefs learned from contact details)
CHILD_MODELS = {
    "Address": "contact-address",
    "EmailAddress": "contact-email",
    "PhoneNumber": "contact-phone",
    "Person": "contact-person",
}
