"""Modules: ordering, editing with validated stakeholders and links, scoping, the engine's view."""

from __future__ import annotations

import pytest

from console.errors import NotFound, PermissionDenied, ValidationFailed
from console.services import modules, workflow
from console.services.listing import ListQuery
from models.enums import ModuleStatus, Platform, SimulationStatus, UserRole
from tests.factories import actor_of, make_module, make_simulation, make_user


@pytest.fixture
def world(session):
    author = make_user(session, role=UserRole.studio_creator, password=None)
    other = make_user(session, role=UserRole.studio_creator, password=None)
    sim = make_simulation(session, author=author)
    return {"author": actor_of(author), "other": actor_of(other), "sim": sim}


def _titles(session, world):
    page = modules.list_(session=session, actor=world["author"], simulation_id=world["sim"].id, query=ListQuery())
    return [m.title for m in page.rows]


def test_add_move_duplicate_archive(session, world):
    p, sim = world["author"], world["sim"]
    a = modules.create(session=session, actor=p, simulation_id=sim.id, data={"title": "Opening"})
    b = modules.create(session=session, actor=p, simulation_id=sim.id, data={"title": "Crisis"})
    c = modules.create(session=session, actor=p, simulation_id=sim.id, data={"title": "Debrief"})
    assert _titles(session, world) == ["Opening", "Crisis", "Debrief"]
    modules.move(session=session, actor=p, module_id=c.id, direction=-1)
    assert _titles(session, world) == ["Opening", "Debrief", "Crisis"]
    modules.move(session=session, actor=p, module_id=a.id, direction=-1)  # already first: stays
    assert _titles(session, world) == ["Opening", "Debrief", "Crisis"]
    modules.move(session=session, actor=p, module_id=a.id, direction=1)
    assert _titles(session, world) == ["Debrief", "Opening", "Crisis"]
    copy = modules.duplicate(session=session, actor=p, module_id=b.id)
    assert copy.title == "Crisis (copy)" and copy.slug != b.slug and copy.status == ModuleStatus.draft
    assert _titles(session, world)[-1] == "Crisis (copy)"
    modules.archive(session=session, actor=p, module_id=copy.id)
    assert copy.status == ModuleStatus.archived
    visible = modules.list_(session=session, actor=p, simulation_id=sim.id, query=ListQuery(filters={"archived": "0"}))
    assert [m.title for m in visible.rows] == ["Debrief", "Opening", "Crisis"]


def test_every_seed_field_is_saved(session, world):
    p, sim = world["author"], world["sim"]
    m = modules.create(session=session, actor=p, simulation_id=sim.id, data={"title": "Opening"})
    modules.update(
        session=session,
        actor=p,
        module_id=m.id,
        version=m.version,
        data={
            "title": "Opening scene",
            "narrative_context": "**Brief**",
            "stakeholders": [
                {"name": " Ana ", "role": "CEO", "motivation": "growth", "personality_traits": ["blunt", "Blunt", ""]}
            ],
            "is_free_demo": True,
            "estimated_duration_min": 20,
            "launch_url": "https://play.example/opening",
            "platform": "unity",
            "build_version": "2.1.0",
            "status": "published",
        },
    )
    assert m.slug == "opening-scene" and m.is_free_demo and m.estimated_duration_min == 20
    assert m.platform == Platform.unity and m.build_version == "2.1.0" and m.status == ModuleStatus.published
    assert m.stakeholders == [
        {"name": "Ana", "role": "CEO", "motivation": "growth", "portrait_url": None, "personality_traits": ["blunt"]}
    ]


@pytest.mark.parametrize(
    "url", ["javascript:alert(1)", "data:text/html,<script>", "//evil.example/x", "ftp://x.example", "/local/path"]
)
def test_launch_url_must_be_http(session, world, url):
    with pytest.raises(ValidationFailed) as refused:
        modules.create(
            session=session,
            actor=world["author"],
            simulation_id=world["sim"].id,
            data={"title": "M", "launch_url": url},
        )
    assert "launch_url" in refused.value.details


def test_stakeholders_are_checked_against_the_schema(session, world):
    m = modules.create(session=session, actor=world["author"], simulation_id=world["sim"].id, data={"title": "M"})
    with pytest.raises(ValidationFailed) as refused:
        modules.update(
            session=session,
            actor=world["author"],
            module_id=m.id,
            version=m.version,
            data={
                "stakeholders": [
                    {"name": "Ok"},
                    {"name": "", "portrait_url": "javascript:alert(1)", "is_admin": True},
                ]
            },
        )
    problems = refused.value.details
    assert "stakeholders.1.name" in problems
    assert "stakeholders.1.portrait_url" in problems
    assert "stakeholders.1.is_admin" in problems
    assert m.stakeholders == []


def test_mass_assignment_is_refused(session, world):
    other_sim = make_simulation(session)
    with pytest.raises(ValidationFailed) as refused:
        modules.create(
            session=session,
            actor=world["author"],
            simulation_id=world["sim"].id,
            data={"title": "M", "simulation_id": str(other_sim.id)},
        )
    assert "simulation_id" in refused.value.details


def test_scoping(session, world):
    m = make_module(session, world["sim"])
    with pytest.raises(NotFound):
        modules.get(session=session, actor=world["other"], module_id=m.id)
    with pytest.raises(NotFound):
        modules.update(session=session, actor=world["other"], module_id=m.id, version=m.version, data={"title": "x"})
    with pytest.raises(NotFound):
        modules.list_(session=session, actor=world["other"], simulation_id=world["sim"].id, query=ListQuery())


def test_published_simulation_modules_are_read_only(session, world):
    owner = make_user(session, password=None)
    sim = make_simulation(session, author=owner, status=SimulationStatus.published)
    author = actor_of(owner)
    m = make_module(session, sim)
    for op in (
        lambda: modules.update(session=session, actor=author, module_id=m.id, version=m.version, data={"title": "x"}),
        lambda: modules.move(session=session, actor=author, module_id=m.id, direction=1),
        lambda: modules.archive(session=session, actor=author, module_id=m.id),
        lambda: modules.duplicate(session=session, actor=author, module_id=m.id),
        lambda: modules.create(session=session, actor=author, simulation_id=sim.id, data={"title": "y"}),
    ):
        with pytest.raises(PermissionDenied):
            op()


def test_engine_view(session, world):
    sim = world["sim"]
    m = make_module(
        session,
        sim,
        title="Opening",
        narrative_context="Brief",
        platform=Platform.web,
        build_version="1.0",
        stakeholders=[
            {"name": "Ana", "role": "CEO", "motivation": "m", "portrait_url": None, "personality_traits": []}
        ],
    )
    view = modules.engine_view(m, sim)
    assert view["id"] == str(m.id) and view["briefing"] == "Brief" and view["build_version"] == "1.0"
    assert view["stakeholders"][0]["name"] == "Ana"
    assert [d["key"] for d in view["scoring"]["dimensions"]] == ["financial", "reputational"]
    assert view["scoring"]["pass_mark"] == 60
    sim.scoring_config = {"dimensions": []}
    assert modules.engine_view(m, sim)["scoring"] is None


def test_workflow_after_module_editing(session, world):
    p = world["author"]
    m = modules.create(
        session=session,
        actor=p,
        simulation_id=world["sim"].id,
        data={
            "title": "Only",
            "narrative_context": "Brief",
            "launch_url": "https://play.example",
            "platform": "web",
            "build_version": "1",
            "status": "published",
        },
    )
    assert m.sort_order == 0
    workflow.transition(
        session=session, actor=p, simulation_id=world["sim"].id, version=world["sim"].version, name="submit"
    )
    assert workflow.publish_problems(session=session, simulation=world["sim"]) == {}
