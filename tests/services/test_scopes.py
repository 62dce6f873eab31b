"""Tenant scoping through each aggregate's one readable clause (SECURITY.md 14, OWASP API1).

One test body per aggregate, run for every kind of outsider: a record outside the actor's reach is
"not found" — exactly as a record that does not exist — and the readable clause that every query of
the aggregate starts from leaves it out of every list.
"""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select

from console.auth import Actor
from console.errors import NotFound
from console.services import accounts, api_keys, assignments, audit, media, modules, play_sessions, simulations
from console.services.listing import ListQuery
from models import (
    AuditAction,
    AuditEntity,
    AuditLogEntry,
    MediaAsset,
    PlaySession,
    SimulationAssignment,
    User,
)
from models.enums import AssignmentStatus, MediaType, SessionStatus, SimulationStatus, UserRole
from tests.factories import actor_of, make_module, make_org, make_simulation, make_user


@pytest.fixture
def two_tenants(session):
    """Org A with its admin, a participant, a play session, an assignment and an audit entry; org B the
    same; a creator authoring a draft simulation with a module and a file."""
    world = {}
    for name in ("a", "b"):
        org = make_org(session)
        admin = make_user(session, role=UserRole.enterprise_admin, organization_id=org.id)
        player = make_user(session, role=UserRole.enterprise_participant, organization_id=org.id)
        world[name] = {"org": org, "admin": admin, "player": player}
    creator = make_user(session, role=UserRole.studio_creator)
    other_creator = make_user(session, role=UserRole.studio_creator)
    published = make_simulation(session, author=creator, status=SimulationStatus.published)
    draft = make_simulation(session, author=creator, status=SimulationStatus.draft)
    module = make_module(session, draft)
    asset = MediaAsset(
        module_id=module.id, type=MediaType.image, url=f"/media/{uuid.uuid4()}.png", filename="a.png", size_bytes=1
    )
    session.add(asset)
    for name in ("a", "b"):
        tenant = world[name]
        play = PlaySession(
            user_id=tenant["player"].id,
            module_id=make_module(session, published).id,
            organization_id=tenant["org"].id,
            status=SessionStatus.in_progress,
        )
        assignment = SimulationAssignment(
            organization_id=tenant["org"].id,
            assigned_by_user_id=tenant["admin"].id,
            assigned_to_user_id=tenant["player"].id,
            simulation_id=published.id,
            status=AssignmentStatus.assigned,
        )
        session.add_all([play, assignment])
        session.flush()
        entry = audit.record(
            session=session,
            actor=actor_of(tenant["admin"]),
            action=AuditAction.user_create,
            subject=(AuditEntity.user, tenant["player"].id),
            organization_id=tenant["org"].id,
        )
        session.flush()
        tenant.update(play=play, assignment=assignment, entry=entry)
    session.flush()
    world.update(creator=creator, other_creator=other_creator, draft=draft, module=module, asset=asset)
    return world


def _ids(session, model, clause) -> set:
    return set(session.scalars(select(model.id).where(clause)))


def test_an_admin_of_another_organization_finds_none_of_its_people_or_records(session, two_tenants):
    a, b = two_tenants["a"], two_tenants["b"]
    outsider = actor_of(b["admin"])
    # Users: "not found", and never in a list.
    with pytest.raises(NotFound):
        accounts.get_user(session=session, actor=outsider, user_id=a["player"].id)
    assert a["player"].id not in _ids(session, User, accounts.readable(outsider))
    assert b["player"].id in _ids(session, User, accounts.readable(outsider))
    # Play sessions, assignments, audit entries of org A: outside B's admin's reach.
    assert _ids(session, PlaySession, play_sessions.readable(outsider)) == {b["play"].id}
    assert _ids(session, SimulationAssignment, assignments.readable(outsider)) == {b["assignment"].id}
    assert _ids(session, AuditLogEntry, audit.readable(outsider)) == {b["entry"].id}
    listed = audit.list_(session=session, actor=outsider, query=ListQuery(filters={"entity_type": "user"}))
    assert [e.id for e in listed.rows] == [b["entry"].id]


def test_a_participant_reads_only_their_own_sessions_and_assignments(session, two_tenants):
    a, b = two_tenants["a"], two_tenants["b"]
    player = actor_of(a["player"])
    assert _ids(session, PlaySession, play_sessions.readable(player)) == {a["play"].id}
    assert _ids(session, SimulationAssignment, assignments.readable(player)) == {a["assignment"].id}
    with pytest.raises(NotFound):
        accounts.get_user(session=session, actor=player, user_id=b["player"].id)


@pytest.mark.parametrize("outsider", ["other_creator", "admin_a", "player_a"])
def test_a_draft_its_modules_and_files_are_not_found_outside_its_author(session, two_tenants, outsider):
    who = {
        "other_creator": two_tenants["other_creator"],
        "admin_a": two_tenants["a"]["admin"],
        "player_a": two_tenants["a"]["player"],
    }[outsider]
    actor = actor_of(who)
    draft, module, asset = two_tenants["draft"], two_tenants["module"], two_tenants["asset"]
    with pytest.raises(NotFound):
        simulations.get(session=session, actor=actor, simulation_id=draft.id)
    with pytest.raises(NotFound):
        modules.get(session=session, actor=actor, module_id=module.id)
    with pytest.raises(NotFound):
        media.get(session=session, actor=actor, asset_id=asset.id)
    # The same answer as for an id that never existed.
    with pytest.raises(NotFound) as missing:
        media.get(session=session, actor=actor, asset_id=uuid.uuid4())
    with pytest.raises(NotFound) as hidden:
        media.get(session=session, actor=actor, asset_id=asset.id)
    assert str(missing.value) == str(hidden.value)
    assert draft.id not in {s.id for s in simulations.list_(session=session, actor=actor, query=ListQuery()).rows}


def test_the_author_reaches_their_draft_and_its_history(session, two_tenants):
    author = actor_of(two_tenants["creator"])
    draft = two_tenants["draft"]
    assert simulations.get(session=session, actor=author, simulation_id=draft.id).id == draft.id
    assert media.get(session=session, actor=author, asset_id=two_tenants["asset"].id)
    simulations.update(
        session=session, actor=author, simulation_id=draft.id, version=draft.version, data={"title": "Renamed"}
    )
    trail = simulations.history(session=session, actor=author, simulation_id=draft.id, query=ListQuery())
    assert [e.action for e in trail.rows] == ["simulation.update"]


def test_api_keys_are_read_by_platform_admins_only(session, two_tenants):
    created = api_keys.create(session=session, actor=Actor.system("test"), data={"name": "k"})
    for who in (two_tenants["a"]["admin"], two_tenants["creator"], two_tenants["a"]["player"]):
        assert _ids(session, type(created.api_key), api_keys.readable(actor_of(who))) == set()
    admin = make_user(session, role=UserRole.platform_admin)
    assert created.api_key.id in _ids(session, type(created.api_key), api_keys.readable(actor_of(admin)))


def test_an_engine_key_bound_to_an_organization_reads_only_its_sessions(session, two_tenants):
    a, b = two_tenants["a"], two_tenants["b"]
    key = Actor.for_api_key(
        key_id=uuid.uuid4(),
        name="k",
        prefix="sk_sim_x",
        scopes=["game:read"],
        simulation_id=None,
        organization_id=a["org"].id,
    )
    assert _ids(session, PlaySession, play_sessions.readable(key)) == {a["play"].id}
    assert b["play"].id not in _ids(session, PlaySession, play_sessions.readable(key))


def test_an_admin_of_another_organization_finds_none_of_its_billing(session, two_tenants):
    """Billing reads and acts through the organization's readable clause: org A's subscription,
    invoices and seats are "not found" for org B's admin, with org A's id in hand."""
    from console.services.billing import subscriptions

    a, b = two_tenants["a"], two_tenants["b"]
    outsider = actor_of(b["admin"])
    for op, kwargs in (
        (subscriptions.overview, {}),
        (subscriptions.invoices, {}),
        (subscriptions.change_seats, {"seats": 500}),
        (subscriptions.subscribe, {"plan": "standard", "seats": 5}),
    ):
        with pytest.raises(NotFound):
            op(session=session, actor=outsider, organization_id=a["org"].id, **kwargs)
    assert subscriptions.overview(session=session, actor=outsider, organization_id=b["org"].id).organization_id == (
        b["org"].id
    )
