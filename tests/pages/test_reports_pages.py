"""/reports through NiceGUI's simulated user: the charts and their numbers for the URL's filters, the
viewer's scope, empty states, and an export downloaded once through /exports/{token}."""

from __future__ import annotations

import csv
import io

import pytest
from nicegui.testing import User
from sqlalchemy import select

from console import unit_of_work
from console.services.export_files import FILES
from models import AuditLogEntry, MembershipRole, OrgMembership, SimulationAssignment, UserRole
from models import User as UserRow
from tests.factories import make_org, make_user
from tests.pages.test_login_and_shell import login
from tests.services.test_reports import build_world
from tests.support import wait_until_async


@pytest.fixture
def world(database_url):
    with unit_of_work.transaction() as session:
        world = build_world(session)
        emails = {name: session.get(UserRow, world[name].user_id).email for name in ("admin", "outsider", "platform")}
        emails["participant"] = "ann@acme.example"
    return {**world, "emails": emails}


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


async def test_org_admin_sees_each_chart_with_its_numbers(user: User, world):
    await login(user, world["emails"]["admin"])
    await user.open("/reports?assigned=all")
    await user.should_see("6 assignments", marker="report-total")
    for marker in ("completion-chart", "funnel-chart", "averages-chart", "overdue-chart", "funnel-numbers"):
        await user.should_see(marker=marker)
    await user.should_see(marker="distribution-empty")  # no simulation chosen: the hint, not mixed dimensions
    chart = next(iter(user.find(marker="funnel-chart").elements))
    assert chart.props["role"] == "img" and "Crisis Desk: 4 assigned, 3 started" in chart.props["aria-label"]
    table = next(iter(user.find(marker="funnel-table").elements))
    assert [(r["title"], r["assigned"], r["passed"]) for r in table.rows] == [
        ("Crisis Desk", 4, 1),
        ("Budget Call", 2, 1),
    ]
    await user.should_see(marker="nav-reports")
    # Each "The numbers" says whose numbers it opens (five on a page would sound alike otherwise).
    labels = {
        marker: next(iter(user.find(marker=f"{marker}-numbers").elements)).props["toggle-aria-label"]
        for marker in ("completion", "funnel", "averages", "overdue")
    }
    assert labels["funnel"] == "The numbers behind “From assigned to passed”" and len(set(labels.values())) == 4


async def test_filters_come_from_the_url_and_a_tampered_organization_is_ignored(user: User, world):
    await login(user, world["emails"]["admin"])
    crisis, globex = world["crisis"].id, world["other"].id
    await user.open(f"/reports?simulation_id={crisis}&department=Sales&organization_id={globex}&assigned=all")
    await user.should_see("2 assignments", marker="report-total")  # Acme's Sales, never Globex's
    await user.should_see(marker="distribution-chart-financial")
    rows = next(iter(user.find(marker="distribution-table").elements)).rows
    assert sum(r["sessions"] for r in rows if r["dimension"] == "Financial") == 3


async def test_platform_admin_sees_every_organization_or_one(user: User, world):
    await login(user, world["emails"]["platform"])
    await user.open("/reports?assigned=all")
    await user.should_see("7 assignments", marker="report-total")
    await user.should_see(marker="filter-organization_id")
    await user.open(f"/reports?organization_id={world['other'].id}&assigned=all")
    await user.should_see("1 assignment", marker="report-total")


async def test_participants_get_not_found_and_an_empty_organization_says_what_to_do(user: User, world):
    await login(user, world["emails"]["participant"])  # Ann has no password in this world
    response = await user.http_client.get("/reports")
    assert response.status_code in (200, 303)
    with unit_of_work.transaction() as session:
        org = make_org(session, name="Empty Inc")
        admin = make_user(session, role=UserRole.enterprise_admin, organization_id=org.id)
        session.add(OrgMembership(user_id=admin.id, organization_id=org.id, role=MembershipRole.admin))
        participant = make_user(session, role=UserRole.enterprise_participant, organization_id=org.id)
    await login(user, participant.email)
    await user.open("/reports")
    await user.should_see(marker="not-found")
    await login(user, admin.email)
    await user.open("/reports")
    await user.should_see("Nothing was assigned in the last 30 days", marker="report-empty")
    await user.open("/reports?assigned=all")
    await user.should_see("Nothing has been assigned yet", marker="report-empty")
    await user.should_see(marker="completion-empty")


async def test_export_downloads_once_is_audited_and_leaves_no_file(user: User, world):
    await login(user, world["emails"]["admin"])
    await user.open("/reports?department=Sales&assigned=all")
    await user.should_see(marker="export-progress-csv")
    user.find(marker="export-progress-csv").click()
    response = await user.download.next(timeout=15)
    assert response.status_code == 200
    assert response.headers["content-disposition"].startswith("attachment;")
    assert response.headers["x-content-type-options"] == "nosniff"
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert len(rows) == 4 and {r[2] for r in rows[1:]} == {"Sales"}
    await wait_until_async(lambda: FILES.pending() == 0, what="the export file to be handed out")
    assert not any(FILES.root.iterdir())  # sent once, then removed
    again = await user.http_client.get(response.request.url.path)
    assert again.status_code == 404
    with unit_of_work.read_only() as session:
        entry = session.scalar(select(AuditLogEntry).where(AuditLogEntry.action == "assignment.export"))
    assert entry.after["filters"] == {"department": "Sales", "assigned": "all"} and entry.after["rows"] == 3


async def test_reports_open_on_the_last_30_days_and_all_time_is_one_choice_away(user: User, world):
    """The world's assignments were made in October 2026: older than 30 days, so the default view
    leaves them out (and says how to see them); one made today is in it."""
    await login(user, world["emails"]["admin"])
    with unit_of_work.transaction() as session:
        admin = session.get(UserRow, world["admin"].user_id)
        person = make_user(session, role=UserRole.enterprise_participant, organization_id=admin.organization_id)
        session.add(OrgMembership(user_id=person.id, organization_id=admin.organization_id,
                                  role=MembershipRole.participant))  # fmt: skip
        session.add(SimulationAssignment(organization_id=admin.organization_id, assigned_to_user_id=person.id,
                                         simulation_id=world["crisis"].id, assigned_by_user_id=admin.id))  # fmt: skip
    await user.open("/reports")
    await user.should_see("1 assignment", marker="report-total")
    period = next(iter(user.find(marker="filter-assigned").elements))
    assert period.value == "30"
    period.set_value("all")
    await user.should_see("7 assignments", marker="report-total")


async def test_a_person_filter_from_the_address_is_named_and_another_organizations_person_is_not(user: User, world):
    await login(user, world["emails"]["admin"])
    ann = world["people"]["Ann"]
    await user.open(f"/reports?assigned=all&user_id={ann}")
    picker = next(iter(user.find(marker="filter-user_id").elements))
    assert picker.value == str(ann) and picker.options[str(ann)] == "Ann <ann@acme.example>"
    await user.should_see("2 assignments", marker="report-total")
    gil = world["people"]["Gil"]  # Globex's: not a person this admin may name
    await user.open(f"/reports?assigned=all&user_id={gil}")
    picker = next(iter(user.find(marker="filter-user_id").elements))
    assert picker.options[str(gil)] == "Unknown person"
    await user.should_see("0 assignments", marker="report-total")
    await user.open("/reports?assigned=all&user_id=not-a-uuid")
    await user.should_see(marker="report-error")
