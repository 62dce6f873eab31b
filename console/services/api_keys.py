"""API keys for game engines: create (shown once), list, revoke, rotate, and authenticate.

Format (SECURITY.md 5): ``sk_sim_`` + 32 base62 characters from `secrets` (190 bits) + a 6-character
base62 CRC32 of the random part. The checksum lets a scanner recognise a leaked key offline, and lets
`authenticate` refuse a mistyped or made-up key without touching the database. Only the SHA-256 hex
of the whole key and its first 15 characters (`key_prefix`, for people to tell keys apart) are stored.

`last_used_at` ("last seen") moves on refused requests too (console/services/rejections.py, which also
keeps `last_error_at` / `last_error`). On accepted requests it is written at most once a minute per key:
an in-process clock skips the write
entirely, and the UPDATE itself only fires when the stored value is older than a minute, so several
processes sharing a database also stay near one write a minute.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import re
import secrets
import threading
import time
import uuid
import zlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import ColumnElement, false, func, select, true
from sqlmodel import Session

from console.auth import Actor, ActorKind, Permission
from console.errors import NotFound, Unauthenticated, ValidationFailed
from console.services import audit
from console.services.common import driver_connection, required_name, validate
from console.services.listing import MAX_PAGE_SIZE, ListQuery, Page, paged, search_clause
from models import ApiKey, AuditAction, Organization, Simulation
from models.base import utcnow

PREFIX = "sk_sim_"
TEST_PREFIX = "sk_sim_test_"  # test keys: recognisable at a glance, in logs and by scanners
SCOPE_WRITE = Permission.game_write
SCOPE_READ = Permission.game_read
SCOPES = (SCOPE_WRITE, SCOPE_READ)
_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_BASE62 = re.compile("[0-9A-Za-z]*", re.ASCII)
_SECRET_CHARS = 32  # 62**32 ≈ 2**190
_CHECKSUM_CHARS = 6  # 62**6 > 2**32
KEY_LENGTH = len(PREFIX) + _SECRET_CHARS + _CHECKSUM_CHARS
TEST_KEY_LENGTH = len(TEST_PREFIX) + _SECRET_CHARS + _CHECKSUM_CHARS
PREFIX_LENGTH = 15
LAST_USED_INTERVAL = timedelta(minutes=1)
INVALID_KEY = "Invalid or missing API key."


# An engine API key anywhere in a text (a live key or a test key, `sk_sim_test_…`): what a log line or a
# kept refusal holds of it is its prefix, as the database does (SECURITY.md 5, 7).
ENGINE_KEY = re.compile(r"(?i)(sk_sim_[a-z0-9_]{8})[a-z0-9_]*")


# A key's characters written as URL (%73) or JSON (\u0073) escapes: a key hidden that way is still a key.
_ESCAPED_KEY_CHAR = re.compile(r"%([0-9a-fA-F]{2})|\\u00([0-9a-fA-F]{2})")


def _unescape_key_char(match: re.Match) -> str:
    char = chr(int(match.group(1) or match.group(2), 16))
    return char if char.isascii() and (char.isalnum() or char == "_") else match.group(0)


def redact_keys(text: str) -> str:
    """`text` with every engine API key cut to its first 15 characters (its stored prefix), a key written
    partly in URL or JSON escapes included (the text is then kept with those characters unescaped)."""
    if "%" in text or "\\u00" in text:
        unescaped = _ESCAPED_KEY_CHAR.sub(_unescape_key_char, text)
        if ENGINE_KEY.search(unescaped):
            text = unescaped
    return ENGINE_KEY.sub(r"\1…", text) if "sk_sim_" in text.lower() else text


def _base62(number: int, width: int) -> str:
    chars = []
    while number:
        number, rest = divmod(number, 62)
        chars.append(_ALPHABET[rest])
    return "".join(reversed(chars)).rjust(width, "0")


def _checksum(body: str) -> str:
    return _base62(zlib.crc32(body.encode()), _CHECKSUM_CHARS)


def generate_key(*, test: bool = False) -> str:
    body = "".join(secrets.choice(_ALPHABET) for _ in range(_SECRET_CHARS))
    return (TEST_PREFIX if test else PREFIX) + body + _checksum(body)


def is_test_key(key: str) -> bool:
    return key.startswith(TEST_PREFIX)


@functools.lru_cache(maxsize=4096)  # a fleet shares few keys: every request asks, most ask again
def looks_valid(key: str) -> bool:
    """Format and checksum only: no database, so garbage is refused for free (and offline scanners agree)."""
    prefix, length = (TEST_PREFIX, TEST_KEY_LENGTH) if is_test_key(key) else (PREFIX, KEY_LENGTH)
    if len(key) != length or not key.startswith(prefix):
        return False
    rest = key[len(prefix) :]
    if _BASE62.fullmatch(rest) is None:  # a regex: every request runs this, a Python loop cost 2 µs
        return False
    body, check = rest[:_SECRET_CHARS], rest[_SECRET_CHARS:]
    return hmac.compare_digest(_checksum(body), check)


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def display_prefix(key: str) -> str:
    return key[:PREFIX_LENGTH]


class ApiKeyCreate(BaseModel):
    """What a platform admin chooses for a new key."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(max_length=255)
    simulation_id: uuid.UUID | None = None
    organization_id: uuid.UUID | None = None
    scopes: list[str] = Field(default_factory=lambda: [SCOPE_WRITE])
    expires_days: int | None = Field(default=None, ge=1, le=3650)
    test: bool = False  # a test key (`sk_sim_test_…`): its sessions are test sessions

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return required_name(value)

    @field_validator("scopes")
    @classmethod
    def _scopes(cls, value: list[str]) -> list[str]:
        unknown = [s for s in value if s not in SCOPES]
        if unknown:
            raise ValueError(f"unknown scope {unknown[0]!r}; use {' or '.join(SCOPES)}")
        chosen = [s for s in SCOPES if s in value]
        if not chosen:
            raise ValueError("choose at least one scope")
        return chosen


@dataclass(frozen=True)
class CreatedKey:
    """A new key: `key` is the full secret, shown to its creator once and never again."""

    api_key: ApiKey
    key: str


def status_of(key: ApiKey, now: datetime | None = None) -> str:
    if not key.is_active:
        return "revoked"
    if key.expires_at is not None and key.expires_at <= (now or utcnow()):
        return "expired"
    return "active"


def _authored(actor: Actor):  # noqa: ANN202 — a subquery
    return select(Simulation.id).where(Simulation.author_id == actor.user_id)


def _check_binding(session: Session, actor: Actor, data: ApiKeyCreate) -> None:
    if not actor.can(Permission.manage_api_keys):
        # A studio creator: test keys only, each bound to a simulation they author (no organization).
        errors = {}
        if not data.test:
            errors["test"] = "you may create test keys only"
        if (
            data.simulation_id is None
            or session.scalar(
                select(Simulation.id).where(Simulation.id == data.simulation_id, Simulation.author_id == actor.user_id)
            )
            is None
        ):
            errors["simulation_id"] = "choose one of your simulations"
        if data.organization_id is not None:
            errors["organization_id"] = "test keys of a studio are not bound to an organization"
        if errors:
            raise ValidationFailed("Check the highlighted fields.", details=errors)
    errors = {}
    if data.simulation_id is not None and session.get(Simulation, data.simulation_id) is None:
        errors["simulation_id"] = "no such simulation"
    if data.organization_id is not None and session.get(Organization, data.organization_id) is None:
        errors["organization_id"] = "no such organization"
    if errors:
        raise ValidationFailed("Check the highlighted fields.", details=errors)


# What the log keeps of a key (never its hash).
_AUDITED = {
    "name", "key_prefix", "simulation_id", "organization_id", "scopes", "is_active", "expires_at", "is_test",
}  # fmt: skip


def _require_keys(actor: Actor) -> None:
    """Platform admins manage every key; studio creators their own simulations' test keys (`readable`)."""
    if not actor.can(Permission.manage_test_keys):
        actor.require(Permission.manage_api_keys)


def create(*, session: Session, actor: Actor, data: dict | ApiKeyCreate) -> CreatedKey:
    """Create a key; the returned `key` is the only time the secret exists outside the caller's hands."""
    _require_keys(actor)
    new = validate(ApiKeyCreate, data)
    _check_binding(session, actor, new)
    key = generate_key(test=new.test)
    row = ApiKey(
        name=new.name,
        key_hash=hash_key(key),
        key_prefix=display_prefix(key),
        simulation_id=new.simulation_id,
        organization_id=new.organization_id,
        scopes=list(new.scopes),
        expires_at=utcnow() + timedelta(days=new.expires_days) if new.expires_days else None,
        is_test=new.test,
        created_by_id=actor.id if actor.kind is ActorKind.user else None,
    )
    session.add(row)
    audit.created(
        session=session,
        actor=actor,
        action=AuditAction.api_key_create,
        subject=row,
        fields=_AUDITED,
        organization_id=row.organization_id,
    )
    return CreatedKey(api_key=row, key=key)


@dataclass
class ApiKeyRow:
    """A key as the list shows it (never its hash)."""

    id: uuid.UUID
    name: str
    key_prefix: str
    simulation_id: uuid.UUID | None
    simulation_title: str | None
    organization_id: uuid.UUID | None
    organization_name: str | None
    scopes: list[str]
    status: str
    created_at: datetime
    last_used_at: datetime | None
    expires_at: datetime | None
    is_test: bool = False
    last_error_at: datetime | None = None  # the newest refused request (console/services/rejections.py)
    last_error: str | None = None


SORTABLE = {
    "name": ApiKey.name,
    "key_prefix": ApiKey.key_prefix,
    "created_at": ApiKey.created_at,
    "last_used_at": ApiKey.last_used_at,
    "last_error_at": ApiKey.last_error_at,
    "expires_at": ApiKey.expires_at,
}


FILTERS = ("revoked",)


def readable(actor: Actor) -> ColumnElement[bool]:
    """The rows of `api_keys` this actor may read (never their hashes: see ApiKeyRow): platform admins
    every key; studio creators the test keys bound to simulations they author."""
    if actor.can(Permission.manage_api_keys):
        return true()
    if actor.can(Permission.manage_test_keys) and actor.user_id is not None:
        return ApiKey.is_test.is_(True) & ApiKey.simulation_id.in_(_authored(actor))
    return false()


def list_(*, session: Session, actor: Actor, query: ListQuery) -> Page[ApiKeyRow]:
    """A page of keys, newest first unless sorted otherwise. Search: name, prefix. Filters: `revoked`
    (1, the default: include revoked keys; 0: active and expired keys only), `test` (1: test keys only,
    0: live keys only)."""
    _require_keys(actor)
    conditions = [readable(actor)]
    search = search_clause(query.search, ApiKey.name, ApiKey.key_prefix)
    if search is not None:
        conditions.append(search)
    if not query.flag("revoked", default=True):
        conditions.append(ApiKey.is_active.is_(True))
    if (test := query.flag("test", default=None)) is not None:
        conditions.append(ApiKey.is_test.is_(test))
    found = paged(
        session,
        select(ApiKey, Simulation.title, Organization.name)
        .outerjoin(Simulation, Simulation.id == ApiKey.simulation_id)
        .outerjoin(Organization, Organization.id == ApiKey.organization_id)
        .where(*conditions),
        query,
        sortable=SORTABLE,
        default_sort="created_at",
        default_descending=True,
        tiebreak=ApiKey.id,
        count=select(func.count()).select_from(ApiKey).where(*conditions),
        scalars=False,
    )
    rows, total, offset, limit = found.rows, found.total, found.offset, found.limit
    now = utcnow()
    return Page(
        rows=[
            ApiKeyRow(
                id=k.id,
                name=k.name,
                key_prefix=k.key_prefix,
                simulation_id=k.simulation_id,
                simulation_title=sim_title,
                organization_id=k.organization_id,
                organization_name=org_name,
                scopes=list(k.scopes),
                status=status_of(k, now),
                created_at=k.created_at,
                last_used_at=k.last_used_at,
                expires_at=k.expires_at,
                is_test=k.is_test,
                last_error_at=k.last_error_at,
                last_error=k.last_error,
            )
            for k, sim_title, org_name in rows
        ],
        total=total,
        offset=offset,
        limit=limit,
    )


def get(*, session: Session, actor: Actor, key_id: uuid.UUID) -> ApiKey:
    _require_keys(actor)
    row = session.scalar(select(ApiKey).where(ApiKey.id == key_id, readable(actor)))
    if row is None:
        raise NotFound("API key not found.")
    return row


def label(*, session: Session, actor: Actor, key_id: uuid.UUID) -> tuple[str, str, bool]:
    """(name, prefix, is_test) of a key the actor may read: what a page about the key is titled with."""
    row = get(session=session, actor=actor, key_id=key_id)
    return row.name, row.key_prefix, row.is_test


def revoke(*, session: Session, actor: Actor, key_id: uuid.UUID) -> ApiKey:
    """Revoke a key; the next request carrying it is refused (no cache stands in the way)."""
    row = get(session=session, actor=actor, key_id=key_id)
    if not row.is_active:
        return row
    with audit.changing(
        session=session,
        actor=actor,
        action=AuditAction.api_key_revoke,
        subject=row,
        fields=_AUDITED,
        organization_id=row.organization_id,
    ):
        row.is_active = False
    return row


def revoke_many(*, session: Session, actor: Actor, key_ids: list[uuid.UUID]) -> list[ApiKey]:
    """Revoke several keys in one unit of work: all of them, or (one not found) none."""
    if len(key_ids) > MAX_PAGE_SIZE:
        raise ValidationFailed("Too many keys at once.", details={"key_ids": f"at most {MAX_PAGE_SIZE}"})
    return [revoke(session=session, actor=actor, key_id=key_id) for key_id in dict.fromkeys(key_ids)]


def rotate(*, session: Session, actor: Actor, key_id: uuid.UUID) -> CreatedKey:
    """A new key with the old one's name, binding, scopes and expiry; the old keeps working until revoked."""
    old = get(session=session, actor=actor, key_id=key_id)
    if not old.is_active:
        raise ValidationFailed("A revoked key cannot be rotated: create a new key instead.")
    key = generate_key(test=old.is_test)
    now = utcnow()
    row = ApiKey(
        name=old.name,
        key_hash=hash_key(key),
        key_prefix=display_prefix(key),
        simulation_id=old.simulation_id,
        organization_id=old.organization_id,
        scopes=list(old.scopes),
        # An expired key's replacement gets a fresh lifetime as long as the old one had.
        expires_at=(
            old.expires_at
            if old.expires_at is None or old.expires_at > now
            else now + (old.expires_at - old.created_at)
        ),
        is_test=old.is_test,
    )
    session.add(row)
    audit.created(
        session=session,
        actor=actor,
        action=AuditAction.api_key_rotate,
        subject=row,
        fields=_AUDITED,
        organization_id=row.organization_id,
        comment=f"replaces {old.key_prefix}… ({old.id}); revoke the old key once engines use the new one",
    )
    return CreatedKey(api_key=row, key=key)


_last_used_written: dict[uuid.UUID, float] = {}
_last_used_lock = threading.Lock()


def _due_for_last_used(key_id: uuid.UUID) -> bool:
    now = time.monotonic()
    with _last_used_lock:
        if now - _last_used_written.get(key_id, -1e9) < LAST_USED_INTERVAL.total_seconds():
            return False
        _last_used_written[key_id] = now
        return True


# Every engine request runs this, so it goes straight to the driver (prepared after a few uses by
# psycopg), not through the ORM: about a quarter of the cost.
_AUTHENTICATE = (
    "SELECT id, name, key_prefix, scopes, simulation_id, organization_id, is_test FROM api_keys "
    "WHERE key_hash = %(hash)s AND is_active AND (expires_at IS NULL OR expires_at > now())"
)
# SKIP LOCKED: a request never waits for last_used_at. If another transaction holds the key's row (a
# revoke, or another server touching it), this touch is skipped; waiting there, inside a group of
# requests holding session locks, could deadlock with that other server's group.
_TOUCH = (
    "UPDATE api_keys SET last_used_at = now() WHERE id = ("
    "SELECT id FROM api_keys WHERE id = %(id)s AND (last_used_at IS NULL OR last_used_at < now() - %(interval)s) "
    "FOR UPDATE SKIP LOCKED)"
)


def _known_in_transaction(session: Session) -> dict[str, Actor]:
    """Keys already authenticated in the session's current transaction (a new one starts empty)."""
    transaction = session.get_transaction()
    memo = session.info.get("api_keys.authenticated")
    if memo is None or memo[0] is not transaction:
        memo = (transaction, {})
        session.info["api_keys.authenticated"] = memo
    return memo[1]


def authenticate(*, session: Session, key: str | None) -> Actor:
    """The context of a presented key, or Unauthenticated (one message for every failure).

    Refuses malformed keys before touching the database; looks the key up by its SHA-256 in every
    transaction (no cache across transactions, so a revocation holds from the next request on);
    writes `last_used_at` at most once a minute.

    Within one transaction a key is looked up once: the engine API's group commit runs many requests
    in one transaction, and a fleet of engines usually shares its studio's key.
    """
    if not key:
        raise Unauthenticated(INVALID_KEY)
    driver = driver_connection(session)  # begins the transaction if none has begun
    known = _known_in_transaction(session)
    if key in known:
        return known[key]
    if not looks_valid(key):
        raise Unauthenticated(INVALID_KEY)
    row = driver.execute(_AUTHENTICATE, {"hash": hash_key(key)}).fetchone()
    if row is None:
        raise Unauthenticated(INVALID_KEY)
    key_id, name, prefix, scopes, simulation_id, organization_id, is_test = row
    if _due_for_last_used(key_id):
        driver.execute(_TOUCH, {"id": key_id, "interval": LAST_USED_INTERVAL})
    known[key] = Actor.for_api_key(
        key_id=key_id,
        name=name,
        prefix=prefix,
        scopes=scopes or (),
        simulation_id=simulation_id,
        organization_id=organization_id,
        test=is_test,
    )
    return known[key]


PICKED = 20  # choices a picker shows at a time: type to find any other


def binding_options(*, session: Session, actor: Actor, search: str = "") -> dict[str, dict[str, str]]:
    """Simulations and organizations a key can be bound to, as {id: label}, for the create form: the
    first PICKED of each whose name contains `search` (the form asks again as the user types). A studio
    creator is offered the simulations they author, and no organization."""
    _require_keys(actor)
    own = actor.can(Permission.manage_api_keys)
    by_title = search_clause(search, Simulation.title)
    by_name = search_clause(search, Organization.name)
    sims = session.execute(
        select(Simulation.id, Simulation.title, Simulation.status)
        .where(*([by_title] if by_title is not None else []), *([] if own else [Simulation.author_id == actor.user_id]))
        .order_by(Simulation.title, Simulation.id)
        .limit(PICKED)
    ).all()
    orgs = session.execute(
        select(Organization.id, Organization.name)
        .where(*([by_name] if by_name is not None else []), true() if own else false())
        .order_by(Organization.name, Organization.id)
        .limit(PICKED)
    ).all()
    return {
        "simulations": {str(i): f"{title} ({status.value})" for i, title, status in sims},
        "organizations": {str(i): name for i, name in orgs},
    }
