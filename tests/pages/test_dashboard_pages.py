"""Dashboards show real counts from the database, per role."""

from nicegui import ui
from nicegui.testing import User

from console import unit_of_work
from models import OrgMembership
from models.enums import MembershipRole, SimulationStatus, UserRole
from tests.factories import PASSWORD, make_org, make_simulation, make_user
from tests.support import sign_in


def tile_value(user: User, marker: str) -> str:
    card = user.find(marker=f"tile-{marker}").elements.pop()
    texts = [el.text for el in card.descendants() if isinstance(el, ui.label | ui.link)]
    return texts[-1]


async def test_platform_admin_dashboard_counts_the_platform(user: User, database_url):
    with unit_of_work.transaction() as session:
        for _ in range(3):
            make_org(session)
        admin = make_user(session, role=UserRole.platform_admin)
        make_simulation(session, author=admin, status=SimulationStatus.published)
        make_simulation(session, author=admin)
    await sign_in(user.http_client, admin.email, PASSWORD)
    await user.open("/")
    assert tile_value(user, "organizations") == "3"
    assert tile_value(user, "users") == "1"
    await user.should_see("published: 1")
    await user.should_see("draft: 1")
    await user.should_see("No sessions in the last 30 days.")


async def test_enterprise_admin_sees_members_against_seats(user: User, database_url):
    with unit_of_work.transaction() as session:
        org = make_org(session, seat_limit=40)
        admin = make_user(session, role=UserRole.enterprise_admin, organization_id=org.id)
        members = [(admin, MembershipRole.admin)]
        for _ in range(2):
            person = make_user(session, role=UserRole.enterprise_participant, organization_id=org.id, password=None)
            members.append((person, MembershipRole.participant))
        for person, role in members:  # a seat is a participant's membership (console/services/seats.py)
            session.add(OrgMembership(user_id=person.id, organization_id=org.id, role=role))
        other = make_user(session, role=UserRole.enterprise_participant, password=None)  # another org's member
        session.add(
            OrgMembership(user_id=other.id, organization_id=other.organization_id, role=MembershipRole.participant)
        )
    await sign_in(user.http_client, admin.email, PASSWORD)
    await user.open("/")
    assert tile_value(user, "members") == "2 / 40"  # the two participants; the admin takes no seat
    await user.should_not_see(marker="tile-organizations")


async def test_a_participant_sees_their_own_assignments_and_results_only(user: User, database_url):
    from datetime import date

    from models import PlaySession, SimulationAssignment
    from models.enums import AssignmentStatus, SessionStatus, SimulationStatus
    from tests.factories import make_module, make_simulation

    with unit_of_work.transaction() as session:
        me = make_user(session, role=UserRole.enterprise_participant)
        colleague = make_user(session, role=UserRole.enterprise_participant, organization_id=me.organization_id)
        admin = make_user(session, role=UserRole.enterprise_admin, organization_id=me.organization_id)
        mine = make_simulation(session, title="Mine to play", status=SimulationStatus.published)
        theirs = make_simulation(session, title="Theirs to play", status=SimulationStatus.published)
        done = make_simulation(session, title="Already done", status=SimulationStatus.published)
        for sim, who, status in [
            (mine, me, AssignmentStatus.assigned),
            (done, me, AssignmentStatus.completed),
            (theirs, colleague, AssignmentStatus.assigned),
        ]:
            session.add(
                SimulationAssignment(
                    organization_id=me.organization_id,
                    assigned_by_user_id=admin.id,
                    assigned_to_user_id=who.id,
                    simulation_id=sim.id,
                    status=status,
                    due_date=date(2030, 1, 1),
                )
            )
        session.add(
            PlaySession(
                user_id=me.id,
                module_id=make_module(session, done).id,
                organization_id=me.organization_id,
                status=SessionStatus.completed,
                final_scores={"total": 71.5},
            )
        )
    await sign_in(user.http_client, me.email, PASSWORD)
    await user.open("/my")
    await user.should_see("2 assignments")
    rows = user.find(marker="my-assignments-table").elements.pop().rows
    assert {r["simulation"] for r in rows} == {"Mine to play", "Already done"}
    await user.should_see(marker="my-result")
    await user.open("/my?status=completed")  # the view is in the URL
    await user.should_see("1 assignment")
    rows = user.find(marker="my-assignments-table").elements.pop().rows
    assert [r["simulation"] for r in rows] == ["Already done"]


async def test_a_participants_results_page_through_their_whole_history(user: User, database_url):
    from models import PlaySession
    from models.enums import SessionStatus
    from pages.my import RESULTS_SHOWN
    from tests.factories import make_module

    with unit_of_work.transaction() as session:
        me = make_user(session, role=UserRole.individual)
        module = make_module(session, make_simulation(session, status=SimulationStatus.published))
        for _ in range(RESULTS_SHOWN + 5):
            session.add(PlaySession(user_id=me.id, module_id=module.id, status=SessionStatus.abandoned))
    await sign_in(user.http_client, me.email, PASSWORD)
    await user.open("/my")
    await user.should_see(f"1–{RESULTS_SHOWN} of {RESULTS_SHOWN + 5} sessions, newest first")
    user.find(marker="my-results-older").click()
    await user.should_see(f"{RESULTS_SHOWN + 1}–{RESULTS_SHOWN + 5} of {RESULTS_SHOWN + 5} sessions, newest first")
    assert len(user.find(marker="my-result").elements) == 5
    user.find(marker="my-results-newer").click()
    await user.should_see(f"1–{RESULTS_SHOWN} of {RESULTS_SHOWN + 5} sessions, newest first")


async def test_a_participant_launches_the_modules_of_their_assignment(user: User, database_url, monkeypatch):
    from urllib.parse import parse_qs, urlsplit

    from console.services import launch
    from models import SimulationAssignment
    from models.enums import ModuleStatus
    from tests.factories import make_module
    from tests.support import wait_until_async

    with unit_of_work.transaction() as session:
        me = make_user(session, role=UserRole.enterprise_participant)
        colleague = make_user(session, role=UserRole.enterprise_participant, organization_id=me.organization_id)
        sim = make_simulation(session, title="Harbor Crisis", status=SimulationStatus.published)
        act_one = make_module(session, sim, title="Act One", launch_url="https://play.example/x?build=3")
        make_module(session, sim, title="Act Two", launch_url=None, sort_order=1)
        make_module(session, sim, title="Work in progress", status=ModuleStatus.draft, sort_order=2)
        mine = SimulationAssignment(organization_id=me.organization_id, assigned_to_user_id=me.id, simulation_id=sim.id)
        theirs = SimulationAssignment(
            organization_id=me.organization_id, assigned_to_user_id=colleague.id, simulation_id=sim.id
        )
        session.add_all([mine, theirs])
    await sign_in(user.http_client, me.email, PASSWORD)
    await user.open("/my")
    await user.should_see("1 assignment")
    row = user.find(marker="my-assignments-table").elements.pop().rows[0]
    assert [(m["title"], m["launchable"], m["note"]) for m in row["modules"]] == [
        ("Act One", True, ""),
        ("Act Two", False, "No launch address yet"),  # published without an address: said, no button
    ]

    opened: list[tuple[str, bool]] = []
    monkeypatch.setattr(user.navigate, "to", lambda target, new_tab=False: opened.append((target, new_tab)))
    table = user.find(marker="my-assignments-table")
    table.trigger("launch", {"assignment_id": row["id"], "module_id": row["modules"][0]["id"]})
    await wait_until_async(lambda: opened, what="the launch URL to open")
    url, new_tab = opened[0]
    assert new_tab and url.startswith("https://play.example/x?build=3&simvado_launch=")
    claims = launch.read_token(parse_qs(urlsplit(url).query)["simvado_launch"][0])
    assert (claims.user_id, claims.module_id, claims.assignment_id) == (me.id, act_one.id, mine.id)

    # A colleague's assignment id sent from the browser launches nothing; neither does junk.
    table.trigger("launch", {"assignment_id": str(theirs.id), "module_id": str(act_one.id)})
    await user.should_see("Module not found.")
    table.trigger("launch", {"assignment_id": row["id"], "module_id": "not-an-id"})
    await user.should_see("That module cannot be launched.")
    assert len(opened) == 1
