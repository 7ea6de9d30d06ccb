"""Structured logging: one JSON event per line with tenant, partner and run id; secrets always redacted.

Personal data never goes into INFO events: log ids and counts, not names, e-mails or addresses."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

from hub.redact import RedactingFilter

_CONTEXT_KEYS = ("tenant", "partner", "run_id")
_RESERVED = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        event: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key.startswith("hub_"):
                event[key[4:]] = value
        if record.exc_info:
            event["error"] = self.formatException(record.exc_info)
        return json.dumps(event, default=str, ensure_ascii=False)


def configure_logging(level: str = "INFO", stream: Any = None) -> None:
    """Install the JSON formatter and the redacting filter on the root handler (idempotent)."""
    root = logging.getLogger()
    for h in root.handlers:
        if getattr(h, "_hub_handler", False):
            return
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RedactingFilter())
    handler._hub_handler = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)


def log_event(logger: logging.Logger, event: str, level: int = logging.INFO, **fields: Any) -> None:
    """Log `event` with structured fields (tenant=…, partner=…, run_id=…, counts)."""
    logger.log(level, event, extra={f"hub_{k}": v for k, v in fields.items()})
