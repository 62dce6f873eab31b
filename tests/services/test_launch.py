"""Launch tokens (console/services/launch.py): issued by a Launch button, checked when an engine starts a
session with one, and the lists of what each person may launch."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from console.auth import Actor
from console.errors import NotFound, ValidationFailed
from console.services import ingest, launch
from console.services.listing import ListQuery
from models import SimulationAssignment
from models.base import utcnow
from models.enums import AssignmentStatus, SimulationStatus, SubscriptionTier, UserRole
from tests.factories import actor_of, make_module, make_simulation, make_user


@pytest.fixture
def world(session):
    """A published simulation with two modules, a participant it is assigned to, and an engine key."""
    sim = make_simulation(session, status=SimulationStatus.published, title="Harbor Crisis")
    module = make_module(session, sim, title="Act One", launch_url="https://play.test.example/m?build=7#start")
    module2 = make_module(session, sim, title="Act Two", sort_order=1)
    player = make_user(session, role=UserRole.enterprise_participant)
    assignment = SimulationAssignment(
        organization_id=player.organization_id, assigned_to_user_id=player.id, simulation_id=sim.id
    )
    session.add(assignment)
    session.flush()
    engine = Actor.for_api_key(
        key_id=uuid.uuid4(),
        name="k",
        prefix="sk_sim_x",
        scopes=["game:write"],
        simulation_id=None,
        organization_id=None,
    )
    return {"sim": sim, "module": module, "module2": module2, "player": player, "assignment": assignment, "key": engine}


def _start(session, world, token: str, *, module=None, external: str | None = None, key: Actor | None = None):
    data = ingest.SessionStart(
        module_id=(module or world["module"]).id,
        player=ingest.PlayerRef(launch_token=token),
        external_session_id=external or f"ext-{uuid.uuid4().hex[:8]}",
    )
    return ingest.start_session(session=session, actor=key or world["key"], data=data)


def _token_of(session, world, **kwargs) -> str:
    """What the participant's Launch button opens for Act One of their assignment: the token in the URL."""
    found = launch.launch(
        session=session,
        actor=actor_of(world["player"]),
        module_id=world["module"].id,
        assignment_id=world["assignment"].id,
        **kwargs,
    )
    return parse_qs(urlsplit(found.url).query)[launch.PARAMETER][0]


def _refused(exc_info, code: str) -> None:
    assert exc_info.value.code == code
    assert exc_info.value.message  # said in words the engine's developer can act on
    assert "player.launch_token" in exc_info.value.details


# ----------------------------------------------------------------------------------- the launch URL


def test_the_launch_url_keeps_its_query_and_fragment_and_carries_the_token(session, world):
    found = launch.launch(
        session=session,
        actor=actor_of(world["player"]),
        module_id=world["module"].id,
        assignment_id=world["assignment"].id,
    )
    parts = urlsplit(found.url)
    assert (parts.scheme, parts.netloc, parts.path, parts.fragment) == ("https", "play.test.example", "/m", "start")
    query = parse_qs(parts.query)
    assert query["build"] == ["7"] and len(query[launch.PARAMETER]) == 1
    assert timedelta(minutes=29) < found.expires_at - datetime.now(UTC) <= launch.LIFETIME
    claims = launch.read_token(query[launch.PARAMETER][0])
    assert (claims.user_id, claims.module_id, claims.assignment_id) == (
        world["player"].id,
        world["module"].id,
        world["assignment"].id,
    )


def test_a_token_already_in_the_launch_url_is_replaced():
    url = launch.with_token("https://x.example/play?simvado_launch=forged&a=1", "v1.real.sig")
    assert parse_qs(urlsplit(url).query) == {"a": ["1"], launch.PARAMETER: ["v1.real.sig"]}


def test_no_launch_address_and_non_web_addresses_launch_nothing(session, world):
    for url in (None, "javascript:alert(1)", "//evil.example/x"):
        world["module"].launch_url = url
        session.flush()
        with pytest.raises(ValidationFailed, match="No launch address yet"):
            _token_of(session, world)


def test_nobody_launches_with_someone_elses_assignment(session, world):
    other = make_user(session, role=UserRole.enterprise_participant, organization_id=world["player"].organization_id)
    with pytest.raises(NotFound):
        launch.launch(
            session=session, actor=actor_of(other), module_id=world["module"].id, assignment_id=world["assignment"].id
        )
    # Without an assignment a participant launches nothing: their organization decides what they play.
    with pytest.raises(ValidationFailed, match="assigned"):
        launch.launch(session=session, actor=actor_of(other), module_id=world["module"].id)


# ------------------------------------------------------------------------------ starting a session


def test_a_valid_token_binds_the_session_to_the_person_and_moves_the_assignment(session, world):
    play, created = _start(session, world, _token_of(session, world))
    assert created and play.user_id == world["player"].id
    assert play.organization_id == world["player"].organization_id
    session.refresh(world["assignment"])
    assert world["assignment"].status == AssignmentStatus.in_progress


def test_an_expired_token_is_refused(session, world):
    old = launch.make_token(
        user_id=world["player"].id,
        module_id=world["module"].id,
        assignment_id=world["assignment"].id,
        now=datetime.now(UTC) - launch.LIFETIME - timedelta(seconds=1),
    )
    with pytest.raises(launch.LaunchRefused) as refused:
        _start(session, world, old)
    _refused(refused, "launch_token_expired")


@pytest.mark.parametrize(
    "garbage", ["", "v1", "v1.a.b", "v2.x.y", "not a token at all", "v1..", "é" * 20, "v1.é.AAAA", "v1.a.é", "v1.a.b=c"]
)
def test_garbage_is_refused_as_invalid(session, world, garbage):
    with pytest.raises(launch.LaunchRefused) as refused:
        _start(session, world, garbage)
    _refused(refused, "launch_token_invalid")


def test_a_token_cannot_be_altered_to_name_someone_else(session, world):
    someone = make_user(session, role=UserRole.enterprise_participant, organization_id=world["player"].organization_id)
    version, payload, signature = _token_of(session, world).split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["u"] = someone.id.hex
    forged = base64.urlsafe_b64encode(json.dumps(claims, separators=(",", ":")).encode()).rstrip(b"=").decode()
    with pytest.raises(launch.LaunchRefused) as refused:
        _start(session, world, f"{version}.{forged}.{signature}")
    _refused(refused, "launch_token_invalid")
    # One flipped character of the signature is as bad.
    flipped = signature[:-2] + ("A" if signature[-2] != "A" else "B") + signature[-1]
    with pytest.raises(launch.LaunchRefused):
        _start(session, world, f"{version}.{payload}.{flipped}")


def test_a_token_signed_with_another_key_is_refused(session, world, monkeypatch):
    token = _token_of(session, world)
    monkeypatch.setenv("SIMVADO_STORAGE_SECRET", "another console's secret")
    from console.config import get_settings

    get_settings.cache_clear()
    with pytest.raises(launch.LaunchRefused) as refused:
        _start(session, world, token)
    _refused(refused, "launch_token_invalid")


def test_a_token_for_another_module_is_refused(session, world):
    with pytest.raises(launch.LaunchRefused) as refused:
        _start(session, world, _token_of(session, world), module=world["module2"])
    _refused(refused, "launch_token_wrong_module")


def test_a_deactivated_person_is_refused(session, world):
    token = _token_of(session, world)
    world["player"].deactivated_at = utcnow()
    session.flush()
    with pytest.raises(launch.LaunchRefused) as refused:
        _start(session, world, token)
    _refused(refused, "launch_token_not_allowed")
    assert "deactivated" in refused.value.message


def test_a_person_whose_assignment_was_withdrawn_is_refused(session, world):
    token = _token_of(session, world)
    session.delete(world["assignment"])
    session.flush()
    with pytest.raises(launch.LaunchRefused) as refused:
        _start(session, world, token)
    _refused(refused, "launch_token_not_allowed")
    assert "no longer assigned" in refused.value.message


def test_a_token_for_someone_elses_assignment_is_refused(session, world):
    colleague = make_user(
        session, role=UserRole.enterprise_participant, organization_id=world["player"].organization_id
    )
    # Never issued by the console (it checks whose assignment it is); signed here to prove the engine
    # side checks it again.
    borrowed = launch.make_token(
        user_id=colleague.id, module_id=world["module"].id, assignment_id=world["assignment"].id
    )
    with pytest.raises(launch.LaunchRefused) as refused:
        _start(session, world, borrowed)
    _refused(refused, "launch_token_not_allowed")


def test_someone_who_left_the_organization_no_longer_plays_its_assignment(session, world):
    token = _token_of(session, world)
    world["player"].organization_id = None
    world["player"].role = UserRole.individual
    session.flush()
    with pytest.raises(launch.LaunchRefused) as refused:
        _start(session, world, token)
    _refused(refused, "launch_token_not_allowed")
    mine = launch.assigned_modules(
        session=session, actor=actor_of(world["player"]), assignment_ids=[world["assignment"].id]
    )
    assert not any(m.launchable for m in mine[str(world["assignment"].id)])


def test_the_keys_own_binding_still_applies(session, world):
    token = _token_of(session, world)
    other_org_key = Actor.for_api_key(
        key_id=uuid.uuid4(),
        name="k",
        prefix="p",
        scopes=["game:write"],
        simulation_id=None,
        organization_id=uuid.uuid4(),
    )
    with pytest.raises(ValidationFailed, match="Unknown player"):
        _start(session, world, token, key=other_org_key)
    other_sim_key = Actor.for_api_key(
        key_id=uuid.uuid4(),
        name="k",
        prefix="p",
        scopes=["game:write"],
        simulation_id=uuid.uuid4(),
        organization_id=None,
    )
    with pytest.raises(NotFound):
        _start(session, world, token, key=other_sim_key)


def test_a_retry_of_the_same_start_gets_the_same_session_even_after_expiry(session, world):
    token = _token_of(session, world)
    first, created = _start(session, world, token, external="ue-retry")
    again, created_again = _start(session, world, token, external="ue-retry")
    assert created and not created_again and again.id == first.id
    expired = launch.make_token(
        user_id=world["player"].id,
        module_id=world["module"].id,
        assignment_id=world["assignment"].id,
        now=datetime.now(UTC) - timedelta(hours=2),
    )
    late, created_late = _start(session, world, expired, external="ue-retry")
    assert late.id == first.id and not created_late
    # Expired is still expired for anything that would start a new session.
    with pytest.raises(launch.LaunchRefused):
        _start(session, world, expired, external="ue-new")


# ------------------------------------------------------------------------------------- individuals


def _individual(session, tier: SubscriptionTier):
    return make_user(session, role=UserRole.individual, subscription_tier=tier)


def test_a_free_individual_plays_free_demos_only(session, world):
    free = _individual(session, SubscriptionTier.free)
    demo = make_module(session, world["sim"], title="Demo", is_free_demo=True)
    url = launch.launch(session=session, actor=actor_of(free), module_id=demo.id).url
    play, _ = _start(session, world, parse_qs(urlsplit(url).query)[launch.PARAMETER][0], module=demo)
    assert play.user_id == free.id and play.organization_id is None
    with pytest.raises(ValidationFailed, match="Pro"):
        launch.launch(session=session, actor=actor_of(free), module_id=world["module"].id)
    # The engine enforces the same rule: a token the console would never give is refused all the same.
    forged_by_ui = launch.make_token(user_id=free.id, module_id=world["module"].id)
    with pytest.raises(launch.LaunchRefused) as refused:
        _start(session, world, forged_by_ui)
    _refused(refused, "launch_token_not_allowed")
    assert "Pro" in refused.value.message


@pytest.mark.parametrize(
    "tier", [SubscriptionTier.pro_monthly, SubscriptionTier.pro_annual, SubscriptionTier.enterprise]
)
def test_paid_individuals_play_everything_published(session, world, tier):
    member = _individual(session, tier)
    url = launch.launch(session=session, actor=actor_of(member), module_id=world["module"].id).url
    play, created = _start(session, world, parse_qs(urlsplit(url).query)[launch.PARAMETER][0])
    assert created and play.user_id == member.id


def test_a_tier_lowered_after_launch_is_refused_at_start(session, world):
    member = _individual(session, SubscriptionTier.pro_monthly)
    token = launch.make_token(user_id=member.id, module_id=world["module"].id)
    member.subscription_tier = SubscriptionTier.free
    session.flush()
    with pytest.raises(launch.LaunchRefused) as refused:
        _start(session, world, token)
    _refused(refused, "launch_token_not_allowed")


def test_unpublished_modules_are_neither_listed_nor_launched(session, world):
    pro = _individual(session, SubscriptionTier.pro_annual)
    draft = make_simulation(session, status=SimulationStatus.draft, title="Not yet")
    hidden = make_module(session, draft)
    with pytest.raises(NotFound):
        launch.launch(session=session, actor=actor_of(pro), module_id=hidden.id)
    titles = {
        row.simulation_title
        for row in launch.list_catalogue(session=session, actor=actor_of(pro), query=ListQuery(limit=200)).rows
    }
    assert "Not yet" not in titles


def test_the_catalogue_marks_what_the_tier_opens(session, world):
    make_module(session, world["sim"], title="Demo", is_free_demo=True, sort_order=2)
    make_module(session, world["sim"], title="Unaddressed", is_free_demo=True, launch_url=None, sort_order=3)
    free = _individual(session, SubscriptionTier.free)
    query = ListQuery(search="Harbor Crisis", limit=50)
    rows = {r.title: r for r in launch.list_catalogue(session=session, actor=actor_of(free), query=query).rows}
    assert [t for t in rows] == ["Act One", "Act Two", "Demo", "Unaddressed"]  # the simulation's order
    assert rows["Demo"].launchable and not rows["Act One"].launchable and rows["Act One"].note.startswith("Pro")
    assert not rows["Unaddressed"].launchable and rows["Unaddressed"].note == launch.NO_LAUNCH_URL
    demos = launch.list_catalogue(
        session=session, actor=actor_of(free), query=ListQuery(search="Harbor", filters={"access": "free_demo"})
    )
    assert {r.title for r in demos.rows} == {"Demo", "Unaddressed"}
    with pytest.raises(ValidationFailed):
        launch.list_catalogue(session=session, actor=actor_of(free), query=ListQuery(filters={"access": "all"}))
    # Participants are assigned their work: the catalogue is not theirs.
    with pytest.raises(NotFound):
        launch.list_catalogue(session=session, actor=actor_of(world["player"]), query=query)


def test_assigned_modules_are_the_persons_own_only(session, world):
    other = make_user(session, role=UserRole.enterprise_participant, organization_id=world["player"].organization_id)
    ids = [world["assignment"].id]
    mine = launch.assigned_modules(session=session, actor=actor_of(world["player"]), assignment_ids=ids)
    assert [m.title for m in mine[str(world["assignment"].id)]] == ["Act One", "Act Two"]
    assert all(m.launchable for m in mine[str(world["assignment"].id)])
    assert launch.assigned_modules(session=session, actor=actor_of(other), assignment_ids=ids) == {}
