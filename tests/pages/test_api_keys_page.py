"""The API keys page: create (key shown once, working), list, revoke with confirmation, rotate."""

import asyncio

import pytest
from nicegui.testing import User
from sqlalchemy import select

from console import unit_of_work
from console.config import get_settings
from console.errors import Unauthenticated
from console.services import api_keys
from models import ApiKey
from models.enums import SimulationStatus, UserRole
from tests.factories import make_simulation, make_user
from tests.pages.test_login_and_shell import login
from tests.support import sign_out


@pytest.fixture
def people(database_url):
    with unit_of_work.transaction() as session:
        admin = make_user(session, role=UserRole.platform_admin, name="Pat Admin")
        org_admin = make_user(session, role=UserRole.enterprise_admin, name="Olga Org")
        sim = make_simulation(session, title="Harbor Crisis")
    return {"admin": admin, "org_admin": org_admin, "sim": sim}


def _authenticates(key: str) -> bool:
    try:
        with unit_of_work.transaction() as session:
            api_keys.authenticate(session=session, key=key)
        return True
    except Unauthenticated:
        return False


async def _wait_for(predicate, timeout: float = 3.0) -> None:
    for _ in range(int(timeout / 0.05)):
        if predicate():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("condition not met")


async def test_create_shows_the_key_once_and_it_works(user: User, people):
    await login(user, people["admin"].email)
    await user.open("/api-keys")
    await user.should_see("0 keys")
    user.find(marker="key-new").click()
    await user.should_see(marker="create-dialog")
    user.find(marker="field-name").type("Unity build server")
    user.find(marker="create-submit").click()  # both scopes are ticked: GET /modules works at once
    await user.should_see(marker="key-warning")
    await user.should_see("It is shown only once")
    key = user.find(marker="new-key").elements.pop().value
    assert key.startswith("sk_sim_")
    assert _authenticates(key)
    with unit_of_work.read_only() as session:
        row = session.scalar(select(ApiKey))
    assert row.scopes == ["game:write", "game:read"] and row.key_prefix == key[:15]
    await user.should_see("1 key")
    table = user.find(marker="key-table").elements.pop()
    assert table.rows[0]["key_prefix"] == f"{key[:15]}…"
    assert key not in str(table.rows)  # the list never holds the full key


async def test_create_with_binding_and_validation(user: User, people):
    await login(user, people["admin"].email)
    await user.open("/api-keys")
    user.find(marker="key-new").click()
    await user.should_see(marker="create-dialog")
    user.find(marker="create-submit").click()  # no name
    await user.should_see("a name is required")
    user.find(marker="field-name").type("Harbor only")
    select_element = user.find(marker="field-simulation_id").elements.pop()
    select_element.value = str(people["sim"].id)
    user.find(marker="create-submit").click()
    await user.should_see(marker="key-warning")
    await user.should_see("1 key")
    rows = user.find(marker="key-table").elements.pop().rows
    assert rows[0]["binding"] == "Simulation: Harbor Crisis" and rows[0]["status"] == "active"


async def test_revoke_needs_confirmation_and_takes_effect_at_once(user: User, people):
    with unit_of_work.transaction() as session:
        created = api_keys.create(session=session, actor=_system(), data={"name": "Old engine"})
    await login(user, people["admin"].email)
    await user.open("/api-keys")
    await user.should_see("1 key")
    row = user.find(marker="key-table").elements.pop().rows[0]
    user.find(marker="key-table").trigger("revoke", row)
    await user.should_see(marker="confirm-ok")
    user.find(marker="confirm-cancel").click()
    await asyncio.sleep(0.1)
    assert _authenticates(created.key)
    user.find(marker="key-table").trigger("revoke", row)
    await user.should_see(marker="confirm-ok")
    user.find(marker="confirm-ok").click()
    await _wait_for(lambda: not _authenticates(created.key))
    await _wait_for(lambda: user.find(marker="key-table").elements.pop().rows[0]["status"] == "revoked")


async def test_rotate_shows_a_new_key_and_the_old_keeps_working(user: User, people):
    with unit_of_work.transaction() as session:
        created = api_keys.create(session=session, actor=_system(), data={"name": "Unreal CI"})
    await login(user, people["admin"].email)
    await user.open("/api-keys")
    row = user.find(marker="key-table").elements.pop().rows[0]
    user.find(marker="key-table").trigger("rotate", row)
    await user.should_see(marker="confirm-ok")
    user.find(marker="confirm-ok").click()
    await user.should_see(marker="key-warning")
    new_key = user.find(marker="new-key").elements.pop().value
    assert new_key != created.key and _authenticates(new_key) and _authenticates(created.key)
    await user.should_see("2 keys")


async def test_other_roles_cannot_open_the_page(user: User, people):
    await login(user, people["org_admin"].email)
    await user.open("/api-keys")
    await user.should_see("There is nothing here, or you do not have access to it.")
    await user.should_not_see("New API key")


def _system():
    from console.auth import Actor

    return Actor.system("test")


async def test_developer_guide_for_studio_creators(user: User, database_url):
    with unit_of_work.transaction() as session:
        creator = make_user(session, role=UserRole.studio_creator)
        participant = make_user(session, role=UserRole.enterprise_participant)
    await login(user, creator.email)
    await user.open("/developers")
    await user.should_see("Engine API: your first five minutes")
    guide = user.find(marker="developer-guide").elements.pop().content
    assert "Authorization: Bearer sk_sim_" in guide and "UnityWebRequest" in guide and "FHttpModule" in guide
    assert "/api/v1/docs" in guide
    # Addresses as the page was opened (the test client's), not a configured or default one.
    base = str(user.http_client.base_url).rstrip("/")
    assert f"{base}/api/v1" in guide and "127.0.0.1:8080" not in guide
    # Examples that run as printed: ids made by Python, not `uuidgen`; a player the demo has.
    assert "uuidgen" not in guide and "solo0@mail.example" in guide
    await user.should_see(marker="nav-developers")
    await sign_out(user.http_client)
    await login(user, participant.email)
    await user.open("/developers")
    await user.should_see("There is nothing here, or you do not have access to it.")


async def test_a_studio_creator_makes_test_keys_of_their_own_simulations(user: User, database_url):
    with unit_of_work.transaction() as session:
        creator = make_user(session, role=UserRole.studio_creator, name="Cleo Creator")
        mine = make_simulation(session, author=creator, title="Night Shift")
        make_simulation(session, title="Somebody Else's")
        live = api_keys.create(session=session, actor=_system(), data={"name": "Live one", "simulation_id": mine.id})
    await login(user, creator.email)
    await user.open("/api-keys")
    await user.should_see("0 keys")  # a live key of their simulation is the platform's, not theirs
    user.find(marker="key-new").click()
    await user.should_see(marker="create-dialog")
    user.find(marker="field-name").type("Night Shift QA")
    user.find(marker="create-submit").click()
    await user.should_see(marker="key-warning")
    key = user.find(marker="new-key").elements.pop().value
    assert key.startswith("sk_sim_test_") and _authenticates(key)
    with unit_of_work.read_only() as session:
        row = session.scalar(select(ApiKey).where(ApiKey.id != live.api_key.id))
    assert row.is_test and row.simulation_id == mine.id and row.organization_id is None
    assert row.scopes == ["game:write", "game:read"]  # the README's first step (GET /modules) works
    await user.should_see("1 key")
    rows = user.find(marker="key-table").elements.pop().rows
    assert rows[0]["kind"] == "Test" and rows[0]["binding"] == "Simulation: Night Shift"


def _refuse(key: str, message: str) -> None:
    from console.services import rejections

    refusal = rejections.Refusal(
        key_hash=api_keys.hash_key(key), method="POST", path="/api/v1/events", status=422,
        code="validation_failed", message=message, details={"events.0.type": "unknown"},
        excerpt='{"type":"jump"}', session_ref="ext-7", client_address="203.0.113.9",
    )  # fmt: skip
    with unit_of_work.transaction() as session:
        assert rejections.record(session=session, refusal=refusal, keep=500, days=7) is not None


async def test_a_keys_refused_requests_are_listed_newest_first_and_arrive_live(user: User, people):
    with unit_of_work.transaction() as session:
        created = api_keys.create(session=session, actor=_system(), data={"name": "Unity CI"})
    _refuse(created.key, "An event's type is unknown.")
    await login(user, people["admin"].email)
    await user.open("/api-keys")
    rows = user.find(marker="key-table").elements.pop().rows
    assert rows[0]["last_error"].startswith("422 validation_failed") and rows[0]["last_used_at"] != "—"
    await user.open(f"/api-keys/{created.api_key.id}/rejections")
    await user.should_see("1 refused request")
    row = user.find(marker="rejection-table").elements.pop().rows[0]
    assert row["excerpt"] == '{"type":"jump"}' and row["session"] == "ext-7" and row["status"] == 422
    _refuse(created.key, "Second refusal.")
    await user.should_see("2 refused requests", retries=100)
    assert user.find(marker="rejection-table").elements.pop().rows[0]["message"] == "Second refusal."


async def test_a_new_key_reads_and_writes_unless_told_otherwise(user: User, people):
    await login(user, people["admin"].email)
    await user.open("/api-keys")
    user.find(marker="key-new").click()
    await user.should_see(marker="create-dialog")
    assert user.find(marker="scope-write").elements.pop().value is True
    assert user.find(marker="scope-read").elements.pop().value is True


def _choices(user: User) -> dict:
    return dict(user.find(marker="field-simulation_id").elements.pop().options)


async def test_a_studio_creator_picks_among_all_their_simulations_and_no_any(user: User, database_url):
    with unit_of_work.transaction() as session:
        creator = make_user(session, role=UserRole.studio_creator, name="Cleo Creator")
        mine = {
            str(make_simulation(session, author=creator, title=title, status=status).id): f"{title} ({status.value})"
            for title, status in (
                ("Alpha Published", SimulationStatus.published),
                ("Beta Staged", SimulationStatus.staged),
                ("Gamma Draft", SimulationStatus.draft),
            )
        }
        make_simulation(session, title="Somebody Else's")
    await login(user, creator.email)
    await user.open("/api-keys")
    user.find(marker="key-new").click()
    await user.should_see(marker="create-dialog")
    picker = user.find(marker="field-simulation_id").elements.pop()
    assert _choices(user) == mine  # all of theirs, and no "Any simulation" (the service refuses it)
    assert picker.value is None  # with several, none is chosen for them
    # The select fills its input with the chosen label and reports it as typed text: not a search.
    picker.value = next(iter(mine))
    user.find(marker="field-simulation_id").trigger("inputValue", mine[picker.value])
    await asyncio.sleep(0.2)
    assert _choices(user) == mine
    await asyncio.sleep(0.3)  # past the picker's throttle
    user.find(marker="field-simulation_id").trigger("inputValue", "Gamma")  # typing still searches
    gamma = next(k for k, v in mine.items() if v.startswith("Gamma"))
    await _wait_for(lambda: set(_choices(user)) == {picker.value, gamma})
    picker.value = None
    user.find(marker="field-name").type("No simulation")
    user.find(marker="create-submit").click()
    await user.should_see("choose one of your simulations")


async def test_an_admins_picker_offers_every_simulation_with_any_chosen(user: User, people):
    await login(user, people["admin"].email)
    await user.open("/api-keys")
    user.find(marker="key-new").click()
    await user.should_see(marker="create-dialog")
    expected = {"": "Any simulation", str(people["sim"].id): "Harbor Crisis (draft)"}
    assert _choices(user) == expected
    user.find(marker="field-simulation_id").trigger("inputValue", "Any simulation")  # the filled input
    await asyncio.sleep(0.2)
    assert _choices(user) == expected


async def test_the_inbox_says_which_refusals_are_not_kept(user: User, people):
    with unit_of_work.transaction() as session:
        created = api_keys.create(session=session, actor=_system(), data={"name": "Unity CI"})
    await login(user, people["admin"].email)
    await user.open(f"/api-keys/{created.api_key.id}/rejections")
    settings = get_settings()
    await user.should_see(f"newest {settings.api_rejections_per_key} of the last {settings.api_rejections_days} days")
    note = user.find(marker="inbox-rate-note").elements.pop().text
    assert f"keeps at most {settings.api_rejections_per_key_second} refusals a second for one key" in note
    assert "not listed here" in note
