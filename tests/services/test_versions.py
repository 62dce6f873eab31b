"""No lost updates: a save based on an older version is refused with who changed it and when, in
every editor's service (simulation details and scoring, module and its stakeholders, media rename,
workflow moves), and two saves of the same version at the same moment let exactly one through.

Each test commits like real editors do: one unit of work per save, as pages/components/calls.py runs them.
"""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from console import unit_of_work
from console.services import media, modules, simulations, workflow
from console.services.versions import Stale
from models import AuditLogEntry, MediaAsset, Module, Simulation
from models.enums import ModuleStatus, SimulationStatus, UserRole
from tests import media_samples as samples
from tests.factories import actor_of, make_module, make_simulation, make_user


@pytest.fixture
def world(database_url, tmp_path, monkeypatch):
    monkeypatch.setenv("SIMVADO_MEDIA_ROOT", str(tmp_path / "media"))
    with unit_of_work.transaction() as session:
        author = make_user(session, role=UserRole.studio_creator, name="Ana Author", password=None)
        admin = make_user(session, role=UserRole.platform_admin, name="Bea Admin", password=None)
        sim = make_simulation(session, author=author, title="Boardroom Crisis")
        module = make_module(session, sim, title="Opening", status=ModuleStatus.draft)
        asset = media.upload(
            session=session, actor=actor_of(author), module_id=module.id, filename="ana.png", data=samples.png()
        )
    return {"author": actor_of(author), "admin": actor_of(admin), "sim": sim, "module": module, "asset": asset}


def _entries(action: str) -> int:
    """Entries about the module itself (each save also adds a line to the simulation's history)."""
    with unit_of_work.read_only() as session:
        return session.scalar(
            select(func.count())
            .select_from(AuditLogEntry)
            .where(AuditLogEntry.action == action, AuditLogEntry.entity_type == "module")
        )


def test_a_module_saved_from_an_older_copy_is_refused_with_who_and_when(world):
    opened = world["module"].version  # A and B both open the module editor
    with unit_of_work.transaction() as session:  # B renames it and saves
        saved = modules.update(
            session=session,
            actor=world["admin"],
            module_id=world["module"].id,
            data={"title": "The opening"},
            version=opened,
        )
        assert saved.version == opened + 1
    with pytest.raises(Stale) as refused, unit_of_work.transaction() as session:  # A saves the copy opened earlier
        modules.update(
            session=session,
            actor=world["author"],
            module_id=world["module"].id,
            data={"title": "Opening", "narrative_context": "A's briefing"},
            version=opened,
        )
    stale = refused.value
    assert stale.details["changed_by"].startswith("Bea Admin")
    assert stale.details["changed_at"] and "Bea Admin" in stale.message and "UTC" in stale.message
    assert stale.version == opened + 1 and stale.current["title"] == "The opening"
    with unit_of_work.read_only() as session:
        module = session.get(Module, world["module"].id)
        assert (module.title, module.narrative_context) == ("The opening", None)  # B's title stands
    assert _entries("module.update") == 1  # A's refused save wrote nothing

    with unit_of_work.transaction() as session:  # A reviewed the difference and saves over it, knowingly
        modules.update(
            session=session,
            actor=world["author"],
            module_id=world["module"].id,
            data={"title": "Opening"},
            version=stale.version,
        )
    with unit_of_work.read_only() as session:
        assert session.get(Module, world["module"].id).title == "Opening"


def test_stakeholders_are_guarded_like_every_other_module_field(world):
    opened = world["module"].version
    person = {"name": "Ana Ruiz", "role": "CFO", "motivation": "", "personality_traits": [], "portrait_url": None}
    with unit_of_work.transaction() as session:
        modules.update(
            session=session, actor=world["author"], module_id=world["module"].id, data={"stakeholders": [person]},
            version=opened,
        )  # fmt: skip
    with pytest.raises(Stale), unit_of_work.transaction() as session:
        modules.update(
            session=session, actor=world["admin"], module_id=world["module"].id, data={"stakeholders": []},
            version=opened,
        )  # fmt: skip
    with unit_of_work.read_only() as session:
        assert [p["name"] for p in session.get(Module, world["module"].id).stakeholders] == ["Ana Ruiz"]


def test_details_and_scoring_share_the_simulation_version(world):
    opened = world["sim"].version
    with unit_of_work.transaction() as session:
        simulations.update(
            session=session, actor=world["author"], simulation_id=world["sim"].id, data={"title": "Crisis at nine"},
            version=opened,
        )  # fmt: skip
    scoring = {"dimensions": [{"key": "trust", "label": "Trust", "weight": 1, "min": 0, "max": 100}], "pass_mark": 50}
    with pytest.raises(Stale) as refused, unit_of_work.transaction() as session:  # the admin's scoring tab, older
        simulations.update(
            session=session, actor=world["admin"], simulation_id=world["sim"].id, data={"scoring_config": scoring},
            version=opened,
        )  # fmt: skip
    assert refused.value.details["changed_by"].startswith("Ana Author")
    with unit_of_work.read_only() as session:
        sim = session.get(Simulation, world["sim"].id)
        assert (sim.title, sim.scoring_config) == ("Crisis at nine", world["sim"].scoring_config)


def test_a_save_without_a_version_is_refused(world):
    for version in (None, "1", True):
        with pytest.raises(Stale), unit_of_work.transaction() as session:
            simulations.update(
                session=session, actor=world["author"], simulation_id=world["sim"].id, data={"title": "Blind"},
                version=version,
            )  # fmt: skip
    with unit_of_work.read_only() as session:
        assert session.get(Simulation, world["sim"].id).title == "Boardroom Crisis"


def test_a_rename_from_an_older_dialog_is_refused(world):
    asset = world["asset"]
    with unit_of_work.transaction() as session:
        media.rename(
            session=session, actor=world["admin"], asset_id=asset.id, filename="cfo.png", version=asset.version
        )
    with pytest.raises(Stale) as refused, unit_of_work.transaction() as session:
        media.rename(
            session=session, actor=world["author"], asset_id=asset.id, filename="ana2.png", version=asset.version
        )
    assert refused.value.current == {"filename": "cfo.png"}
    with unit_of_work.read_only() as session:
        assert session.get(MediaAsset, asset.id).filename == "cfo.png"


def test_a_reviewer_never_moves_a_simulation_changed_since_they_looked(world):
    with unit_of_work.transaction() as session:
        sim = session.get(Simulation, world["sim"].id)
        sim.status = SimulationStatus.review
    seen = world["sim"].version  # the admin opens the simulation in review
    with unit_of_work.transaction() as session:  # the author changes it while it waits
        sim = session.get(Simulation, world["sim"].id)
        sim.status = SimulationStatus.draft
    with unit_of_work.transaction() as session:
        workflow.transition(
            session=session, actor=world["author"], simulation_id=world["sim"].id, name="submit", version=seen
        )
    with pytest.raises(Stale), unit_of_work.transaction() as session:
        workflow.transition(
            session=session, actor=world["admin"], simulation_id=world["sim"].id, name="stage", version=seen
        )
    with unit_of_work.read_only() as session:
        assert session.get(Simulation, world["sim"].id).status == SimulationStatus.review


def test_archiving_takes_a_new_version(world):
    opened = world["module"].version
    with unit_of_work.transaction() as session:
        modules.archive(session=session, actor=world["admin"], module_id=world["module"].id)
    with pytest.raises(Stale), unit_of_work.transaction() as session:  # an editor open before cannot un-archive it
        modules.update(
            session=session, actor=world["author"], module_id=world["module"].id, data={"status": "draft"},
            version=opened,
        )  # fmt: skip
    with unit_of_work.read_only() as session:
        assert session.get(Module, world["module"].id).status == ModuleStatus.archived


def test_two_saves_of_the_same_version_at_once_let_exactly_one_through(world):
    opened, barrier = world["module"].version, threading.Barrier(8)
    outcomes: list[str] = []

    def save(n: int) -> None:
        barrier.wait()
        try:
            with unit_of_work.transaction() as session:
                modules.update(
                    session=session, actor=world["author"], module_id=world["module"].id, data={"title": f"Title {n}"},
                    version=opened,
                )  # fmt: skip
            outcomes.append("saved")
        except Stale:
            outcomes.append("stale")

    threads = [threading.Thread(target=save, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["saved"] + ["stale"] * 7
    with unit_of_work.read_only() as session:
        assert session.get(Module, world["module"].id).version == opened + 1
    assert _entries("module.update") == 1
