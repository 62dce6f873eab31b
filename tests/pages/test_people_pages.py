"""The people pages through NiceGUI's simulated user, and the members CSV upload endpoint."""

from __future__ import annotations

import pytest
from nicegui.testing import User
from sqlalchemy import func, select

from console import unit_of_work
from console.services.people import invitations, members
from models import MemberImport, MembershipRole, OrgMembership, UserRole
from models import User as UserRow
from tests.factories import actor_of, make_org, make_user
from tests.pages.test_login_and_shell import login
from tests.support import sign_in, sign_out, upload_through_page, wait_until_async


@pytest.fixture
def world(database_url):
    with unit_of_work.transaction() as session:
        org = make_org(session, name="Acme Corp", seat_limit=3)
        other = make_org(session, name="Globex")
        admin = make_user(session, role=UserRole.enterprise_admin, organization_id=org.id, name="Olga Org")
        session.add(OrgMembership(user_id=admin.id, organization_id=org.id, role=MembershipRole.admin))
        outsider = make_user(session, role=UserRole.enterprise_admin, organization_id=other.id)
        platform = make_user(session, role=UserRole.platform_admin, name="Pat Platform")
    return {"org": org, "other": other, "admin": admin, "outsider": outsider, "platform": platform}


@pytest.fixture(autouse=True)
async def _settle(user: User):
    """Let handlers still running at the end of a test finish before the app and database go away."""
    yield
    from nicegui import background_tasks

    def ours(task) -> bool:  # noqa: ANN001
        name = task.get_name()
        return not (name.startswith(("refresh bindings", "outbox loop")) or "prune" in name)

    await wait_until_async(
        lambda: not any(ours(t) and not t.done() for t in background_tasks.running_tasks),
        what="the test's page handlers to finish",
        timeout=10,
    )


def _count(model, *where) -> int:  # noqa: ANN001
    with unit_of_work.read_only() as session:
        return session.scalar(select(func.count()).select_from(model).where(*where))


async def _fill_member(user: User, email: str, name: str) -> None:
    await user.should_see(marker="field-email", retries=40)  # the dialog is drawn by a handler
    user.find(marker="field-email").type(email)
    user.find(marker="field-name").type(name)
    user.find(marker="member-submit").click()


async def test_admin_adds_members_until_the_seats_run_out(user: User, world):
    await login(user, world["admin"].email)
    await user.open("/people")
    await user.should_see("1 member", retries=80)
    await user.should_see("0 / 3 used")  # the admin takes no seat
    user.find(marker="member-new").click()
    await user.should_see(marker="add-dialog")
    user.find(marker="member-submit").click()  # nothing filled in: refused in place
    await user.should_see("a name is required", retries=40)
    await _fill_member(user, "dana@example.com", "Dana")
    await user.should_see("Added dana@example.com.", retries=80)
    await user.should_see("2 members", retries=40)
    await user.should_see(marker="seats-bar")
    for email, name in (("eli@example.com", "Eli"), ("fay@example.com", "Fay")):
        user.find(marker="member-new").click()
        await _fill_member(user, email, name)
        await user.should_see(f"Added {email}.", retries=80)
    await user.should_see("3 / 3 used", retries=80)
    await user.should_see(marker="seats-bar-warning")
    user.find(marker="member-new").click()
    await _fill_member(user, "gus@example.com", "Gus")
    await user.should_see("No seat left: 1 missing", retries=80)
    assert _count(UserRow, UserRow.email == "gus@example.com") == 0


async def test_invite_shows_the_link_once_and_it_sets_a_password(user: User, world, monkeypatch):
    # The lead adds "/invite/" to console/auth/web.py's PUBLIC_PREFIXES; until then this test does.
    monkeypatch.setattr("console.auth.web.PUBLIC_PREFIXES", ("/_nicegui/", "/invite/"))
    await login(user, world["admin"].email)
    await user.open("/people")
    user.find(marker="invite-open").click()
    await user.should_see(marker="invite-dialog", retries=40)
    await _fill_member(user, "newbie@example.com", "Nina Newbie")
    await user.should_see(marker="link-warning", retries=80)
    await user.should_see("It is shown only once")
    link = user.find(marker="invite-url").elements.pop().value
    assert "/invite/" in link and link.startswith("http")
    await user.should_see("Nina Newbie <newbie@example.com>", retries=40)  # among the open invitations
    token = link.rsplit("/", 1)[1]
    await sign_out(user.http_client)
    await user.open(f"/invite/{token}")
    await user.should_see("Welcome, Nina Newbie", retries=40)
    user.find(marker="field-password").type("short")
    user.find(marker="field-repeated").type("short")
    user.find(marker="invite-submit").click()
    await user.should_see("At least 10 characters.", retries=40)
    user.find(marker="field-password").clear().type("a long enough password")
    user.find(marker="field-repeated").clear().type("a long enough password")
    user.find(marker="invite-submit").click()
    await user.should_see(marker="invite-done", retries=80)
    response = await sign_in(user.http_client, "newbie@example.com", "a long enough password")
    assert response.headers["location"] == "/"
    await user.open(f"/invite/{token}")  # used: the one message every bad link gets
    await user.should_see(invitations.BAD_LINK, retries=40)


async def test_a_bad_link_gets_one_plain_message(user: User, world, monkeypatch):
    monkeypatch.setattr("console.auth.web.PUBLIC_PREFIXES", ("/_nicegui/", "/invite/"))
    await user.open("/invite/not-a-real-token")
    await user.should_see(invitations.BAD_LINK, retries=40)


async def test_platform_admin_chooses_the_organization(user: User, world):
    with unit_of_work.transaction() as session:
        members.add(session=session, actor=actor_of(world["outsider"]), organization_id=None,
                    data={"email": "g@example.com", "name": "Gus Globex"})  # fmt: skip
    await login(user, world["platform"].email)
    await user.open("/people")
    await user.should_see(marker="choose-org", retries=40)
    await user.open(f"/people?organization={world['other'].id}")
    await user.should_see("1 member", retries=80)
    assert user.find(marker="member-table").elements.pop().rows[0]["name"] == "Gus Globex"
    await user.open(f"/people/departments?organization={world['other'].id}")
    await user.should_see(marker="departments", retries=80)


async def test_enterprise_admin_cannot_reach_another_organization(user: User, world):
    await login(user, world["admin"].email)
    await user.open(f"/people?organization={world['other'].id}")
    await user.should_see("Acme Corp", retries=40)  # their own: the parameter means nothing to them
    await user.should_see("1 member", retries=80)


async def test_participants_cannot_open_people(user: User, world):
    with unit_of_work.transaction() as session:
        part = make_user(session, role=UserRole.enterprise_participant, organization_id=world["org"].id)
    await login(user, part.email)
    await user.open("/people")
    await user.should_see(marker="not-found", retries=40)


async def test_remove_with_confirmation_frees_the_seat(user: User, world):
    with unit_of_work.transaction() as session:
        members.add(session=session, actor=actor_of(world["admin"]), organization_id=None,
                    data={"email": "leo@example.com", "name": "Leo"})  # fmt: skip
    await login(user, world["admin"].email)
    await user.open("/people?search=leo")
    await user.should_see("1 member", retries=80)
    row = user.find(marker="member-table").elements.pop().rows[0]
    user.find(marker="member-table").trigger("remove", row)
    await user.should_see(marker="confirm-ok", retries=40)
    user.find(marker="confirm-ok").click()
    await user.should_see("Removed 1 member.", retries=80)
    assert _count(OrgMembership, OrgMembership.organization_id == world["org"].id) == 1


async def test_import_page_dry_run_then_confirm(user: User, world):
    await login(user, world["admin"].email)
    await user.open("/people/import")
    await user.should_see(marker="import-upload", retries=40)
    four = b"email,name,role,department\n" + b"".join(b"p%d@example.com,P %d,,Sales\n" % (n, n) for n in range(4))
    four += b"p9@example.com,P 9,owner,\n"
    response = await upload_through_page(user, "people.csv", four, marker="import-upload")
    assert response.status_code == 201
    await user.should_see(marker="seats-missing", retries=80)
    await user.should_see("unknown role: 1")
    assert not user.find(marker="import-confirm").elements.pop().enabled
    two = b"email,name,role,department\np0@example.com,P 0,,Sales\np1@example.com,P 1,admin,\n"  # 1 seat needed
    response = await upload_through_page(user, "fixed.csv", two, marker="import-upload")
    await user.should_see("fixed.csv", retries=80)
    await user.should_see("will be added: 2")
    assert user.find(marker="import-confirm").elements.pop().enabled
    user.find(marker="import-confirm").click()
    await user.should_see(marker="import-done", retries=80)
    assert _count(OrgMembership, OrgMembership.organization_id == world["org"].id) == 3


async def test_departments_page_renames(user: User, world):
    with unit_of_work.transaction() as session:
        members.add(session=session, actor=actor_of(world["admin"]), organization_id=None,
                    data={"email": "s@example.com", "name": "Sam", "department": "Sales"})  # fmt: skip
    await login(user, world["admin"].email)
    await user.open("/people/departments")
    await user.should_see(marker="departments", retries=80)
    assert [r["label"] for r in user.find(marker="departments").elements.pop().rows] == ["Sales", "(no department)"]
    user.find(marker="departments").trigger("rename", {"name": "Sales"})
    await user.should_see(marker="rename-dialog", retries=40)
    user.find(marker="field-new_name").clear().type("Revenue")
    user.find(marker="rename-submit").click()
    await user.should_see("Renamed: 1 member moved.", retries=80)
    with unit_of_work.read_only() as session:
        assert (
            session.scalar(select(OrgMembership.department).where(OrgMembership.department.is_not(None))) == "Revenue"
        )


# --- the upload endpoint ------------------------------------------------------------------------


def _headers(user: User) -> dict[str, str]:
    return {
        "X-Filename": "people.csv",
        "X-CSRF-Token": user.http_client.cookies.get("simvado_csrf", ""),
        "Origin": str(user.http_client.base_url).rstrip("/"),
    }


async def test_upload_endpoint_checks_before_reading(user: User, world):
    url = f"/people/import/upload?organization={world['org'].id}"
    body = b"email,name\na@example.com,A\n"
    anonymous = await user.http_client.post(url, content=body)
    assert anonymous.status_code == 401 and anonymous.json()["error"]["code"] == "unauthorized"
    await login(user, world["admin"].email)
    await user.open("/people/import")  # the page sets the CSRF cookie
    forged = await user.http_client.post(url, content=body, headers={**_headers(user), "X-CSRF-Token": "x" * 43})
    assert forged.status_code == 403
    theirs = await user.http_client.post(
        f"/people/import/upload?organization={world['other'].id}", content=body, headers=_headers(user)
    )
    assert theirs.status_code == 404
    huge = await user.http_client.post(url, content=b"email,name\n" + b"x" * (2 * 1024 * 1024), headers=_headers(user))
    assert huge.status_code == 413
    binary = await user.http_client.post(url, content=b"\x89PNG\r\n\x1a\n\x00\x00", headers=_headers(user))
    assert binary.status_code == 422
    assert _count(MemberImport) == 0
    ok = await user.http_client.post(url, content=body, headers=_headers(user))
    assert ok.status_code == 201 and _count(MemberImport) == 1 and "import_id" in ok.json()


async def test_bulk_move_to_a_new_department(user: User, world):
    with unit_of_work.transaction() as session:
        for email in ("m1@example.com", "m2@example.com"):
            members.add(session=session, actor=actor_of(world["admin"]), organization_id=None,
                        data={"email": email, "name": email[:2].upper()})  # fmt: skip
    await login(user, world["admin"].email)
    await user.open("/people?search=example.com")
    await user.should_see("2 members", retries=80)
    table = user.find(marker="member-table").elements.pop()
    user.find(marker="member-table").trigger("selection", {"rows": table.rows, "keys": [], "added": True})
    await user.should_see(marker="bulk-move", retries=40)
    user.find(marker="bulk-move").click()
    await user.should_see(marker="move-dialog", retries=40)
    department = user.find(marker="field-department").elements.pop()
    department.set_options([*department.options, "Dispatch"], value="Dispatch")
    user.find(marker="move-submit").click()
    await user.should_see("Moved 2 members to Dispatch.", retries=80)
    with unit_of_work.read_only() as session:
        moved = session.scalars(select(OrgMembership.department).where(OrgMembership.department.is_not(None)))
        assert list(moved) == ["Dispatch", "Dispatch"]
