"""Access is checked again on every action of an open page, not only when it was drawn (SECURITY.md 30).

Each test opens a page, then ends or changes the login behind it the way it happens in real life
(logout in another tab, a role change, a deactivation), then acts on the page opened before: the
action is refused, nothing is stored or audited, and the browser is sent to sign in.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from pathlib import Path

import pytest
from nicegui.testing import User
from sqlalchemy import func, select, update

from console import unit_of_work
from models import ApiKey, AuditLogEntry, MediaAsset, Simulation
from models import User as UserRow
from models.base import utcnow
from models.enums import ModuleStatus, UserRole
from tests import media_samples as samples
from tests.factories import make_module, make_simulation, make_user
from tests.pages.test_login_and_shell import login
from tests.support import sign_out, upload_through_page


@pytest.fixture
def world(database_url, tmp_path, monkeypatch):
    monkeypatch.setenv("SIMVADO_MEDIA_ROOT", str(tmp_path / "media"))
    with unit_of_work.transaction() as session:
        creator = make_user(session, role=UserRole.studio_creator)
        admin = make_user(session, role=UserRole.platform_admin)
        sim = make_simulation(session, author=creator, title="Boardroom Crisis")
        make_module(session, sim, title="Opening", status=ModuleStatus.draft)
    return {"creator": creator, "admin": admin, "sim": sim}


@pytest.fixture(autouse=True)
async def _settle(user: User):
    yield
    from nicegui import background_tasks

    def ours(task) -> bool:
        name = task.get_name()
        return not (name.startswith(("refresh bindings", "outbox loop")) or "prune" in name)

    for _ in range(200):
        if not any(ours(t) and not t.done() for t in background_tasks.running_tasks):
            break
        await asyncio.sleep(0.05)


def _counts(sim_id) -> tuple[str, int, int]:
    with unit_of_work.read_only() as session:
        title = session.get(Simulation, sim_id).title
        audited = session.scalar(select(func.count()).select_from(AuditLogEntry))
        files = session.scalar(select(func.count()).select_from(MediaAsset))
    return title, audited, files


async def _open_studio(user: User, world) -> None:
    await login(user, world["creator"].email)
    await user.open(f"/simulations/{world['sim'].id}")
    await user.should_see(marker="sim-save", retries=80)


async def _try_save(user: User, title: str) -> None:
    user.find(marker="field-title").clear().type(title)
    user.find(marker="sim-save").click()


async def test_a_save_from_a_page_opened_before_logout_is_refused(world, user: User):
    await _open_studio(user, world)
    await _try_save(user, "Saved while signed in")
    await user.should_see("Saved.", retries=80)
    before = _counts(world["sim"].id)
    assert before[0] == "Saved while signed in"

    await sign_out(user.http_client)  # another tab signs out: the login session is revoked
    await _try_save(user, "Saved after logout")
    await user.should_see(marker="login-email", retries=80)  # sent to sign in again
    assert _counts(world["sim"].id) == before  # no change, no audit entry


async def test_an_upload_from_a_page_opened_before_logout_stores_nothing(world, user: User):
    await login(user, world["creator"].email)
    await user.open(f"/simulations/{world['sim'].id}?tab=media")
    await user.should_see(marker="media-upload", retries=80)
    before = _counts(world["sim"].id)

    await sign_out(user.http_client)
    response = await upload_through_page(user, "portrait.png", samples.png())
    assert response.status_code == 401  # the page then sends the person to sign in again
    await user.should_see(marker="login-email", retries=80)
    assert _counts(world["sim"].id) == before
    media_root = Path(os.environ["SIMVADO_MEDIA_ROOT"])
    assert not [f for f in media_root.rglob("*") if f.is_file()], "a file was written for a refused upload"


async def test_the_upload_endpoints_refuse_requests_without_a_login(world, user: User):
    await sign_out(user.http_client)
    for url in ("/media/upload?module=" + str(uuid.uuid4()), "/_nicegui/client/any/upload/1"):
        response = await user.http_client.post(url, files={"file": ("x.png", samples.png(), "image/png")})
        assert response.status_code == 401, url
        assert response.json()["error"]["code"] == "unauthorized"


async def test_a_deactivated_person_is_stopped_on_their_next_action(world, user: User):
    await _open_studio(user, world)
    before = _counts(world["sim"].id)
    with unit_of_work.transaction() as session:
        session.execute(update(UserRow).where(UserRow.id == world["creator"].id).values(deactivated_at=utcnow()))
    await _try_save(user, "Saved while deactivated")
    await user.should_see(marker="login-email", retries=80)
    assert _counts(world["sim"].id) == before


async def test_a_role_that_no_longer_opens_the_page_stops_its_actions(world, user: User):
    with unit_of_work.transaction() as session:
        from console.auth import Actor
        from console.services import api_keys

        api_keys.create(session=session, actor=Actor.system("test"), data={"name": "Unreal build"})
    await login(user, world["admin"].email)
    await user.open("/api-keys")
    await user.should_see("1 key", retries=80)

    with unit_of_work.transaction() as session:  # demoted while the page is open
        session.execute(update(UserRow).where(UserRow.id == world["admin"].id).values(role=UserRole.enterprise_admin))
    user.find(marker="key-new").click()  # its first step reads what a key can be bound to
    # Still signed in, so the way through /login ends where an enterprise admin belongs: not here.
    await user.should_see(marker="not-found", retries=80)
    await user.should_not_see(marker="create-dialog")
    with unit_of_work.read_only() as session:
        assert session.scalar(select(ApiKey.is_active)) is True
