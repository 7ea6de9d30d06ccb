"""Web-form constants: the partner name, its inbox source, the events it posts, in one place."""

from __future__ import annotations

PARTNER = "webform"
# The inbox source (and the path segment: POST /webhooks/{tenant}/webform).
INBOX_SOURCE = "webform"
# The partner secret holding the tenant's active signing secrets (whsec_…, whitespace-separated).
SIGNING_SECRETS = "signing_secrets"
SIGNUP_CREATED = "signup.created"
# what the resident supplies for premium applications once the works are done (works.py)
WORKS_COMPLETED = "works.completed"
EVENTS = (SIGNUP_CREATED, WORKS_COMPLETED)
APPLY_QUARANTINE = f"inbox:{INBOX_SOURCE}:apply"
# A body larger than this is refused (413): a sign-up is a few hundred bytes.
DEFAULT_MAX_BYTES = 64 * 1024
# A works.completed event carries the resident's documents (each at most 2 MB, base64 in the body): a tenant whose
# form posts them raises `max_bytes` up to this.
MAX_BYTES_LIMIT = 32 * 1024 * 1024
MAX_DOCUMENT_BYTES = 2 * 1024 * 1024
# xref entities (system `webform`) of what a works.completed event writes
PREMIUM_FILE = "premium_file"
INVOICE = "invoice"
DOCUMENT = "document"
