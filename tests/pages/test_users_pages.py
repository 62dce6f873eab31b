"""The Users page (platform admins): the list and its filters, New user, Change role with the rules'
refusals shown in the dialog, deactivation with confirmation, and access re-checked on each action."""

from __future__ import annotations

import asyncio
import time

import pytest
from nicegui.testing import User
from sqlalchemy import func, select

from console import unit_of_work
from console.services import accounts, users
from models import LoginSession, OrgMembership
from models import User as UserRow
from models.enums import MembershipRole, UserRole
from tests.factories import actor_of, make_org, make_user
from tests.pages.test_login_and_shell import login


@pytest.fixture
def crowd(database_url):
    with unit_of_work.transaction() as session:
        admin = make_user(session, role=UserRole.platform_admin, name="Pat Admin")
        second = make_user(session, role=UserRole.platform_admin, name="Sky Admin")
        acme = make_org(session, name="Acme Corp")
        olga = make_user(session, role=UserRole.enterprise_admin, name="Olga Org", organization_id=acme.id)
        session.add(OrgMembership(user_id=olga.id, organization_id=acme.id, role=MembershipRole.admin))
        solo = make_user(session, role=UserRole.individual, name="Solo Player")
        creator = make_user(session, role=UserRole.studio_creator, name="Cleo Creator")
    return {"admin": admin, "second": second, "acme": acme, "olga": olga, "solo": solo, "creator": creator}


def _rows(user: User) -> list[dict]:
    return user.find(marker="user-table").elements.pop().rows


def _row(user: User, name: str) -> dict:
    return next(r for r in _rows(user) if r["name"] == name)


async def _wait_for(predicate, timeout: float = 5.0) -> None:  # noqa: ANN001
    for _ in range(int(timeout / 0.05)):
        if predicate():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("condition not met")


def _stored(user_id) -> UserRow:  # noqa: ANN001
    with unit_of_work.read_only() as session:
        return session.get(UserRow, user_id)


async def _open(user: User, crowd, url: str = "/users") -> None:  # noqa: ANN001
    await login(user, crowd["admin"].email)
    await user.open(url)
    await user.should_see(marker="user-table", retries=80)


async def test_the_list_shows_everyone_and_filters_from_the_url(user: User, crowd):
    await _open(user, crowd)
    await user.should_see("5 people")
    olga = _row(user, "Olga Org")
    assert (olga["organization"], olga["role"], olga["status"]) == ("Acme Corp", "Enterprise admin", "active")
    assert _row(user, "Solo Player")["organization"] == "—"
    assert _row(user, "Pat Admin")["self"] is True  # no role change or deactivation of yourself offered

    await user.open("/users?organization=none&sort=name&desc=0")
    await user.should_see("4 people")
    assert "Olga Org" not in [r["name"] for r in _rows(user)]
    picker = user.find(marker="filter-organization").elements.pop()
    assert picker.value == "none" and "No organization" in picker.options["none"]

    await user.open(f"/users?organization={crowd['acme'].id}")
    await user.should_see("1 person")
    assert user.find(marker="filter-organization").elements.pop().options[str(crowd["acme"].id)] == "Acme Corp"

    await user.open("/users?role=individual")
    await user.should_see("1 person")
    assert _rows(user)[0]["name"] == "Solo Player"


async def test_new_user_shows_errors_inline_and_creates_the_person(user: User, crowd):
    await _open(user, crowd)
    user.find(marker="user-new").click()
    await user.should_see(marker="create-dialog")
    user.find(marker="field-name").type("Nia New")
    user.find(marker="field-email").type("not-an-email")
    user.find(marker="create-submit").click()
    await _wait_for(lambda: "email" in user.find(marker="field-email").elements.pop().props.get("error-message", ""))
    email = user.find(marker="field-email").elements.pop()
    email.value = crowd["solo"].email.upper()  # someone has it already
    user.find(marker="create-submit").click()
    await _wait_for(
        lambda: user.find(marker="field-email").elements.pop().props.get("error-message") == "already in use"
    )
    email.value = "nia@new.example"
    user.find(marker="field-role").elements.pop().value = "enterprise_participant"
    user.find(marker="create-submit").click()  # an enterprise role without an organization
    await _wait_for(lambda: user.find(marker="field-organization_id").elements.pop().props.get("error-message"))
    picker = user.find(marker="field-organization_id").elements.pop()
    await _wait_for(lambda: str(crowd["acme"].id) in picker.options)
    picker.value = str(crowd["acme"].id)
    user.find(marker="create-submit").click()
    await user.should_see("6 people", retries=80)
    with unit_of_work.read_only() as session:
        created = session.scalar(select(UserRow).where(UserRow.email == "nia@new.example"))
        membership = session.scalar(select(OrgMembership).where(OrgMembership.user_id == created.id))
    assert created.organization_id == crowd["acme"].id and membership.role is MembershipRole.participant


async def test_change_role_shows_the_rules_refusal_in_the_dialog_then_saves(user: User, crowd):
    await _open(user, crowd)
    user.find(marker="user-table").trigger("change_role", _row(user, "Solo Player"))
    await user.should_see(marker="role-dialog")
    user.find(marker="field-role").elements.pop().value = "enterprise_admin"
    user.find(marker="role-save").click()
    refusal = "Solo Player is not a member of an organization. Add them to one in its People page first."
    role = user.find(marker="field-role").elements.pop()
    await _wait_for(lambda: role.props.get("error-message") == refusal)  # under the role, in the dialog
    assert _stored(crowd["solo"].id).role is UserRole.individual

    user.find(marker="field-role").elements.pop().value = "studio_creator"
    user.find(marker="role-save").click()
    await _wait_for(lambda: _stored(crowd["solo"].id).role is UserRole.studio_creator)
    await _wait_for(lambda: _row(user, "Solo Player")["role"] == "Studio creator")


async def test_change_role_from_an_older_copy_asks_before_overwriting(user: User, crowd):
    await _open(user, crowd)
    user.find(marker="user-table").trigger("change_role", _row(user, "Cleo Creator"))
    await user.should_see(marker="role-dialog")
    with unit_of_work.transaction() as session:  # another admin changes Cleo's role meanwhile
        users.change_role(
            session=session, actor=actor_of(crowd["second"]), user_id=crowd["creator"].id,
            role=UserRole.individual, version=1,
        )  # fmt: skip
    user.find(marker="field-role").elements.pop().value = "platform_admin"
    user.find(marker="role-save").click()
    await user.should_see(marker="stale-message")
    await user.should_see("Sky Admin changed this person")
    user.find(marker="stale-overwrite").click()
    await _wait_for(lambda: _stored(crowd["creator"].id).role is UserRole.platform_admin)


async def test_deactivate_asks_first_then_ends_their_logins(user: User, crowd):
    with unit_of_work.transaction() as session:
        token = accounts.start_login_session(
            session=session, user_id=crowd["creator"].id, lifetime_seconds=3600, method="password"
        )
    await _open(user, crowd)
    row = _row(user, "Cleo Creator")
    user.find(marker="user-table").trigger("deactivate", row)
    await user.should_see(marker="confirm-ok")
    user.find(marker="confirm-cancel").click()
    await asyncio.sleep(0.2)
    assert _stored(crowd["creator"].id).deactivated_at is None

    user.find(marker="user-table").trigger("deactivate", row)
    await user.should_see(marker="confirm-ok")
    user.find(marker="confirm-ok").click()
    await _wait_for(lambda: _stored(crowd["creator"].id).deactivated_at is not None)
    await _wait_for(lambda: _row(user, "Cleo Creator")["status"] == "deactivated")
    with unit_of_work.read_only() as session:
        assert accounts.actor_for_token(session=session, token=token) is None
        open_logins = session.scalar(
            select(func.count())
            .select_from(LoginSession)
            .where(LoginSession.user_id == crowd["creator"].id, LoginSession.revoked_at.is_(None))
        )
    assert open_logins == 0

    user.find(marker="user-table").trigger("reactivate", _row(user, "Cleo Creator"))
    await user.should_see(marker="confirm-ok")
    user.find(marker="confirm-ok").click()
    await _wait_for(lambda: _stored(crowd["creator"].id).deactivated_at is None)


async def test_bulk_deactivation_says_who_was_refused_and_why(user: User, crowd):
    await _open(user, crowd)
    chosen = [_row(user, "Pat Admin"), _row(user, "Solo Player"), _row(user, "Sky Admin")]
    user.find(marker="user-table").trigger(
        "selection", {"added": True, "rows": chosen, "keys": [r["id"] for r in chosen]}
    )
    await user.should_see("3 selected")
    user.find(marker="bulk-deactivate").click()
    await user.should_see("Deactivate 3 people (Pat Admin, Solo Player, Sky Admin)?")
    user.find(marker="confirm-ok").click()
    await user.should_see(marker="bulk-refused")
    await user.should_see("Pat Admin: You cannot deactivate yourself: ask another platform admin.")
    assert _stored(crowd["solo"].id).deactivated_at is not None
    assert _stored(crowd["second"].id).deactivated_at is not None
    assert _stored(crowd["admin"].id).deactivated_at is None


async def test_a_person_deactivated_while_their_page_is_open_is_sent_to_sign_in(user: User, crowd):
    await _open(user, crowd)
    row = _row(user, "Solo Player")
    with unit_of_work.transaction() as session:  # another admin deactivates the viewer
        users.deactivate(session=session, actor=actor_of(crowd["second"]), user_id=crowd["admin"].id)
    user.find(marker="user-table").trigger("deactivate", row)
    await user.should_see(marker="confirm-ok")
    user.find(marker="confirm-ok").click()
    await user.should_see(marker="login-email", retries=80)
    assert _stored(crowd["solo"].id).deactivated_at is None  # nothing done


async def test_other_roles_cannot_open_the_page(user: User, crowd):
    await login(user, crowd["olga"].email)
    await user.open("/users")
    await user.should_not_see(marker="user-table")


async def test_the_organization_filter_offers_organizations_when_opened_and_the_latest_search(
    user: User, crowd, monkeypatch
):
    with unit_of_work.transaction() as session:
        make_org(session, name="Zeta Works")
    searched = users.organization_options
    answered: list[str] = []

    def slow_for_zeta(**kwargs):  # noqa: ANN003, ANN202
        if kwargs.get("search") == "Zeta":
            time.sleep(1.0)
        found = searched(**kwargs)
        answered.append(kwargs.get("search", ""))
        return found

    monkeypatch.setattr(users, "organization_options", slow_for_zeta)
    await _open(user, crowd)
    picker = user.find(marker="filter-organization")
    element = next(iter(picker.elements))
    names = lambda: set(element.options.values())  # noqa: E731

    # Opened, the select reports its own chosen label ("Any") as typed: that is no search for "Any".
    before = len(answered)
    picker.trigger("inputValue", "Any")
    await _wait_for(lambda: len(answered) > before)
    await asyncio.sleep(0.1)
    assert answered[-1] == ""
    assert {"Acme Corp", "Zeta Works"} <= names()

    # A slow answer to an earlier search does not replace the answer to what was typed last.
    await asyncio.sleep(0.35)  # past the picker's throttle
    picker.trigger("inputValue", "Zeta")
    await asyncio.sleep(0.35)
    picker.trigger("inputValue", "Acme")
    await _wait_for(lambda: answered[-1:] == ["Zeta"])  # the slow answer came back last
    await asyncio.sleep(0.1)
    assert "Acme Corp" in names() and "Zeta Works" not in names()


async def test_a_choice_clicked_as_a_search_answered_is_the_one_clicked(user: User, crowd):
    with unit_of_work.transaction() as session:
        zeta = make_org(session, name="Zeta Works")
    await _open(user, crowd)
    picker = user.find(marker="filter-organization")
    element = next(iter(picker.elements))
    picker.trigger("inputValue", "")
    await _wait_for(lambda: {"Acme Corp", "Zeta Works"} <= set(element.options.values()))
    await asyncio.sleep(0.35)  # past the picker's throttle
    picker.trigger("inputValue", "Zeta")
    await _wait_for(lambda: "Acme Corp" not in element.options.values())
    # The browser clicked "Acme Corp" in the list it showed before the answer for "Zeta" arrived: it
    # names it by its place there, which is Zeta Works' place now (or no place at all).
    place = list(element.options.values()).index("Zeta Works")
    picker.trigger("update:modelValue", {"value": place, "label": "Acme Corp"})
    await _wait_for(lambda: element.value == str(crowd["acme"].id))
    picker.trigger("update:modelValue", {"value": 99, "label": "Zeta Works"})
    await _wait_for(lambda: element.value == str(zeta.id))
