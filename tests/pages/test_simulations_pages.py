"""The simulations list and editor through NiceGUI's simulated user."""

import pytest
from nicegui.testing import User
from sqlalchemy import select

from console import unit_of_work
from models import AuditAction, Simulation
from models.enums import SimulationStatus, UserRole
from tests.factories import PASSWORD, make_simulation, make_user
from tests.support import sign_in


@pytest.fixture
def creator(database_url):
    with unit_of_work.transaction() as session:
        creator = make_user(session, role=UserRole.studio_creator)
        other = make_user(session, role=UserRole.studio_creator)
        make_simulation(session, author=creator, title="Alpha Draft", category="Ethics")
        make_simulation(session, author=other, title="Hidden Draft")
        make_simulation(session, author=other, title="Beta Published", status=SimulationStatus.published)
    return creator


def listed_titles(user: User) -> set[str]:
    table = user.find(marker="sim-table").elements.pop()
    return {row["title"] for row in table.rows}


async def login_as(user: User, account) -> None:
    await sign_in(user.http_client, account.email, PASSWORD)


async def test_list_shows_only_what_the_creator_may_see(user: User, creator):
    await login_as(user, creator)
    await user.open("/simulations")
    await user.should_see("2 simulations")
    assert listed_titles(user) == {"Alpha Draft", "Beta Published"}


async def test_filters_come_from_the_url(user: User, creator):
    await login_as(user, creator)
    await user.open("/simulations?status=published")
    await user.should_see("1 simulation")
    assert listed_titles(user) == {"Beta Published"}
    await user.open("/simulations?search=alpha")
    await user.should_see("1 simulation")
    assert listed_titles(user) == {"Alpha Draft"}
    await user.open("/simulations?status=bogus&size=999999&page=-3")  # nonsense is ignored, not a 500
    await user.should_see("2 simulations")
    # A page number past 64 bits reached the browser's JSON (orjson) and failed the page with a 500.
    await user.open("/simulations?page=99999999999999999999999999&size=99999999999999999999999")
    await user.should_see("2 simulations")


async def test_create_form_shows_errors_inline_then_saves(user: User, creator):
    await login_as(user, creator)
    await user.open("/simulations/new")
    user.find(marker="field-thumbnail_url").type("javascript:alert(1)")
    user.find(marker="sim-save").click()
    await user.should_see("a title is required")
    title_field = user.find(marker="field-title").elements.pop()
    assert title_field.props.get("error") is True
    url_field = user.find(marker="field-thumbnail_url").elements.pop()
    assert "http(s) URL" in url_field.props.get("error-message")
    user.find(marker="field-thumbnail_url").clear()
    user.find(marker="field-title").type("Board Under Fire")
    user.find(marker="sim-save").click()
    await user.should_see("Created")
    with unit_of_work.read_only() as session:
        sim = session.scalar(select(Simulation).where(Simulation.title == "Board Under Fire"))
    assert sim.author_id == creator.id and sim.slug == "board-under-fire"


async def test_another_creators_draft_is_not_found(user: User, creator):
    with unit_of_work.read_only() as session:
        hidden = session.scalar(select(Simulation).where(Simulation.title == "Hidden Draft"))
    await login_as(user, creator)
    await user.open(f"/simulations/{hidden.id}")
    await user.should_see(marker="not-found")
    await user.open("/simulations/not-a-uuid")
    await user.should_see(marker="not-found")


async def test_published_simulation_is_read_only(user: User, creator):
    with unit_of_work.read_only() as session:
        published = session.scalar(select(Simulation).where(Simulation.title == "Beta Published"))
    await login_as(user, creator)
    await user.open(f"/simulations/{published.id}")
    await user.should_see(marker="sim-readonly")
    await user.should_not_see(marker="sim-save")
    for field in ("title", "category", "description", "thumbnail_url", "skill_tags"):
        assert not user.find(marker=f"field-{field}").elements.pop().enabled


async def test_saved_change_appears_in_the_audit_log(user: User, database_url):
    with unit_of_work.transaction() as session:
        admin = make_user(session, role=UserRole.platform_admin)
        sim = make_simulation(session, author=admin, title="Audited")
    await login_as(user, admin)
    await user.open(f"/simulations/{sim.id}")
    user.find(marker="field-category").type("Governance")
    user.find(marker="sim-save").click()
    await user.should_see("Saved.")
    await user.open("/audit?entity_type=simulation")
    table = user.find(marker="audit-table").elements.pop()
    await user.should_see(marker="audit-table")
    assert any(r["action"] == AuditAction.simulation_update.label and "Governance" in r["change"] for r in table.rows)
