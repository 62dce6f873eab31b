"""API keys: format and storage, authentication, revocation, rotation, throttled last_used_at."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from console.auth import Actor
from console.errors import PermissionDenied, Unauthenticated, ValidationFailed
from console.services import api_keys
from console.services.listing import ListQuery
from models import ApiKey, AuditLogEntry
from models.base import utcnow
from models.enums import UserRole
from tests.factories import actor_of, make_org, make_simulation, make_user

ADMIN = Actor.system("test")


def test_key_format_storage_and_checksum(session):
    created = api_keys.create(session=session, actor=ADMIN, data={"name": "Unreal CI"})
    key = created.key
    assert key.startswith("sk_sim_") and len(key) == api_keys.KEY_LENGTH
    assert api_keys.looks_valid(key)
    row = session.get(ApiKey, created.api_key.id)
    assert row.key_prefix == key[:15]
    assert row.key_hash == api_keys.hash_key(key) and key not in row.key_hash
    assert row.scopes == ["game:write"]
    # A single changed character breaks the checksum: refused without a lookup.
    flipped = key[:-1] + ("A" if key[-1] != "A" else "B")
    assert not api_keys.looks_valid(flipped)
    # Keys are distinct and random.
    assert len({api_keys.generate_key() for _ in range(200)}) == 200


def test_audit_entry_never_holds_the_secret(session):
    created = api_keys.create(session=session, actor=ADMIN, data={"name": "k"})
    session.flush()
    entry = session.scalar(select(AuditLogEntry).where(AuditLogEntry.entity_id == str(created.api_key.id)))
    assert entry.action == "api_key.create"
    text = str(entry.after)
    assert created.key not in text and created.api_key.key_hash not in text
    assert created.api_key.key_prefix in text


def test_authenticate_active_expired_revoked(session):
    created = api_keys.create(session=session, actor=ADMIN, data={"name": "k", "scopes": ["game:read"]})
    context = api_keys.authenticate(session=session, key=created.key)
    assert context.id == created.api_key.id and context.scopes == frozenset({"game:read"})
    assert context.prefix == created.key[:15]

    for bad in (None, "", "Bearer x", created.key + "x", "sk_sim_" + "0" * 38):
        with pytest.raises(Unauthenticated):
            api_keys.authenticate(session=session, key=bad)
    # Well-formed (right checksum) but unknown.
    with pytest.raises(Unauthenticated):
        api_keys.authenticate(session=session, key=api_keys.generate_key())

    expired = api_keys.create(session=session, actor=ADMIN, data={"name": "k-exp"})
    expired.api_key.expires_at = utcnow() - timedelta(seconds=1)
    session.flush()
    with pytest.raises(Unauthenticated):
        api_keys.authenticate(session=session, key=expired.key)

    other = api_keys.create(session=session, actor=ADMIN, data={"name": "k2"})
    api_keys.revoke(session=session, actor=ADMIN, key_id=other.api_key.id)
    with pytest.raises(Unauthenticated):
        api_keys.authenticate(session=session, key=other.key)


def test_a_revocation_holds_from_the_next_transaction(database_url):
    """A key is looked up once per transaction (the engine API's group commit runs many requests in
    one): a revocation committed meanwhile holds for every transaction that starts after it."""
    from console import unit_of_work

    with unit_of_work.transaction() as session:
        created = api_keys.create(session=session, actor=ADMIN, data={"name": "fleet"})
        # Used once already, so last_used_at is not due (its row lock would make the revoke wait).
        api_keys.authenticate(session=session, key=created.key)
    with unit_of_work.transaction() as session:
        first = api_keys.authenticate(session=session, key=created.key)
        with unit_of_work.transaction() as other:
            api_keys.revoke(session=other, actor=ADMIN, key_id=created.api_key.id)
        assert api_keys.authenticate(session=session, key=created.key) == first
    with unit_of_work.transaction() as session, pytest.raises(Unauthenticated):
        api_keys.authenticate(session=session, key=created.key)


class _Clock:
    """Stands in for the in-process clock of api_keys (time.monotonic), moved by the test."""

    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now


def _use(key: str) -> None:
    """One engine request's authentication, in a transaction of its own (PostgreSQL's now() moves on)."""
    from console import unit_of_work

    with unit_of_work.transaction() as session:
        api_keys.authenticate(session=session, key=key)


def _last_used(key_id):
    from console import unit_of_work

    with unit_of_work.read_only() as session:
        return session.get(ApiKey, key_id).last_used_at


def _set_last_used(key_id, ago: timedelta):
    """Another process's write of last_used_at, `ago` before now; returns the stored value."""
    from sqlalchemy import text

    from console import unit_of_work

    with unit_of_work.transaction() as session:
        session.execute(
            text("UPDATE api_keys SET last_used_at = now() - :ago WHERE id = :id"), {"ago": ago, "id": key_id}
        )
    return _last_used(key_id)


def test_last_used_is_written_at_most_once_a_minute_by_one_process(database_url, monkeypatch):
    """The in-process clock skips the write within a minute of this process's last one, even when the
    stored value is old enough for the UPDATE's own guard."""
    from console import unit_of_work

    clock = _Clock()
    monkeypatch.setattr(api_keys, "time", clock)
    with unit_of_work.transaction() as session:
        created = api_keys.create(session=session, actor=ADMIN, data={"name": "k"})
    key_id = created.api_key.id
    _use(created.key)
    assert _last_used(key_id) is not None
    stale = _set_last_used(key_id, timedelta(minutes=5))  # only the clock can hold the next write back
    clock.now += 59
    _use(created.key)
    assert _last_used(key_id) == stale, "last_used_at was written again 59 s after this process wrote it"
    clock.now += 2
    _use(created.key)
    written = _last_used(key_id)
    assert written > stale and abs(written - utcnow()) < timedelta(seconds=30)


def test_last_used_is_written_at_most_once_a_minute_across_processes(database_url, monkeypatch):
    """A process whose clock says "due" (it never wrote the key, or wrote it long ago) still leaves a value
    another process stored less than a minute ago: the UPDATE's own condition."""
    from console import unit_of_work

    with unit_of_work.transaction() as session:
        created = api_keys.create(session=session, actor=ADMIN, data={"name": "k"})
    key_id = created.api_key.id
    recent = _set_last_used(key_id, timedelta(seconds=50))  # another server, 50 s ago
    monkeypatch.setattr(api_keys, "_last_used_written", {})  # this process has not written it
    _use(created.key)
    assert _last_used(key_id) == recent, "last_used_at was written again 50 s after another process wrote it"
    old = _set_last_used(key_id, timedelta(seconds=70))
    monkeypatch.setattr(api_keys, "_last_used_written", {})
    _use(created.key)
    written = _last_used(key_id)
    assert written > old and abs(written - utcnow()) < timedelta(seconds=30)


def test_rotate_gives_a_new_key_and_the_old_keeps_working(session):
    sim = make_simulation(session)
    org = make_org(session)
    old = api_keys.create(
        session=session,
        actor=ADMIN,
        data={
            "name": "bound",
            "simulation_id": sim.id,
            "organization_id": org.id,
            "scopes": ["game:write", "game:read"],
            "expires_days": 30,
        },
    )
    new = api_keys.rotate(session=session, actor=ADMIN, key_id=old.api_key.id)
    assert new.key != old.key
    assert (new.api_key.simulation_id, new.api_key.organization_id) == (sim.id, org.id)
    assert new.api_key.scopes == ["game:write", "game:read"]
    assert new.api_key.expires_at == old.api_key.expires_at
    assert api_keys.authenticate(session=session, key=old.key).id == old.api_key.id
    assert api_keys.authenticate(session=session, key=new.key).id == new.api_key.id
    api_keys.revoke(session=session, actor=ADMIN, key_id=old.api_key.id)
    with pytest.raises(ValidationFailed):
        api_keys.rotate(session=session, actor=ADMIN, key_id=old.api_key.id)


def test_validation_and_permissions(session):
    with pytest.raises(ValidationFailed) as exc:
        api_keys.create(session=session, actor=ADMIN, data={"name": " ", "scopes": ["admin"]})
    assert set(exc.value.details) == {"name", "scopes"}
    with pytest.raises(ValidationFailed) as exc:
        api_keys.create(session=session, actor=ADMIN, data={"name": "x", "key_hash": "abc"})
    assert "key_hash" in exc.value.details
    import uuid

    with pytest.raises(ValidationFailed) as exc:
        api_keys.create(session=session, actor=ADMIN, data={"name": "x", "simulation_id": uuid.uuid4()})
    assert "simulation_id" in exc.value.details
    admin_of_org = actor_of(make_user(session, role=UserRole.enterprise_admin, password=None))
    with pytest.raises(PermissionDenied):
        api_keys.create(session=session, actor=admin_of_org, data={"name": "x"})
    with pytest.raises(PermissionDenied):
        api_keys.list_(session=session, actor=admin_of_org, query=ListQuery())


def test_list_pages_and_shows_status(session):
    sim = make_simulation(session, title="Crisis at Harbor")
    keys = [api_keys.create(session=session, actor=ADMIN, data={"name": f"key {i}"}) for i in range(5)]
    api_keys.create(session=session, actor=ADMIN, data={"name": "bound", "simulation_id": sim.id})
    api_keys.revoke(session=session, actor=ADMIN, key_id=keys[0].api_key.id)
    page = api_keys.list_(session=session, actor=ADMIN, query=ListQuery(limit=4, sort="name", descending=False))
    assert page.total == 6 and len(page.rows) == 4
    assert [r.name for r in page.rows] == ["bound", "key 0", "key 1", "key 2"]
    assert page.rows[0].simulation_title == "Crisis at Harbor"
    assert page.rows[1].status == "revoked" and page.rows[2].status == "active"
    assert not hasattr(page.rows[0], "key_hash")
    active = api_keys.list_(session=session, actor=ADMIN, query=ListQuery(filters={"revoked": "0"}))
    assert active.total == 5
    found = api_keys.list_(session=session, actor=ADMIN, query=ListQuery(search=keys[3].key[:15]))
    assert [r.id for r in found.rows] == [keys[3].api_key.id]


def test_last_used_never_waits_for_a_locked_key_row(database_url):
    """Writing last_used_at must not make a request wait (inside a group commit that wait could deadlock
    with another server): while another transaction holds the key's row, the touch is skipped."""
    from sqlalchemy import text

    from console import unit_of_work

    with unit_of_work.transaction() as session:
        created = api_keys.create(session=session, actor=ADMIN, data={"name": "busy"})
    with unit_of_work.transaction() as holder:
        holder.execute(text("SELECT 1 FROM api_keys WHERE id = :id FOR UPDATE"), {"id": created.api_key.id})
        with unit_of_work.transaction() as session:
            session.execute(text("SET LOCAL lock_timeout = '1s'"))  # a wait would fail the lookup
            assert api_keys.authenticate(session=session, key=created.key).id == created.api_key.id
    with unit_of_work.read_only() as session:
        assert session.get(ApiKey, created.api_key.id).last_used_at is None  # skipped, not waited for
