"""Documents the hub holds a reference to (canonical `document`), and their bytes: a partner's (its connector's
`document_content` reads them from the message that carried them) or the desk's own, stored here.

A desk's report (`store_document`) is kept like a received message — inbox source `hub:documents`, the bytes
base64 in the payload — so the retention purge and an erasure treat it as they treat a partner's PDF. Nothing here
names a partner."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection

from hub.canonical import Document
from hub.merge import Incoming, MergeStats, merge
from hub.store import InboxStatus, Store, utcnow

SOURCE = "hub:documents"


def store_document(
    store: Store,
    conn: Connection,
    tenant: str,
    dwelling_file_id: str,
    content: bytes,
    *,
    kind: str = "desk-report",
    media_type: str = "application/pdf",
    filename: str = "verslag.pdf",
) -> str:
    """Keep a document the desk produced (e.g. the coach's report) for a dwelling file; returns the canonical
    document id. The same bytes for the same file are one document."""
    digest = hashlib.sha256(content).hexdigest()
    payload = json.dumps(
        {"media_type": media_type, "filename": filename, "content": base64.b64encode(content).decode("ascii")}
    )
    item = store.inbox_put(conn, SOURCE, tenant, payload, {"kind": kind}, message_id=f"{dwelling_file_id}:{digest}")
    store.inbox_update(
        conn, tenant, item.id, status=InboxStatus.SKIPPED, processed_at=utcnow()
    )  # kept, never forwarded
    key = f"{dwelling_file_id}:{digest}"
    did = store.resolve_ids(conn, "hub", tenant, "document", [key])[key]
    doc = Document(
        id=did,
        tenant=tenant,
        dwelling_file_id=dwelling_file_id,
        kind=kind,
        sha256=digest,
        size_bytes=len(content),
        inbox_id=item.id,
        received_at=utcnow(),
    )
    merge(store, conn, [Incoming(doc, "hub", key, utcnow())], MergeStats())
    return did


def document_content(store: Store, tenant: str, document: Mapping[str, Any]) -> bytes | None:
    """The bytes of a canonical document (its data), checked against its sha256; None when nobody holds them any
    more (purged after the retention period, erased) or they do not match."""
    raw = _own(store, tenant, document)
    if raw is None:
        from hub.connector import REGISTRY

        for c in REGISTRY:
            if c.document_content is not None:
                raw = c.document_content(store, tenant, document)
                if raw is not None:
                    break
    if raw is None:
        return None
    expected = document.get("sha256")
    return raw if not expected or hashlib.sha256(raw).hexdigest() == expected else None


def _own(store: Store, tenant: str, document: Mapping[str, Any]) -> bytes | None:
    inbox_id = document.get("inbox_id")
    if not isinstance(inbox_id, int):
        return None
    with store.begin() as conn:
        row = store.inbox_get(conn, tenant, inbox_id)
    if row is None or row["source"] != SOURCE:
        return None
    try:
        return base64.b64decode(json.loads(row["payload"])["content"], validate=True)
    except (ValueError, KeyError, TypeError, binascii.Error):
        return None
