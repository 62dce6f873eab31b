"""The catalogue (/catalogue) for individuals, and the Launch buttons it shares with /my."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from nicegui.testing import User

from console import unit_of_work
from console.services import launch
from models.enums import SimulationStatus, SubscriptionTier, UserRole
from tests.factories import PASSWORD, make_module, make_simulation, make_user
from tests.support import sign_in, wait_until_async


@pytest.fixture
def shelf(database_url):
    """One published simulation (a free demo, a Pro module, a demo without a launch address), a draft."""
    with unit_of_work.transaction() as s:
        sim = make_simulation(s, status=SimulationStatus.published, title="Harbor Crisis")
        demo = make_module(s, sim, title="Opening demo", is_free_demo=True, launch_url="https://play.example/h?lang=en")
        full = make_module(s, sim, title="Full negotiation", sort_order=1)
        make_module(s, sim, title="Unbuilt demo", is_free_demo=True, launch_url=None, sort_order=2)
        make_module(s, make_simulation(s, status=SimulationStatus.draft, title="Secret draft"), title="Hidden")
    return {"sim": sim, "demo": demo, "full": full}


async def _as(user: User, role: UserRole, **overrides):
    with unit_of_work.transaction() as s:
        person = make_user(s, role=role, **overrides)
    await sign_in(user.http_client, person.email, PASSWORD)
    return person


def _rows(user: User) -> dict[str, dict]:
    return {r["module"]: r for r in user.find(marker="catalogue-table").elements.pop().rows}


def _empty_message(user: User) -> str:
    """What the assignments list says when it is empty (Quasar draws it from the table's prop)."""
    return user.find(marker="my-assignments-table").elements.pop().props["no-data-label"]


def _capture_launches(user: User, monkeypatch) -> list[tuple[str, bool]]:
    opened: list[tuple[str, bool]] = []
    monkeypatch.setattr(user.navigate, "to", lambda target, new_tab=False: opened.append((target, new_tab)))
    return opened


async def test_a_free_individual_launches_free_demos_and_sees_pro_for_the_rest(user: User, shelf, monkeypatch):
    me = await _as(user, UserRole.individual, subscription_tier=SubscriptionTier.free)
    await user.open("/catalogue")
    await user.should_see(marker="catalogue-plan")
    await user.should_see("Your plan: Free. Free demo modules are yours to play; modules marked Pro need a Pro")
    rows = _rows(user)
    assert set(rows) == {"Opening demo", "Full negotiation", "Unbuilt demo"}  # published only
    assert rows["Opening demo"]["launchable"] and rows["Opening demo"]["access"] == "Free demo"
    assert not rows["Full negotiation"]["launchable"] and rows["Full negotiation"]["access"] == "Pro"
    assert "Pro subscription" in rows["Full negotiation"]["note"]
    assert not rows["Unbuilt demo"]["launchable"] and rows["Unbuilt demo"]["note"] == "No launch address yet"

    opened = _capture_launches(user, monkeypatch)
    user.find(marker="catalogue-table").trigger("launch", rows["Opening demo"])
    await wait_until_async(lambda: opened, what="the launch URL to open")
    url, new_tab = opened[0]
    assert new_tab and url.startswith("https://play.example/h?lang=en&simvado_launch=")
    claims = launch.read_token(parse_qs(urlsplit(url).query)["simvado_launch"][0])
    assert (claims.user_id, claims.module_id, claims.assignment_id) == (me.id, shelf["demo"].id, None)

    # A Launch for a Pro module sent anyway (the button is not there) is refused on the server.
    user.find(marker="catalogue-table").trigger("launch", rows["Full negotiation"])
    await user.should_see("needs a Pro subscription")
    assert len(opened) == 1


async def test_a_pro_individual_launches_every_published_module(user: User, shelf, monkeypatch):
    await _as(user, UserRole.individual, subscription_tier=SubscriptionTier.pro_annual)
    await user.open("/catalogue?search=negotiation")  # the view is in the URL
    await user.should_see("Every published module is yours to play.")
    await user.should_see("1 module")
    row = _rows(user)["Full negotiation"]
    assert row["launchable"] and row["access"] == "Included"
    opened = _capture_launches(user, monkeypatch)
    user.find(marker="catalogue-table").trigger("launch", row)
    await wait_until_async(lambda: opened, what="the launch URL to open")
    assert "simvado_launch=" in opened[0][0]


async def test_the_catalogue_is_in_an_individuals_navigation_only(user: User, shelf):
    await _as(user, UserRole.individual)
    await user.open("/my")
    await user.should_see(marker="nav-catalogue")
    assert "choose what to play from the Catalogue" in _empty_message(user)
    await user.should_see("Launch a simulation from the Catalogue to start.")


async def test_a_participant_is_sent_to_their_assignments(user: User, shelf):
    await _as(user, UserRole.enterprise_participant)
    await user.open("/my")
    await user.should_not_see(marker="nav-catalogue")
    assert "Your organization's admin assigns simulations here." in _empty_message(user)
    await user.open("/catalogue")
    await user.should_see(marker="catalogue-not-yours")
    await user.should_not_see(marker="catalogue-table")


async def test_the_catalogue_shows_the_individuals_own_results(user: User, shelf):
    from models import PlaySession
    from models.enums import SessionStatus

    me = await _as(user, UserRole.individual)
    with unit_of_work.transaction() as s:
        s.add(PlaySession(user_id=me.id, module_id=shelf["demo"].id, status=SessionStatus.completed))
    await user.open("/catalogue")
    await user.should_see("1–1 of 1 sessions, newest first")
    await user.should_see(marker="my-result")
