"""GET /exports/{token}: a finished export for the person who made it, once; nobody else, never signed out."""

from __future__ import annotations

from nicegui.testing import User

from console import unit_of_work
from console.services.assignments.exports import ExportKind, filename_for
from console.services.export_files import FILES, ExportFormat
from models import MembershipRole, OrgMembership, UserRole
from tests.factories import make_org, make_user
from tests.pages.test_login_and_shell import login


async def test_an_export_is_for_its_owner_only_and_only_signed_in(user: User, database_url):
    with unit_of_work.transaction() as session:
        org = make_org(session)
        admin = make_user(session, role=UserRole.enterprise_admin, organization_id=org.id)
        session.add(OrgMembership(user_id=admin.id, organization_id=org.id, role=MembershipRole.admin))
        other = make_user(session, role=UserRole.enterprise_admin)
    token, path = FILES.reserve(
        admin.id, ExportFormat.csv, filename=filename_for(ExportKind.progress, ExportFormat.csv)
    )
    path.write_text("Person\nAnn\n", encoding="utf-8")
    FILES.ready(token)

    anonymous = await user.http_client.get(f"/exports/{token}", follow_redirects=False)
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/login")
    await login(user, other.email)
    assert (await user.http_client.get(f"/exports/{token}")).status_code == 404  # the address is not enough
    await login(user, admin.email)
    assert (await user.http_client.get("/exports/not-a-token")).status_code == 404
    got = await user.http_client.get(f"/exports/{token}")
    assert got.status_code == 200 and got.text == "Person\nAnn\n"
    assert got.headers["content-security-policy"] == "default-src 'none'; sandbox"
    assert not path.exists()  # removed once sent
    assert (await user.http_client.get(f"/exports/{token}")).status_code == 404
