"""The list contract: typed filters that refuse nonsense, literal search, stable paging; the audit log's
filters (kind, action, who, record, dates) and sorting."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import update

from console.auth import Actor
from console.errors import ValidationFailed
from console.services import audit
from console.services.listing import LAST, ListQuery, contains, escape_like
from models import AuditAction, AuditEntity, AuditLogEntry
from models.base import utcnow
from models.enums import SimulationStatus, UserRole
from tests.factories import actor_of, make_user


def test_typed_filters_read_values_and_refuse_what_means_nothing():
    query = ListQuery(filters={"status": "draft", "from": "2026-11-30", "id": str(uuid.UUID(int=1)), "on": "0"})
    assert query.choice("status", SimulationStatus) is SimulationStatus.draft
    assert query.date("from").isoformat() == "2026-11-30"
    assert query.uuid("id") == uuid.UUID(int=1)
    assert query.flag("on", default=True) is False
    assert query.flag("missing", default=True) is True
    assert query.choice("missing", SimulationStatus) is None
    for name, bad, read in [
        ("status", "bogus", lambda q: q.choice("status", SimulationStatus)),
        ("from", "yesterday", lambda q: q.date("from")),
        ("id", "12", lambda q: q.uuid("id")),
        ("on", "maybe", lambda q: q.flag("on", default=True)),
    ]:
        with pytest.raises(ValidationFailed) as refused:
            read(ListQuery(filters={name: bad}))
        assert name in refused.value.details


def test_like_patterns_take_wildcards_literally():
    assert escape_like("50%_off\\") == "50\\%\\_off\\\\"
    assert contains("a_b") == "%a\\_b%"


@pytest.fixture
def entries(session):
    admin = make_user(session, role=UserRole.platform_admin, email="pat.admin@test.example")
    creator = make_user(session, role=UserRole.studio_creator, email="cleo.creator@test.example")
    made = {}
    for who, action, entity, days_ago in [
        (creator, AuditAction.media_upload, AuditEntity.media, 0),
        (creator, AuditAction.module_update, AuditEntity.module, 1),
        (admin, AuditAction.simulation_publish, AuditEntity.simulation, 3),
        (admin, AuditAction.api_key_revoke, AuditEntity.api_key, 10),
    ]:
        entry = audit.record(
            session=session, actor=actor_of(who), action=action, subject=(entity, uuid.uuid4()), comment=action.value
        )
        session.flush()
        session.execute(
            update(AuditLogEntry)
            .where(AuditLogEntry.id == entry.id)
            .values(created_at=utcnow() - timedelta(days=days_ago))
        )
        made[action] = entry
    session.expire_all()
    return {"admin": admin, "made": made}


def _actions(session, **query) -> list[str]:
    page = audit.list_(session=session, actor=Actor.system("test"), query=ListQuery(**query))
    return [e.action for e in page.rows]


def test_the_media_filter_finds_media(session, entries):
    # The old free-string types made this filter find nothing (media wrote "media_asset").
    assert _actions(session, filters={"entity_type": AuditEntity.media.value}) == ["media.upload"]


def test_audit_filters_by_action_who_record_and_dates(session, entries):
    made = entries["made"]
    assert _actions(session, filters={"action": "api_key.revoke"}) == ["api_key.revoke"]
    assert _actions(session, filters={"actor": "cleo"}) == ["media.upload", "module.update"]
    record = made[AuditAction.simulation_publish]
    assert _actions(session, filters={"entity_id": record.entity_id}) == ["simulation.publish"]
    today = utcnow().date()
    window = {"from": (today - timedelta(days=4)).isoformat(), "to": (today - timedelta(days=1)).isoformat()}
    assert _actions(session, filters=window) == ["module.update", "simulation.publish"]
    assert _actions(session, search="api_key") == ["api_key.revoke"]
    with pytest.raises(ValidationFailed):
        _actions(session, filters={"action": "api_key.burn"})


def test_audit_sorts_newest_first_by_default_and_by_any_sortable_column(session, entries):
    assert _actions(session) == ["media.upload", "module.update", "simulation.publish", "api_key.revoke"]
    assert _actions(session, sort="created_at", descending=False)[0] == "api_key.revoke"
    by_actor = audit.list_(session=session, actor=Actor.system("t"), query=ListQuery(sort="actor")).rows
    assert [e.actor_label for e in by_actor][:2] == ["cleo.creator@test.example"] * 2


def test_the_audit_log_pages_by_key_forwards_backwards_and_from_the_end(session, entries):
    def page(**query):
        return audit.list_(session=session, actor=Actor.system("t"), query=ListQuery(limit=2, **query))

    first = page()
    assert [e.action for e in first.rows] == ["media.upload", "module.update"] and first.total == 4
    assert first.previous_cursor is None and first.next_cursor
    second = page(cursor=first.next_cursor)
    assert [e.action for e in second.rows] == ["simulation.publish", "api_key.revoke"]
    assert second.next_cursor is None and second.previous_cursor
    assert [e.action for e in page(cursor=second.previous_cursor).rows] == ["media.upload", "module.update"]
    last = page(cursor=LAST)  # the oldest entries, in the list's own order, without walking the rest
    assert [e.action for e in last.rows] == ["simulation.publish", "api_key.revoke"]
    assert last.next_cursor is None and [e.action for e in page(cursor=last.previous_cursor).rows][0] == "media.upload"
    by_actor = page(sort="actor")
    assert [e.actor_label for e in page(sort="actor", cursor=by_actor.next_cursor).rows] == [
        "pat.admin@test.example"
    ] * 2
    # A cursor of another sort, or garbage, starts at the first page (a stale bookmark is not an error).
    assert [e.action for e in page(cursor=by_actor.next_cursor).rows] == ["media.upload", "module.update"]
    assert [e.action for e in page(cursor="not-a-cursor").rows] == ["media.upload", "module.update"]


@pytest.mark.parametrize("descending", [False, True])
def test_every_page_holds_the_rows_of_the_whole_sorted_list_also_read_from_the_end(session, descending):
    """Pages past the middle are read from the list's end (so the last page is as cheap as the
    first); whatever the sort, NULLs and ties, page after page must be the full list in order."""
    from sqlalchemy import select

    from console.services.listing import paged
    from models import User

    for n, last_sign_in in enumerate([None, 3, 1, None, 3, 2, 5, 1, None, 4, 2]):
        when = None if last_sign_in is None else utcnow() - timedelta(days=last_sign_in)
        user = make_user(session, email=f"pager{n:02}@test.example", name=f"Pager {n % 3}")
        user.deactivated_at = when
    session.flush()
    statement = select(User).where(User.email.like("pager%"))
    sortable = {"name": User.name, "deactivated": User.deactivated_at}
    for sort in sortable:
        whole = paged(session, statement, ListQuery(sort=sort, descending=descending, limit=100),
                      sortable=sortable, default_sort="name", tiebreak=User.id)  # fmt: skip
        assert whole.total == 11
        for limit in (1, 2, 3, 4):
            read = []
            for offset in range(0, 12, limit):
                asked = ListQuery(sort=sort, descending=descending, offset=offset, limit=limit)
                page = paged(session, statement, asked, sortable=sortable, default_sort="name", tiebreak=User.id)
                assert page.total == 11 and page.offset == offset
                read.extend(page.rows)
            assert [u.id for u in read] == [u.id for u in whole.rows], (sort, limit)
