"""The partner client: timeouts, retries with backoff and jitter, exact Retry-After, a shared request budget,
typed errors and redaction of secrets (URL-path API keys included)."""

from hub.http.client import (
    AuthProvider,
    CallStats,
    PartnerClient,
    RetryPolicy,
    StaticKeyAuth,
    StoreBudget,
    parse_retry_after,
)
from hub.http.errors import (
    OutcomeUnknown,
    PartnerAuthError,
    PartnerClientError,
    PartnerError,
    PartnerHTTPError,
    PartnerNotFound,
    PartnerRateLimited,
    PartnerRejected,
    PartnerServerError,
    PartnerUnavailable,
)
from hub.redact import Redactor, register_secret

__all__ = [
    "AuthProvider",
    "CallStats",
    "OutcomeUnknown",
    "PartnerAuthError",
    "PartnerClient",
    "PartnerClientError",
    "PartnerError",
    "PartnerHTTPError",
    "PartnerNotFound",
    "PartnerRateLimited",
    "PartnerRejected",
    "PartnerServerError",
    "PartnerUnavailable",
    "Redactor",
    "RetryPolicy",
    "StaticKeyAuth",
    "StoreBudget",
    "parse_retry_after",
    "register_secret",
]
