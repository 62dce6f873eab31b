"""Test mode (SECURITY.md 31): sessions of a test key play like any other, but count nowhere, and can be
deleted with their events."""

import uuid

import pytest
from sqlalchemy import func, select

from console import unit_of_work
from console.auth import Actor
from console.errors import NotFound, ValidationFailed
from console.services import api_keys, cohorts, dashboard, play_sessions
from console.services.assignments import reports
from console.services.listing import ListQuery
from console.services.people import members
from console.services.sessions import test_data
from models import (
    AssignmentStatus,
    AuditLogEntry,
    GameEvent,
    PlaySession,
    SimulationAssignment,
    UserRole,
)
from tests.api.conftest import event, post_events, start
from tests.factories import actor_of, make_module, make_simulation, make_user


def _key_id(session, key: str) -> uuid.UUID:
    return session.scalar(select(api_keys.ApiKey.id).where(api_keys.ApiKey.key_hash == api_keys.hash_key(key)))


def _figures(world) -> dict:
    """What a test completion must not move: dashboards, assignment, cohort, the player's own pages."""
    with unit_of_work.transaction() as s:
        player = actor_of(world.player)
        summary = dashboard.summary(session=s, actor=Actor.system("test"))
        return {
            "dashboard": {
                k: summary[k] for k in ("sessions_in_progress", "sessions_completed_30d", "sessions_per_day")
            },
            "assignment": s.get(SimulationAssignment, world.assignment_id).status,
            "cohort": cohorts.of_module(session=s, module_id=world.module.id, exclude=uuid.uuid4()),
            "mine": play_sessions.list_mine(session=s, actor=player, query=ListQuery()).total,
            "last_played": members._page_stats(s, world.player.organization_id, [world.player.id]),
            # The report's score distribution, over the last 30 days and over all time (read two ways).
            "distribution": [
                reports.score_distribution(
                    session=s,
                    actor=Actor.system("test"),
                    query=ListQuery(filters={"simulation_id": str(world.sim.id), **period}),
                ).sessions
                for period in ({"assigned": "30"}, {})
            ],
        }


def test_a_test_completion_changes_no_assignment_percentile_dashboard_or_participant_page(client, world):
    real = start(client, world).json()["id"]
    post_events(client, world, real, [event("completion", data={"scores": {"financial": 50}})])
    before = _figures(world)
    assert before["cohort"].size == 1 and before["mine"] == 1 and before["distribution"] == [1, 1]

    test = start(client, world, key="test")
    assert test.status_code == 201
    sid = test.json()["id"]
    done = post_events(
        client, world, sid, [event(), event("completion", at=90, data={"scores": {"financial": 90}})], key="test"
    )
    assert done.status_code == 200 and done.json()["session_status"] == "completed"
    # The engine sees its scores as usual: the percentile is among real sessions.
    scores = client.get(f"/api/v1/sessions/{sid}", headers=world.auth("test")).json()["final_scores"]
    assert scores["percentile"] == 50  # above the one real session: 1 of 2

    assert _figures(world) == before
    assert before["assignment"] == AssignmentStatus.in_progress  # the real start moved it, not the test
    with unit_of_work.transaction() as s:
        play = s.get(PlaySession, uuid.UUID(sid))
        assert play.is_test and play.api_key_id == _key_id(s, world.keys["test"])
        assert s.get(PlaySession, uuid.UUID(real)).api_key_id == _key_id(s, world.keys["rw"])
        assert not s.get(PlaySession, uuid.UUID(real)).is_test

    # A later real session above both: 1 of 2 below it (the test session would have made it 2 of 3).
    later = start(client, world).json()["id"]
    post_events(client, world, later, [event("completion", data={"scores": {"financial": 95}})])
    assert client.get(f"/api/v1/sessions/{later}", headers=world.auth()).json()["final_scores"]["percentile"] == 50


def test_a_test_start_alone_leaves_the_assignment_assigned(client, world):
    assert start(client, world, key="test").status_code == 201
    with unit_of_work.transaction() as s:
        assert s.get(SimulationAssignment, world.assignment_id).status == AssignmentStatus.assigned


def test_a_test_key_cannot_write_to_a_real_session(client, world):
    """A test key that reaches a real session (unbound, or bound to its simulation) completed it with any
    scores it liked, and that completion counted: now refused, and nothing of the batch is stored."""
    real = start(client, world).json()["id"]  # a live key's session: real play
    finale = event("completion", data={"scores": {"financial": 100, "reputational": 100}})
    refused = post_events(client, world, real, [event(), finale], key="test")
    assert refused.status_code == 403
    assert refused.json()["error"]["message"].startswith("This is a test key: it reports events only for test")
    by_external = client.post(
        "/api/v1/events",
        json={"external_session_id": _external(real), "events": [event()]},
        headers=world.auth("test"),
    )
    assert by_external.status_code == 403
    with unit_of_work.read_only() as s:
        play = s.get(PlaySession, uuid.UUID(real))
        assert play.status.value == "in_progress" and not play.is_test
        assert s.scalar(select(func.count()).select_from(GameEvent).where(GameEvent.session_id == play.id)) == 0
    # The test key's own session, and a live key on a test session, go on as before.
    mine = start(client, world, key="test").json()["id"]
    assert post_events(client, world, mine, [event()], key="test").status_code == 200
    assert post_events(client, world, mine, [event()], key="rw").status_code == 200


def _external(session_id: str) -> str:
    with unit_of_work.read_only() as s:
        return s.get(PlaySession, uuid.UUID(session_id)).external_session_id


def test_deleting_a_keys_test_sessions_removes_their_events_and_is_audited(client, world):
    test_ids = []
    for _ in range(3):
        sid = start(client, world, key="test").json()["id"]
        post_events(client, world, sid, [event(), event("milestone", at=70)], key="test")
        test_ids.append(uuid.UUID(sid))
    real = uuid.UUID(start(client, world).json()["id"])
    post_events(client, world, str(real), [event()])
    with unit_of_work.transaction() as s:
        key_id = _key_id(s, world.keys["test"])
        assert test_data.test_session_count(session=s, actor=Actor.system("test"), key_id=key_id) == 3
        assert test_data.delete_key_sessions(session=s, actor=Actor.system("test"), key_id=key_id) == 3
    with unit_of_work.transaction() as s:
        assert s.scalar(select(func.count()).select_from(PlaySession).where(PlaySession.id.in_(test_ids))) == 0
        assert s.scalar(select(func.count()).select_from(GameEvent).where(GameEvent.session_id.in_(test_ids))) == 0
        assert s.scalar(select(func.count()).select_from(GameEvent).where(GameEvent.session_id == real)) == 1
        entry = s.scalar(select(AuditLogEntry).where(AuditLogEntry.action == "api_key.delete_test_sessions"))
        assert entry.entity_id == str(key_id) and "3 test sessions" in entry.comment


def test_one_test_session_is_deleted_real_ones_never(client, world):
    sid = uuid.UUID(start(client, world, key="test").json()["id"])
    post_events(client, world, str(sid), [event()], key="test")
    real = uuid.UUID(start(client, world).json()["id"])
    admin = Actor.system("test")
    with unit_of_work.transaction() as s, pytest.raises(ValidationFailed):
        test_data.delete_session(session=s, actor=admin, session_id=real)
    with unit_of_work.transaction() as s:
        test_data.delete_session(session=s, actor=admin, session_id=sid)
    with unit_of_work.transaction() as s:
        assert s.get(PlaySession, sid) is None and s.get(PlaySession, real) is not None
        assert s.scalar(select(func.count()).select_from(GameEvent).where(GameEvent.session_id == sid)) == 0
        assert s.scalar(select(AuditLogEntry.id).where(AuditLogEntry.action == "play_session.delete")) is not None


def test_creators_make_test_keys_for_their_own_simulations_only(client, world):
    with unit_of_work.transaction() as s:
        creator = make_user(s, role=UserRole.studio_creator)
        mine = make_simulation(s, author=creator)  # a draft
        draft_module = make_module(s, mine)
        theirs = make_simulation(s)
    actor = actor_of(creator)
    with unit_of_work.transaction() as s:
        with pytest.raises(ValidationFailed):
            api_keys.create(session=s, actor=actor, data={"name": "x", "simulation_id": theirs.id, "test": True})
        with pytest.raises(ValidationFailed):
            api_keys.create(session=s, actor=actor, data={"name": "x", "simulation_id": mine.id})
    with unit_of_work.transaction() as s:
        created = api_keys.create(
            session=s, actor=actor, data={"name": "build", "simulation_id": mine.id, "test": True}
        )
    assert created.key.startswith("sk_sim_test_")
    with unit_of_work.transaction() as s:
        listed = api_keys.list_(session=s, actor=actor, query=ListQuery())
        assert [r.id for r in listed.rows] == [created.api_key.id]
        other = make_user(s, role=UserRole.studio_creator)
        with pytest.raises(NotFound):
            api_keys.get(session=s, actor=actor_of(other), key_id=created.api_key.id)
    # The draft's module is playable with that key (never with a live one), as the creator: the key reached
    # every person on the platform (an email it named answered 201, an unknown one 422: who exists).
    headers = {"Authorization": f"Bearer {created.key}"}

    def start_as(player: dict):
        body = {"external_session_id": str(uuid.uuid4()), "module_id": str(draft_module.id), "player": player}
        return client.post("/api/v1/sessions", json=body, headers=headers)

    someone, nobody = start_as({"email": world.player.email}), start_as({"email": "nobody-at-all@acme.example"})
    assert someone.status_code == nobody.status_code == 422
    assert someone.json() == nobody.json()
    assert someone.json()["error"]["message"].startswith("A studio creator's test key plays as the person who made")
    assert start_as({"user_id": str(world.player.id)}).json() == someone.json()
    played = start_as({"email": creator.email.upper()})
    assert played.status_code == 201, played.text
    with unit_of_work.read_only() as s:
        assert s.get(PlaySession, uuid.UUID(played.json()["id"])).user_id == creator.id


def test_the_sessions_list_shows_real_sessions_unless_asked_and_marks_test_ones(client, world):
    from console.services.sessions import listing

    real = uuid.UUID(start(client, world).json()["id"])
    test = uuid.UUID(start(client, world, key="test").json()["id"])
    admin = Actor.system("test")
    with unit_of_work.transaction() as s:

        def ids(kind: str | None) -> dict:
            query = ListQuery(filters={"kind": kind} if kind else {})
            return {r.id: r.is_test for r in listing.list_(session=s, actor=admin, query=query).rows}

        assert ids(None) == {real: False} == ids("real")
        assert ids("test") == {test: True}
        assert ids("all") == {real: False, test: True}
        with pytest.raises(ValidationFailed):
            ids("nonsense")
