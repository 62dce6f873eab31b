"""Two people on the same record: the later save from an older copy is refused in the page, which says
who changed it and when, shows the difference, and lets the person reload, keep editing, or save over
it knowingly. Saves from one page never collide with each other (details then scoring then details)."""

from __future__ import annotations

import pytest
from nicegui.testing import User

from console import unit_of_work
from console.services import modules, simulations
from models import Module, Simulation
from models.enums import ModuleStatus, Platform, UserRole
from tests.factories import actor_of, make_module, make_simulation, make_user
from tests.pages.test_login_and_shell import login
from tests.pages.test_studio import _settle, find  # noqa: F401  (_settle: an autouse fixture)
from tests.support import wait_until_async


@pytest.fixture
def studio(database_url, tmp_path, monkeypatch):
    monkeypatch.setenv("SIMVADO_MEDIA_ROOT", str(tmp_path / "media"))
    with unit_of_work.transaction() as session:
        creator = make_user(session, role=UserRole.studio_creator, name="Cleo Creator")
        admin = make_user(session, role=UserRole.platform_admin, name="Pat Admin")
        sim = make_simulation(session, author=creator, title="Boardroom Crisis")
        module = make_module(
            session, sim, title="Opening", status=ModuleStatus.draft, platform=Platform.web, build_version="1.0"
        )
    return {"creator": creator, "admin": admin, "sim": sim, "module": module}


def _module(module_id) -> Module:  # noqa: ANN001
    with unit_of_work.read_only() as session:
        return session.get(Module, module_id)


def _differences(user: User) -> list[dict]:
    table = next(iter(user.find(marker="stale-differences").elements))
    return table.rows


async def test_a_module_saved_from_an_older_copy_is_refused_and_can_be_saved_over_knowingly(studio, user: User):
    module = studio["module"]
    await login(user, studio["creator"].email)
    await user.open(f"/simulations/{studio['sim'].id}?tab=modules&module={module.id}")
    await user.should_see(marker="mod-save", retries=80)

    with unit_of_work.transaction() as session:  # meanwhile, the admin renames it in their own tab
        modules.update(
            session=session,
            actor=actor_of(studio["admin"]),
            module_id=module.id,
            data={"title": "The opening"},
            version=module.version,
        )

    (await find(user, "field-title")).clear().type("Opening scene")
    (await find(user, "field-build_version")).clear().type("1.1")
    (await find(user, "mod-save")).click()
    await user.should_see(marker="stale-message", retries=80)
    await user.should_see("Pat Admin changed this module", retries=5)
    rows = {r["field"]: (r["yours"], r["theirs"]) for r in _differences(user)}
    assert rows["Title"] == ("Opening scene", "The opening")
    assert rows["Build version"] == ("1.1", "1.0")
    assert _module(module.id).title == "The opening"  # nothing overwritten

    user.find(marker="stale-keep").click()  # keep editing: still nothing saved
    await user.should_not_see(marker="stale-message", retries=80)
    assert _module(module.id).title == "The opening"

    (await find(user, "mod-save")).click()  # saved again: refused again, then saved over it knowingly
    await user.should_see(marker="stale-overwrite", retries=80)
    user.find(marker="stale-overwrite").click()
    await user.should_see("Module saved.", retries=80)
    saved = _module(module.id)
    assert (saved.title, saved.build_version, saved.version) == ("Opening scene", "1.1", module.version + 2)

    (await find(user, "field-build_version")).clear().type("1.2")  # the page now holds the new version
    (await find(user, "mod-save")).click()
    await wait_until_async(lambda: _module(module.id).build_version == "1.2", what="the next save from the page")


async def test_details_and_scoring_saved_from_one_page_never_collide_but_another_editor_does(studio, user: User):
    sim = studio["sim"]
    await login(user, studio["creator"].email)
    await user.open(f"/simulations/{sim.id}")
    await user.should_see(marker="sim-save", retries=80)
    (await find(user, "field-title")).clear().type("Crisis at nine")
    (await find(user, "sim-save")).click()
    await user.should_see("Saved.", retries=80)

    user.find(marker="tab-scoring").click()  # same page: the scoring tab knows the version just saved
    (await find(user, "scoring-pass-mark")).clear().type("70")
    (await find(user, "scoring-save")).click()
    await user.should_see("Scoring saved.", retries=80)

    with unit_of_work.read_only() as session:
        current = session.get(Simulation, sim.id)
    assert current.title == "Crisis at nine" and current.scoring_config["pass_mark"] == 70
    with unit_of_work.transaction() as session:  # now the admin changes the category in another tab
        simulations.update(
            session=session,
            actor=actor_of(studio["admin"]),
            simulation_id=sim.id,
            data={"category": "Finance"},
            version=current.version,
        )

    user.find(marker="tab-details").click()
    (await find(user, "field-category")).clear().type("Ethics")
    (await find(user, "sim-save")).click()
    await user.should_see("Pat Admin changed this simulation", retries=80)
    rows = {r["field"]: (r["yours"], r["theirs"]) for r in _differences(user)}
    assert rows == {"Category": ("Ethics", "Finance")}  # the title is the same on both sides: not listed
    with unit_of_work.read_only() as session:
        assert session.get(Simulation, sim.id).category == "Finance"
    user.find(marker="stale-keep").click()
    await user.should_not_see(marker="stale-message", retries=80)
