"""POST /api/v1/sessions with `player.launch_token`: the token a Launch button put in the launch URL."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from console import unit_of_work
from console.services import launch
from models import PlaySession, SimulationAssignment, User
from models.base import utcnow
from models.enums import AssignmentStatus, SubscriptionTier, UserRole
from tests.api.conftest import start
from tests.factories import make_module, make_user


def _token(world, *, module=None, user=None, assignment=True, now=None) -> str:
    return launch.make_token(
        user_id=(user or world.player).id,
        module_id=(module or world.module).id,
        assignment_id=world.assignment_id if assignment else None,
        now=now,
    )


def _sessions(session, external: str) -> int:
    return session.scalar(select(func.count()).where(PlaySession.external_session_id == external))


def _refusal(response, code: str) -> dict:
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == code and error["message"]
    assert "player.launch_token" in error["details"]
    return error


def test_a_launch_token_binds_the_session_to_its_person(client, world, session):
    response = start(client, world, external="ue-launch", player={"launch_token": _token(world)})
    assert response.status_code == 201, response.text
    play = session.scalar(select(PlaySession).where(PlaySession.external_session_id == "ue-launch"))
    assert play.user_id == world.player.id and play.organization_id == world.player.organization_id
    assert session.get(SimulationAssignment, world.assignment_id).status == AssignmentStatus.in_progress


def test_the_same_start_retried_with_the_token_returns_the_same_session(client, world, session):
    token = _token(world)
    first = start(client, world, external="ue-again", player={"launch_token": token})
    again = start(client, world, external="ue-again", player={"launch_token": token})
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"] and _sessions(session, "ue-again") == 1
    # The engine lost its answer for longer than the token lives: the retry still gets its session.
    old = _token(world, now=datetime.now(UTC) - timedelta(hours=3))
    late = start(client, world, external="ue-again", player={"launch_token": old})
    assert late.status_code == 200 and late.json()["id"] == first.json()["id"]
    # A "retry" that gives other fields is not one: a 409 naming them, not a 200 that ignores them.
    other = start(client, world, external="ue-again", player={"launch_token": token}, platform="web")
    assert other.status_code == 409
    assert other.json()["error"]["details"]["platform"] == "the session was started with unreal"


def test_an_expired_token_is_refused(client, world, session):
    old = _token(world, now=datetime.now(UTC) - launch.LIFETIME - timedelta(seconds=5))
    response = start(client, world, external="ue-old", player={"launch_token": old})
    _refusal(response, "launch_token_expired")
    assert _sessions(session, "ue-old") == 0


def test_tampered_and_garbage_tokens_are_refused(client, world, session):
    version, payload, signature = _token(world).split(".")
    other = _token(world, user=world.outsider).split(".")[1]
    bad_tokens = (
        f"{version}.{other}.{signature}",
        f"{version}.{payload}.{signature[::-1]}",
        "garbage",
        "v1.%%.!!",
        "v1.é.AA",
    )
    for bad in bad_tokens:
        _refusal(start(client, world, external="ue-bad", player={"launch_token": bad}), "launch_token_invalid")
    assert _sessions(session, "ue-bad") == 0
    too_long = start(client, world, player={"launch_token": "v1." + "a" * 2000})
    assert too_long.status_code == 422 and too_long.json()["error"]["code"] == "validation_failed"


def test_a_token_for_another_module_is_refused(client, world):
    response = start(client, world, module=world.module2, player={"launch_token": _token(world)})
    _refusal(response, "launch_token_wrong_module")


def test_a_token_with_another_player_field_is_ambiguous(client, world):
    for other in ({"email": world.player.email}, {"user_id": str(world.player.id)}, {"clerk_id": "c"}):
        response = start(client, world, player={"launch_token": _token(world), **other})
        assert response.status_code == 422
        error = response.json()["error"]
        assert error["code"] == "validation_failed"
        assert "launch_token" in error["details"]["player"]
    nobody = start(client, world, player={})
    assert nobody.status_code == 422 and "launch_token" in nobody.json()["error"]["details"]["player"]


def test_a_deactivated_person_is_refused(client, world):
    with unit_of_work.transaction() as s:
        s.get(User, world.player.id).deactivated_at = utcnow()
    error = _refusal(start(client, world, player={"launch_token": _token(world)}), "launch_token_not_allowed")
    assert "deactivated" in error["message"]


def test_the_keys_scope_and_binding_still_apply(client, world):
    token = _token(world)
    assert start(client, world, key="read", player={"launch_token": token}).status_code == 403
    assert start(client, world, key="other_sim", player={"launch_token": token}).status_code == 404
    unknown = start(client, world, key="other_org", player={"launch_token": token})
    assert unknown.status_code == 422 and unknown.json()["error"]["details"] == {"player": "no such player"}
    assert start(client, world, key="org", player={"launch_token": token}).status_code == 201
    assert start(client, world, key="sim", player={"launch_token": token}).status_code == 201


def test_a_free_individuals_token_opens_free_demos_only(client, world):
    with unit_of_work.transaction() as s:
        free = make_user(s, role=UserRole.individual, subscription_tier=SubscriptionTier.free, password=None)
        demo = make_module(s, world.sim, title="Demo", is_free_demo=True, sort_order=5)
    response = start(
        client, world, module=world.module, player={"launch_token": _token(world, user=free, assignment=False)}
    )
    error = _refusal(response, "launch_token_not_allowed")
    assert "Pro" in error["message"]
    demo_token = _token(world, module=demo, user=free, assignment=False)
    assert start(client, world, module=demo, player={"launch_token": demo_token}).status_code == 201


def test_the_openapi_schema_documents_the_launch_token(client):
    schema = client.get("/api/v1/openapi.json").json()
    player = schema["components"]["schemas"]["PlayerRef"]["properties"]["launch_token"]
    assert "simvado_launch" in str(player) and "launch_token_expired" in str(player)
    answers = schema["paths"]["/sessions"]["post"]["responses"]
    assert "launch_token_not_allowed" in answers["422"]["description"]


def test_a_token_naming_a_person_who_no_longer_exists_is_refused(client, world):
    ghost = launch.make_token(user_id=uuid.uuid4(), module_id=world.module.id)
    response = start(client, world, player={"launch_token": ghost})
    assert response.status_code == 422 and response.json()["error"]["details"] == {"player": "no such player"}


def test_a_deactivated_person_named_by_email_or_id_is_refused_too(client, world, session):
    with unit_of_work.transaction() as s:
        s.get(User, world.player.id).deactivated_at = utcnow()
    for player in ({"email": world.player.email}, {"user_id": str(world.player.id)}):
        response = start(client, world, external="ue-gone", player=player)
        assert response.status_code == 422, response.text
        error = response.json()["error"]
        assert error["message"] == "This person's account is deactivated."
        assert error["details"] == {"player": "deactivated"}
    assert _sessions(session, "ue-gone") == 0
