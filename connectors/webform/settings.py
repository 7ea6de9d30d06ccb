"""Web-form constants: the partner name, its inbox source, the events it posts, in one place."""

from __future__ import annotations

PARTNER = "webform"
# The inbox source (and the path segment: POST /webhooks/{tenant}/webform).
INBOX_SOURCE = "webform"
# The partner secret holding the tenant's active signing secrets (whsec_…, whitespace-separated).
SIGNING_SECRETS = "signing_secrets"
SIGNUP_CREATED = "signup.created"
EVENTS = (SIGNUP_CREATED,)
APPLY_QUARANTINE = f"inbox:{INBOX_SOURCE}:apply"
# A body larger than this is refused (413): a sign-up is a few hundred bytes.
DEFAULT_MAX_BYTES = 64 * 1024
