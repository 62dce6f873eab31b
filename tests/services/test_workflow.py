"""The publishing workflow: every role × every transition × every status, publish checks, duplicates."""

from __future__ import annotations

import pytest
from sqlmodel import select

from console.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from console.services import audit, workflow
from console.services.listing import ListQuery
from models import AuditLogEntry, Module, Simulation
from models.enums import ModuleStatus, Platform, SimulationStatus, UserRole
from tests.factories import SCORING, actor_of, make_module, make_simulation, make_user

S = SimulationStatus
ROLES = ["author", "other_creator", "platform_admin", "enterprise_admin", "participant"]
# What the issue asks for, written out by hand (not derived from the service's own tables).
SOURCES = {
    "submit": {S.draft},
    "withdraw": {S.review},
    "send_back": {S.review, S.staged},
    "stage": {S.review},
    "publish": {S.staged},
    "archive": {S.published},
    "restore": {S.archived},
}
TARGET = {
    "submit": S.review,
    "withdraw": S.draft,
    "send_back": S.draft,
    "stage": S.staged,
    "publish": S.published,
    "archive": S.archived,
    "restore": S.draft,
}
WHO = {
    "submit": {"author"},
    "withdraw": {"author"},
    "send_back": {"platform_admin"},
    "stage": {"platform_admin"},
    "publish": {"platform_admin"},
    "archive": {"platform_admin"},
    "restore": {"platform_admin"},
}


def _can_see(role: str, status: SimulationStatus) -> bool:
    if role in ("author", "platform_admin"):
        return True
    if role in ("other_creator", "enterprise_admin"):
        return status == S.published
    return False


@pytest.fixture
def people(session):
    return {
        "author": make_user(session, role=UserRole.studio_creator, password=None),
        "other_creator": make_user(session, role=UserRole.studio_creator, password=None),
        "platform_admin": make_user(session, role=UserRole.platform_admin, password=None),
        "enterprise_admin": make_user(session, role=UserRole.enterprise_admin, password=None),
        "participant": make_user(session, role=UserRole.enterprise_participant, password=None),
    }


def ready_simulation(session, author, status=S.draft) -> Simulation:
    sim = make_simulation(session, author=author, status=status)
    make_module(
        session,
        sim,
        platform=Platform.web,
        build_version="1.0.0",
        narrative_context="# Briefing\nYou are the CFO.",
        stakeholders=[{"name": "Ana", "role": "CEO", "motivation": "growth", "personality_traits": ["blunt"]}],
    )
    return sim


@pytest.mark.parametrize("name", list(SOURCES))
def test_transition_matrix(session, people, name):
    outcomes = {}
    for role in ROLES:
        for status in S:
            nested = session.begin_nested()
            sim = ready_simulation(session, people["author"], status)
            actor = actor_of(people[role])
            try:
                moved = workflow.transition(
                    session=session,
                    actor=actor,
                    simulation_id=sim.id,
                    version=sim.version,
                    name=name,
                    comment="needs work",
                )
                outcomes[(role, status)] = "ok"
                assert moved.status == TARGET[name]
            except NotFound:
                outcomes[(role, status)] = "not_found"
            except PermissionDenied:
                outcomes[(role, status)] = "forbidden"
            except Conflict:
                outcomes[(role, status)] = "conflict"
            nested.rollback()
    expected = {}
    for role in ROLES:
        for status in S:
            if not _can_see(role, status):
                expected[(role, status)] = "not_found"
            elif role not in WHO[name]:
                expected[(role, status)] = "forbidden"
            elif status not in SOURCES[name]:
                expected[(role, status)] = "conflict"
            else:
                expected[(role, status)] = "ok"
    assert outcomes == expected


def test_refused_transition_changes_nothing(session, people):
    sim = ready_simulation(session, people["author"], S.review)
    with pytest.raises(PermissionDenied):
        workflow.transition(
            session=session, actor=actor_of(people["author"]), simulation_id=sim.id, version=sim.version, name="stage"
        )
    session.refresh(sim)
    assert sim.status == S.review
    assert session.scalars(select(AuditLogEntry).where(AuditLogEntry.action == "simulation.stage")).all() == []


def test_send_back_requires_a_comment_and_audits_it(session, people):
    sim = ready_simulation(session, people["author"], S.review)
    admin = actor_of(people["platform_admin"])
    with pytest.raises(ValidationFailed) as refused:
        workflow.transition(
            session=session, actor=admin, simulation_id=sim.id, version=sim.version, name="send_back", comment="  "
        )
    assert "comment" in refused.value.details
    workflow.transition(
        session=session,
        actor=admin,
        simulation_id=sim.id,
        version=sim.version,
        name="send_back",
        comment="Briefing is thin.",
    )
    assert sim.status == S.draft
    trail = audit.list_(session=session, actor=admin, query=_about(sim))
    entry = trail.rows[0]
    assert entry.action == "simulation.send_back"
    assert entry.comment == "Briefing is thin."
    assert entry.before == {"status": "review", "version": 1} and entry.after == {"status": "draft", "version": 2}


def test_full_path_sets_published_at_and_audits_every_step(session, people):
    sim = ready_simulation(session, people["author"])
    author, admin = actor_of(people["author"]), actor_of(people["platform_admin"])
    for actor, name in [(author, "submit"), (admin, "stage"), (admin, "publish")]:
        workflow.transition(
            session=session, actor=actor, simulation_id=sim.id, version=sim.version, name=name, comment=name
        )
    assert sim.status == S.published and sim.published_at is not None
    for actor, name in [(admin, "archive"), (admin, "restore")]:
        workflow.transition(session=session, actor=actor, simulation_id=sim.id, version=sim.version, name=name)
    actions = [e.action for e in audit.list_(session=session, actor=admin, query=_about(sim)).rows]
    assert sorted(actions) == sorted(f"simulation.{n}" for n in ["submit", "stage", "publish", "archive", "restore"])


def test_publish_lists_every_problem_at_once(session, people):
    sim = make_simulation(session, author=people["author"], status=S.staged, scoring_config={"dimensions": []})
    make_module(session, sim, title="Opening", status=ModuleStatus.draft, launch_url=None)
    admin = actor_of(people["platform_admin"])
    with pytest.raises(ValidationFailed) as refused:
        workflow.transition(session=session, actor=admin, simulation_id=sim.id, version=sim.version, name="publish")
    problems = refused.value.details
    assert problems["modules"] == "at least one published module is needed"
    assert problems["module “Opening”"] == "missing launch URL, platform, build version, briefing"
    assert "scoring" in problems
    assert sim.status == S.staged and sim.published_at is None


def test_publish_with_no_modules_and_no_scoring(session, people):
    sim = make_simulation(session, author=people["author"], status=S.staged, scoring_config=None)
    problems = workflow.publish_problems(session=session, simulation=sim)
    assert set(problems) == {"modules", "scoring"}


def test_archived_modules_are_not_checked(session, people):
    sim = ready_simulation(session, people["author"], S.staged)
    make_module(session, sim, status=ModuleStatus.archived, launch_url=None)
    assert workflow.publish_problems(session=session, simulation=sim) == {}


def test_available_lists_the_buttons_for_each_role(session, people):
    sim = ready_simulation(session, people["author"], S.review)
    names = lambda p: [t.name for t in workflow.available(actor_of(p), sim)]  # noqa: E731
    assert names(people["author"]) == ["withdraw"]
    assert names(people["platform_admin"]) == ["send_back", "stage"]
    assert names(people["other_creator"]) == []


def test_duplicate_as_draft_deep_copies(session, people):
    sim = ready_simulation(session, people["author"], S.published)
    make_module(session, sim, title="Second", sort_order=1, stakeholders=[{"name": "Bo", "personality_traits": []}])
    author = actor_of(people["author"])
    copy = workflow.duplicate_as_draft(session=session, actor=author, simulation_id=sim.id)
    assert copy.id != sim.id and copy.status == S.draft and copy.author_id == people["author"].id
    assert copy.slug != sim.slug and copy.published_at is None
    assert copy.scoring_config == SCORING
    originals = session.scalars(select(Module).where(Module.simulation_id == sim.id).order_by(Module.sort_order)).all()
    copies = session.scalars(select(Module).where(Module.simulation_id == copy.id).order_by(Module.sort_order)).all()
    assert [m.title for m in copies] == [m.title for m in originals]
    assert [m.stakeholders for m in copies] == [m.stakeholders for m in originals]
    assert {m.id for m in copies}.isdisjoint({m.id for m in originals})
    # Deep: changing the copy leaves the original alone.
    copies[0].stakeholders[0]["name"] = "Changed"
    copy.scoring_config["pass_mark"] = 10
    assert originals[0].stakeholders[0]["name"] == "Ana"
    assert sim.scoring_config["pass_mark"] == 60


def test_duplicate_refused_for_others(session, people):
    sim = ready_simulation(session, people["author"], S.published)
    with pytest.raises(PermissionDenied):
        workflow.duplicate_as_draft(session=session, actor=actor_of(people["other_creator"]), simulation_id=sim.id)
    with pytest.raises(PermissionDenied):
        workflow.duplicate_as_draft(session=session, actor=actor_of(people["enterprise_admin"]), simulation_id=sim.id)
    with pytest.raises(NotFound):
        workflow.duplicate_as_draft(session=session, actor=actor_of(people["participant"]), simulation_id=sim.id)
    admin_copy = workflow.duplicate_as_draft(
        session=session, actor=actor_of(people["platform_admin"]), simulation_id=sim.id
    )
    assert admin_copy.author_id == people["platform_admin"].id


def test_history_shows_the_author_the_reviewers_comment(session, people):
    from console.services import simulations

    sim = ready_simulation(session, people["author"], S.review)
    admin, author = actor_of(people["platform_admin"]), actor_of(people["author"])
    workflow.transition(
        session=session, actor=admin, simulation_id=sim.id, version=sim.version, name="send_back", comment="Add stakes"
    )
    trail = simulations.history(session=session, actor=author, simulation_id=sim.id, query=ListQuery())
    assert [(e.action, e.comment) for e in trail.rows] == [("simulation.send_back", "Add stakes")]
    assert trail.rows[0].actor_id == people["platform_admin"].id
    sim.status = S.published
    session.add(sim)
    session.flush()
    with pytest.raises(PermissionDenied):  # sees the published simulation, not its history
        simulations.history(
            session=session, actor=actor_of(people["other_creator"]), simulation_id=sim.id, query=ListQuery()
        )
    with pytest.raises(NotFound):
        simulations.history(
            session=session, actor=actor_of(people["participant"]), simulation_id=sim.id, query=ListQuery()
        )


def test_duplicate_copies_media_and_repoints_portraits(session, people, tmp_path):
    from console.config import Settings
    from console.services import media
    from models import MediaAsset
    from tests import media_samples as samples

    settings = Settings(data_dir=tmp_path)
    storage = media.LocalStorage(tmp_path / "media")
    author = actor_of(people["author"])
    sim = ready_simulation(session, people["author"])
    module = session.scalars(select(Module).where(Module.simulation_id == sim.id)).one()
    asset = media.upload(
        session=session,
        actor=author,
        module_id=module.id,
        filename="ana.png",
        data=samples.png(),
        storage=storage,
        settings=settings,
    )
    module.stakeholders = [{**module.stakeholders[0], "portrait_url": asset.url}]
    sim.thumbnail_url = asset.url
    session.add_all([module, sim])
    session.flush()
    copy = workflow.duplicate_as_draft(session=session, actor=author, simulation_id=sim.id, storage=storage)
    twin = session.scalars(select(Module).where(Module.simulation_id == copy.id)).one()
    twin_asset = session.scalars(select(MediaAsset).where(MediaAsset.module_id == twin.id)).one()
    assert twin_asset.id != asset.id and twin_asset.filename == "ana.png"
    assert storage.get(media.storage_key(twin_asset)) == samples.png()
    assert twin.stakeholders[0]["portrait_url"] == twin_asset.url and copy.thumbnail_url == twin_asset.url
    assert module.stakeholders[0]["portrait_url"] == asset.url and sim.thumbnail_url == asset.url
    # A rolled-back duplicate leaves no copied files behind.
    session.rollback()
    assert sorted(p.name for p in storage.root.rglob("*.png")) == []


def _about(sim) -> ListQuery:
    return ListQuery(filters={"entity_type": "simulation", "entity_id": str(sim.id)})
