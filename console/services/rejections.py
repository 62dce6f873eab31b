"""Each API key's inbox of refused requests: what the engine API said no to, kept to be searched.

Every answer of 400 and above to a request carrying a stored key (well-formed, known) is kept: status,
error code and message, its details, the offending part of the body (the first detail's path, else the
body's start) cut to `api_rejection_excerpt_bytes`, the session it named, the client's address, when.

Bounded twice, so refusals cannot flood the database: per key the newest `api_rejections_per_key` rows
(500) and none older than `api_rejections_days` (7), pruned as each is written; and each process
stores at most `api_rejections_per_key_second` (10) per key per second (console/api/rejections.py
counts the rest in the log). Written after the answer, in a transaction of its own (never the accepted
path's, never rolled back with the request's), by one writer thread per process.

A refused request also moves the key's `last_used_at` (a key that only fails is still in use) and sets
its `last_error_at` / `last_error`; the key's inbox page hears of it live (ChangeKind.rejected).
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from console.auth import Actor
from console.errors import ValidationFailed
from console.live import CHANNEL
from console.services import api_keys
from console.services.common import driver_connection
from console.services.listing import ListQuery, Page, paged, search_clause
from models import ApiKeyRejection


@dataclass(frozen=True)
class Refusal:
    """One refused request, as the recorder saw it (the key by its hash only)."""

    key_hash: str
    method: str
    path: str
    status: int
    code: str
    message: str
    details: dict | None
    excerpt: str
    session_ref: str | None
    client_address: str | None


# One round trip: the key by its hash (an unknown key stores nothing), the row, the key's last use and
# last error, the pruning of what passed the bounds, and the notification.
_RECORD = """
    WITH k AS (
        SELECT id FROM api_keys WHERE key_hash = %(hash)s
    ), ins AS (
        INSERT INTO api_key_rejections (api_key_id, received_at, method, path, status, code, message, excerpt,
                                        details, session_ref, client_address)
        SELECT k.id, now(), %(method)s, %(path)s, %(status)s, %(code)s, %(message)s, %(excerpt)s,
               %(details)s::jsonb, %(session_ref)s, %(client)s
        FROM k
        RETURNING api_key_id, id
    ), touched AS (
        UPDATE api_keys SET last_used_at = now(), last_error_at = now(), last_error = %(summary)s
        WHERE id = (SELECT api_key_id FROM ins)
    ), pruned AS (
        DELETE FROM api_key_rejections r
        WHERE r.api_key_id = (SELECT api_key_id FROM ins)
          AND (r.received_at < now() - %(age)s
               OR r.id <= (SELECT o.id FROM api_key_rejections o WHERE o.api_key_id = (SELECT api_key_id FROM ins)
                           ORDER BY o.id DESC OFFSET %(keep)s LIMIT 1))
    )
    SELECT api_key_id, pg_notify(%(channel)s, '{"session_id":null,"kind":"rejected","api_key_id":"' || api_key_id
                                 || '"}') FROM ins
"""


def record(*, session: Session, refusal: Refusal, keep: int, days: int) -> uuid.UUID | None:
    """Store a refusal for its key; the key's id, or None when no stored key has that hash. Pruning keeps
    at most `keep` rows of the key (the one kept before the insert is seen: one over at most)."""
    row = (
        driver_connection(session)
        .execute(
            _RECORD,
            {
                "hash": refusal.key_hash,
                "method": refusal.method[:10],
                "path": refusal.path[:200],
                "status": refusal.status,
                "code": refusal.code[:64],
                "message": refusal.message[:500],
                "excerpt": refusal.excerpt,
                "details": json.dumps(refusal.details) if refusal.details else None,
                "session_ref": (refusal.session_ref or None) and refusal.session_ref[:255],
                "client": (refusal.client_address or None) and refusal.client_address[:64],
                "summary": f"{refusal.status} {refusal.code}: {refusal.message}"[:300],
                "age": timedelta(days=days),
                "keep": keep - 1,
                "channel": CHANNEL,
            },
        )
        .fetchone()
    )
    return row[0] if row else None


# ------------------------------------------------------------------------------- what to keep of a body

_PATH_PARTS = re.compile(r"[^.\[\]/$]+")


def _walk(document: Any, path: str) -> Any:
    """The part of `document` at an error's path ("events.3.data", "/events/3/data", "$.events[3].data").

    A field's value comes with its name ({"Financial": 3} rather than 3): the name is often what is
    wrong (an unknown dimension key), and a bare value says little on its own."""
    found, named = document, None
    for part in _PATH_PARTS.findall(path):
        if part == "body" and found is document:
            continue
        if isinstance(found, list) and part.isdigit() and int(part) < len(found):
            found, named = found[int(part)], None
        elif isinstance(found, dict) and part in found:
            found, named = found[part], part
        else:
            break  # the deepest part that exists
    return {named: found} if named is not None and not isinstance(found, dict | list) else found


_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def storable(value: Any) -> Any:
    """`value` (text, or JSON data) with what PostgreSQL cannot store in text or jsonb — NUL, and lone
    surrogates (a body may send "\\ud800"; UTF-8 cannot hold it) — replaced with U+FFFD."""
    if isinstance(value, str):
        return _UNSTORABLE.sub("\ufffd", value)
    if isinstance(value, dict):
        return {storable(k): storable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [storable(v) for v in value]
    return value


def excerpt_of(body: bytes, details: dict | None, limit: int) -> tuple[str, str | None]:
    """(The offending part of the body, cut to `limit` bytes of UTF-8; the session the body named)."""
    try:
        document = json.loads(body) if body else None
    except (ValueError, RecursionError):
        document = None
    session_ref = None
    if isinstance(document, dict):
        for name in ("session_id", "external_session_id"):
            if isinstance(document.get(name), str):
                session_ref = document[name]
                break
    if document is not None and details:
        part = _walk(document, str(next(iter(details))))
        text = json.dumps(part, ensure_ascii=False, separators=(",", ":"))
    else:
        text = body.decode("utf-8", "replace")
    text = storable(text)
    cut = text.encode()[:limit].decode("utf-8", "ignore")
    return (cut + "…" if len(cut) < len(text) else cut), session_ref


# ------------------------------------------------------------------------------------------- reading


@dataclass
class RejectionRow:
    id: int
    received_at: datetime
    method: str
    path: str
    status: int
    code: str
    message: str
    excerpt: str
    details: dict | None
    session_ref: str | None
    client_address: str | None


def list_(*, session: Session, actor: Actor, key_id: uuid.UUID, query: ListQuery) -> Page[RejectionRow]:
    """A page of the key's refused requests, newest first. Search: code, message, excerpt, session, path.
    Filter: `status` (a status code). Who may read them: who may read the key (api_keys.readable)."""
    key = api_keys.get(session=session, actor=actor, key_id=key_id)
    conditions = [ApiKeyRejection.api_key_id == key.id]
    search = search_clause(
        query.search,
        ApiKeyRejection.code,
        ApiKeyRejection.message,
        ApiKeyRejection.excerpt,
        ApiKeyRejection.session_ref,
        ApiKeyRejection.path,
    )
    if search is not None:
        conditions.append(search)
    if (status := query.text("status")) is not None:
        if not status.isdigit():
            raise ValidationFailed(f"Unknown status “{status[:10]}”.", details={"status": "a status code"})
        conditions.append(ApiKeyRejection.status == int(status))
    found = paged(
        session,
        select(ApiKeyRejection).where(*conditions),
        query,
        sortable={"received_at": ApiKeyRejection.id, "status": ApiKeyRejection.status},
        default_sort="received_at",
        default_descending=True,
        tiebreak=ApiKeyRejection.id,
    )
    return Page(
        rows=[
            RejectionRow(
                id=r.id,
                received_at=r.received_at,
                method=r.method,
                path=r.path,
                status=r.status,
                code=r.code,
                message=r.message,
                excerpt=r.excerpt,
                details=r.details,
                session_ref=r.session_ref,
                client_address=r.client_address,
            )
            for r in found.rows
        ],
        total=found.total,
        offset=found.offset,
        limit=found.limit,
    )
