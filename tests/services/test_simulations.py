"""The simulations service: who sees and edits what, validation, slugs, paging in SQL, audit."""

import pytest
from sqlalchemy import select

from console.errors import NotFound, PermissionDenied, ValidationFailed
from console.services import simulations
from console.services.listing import ListQuery
from models import AuditLogEntry
from models.enums import SimulationStatus, UserRole
from tests.factories import actor_of, make_simulation, make_user

NEW = {"title": "Crisis at Dawn", "difficulty": "advanced", "format": "realtime_crisis"}


@pytest.fixture
def world(session):
    creator = make_user(session, role=UserRole.studio_creator)
    other_creator = make_user(session, role=UserRole.studio_creator)
    admin = make_user(session, role=UserRole.platform_admin)
    ent_admin = make_user(session, role=UserRole.enterprise_admin)
    participant = make_user(session, role=UserRole.enterprise_participant)
    mine = make_simulation(session, author=creator, title="Mine draft")
    theirs = make_simulation(session, author=other_creator, title="Their draft")
    published = make_simulation(
        session, author=other_creator, title="Their published", status=SimulationStatus.published
    )
    return dict(
        creator=creator,
        other_creator=other_creator,
        admin=admin,
        ent_admin=ent_admin,
        participant=participant,
        mine=mine,
        theirs=theirs,
        published=published,
    )


def titles(session, user, **query):
    page = simulations.list_(session=session, actor=actor_of(user), query=ListQuery(**query))
    return {s.title for s in page.rows}


def test_each_role_sees_its_own_catalogue(session, world):
    assert titles(session, world["creator"]) == {"Mine draft", "Their published"}
    assert titles(session, world["admin"]) == {"Mine draft", "Their draft", "Their published"}
    assert titles(session, world["ent_admin"]) == {"Their published"}
    assert titles(session, world["participant"]) == set()


def test_out_of_scope_simulation_is_not_found(session, world):
    with pytest.raises(NotFound):
        simulations.get(session=session, actor=actor_of(world["creator"]), simulation_id=world["theirs"].id)
    with pytest.raises(NotFound):
        simulations.get(session=session, actor=actor_of(world["ent_admin"]), simulation_id=world["mine"].id)


def test_creator_cannot_edit_another_creators_simulation(session, world):
    with pytest.raises(NotFound):
        simulations.update(
            session=session,
            actor=actor_of(world["creator"]),
            simulation_id=world["theirs"].id,
            version=world["theirs"].version,
            data={"title": "Hijacked"},
        )
    with pytest.raises(PermissionDenied):  # visible (published) but neither theirs nor editable
        simulations.update(
            session=session,
            actor=actor_of(world["creator"]),
            simulation_id=world["published"].id,
            version=world["published"].version,
            data={"title": "Hijacked"},
        )
    session.refresh(world["theirs"])
    assert world["theirs"].title == "Their draft"


def test_enterprise_admin_and_participant_cannot_create(session, world):
    for who in ("ent_admin", "participant"):
        with pytest.raises(PermissionDenied):
            simulations.create(session=session, actor=actor_of(world[who]), data=NEW)


def test_create_sets_author_draft_and_unique_slug_and_audits(session, world):
    actor = actor_of(world["creator"])
    first = simulations.create(session=session, actor=actor, data=NEW)
    second = simulations.create(session=session, actor=actor, data=NEW)
    assert first.slug == "crisis-at-dawn"
    assert second.slug == "crisis-at-dawn-2"
    assert first.author_id == world["creator"].id and first.status is SimulationStatus.draft
    entry = session.scalar(select(AuditLogEntry).where(AuditLogEntry.entity_id == str(first.id)))
    assert entry.action == "simulation.create" and entry.actor_id == world["creator"].id
    assert entry.after["title"] == "Crisis at Dawn"


def test_owner_fields_cannot_be_mass_assigned(session, world):
    actor = actor_of(world["creator"])
    for field, value in (("status", "published"), ("author_id", str(world["other_creator"].id)), ("slug", "x")):
        with pytest.raises(ValidationFailed) as err:
            simulations.create(session=session, actor=actor, data={**NEW, field: value})
        assert field in err.value.field_errors
        with pytest.raises(ValidationFailed):
            simulations.update(
                session=session,
                actor=actor,
                simulation_id=world["mine"].id,
                version=world["mine"].version,
                data={field: value},
            )
    session.refresh(world["mine"])
    assert world["mine"].status is SimulationStatus.draft and world["mine"].author_id == world["creator"].id


def test_validation_reports_every_field_at_once(session, world):
    with pytest.raises(ValidationFailed) as err:
        simulations.create(
            session=session,
            actor=actor_of(world["creator"]),
            data={
                "title": "   ",
                "difficulty": "impossible",
                "format": "unity_3d",
                "thumbnail_url": "javascript:alert(1)",
                "estimated_duration_min": 0,
                "scoring_config": None,
                "skill_tags": ["x" * 60],
            },
        )
    assert set(err.value.field_errors) >= {
        "title",
        "difficulty",
        "thumbnail_url",
        "estimated_duration_min",
        "skill_tags",
    }


def test_invalid_scoring_config_is_refused_with_reason(session, world):
    bad = {"dimensions": [{"key": "Total", "label": "x", "weight": 0}], "pass_mark": 120}
    with pytest.raises(ValidationFailed) as err:
        simulations.create(session=session, actor=actor_of(world["creator"]), data={**NEW, "scoring_config": bad})
    assert "scoring_config" in err.value.field_errors


def test_update_changes_only_given_fields_and_records_the_difference(session, world):
    actor = actor_of(world["creator"])
    sim = simulations.update(
        session=session,
        actor=actor,
        simulation_id=world["mine"].id,
        version=world["mine"].version,
        data={"category": "Ethics", "skill_tags": ["trust", "Trust", " candour "]},
    )
    assert sim.title == "Mine draft" and sim.category == "Ethics" and sim.skill_tags == ["trust", "candour"]
    entry = session.scalar(select(AuditLogEntry).where(AuditLogEntry.action == "simulation.update"))
    # The version it took is in the entry: that is how a later refused save names who made this one.
    assert entry.before == {"category": None, "skill_tags": [], "version": 1}
    assert entry.after == {"category": "Ethics", "skill_tags": ["trust", "candour"], "version": 2}


def test_search_filters_sort_and_paging_happen_in_sql(session, world):
    admin = world["admin"]
    for i in range(30):
        make_simulation(session, author=admin, title=f"Bulk {i:02d}", category="Bulk", skill_tags=["volume"])
    actor = actor_of(admin)
    page = simulations.list_(
        session=session,
        actor=actor,
        query=ListQuery(search="volume", sort="title", descending=False, offset=25, limit=10),
    )
    assert page.total == 30
    assert [s.title for s in page.rows] == [f"Bulk {i}" for i in range(25, 30)]
    only_published = simulations.list_(
        session=session, actor=actor, query=ListQuery(filters={"status": SimulationStatus.published.value})
    )
    assert [s.title for s in only_published.rows] == ["Their published"]
    # LIKE wildcards in the search are literal characters, not patterns.
    assert simulations.list_(session=session, actor=actor, query=ListQuery(search="%")).total == 0
