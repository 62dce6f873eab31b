"""/assignments through NiceGUI's simulated user: assign (checked, then done) by department and by a CSV
of emails, the list and its filters, due dates and unassigning; the emails upload endpoint's checks."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from nicegui import ui
from nicegui.testing import User
from sqlalchemy import func, select

from console import unit_of_work
from console.services.people import members
from models import (
    MembershipRole,
    OrgMembership,
    PlaySession,
    SessionStatus,
    SimulationAssignment,
    SimulationStatus,
    UserRole,
)
from models import User as UserRow
from models.base import utcnow
from tests.factories import actor_of, make_module, make_org, make_simulation, make_user
from tests.pages.test_login_and_shell import login
from tests.support import upload_through_page, wait_until_async


@pytest.fixture
def world(database_url):
    with unit_of_work.transaction() as session:
        org = make_org(session, name="Acme Corp", seat_limit=10)
        other = make_org(session, name="Globex")
        admin = make_user(session, role=UserRole.enterprise_admin, organization_id=org.id, name="Olga Org")
        session.add(OrgMembership(user_id=admin.id, organization_id=org.id, role=MembershipRole.admin))
        outsider = make_user(session, role=UserRole.enterprise_admin, organization_id=other.id)
        session.add(OrgMembership(user_id=outsider.id, organization_id=other.id, role=MembershipRole.admin))
        session.flush()
        for name, dept in (("Ann", "Sales"), ("Bob", "Sales"), ("Cy", "Ops")):
            members.add(
                session=session, actor=actor_of(admin), organization_id=None,
                data={"email": f"{name.lower()}@acme.example", "name": name, "department": dept},
            )  # fmt: skip
        sim = make_simulation(session, status=SimulationStatus.published, title="Crisis Desk")
        make_module(session, sim)
    return {"org": org, "admin": admin, "outsider": outsider, "sim": sim}


@pytest.fixture(autouse=True)
async def _settle(user: User):
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


def _assigned() -> int:
    with unit_of_work.read_only() as session:
        return session.scalar(select(func.count()).select_from(SimulationAssignment))


async def _pick_simulation(user: User, title: str) -> None:
    await user.should_see(marker="assign-dialog", retries=40)
    picker = user.find(marker="field-simulation_id")
    await wait_until_async(lambda: title in next(iter(picker.elements)).options.values(), what="simulations")
    value = next(k for k, v in next(iter(picker.elements)).options.items() if v == title)
    picker.elements.pop().set_value(value)


async def test_admin_assigns_a_department_after_checking(user: User, world):
    await login(user, world["admin"].email)
    await user.open("/assignments")
    await user.should_see("0 assignments", retries=80)
    user.find(marker="assignment-new").click()
    await _pick_simulation(user, "Crisis Desk")
    user.find(marker="assign-who").elements.pop().set_value("departments")
    user.find(marker="assign-departments").elements.pop().set_value(["Sales"])
    assert not next(iter(user.find(marker="assign-submit").elements)).enabled  # nothing is assigned unchecked
    user.find(marker="assign-check").click()
    await user.should_see("Will assign Crisis Desk to 2 people, with no due date.", retries=80)
    assert _assigned() == 0
    user.find(marker="assign-submit").click()
    await user.should_see("Assigned Crisis Desk to 2 people.", retries=80)
    await user.should_see("2 assignments", retries=80)
    assert _assigned() == 2

    # Assigning the department again reports both, duplicates nothing.
    user.find(marker="assignment-new").click()
    await _pick_simulation(user, "Crisis Desk")
    user.find(marker="assign-who").elements.pop().set_value("departments")
    user.find(marker="assign-departments").elements.pop().set_value(["Sales"])
    user.find(marker="assign-check").click()
    await user.should_see("2 already hold an open assignment of it", retries=80)
    assert not next(iter(user.find(marker="assign-submit").elements)).enabled


async def test_a_csv_of_emails_assigns_members_and_skips_the_rest(user: User, world):
    await login(user, world["admin"].email)
    await user.open("/assignments")
    await user.should_see("0 assignments", retries=80)
    user.find(marker="assignment-new").click()
    await _pick_simulation(user, "Crisis Desk")
    user.find(marker="assign-who").elements.pop().set_value("file")
    due = (date.today() + timedelta(days=10)).isoformat()
    user.find("Due date (optional)").elements.pop().set_value(due)
    csv = b"email\ncy@acme.example\nnobody@acme.example\nnot an email\n"
    response = await upload_through_page(user, "people.csv", csv, marker="assign-upload")
    assert response.status_code == 200
    await user.should_see("people.csv: 2 addresses read; 1 line skipped", retries=40)
    user.find(marker="assign-check").click()
    await user.should_see(f"Will assign Crisis Desk to 1 person, due {due}.", retries=80)
    await user.should_see("1 are not members of this organization (skipped): nobody@acme.example")
    user.find(marker="assign-submit").click()
    await user.should_see("Assigned Crisis Desk to 1 person. 1 skipped.", retries=80)
    await user.should_see("1 assignment", retries=40)
    with unit_of_work.read_only() as session:
        (held,) = session.scalars(select(SimulationAssignment)).all()
        assert held.due_date.isoformat() == due


async def test_changing_the_request_after_a_check_asks_for_a_new_check(user: User, world):
    await login(user, world["admin"].email)
    await user.open("/assignments")
    await user.should_see("0 assignments", retries=80)
    user.find(marker="assignment-new").click()
    await _pick_simulation(user, "Crisis Desk")
    user.find(marker="assign-who").elements.pop().set_value("departments")
    user.find(marker="assign-departments").elements.pop().set_value(["Sales"])
    user.find(marker="assign-check").click()
    await user.should_see("Will assign Crisis Desk to 2 people", retries=80)
    user.find(marker="assign-departments").elements.pop().set_value(["Ops"])
    assert not next(iter(user.find(marker="assign-submit").elements)).enabled
    assert _assigned() == 0


async def test_the_emails_upload_checks_reach_and_size(user: User, world):
    anonymous = await user.http_client.post(
        f"/assignments/emails/upload?organization={world['org'].id}", content=b"a@b.example"
    )
    assert anonymous.status_code == 401 and anonymous.json()["error"]["code"] == "unauthorized"
    await login(user, world["outsider"].email)
    await user.open("/assignments")
    await user.should_see("0 assignments", retries=80)
    token = user.http_client.cookies.get("simvado_csrf", "")
    origin = str(user.http_client.base_url).rstrip("/")
    headers = {"X-CSRF-Token": token, "Origin": origin, "Content-Type": "text/csv"}
    # Another organization's id: "not found", as for anything out of reach.
    refused = await user.http_client.post(
        f"/assignments/emails/upload?organization={world['org'].id}", content=b"a@b.example", headers=headers
    )
    assert refused.status_code == 404
    no_token = await user.http_client.post(
        f"/assignments/emails/upload?organization={world['outsider'].organization_id}",
        content=b"a@b.example",
        headers={**headers, "X-CSRF-Token": "forged"},
    )
    assert no_token.status_code == 403
    too_big = await user.http_client.post(
        f"/assignments/emails/upload?organization={world['outsider'].organization_id}",
        content=b"x" * (512 * 1024 + 1),
        headers=headers,
    )
    assert too_big.status_code == 413


async def test_participants_cannot_open_assignments(user: User, world):
    with unit_of_work.transaction() as session:
        participant = make_user(session, role=UserRole.enterprise_participant, organization_id=world["org"].id)
    await login(user, participant.email)
    await user.open("/assignments")
    await user.should_see("There is nothing here, or you do not have access to it.")
    await user.should_not_see("Assign a simulation")


async def test_progress_matrix_and_person_page(user: User, world):
    with unit_of_work.transaction() as session:
        from console.services.assignments import assigning

        assigning.assign(
            session=session, actor=actor_of(world["admin"]), organization_id=None,
            data={"simulation_id": world["sim"].id, "departments": ["Sales"]},
        )  # fmt: skip
        ann = session.scalar(select(UserRow.id).where(UserRow.email == "ann@acme.example"))
    await login(user, world["admin"].email)
    await user.open("/assignments/progress")
    await user.should_see("2 people with assignments matching", retries=80)
    table = user.find(marker="progress-table").elements.pop()
    assert [r["person"] for r in table.rows] == ["Ann", "Bob"]
    assert [c["label"] for c in table.columns] == ["Person", "Crisis Desk"]
    assert table.rows[0][str(world["sim"].id)]["status"] == "assigned"

    await user.open("/assignments/progress?status=completed")
    await user.should_see("No one matches.", retries=80)

    await user.open(f"/assignments/person/{ann}")
    await user.should_see("Ann", retries=80)
    await user.should_see("No sessions played in this organization yet.")
    assert user.find(marker="person-assignments").elements.pop().rows[0]["simulation"] == "Crisis Desk"


async def test_another_organizations_person_is_not_found(user: User, world):
    with unit_of_work.read_only() as session:
        ann = session.scalar(select(UserRow.id).where(UserRow.email == "ann@acme.example"))
    await login(user, world["outsider"].email)
    await user.open(f"/assignments/person/{ann}")
    await user.should_see("Person not found in this organization.", retries=80)
    await user.open("/assignments/person/not-an-id")
    await user.should_see("Person not found in this organization.", retries=80)


async def test_names_people_typed_stay_text_in_the_page(user: User, world):
    """A dimension label and a department name with quotes, a Vue binding and backslashes: shown as
    written, never read as markup or props (they once went into a props string)."""
    evil_label = 'Risk" :title="alert(document.domain)+\''
    evil_department = 'C:\\Users "x" :title=1'
    with unit_of_work.transaction() as session:
        from console.services.assignments import assigning

        sim = session.get(type(world["sim"]), world["sim"].id)
        sim.scoring_config = {
            "dimensions": [{"key": "risk", "label": evil_label, "weight": 1, "min": 0, "max": 100}],
            "pass_mark": 60,
        }
        ann = session.scalar(select(UserRow.id).where(UserRow.email == "ann@acme.example"))
        membership = session.scalar(select(OrgMembership).where(OrgMembership.user_id == ann))
        membership.department = evil_department
        module = make_module(session, sim)
        session.add(
            PlaySession(
                user_id=ann, module_id=module.id, organization_id=world["org"].id, status=SessionStatus.completed,
                completed_at=utcnow(), final_scores={"risk": 40.0, "total": 40.0},
            )
        )  # fmt: skip
        assigning.assign(
            session=session, actor=actor_of(world["admin"]), organization_id=None,
            data={"simulation_id": sim.id, "user_ids": [ann]},
        )  # fmt: skip
    await login(user, world["admin"].email)
    await user.open(f"/assignments/person/{ann}")
    await user.should_see("Ann", retries=80)
    bars = [e for e in user.find(ui.linear_progress).elements if "aria-label" in e.props]
    labels = {e.props["aria-label"] for e in bars}
    assert f"{evil_label}: 40 of 100" in labels
    assert not any(":title" in e.props or "title" in e.props for e in bars)
    await user.open(f"/reports?simulation_id={sim.id}")
    await user.should_see("Score distribution", retries=80)
    charts = [e for e in user.find(ui.echart).elements if "aria-label" in e.props]
    assert charts and not any(":title" in e.props for e in charts)
