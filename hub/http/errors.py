"""Typed partner errors. Every message and endpoint in them is already redacted: safe to log or store."""

from __future__ import annotations


class PartnerError(Exception):
    """A call to a partner failed. Carries partner, tenant, method, redacted endpoint, status and message."""

    def __init__(
        self,
        *,
        partner: str,
        tenant: str,
        method: str,
        endpoint: str,
        status: int | None,
        message: str,
        body: str | None = None,
        attempts: int = 1,
    ) -> None:
        self.partner = partner
        self.tenant = tenant
        self.method = method
        self.endpoint = endpoint
        self.status = status
        self.message = message
        self.body = body
        self.attempts = attempts
        status_txt = f" {status}" if status is not None else ""
        super().__init__(
            f"{partner}[{tenant}] {method} {endpoint} ->{status_txt} {message} (after {attempts} attempt(s))"
        )


class PartnerHTTPError(PartnerError):
    """The partner answered with a status we do not accept."""


class PartnerClientError(PartnerHTTPError):
    """A 4xx: retrying the same request will not heal it (429 excepted, see PartnerRateLimited)."""


class PartnerAuthError(PartnerClientError):
    """401/403: credentials missing, wrong, expired or without the needed scope."""


class PartnerNotFound(PartnerClientError):
    """404."""


class PartnerRejected(PartnerClientError):
    """400/409/412/422 and other 4xx: the partner refused the content; goes to quarantine with its reason."""


class PartnerRateLimited(PartnerClientError):
    """429 that outlasted the retries, or a Retry-After too long to wait for inside one run."""

    def __init__(self, *, retry_after: float | None = None, **kwargs: object) -> None:
        self.retry_after = retry_after
        super().__init__(**kwargs)  # type: ignore[arg-type]


class PartnerServerError(PartnerHTTPError):
    """5xx that outlasted the retries (or a 500 on a call that is not safe to repeat)."""


class PartnerUnavailable(PartnerError):
    """Connection refused, reset or timed out on every attempt."""


class OutcomeUnknown(PartnerError):
    """A non-idempotent request was sent but no answer came back: it may have been applied.

    The caller must look up the result before sending it again (lookup-before-retry)."""
