"""The authoring studio through NiceGUI's simulated user: workspace tabs, workflow, modules, scoring,
media and history."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from nicegui.testing import User
from sqlmodel import select

from console import unit_of_work
from models import AuditLogEntry, MediaAsset, Module, Simulation
from models.enums import ModuleStatus, Platform, SimulationStatus, UserRole
from tests import media_samples as samples
from tests.factories import make_module, make_simulation, make_user
from tests.pages.test_login_and_shell import login
from tests.support import sign_out, upload_through_page, wait_until_async


@pytest.fixture
def studio_db(database_url, tmp_path, monkeypatch):
    monkeypatch.setenv("SIMVADO_MEDIA_ROOT", str(tmp_path / "media"))
    with unit_of_work.transaction() as session:
        creator = make_user(session, role=UserRole.studio_creator, name="Cleo Creator")
        admin = make_user(session, role=UserRole.platform_admin, name="Pat Admin")
        sim = make_simulation(session, author=creator, title="Boardroom Crisis")
        module = make_module(
            session,
            sim,
            title="Opening",
            status=ModuleStatus.published,
            platform=Platform.web,
            build_version="1.0",
            narrative_context="You are the **CFO**.",
        )
    return {"creator": creator, "admin": admin, "sim": sim, "module": module}


@pytest.fixture(autouse=True)
async def _settle(user: User):
    """Let handlers still running at the end of a test finish before the app and database go away.

    A handler left mid-flight would reach for the database after the test's one was dropped.
    """
    yield
    from nicegui import background_tasks

    def handler(task) -> bool:  # NiceGUI's own loops run for the app's lifetime; wait for ours only
        name = task.get_name()
        return not (name.startswith(("refresh bindings", "outbox loop")) or "prune" in name)

    await wait_until_async(
        lambda: not any(handler(t) and not t.done() for t in background_tasks.running_tasks),
        what="the test's page handlers to finish",
        timeout=10,
        interval=0.05,
    )


async def find(user: User, marker: str):
    """The element, once it is on screen (handlers run asynchronously)."""
    await user.should_see(marker=marker, retries=80)
    return user.find(marker=marker)


def _sim(sim_id) -> Simulation:
    with unit_of_work.read_only() as session:
        return session.get(Simulation, sim_id)


async def test_workspace_tabs_and_history(studio_db, user: User):
    await login(user, studio_db["creator"].email)
    await user.open(f"/simulations/{studio_db['sim'].id}")
    await user.should_see("Boardroom Crisis", retries=80)
    await user.should_see(marker="tab-details", retries=80)
    await user.should_see(marker="tab-history", retries=80)
    await user.should_see(marker="wf-submit", retries=80)
    (await find(user, "tab-modules")).click()
    await user.should_see("Opening", retries=80)


async def test_creator_submits_and_admin_sends_back_with_comment(studio_db, user: User):
    sim_id = studio_db["sim"].id
    await login(user, studio_db["creator"].email)
    await user.open(f"/simulations/{sim_id}")
    (await find(user, "wf-submit")).click()
    await user.should_see(marker="wf-comment", retries=80)
    (await find(user, "wf-comment")).type("Ready for a look")
    (await find(user, "wf-ok")).click()
    await user.should_see(marker="wf-withdraw", retries=80)
    assert _sim(sim_id).status == SimulationStatus.review

    await sign_out(user.http_client)
    await login(user, studio_db["admin"].email)
    await user.open(f"/simulations/{sim_id}")
    (await find(user, "wf-send_back")).click()
    (await find(user, "wf-ok")).click()  # no comment: refused in place
    await user.should_see("Say what needs to change.", retries=80)
    assert _sim(sim_id).status == SimulationStatus.review
    (await find(user, "wf-comment")).type("The briefing needs stakes")
    (await find(user, "wf-ok")).click()
    await user.should_see("Send back to draft: done.", retries=80)
    await user.open(f"/simulations/{sim_id}?tab=history")
    await user.should_see(marker="history-table", retries=80)
    table = user.find(marker="history-table").elements.pop()
    rows = table.rows
    assert table.pagination["rowsNumber"] == len(rows)  # the pager counts what the table shows
    assert rows[0]["action"] == "simulation.send_back" and rows[0]["comment"] == "The briefing needs stakes"
    assert rows[0]["actor"] == studio_db["admin"].email
    assert "status: review → draft" in rows[0]["changes"]
    assert any(r["action"] == "simulation.submit" and r["comment"] == "Ready for a look" for r in rows)
    assert _sim(sim_id).status == SimulationStatus.draft


async def test_admin_publish_shows_every_problem(studio_db, user: User):
    with unit_of_work.transaction() as session:
        sim = make_simulation(
            session, author=studio_db["creator"], status=SimulationStatus.staged, scoring_config=None, title="Half done"
        )
        make_module(session, sim, title="Draft one", status=ModuleStatus.draft, launch_url=None)
    await login(user, studio_db["admin"].email)
    await user.open(f"/simulations/{sim.id}")
    await user.should_see("at least one published module is needed", retries=80)
    await user.should_see("missing launch URL, platform, build version, briefing", retries=80)
    (await find(user, "wf-publish")).click()
    (await find(user, "wf-ok")).click()
    await user.should_see("The simulation cannot be published yet.", retries=80)
    assert _sim(sim.id).status == SimulationStatus.staged


async def test_module_editor_saves_fields_and_stakeholders(studio_db, user: User):
    module_id = studio_db["module"].id
    await login(user, studio_db["creator"].email)
    await user.open(f"/simulations/{studio_db['sim'].id}?tab=modules&module={module_id}")
    await user.should_see(marker="mod-save", retries=80)
    # The preview renders the Markdown, sanitized.
    await user.should_see("CFO", retries=80)
    (await find(user, "field-build_version")).clear().type("2.0.1")
    (await find(user, "field-launch_url")).clear().type("javascript:alert(1)")
    (await find(user, "sh-add")).click()
    (await find(user, "sh-name-0")).type("Ana Ruiz")
    (await find(user, "sh-role-0")).type("CEO")
    (await find(user, "mod-save")).click()
    await user.should_see("must be an http(s) URL", retries=80)
    with unit_of_work.read_only() as session:
        assert session.get(Module, module_id).build_version == "1.0"
    (await find(user, "field-launch_url")).clear().type("https://play.example/opening")
    (await find(user, "mod-save")).click()
    await user.should_see("Module saved.", retries=80)
    with unit_of_work.read_only() as session:
        module = session.get(Module, module_id)
    assert module.build_version == "2.0.1" and module.launch_url == "https://play.example/opening"
    assert module.stakeholders[0]["name"] == "Ana Ruiz" and module.stakeholders[0]["role"] == "CEO"


async def test_trait_text_typed_but_not_confirmed_is_saved_not_lost(studio_db, user: User):
    """A trait typed into the chips field without Enter is pending text in the browser: saving keeps it,
    and so does adding another stakeholder (a redraw of the cards) before saving."""
    module_id = studio_db["module"].id
    await login(user, studio_db["creator"].email)
    await user.open(f"/simulations/{studio_db['sim'].id}?tab=modules&module={module_id}")
    (await find(user, "sh-add")).click()
    (await find(user, "sh-name-0")).type("Ana Ruiz")
    user.find(marker="sh-traits-0").trigger("inputValue", "blunt")  # typed, Enter never pressed
    (await find(user, "sh-add")).click()  # the cards are drawn again
    (await find(user, "sh-name-1")).type("Ben Ortiz")
    traits = user.find(marker="sh-traits-1")
    traits.trigger("inputValue", "  patient ")
    # Clicking Save first takes the focus out of the field: Quasar reports the blur, then empties it.
    traits.trigger("blur").trigger("inputValue", "")
    (await find(user, "mod-save")).click()
    await user.should_see("Module saved.", retries=80)
    with unit_of_work.read_only() as session:
        saved = session.get(Module, module_id).stakeholders
    assert [(s["name"], s["personality_traits"]) for s in saved] == [
        ("Ana Ruiz", ["blunt"]),
        ("Ben Ortiz", ["patient"]),
    ]


async def test_stakeholder_schema_errors_are_shown(studio_db, user: User):
    await login(user, studio_db["creator"].email)
    await user.open(f"/simulations/{studio_db['sim'].id}?tab=modules&module={studio_db['module'].id}")
    (await find(user, "sh-add")).click()
    (await find(user, "mod-save")).click()
    await user.should_see(marker="sh-error", retries=80)
    await user.should_see("Stakeholder 1 · name", retries=80)


async def test_module_list_add_move_archive(studio_db, user: User):
    sim_id = studio_db["sim"].id
    await login(user, studio_db["creator"].email)
    await user.open(f"/simulations/{sim_id}?tab=modules")
    (await find(user, "mod-add")).click()
    (await find(user, "mod-new-title")).type("Negotiation")
    (await find(user, "mod-new-ok")).click()
    await user.should_see("Module added.", retries=80)
    (await find(user, "mod-up-1")).click()
    await user.should_see(marker="mod-row-1", retries=80)

    def order():
        with unit_of_work.read_only() as session:
            rows = session.scalars(
                select(Module).where(Module.simulation_id == sim_id).order_by(Module.sort_order)
            ).all()
            return [m.title for m in rows]

    for _ in range(20):
        if order() == ["Negotiation", "Opening"]:
            break
        await asyncio.sleep(0.1)
    assert order() == ["Negotiation", "Opening"]
    await user.open(f"/simulations/{sim_id}?tab=modules&module={studio_db['module'].id}")
    (await find(user, "mod-preview")).click()
    await user.should_see(marker="engine-json", retries=80)


async def test_scoring_editor_validates_and_tries(studio_db, user: User):
    sim_id = studio_db["sim"].id
    await login(user, studio_db["creator"].email)
    await user.open(f"/simulations/{sim_id}?tab=scoring")
    await user.should_see(marker="scoring-editor", retries=80)
    await user.should_see("financial 60.0%", retries=80)
    (await find(user, "tryit-financial")).type("100")
    (await find(user, "tryit-reputational")).type("0")
    await user.should_see("Total 60.0 → pass (pass mark 60)", retries=80)
    (await find(user, "dim-key-1")).clear().type("financial")
    await user.should_see("dimension keys must be unique: financial", retries=80)
    (await find(user, "scoring-save")).click()
    await user.should_see("The scoring configuration is invalid", retries=80)
    assert [d["key"] for d in _sim(sim_id).scoring_config["dimensions"]] == ["financial", "reputational"]
    (await find(user, "dim-key-1")).clear().type("ethical")
    (await find(user, "dim-add")).click()
    (await find(user, "dim-key-2")).type("speed")
    (await find(user, "dim-label-2")).type("Speed")
    (await find(user, "scoring-save")).click()
    await user.should_see("Scoring saved.", retries=80)
    assert [d["key"] for d in _sim(sim_id).scoring_config["dimensions"]] == ["financial", "ethical", "speed"]


async def test_media_upload_refuses_disguised_html_and_serves_safely(studio_db, user: User):
    module_id = studio_db["module"].id
    await login(user, studio_db["creator"].email)
    await user.open(f"/simulations/{studio_db['sim'].id}?tab=media")
    await user.should_see(marker="media-upload", retries=80)
    refused = await upload_through_page(user, "cat.png", samples.HTML)
    assert refused.status_code == 422
    await user.should_see("cat.png refused", retries=80)
    await upload_through_page(user, "portrait.png", samples.png())
    await user.should_see("portrait.png uploaded.", retries=80)
    with unit_of_work.read_only() as session:
        assets = session.scalars(select(MediaAsset).where(MediaAsset.module_id == module_id)).all()
    assert [a.filename for a in assets] == ["portrait.png"]
    response = await user.http_client.get(assets[0].url)
    assert response.status_code == 200 and response.content == samples.png()
    assert response.headers["content-type"] == "image/png"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["content-disposition"].startswith("inline;")
    assert "sandbox" in response.headers["content-security-policy"]
    # Another creator cannot fetch it (not found, not forbidden), nor can anyone signed out.
    await sign_out(user.http_client)
    anonymous = await user.http_client.get(assets[0].url, follow_redirects=False)
    assert anonymous.status_code == 303
    with unit_of_work.transaction() as session:
        stranger = make_user(session, role=UserRole.studio_creator)
    await login(user, stranger.email)
    assert (await user.http_client.get(assets[0].url)).status_code == 404
    assert (await user.http_client.get(f"/media/{uuid.uuid4()}.png")).status_code == 404


async def test_documents_download_and_video_ranges(studio_db, user: User):
    from console.services import media
    from tests.factories import actor_of

    with unit_of_work.transaction() as session:
        doc = media.upload(
            session=session,
            actor=actor_of(studio_db["creator"]),
            module_id=studio_db["module"].id,
            filename='brief "final"; v2.pdf',
            data=samples.pdf(),
        )
        video = media.upload(
            session=session,
            actor=actor_of(studio_db["creator"]),
            module_id=studio_db["module"].id,
            filename="intro.mp4",
            data=samples.mp4(),
        )
    await login(user, studio_db["creator"].email)
    response = await user.http_client.get(doc.url)
    assert response.headers["content-type"] == "application/pdf"
    disposition = response.headers["content-disposition"]
    assert disposition.startswith("attachment;") and "filename*=UTF-8''brief%20%22final%22%3B%20v2.pdf" in disposition
    assert 'filename="brief _final__ v2.pdf"' in disposition
    ranged = await user.http_client.get(video.url, headers={"Range": "bytes=0-9"})
    assert ranged.status_code == 206 and ranged.content == samples.mp4()[:10]
    await user.open(f"/simulations/{studio_db['sim'].id}?tab=media")
    await user.should_see('brief "final"; v2.pdf', retries=80)


async def test_published_simulation_is_read_only_and_duplicates(studio_db, user: User):
    with unit_of_work.transaction() as session:
        sim = session.get(Simulation, studio_db["sim"].id)
        sim.status = SimulationStatus.published
        session.add(sim)
    await login(user, studio_db["creator"].email)
    await user.open(f"/simulations/{sim.id}?tab=modules&module={studio_db['module'].id}")
    await user.should_see(marker="sim-readonly", retries=80)
    await user.should_not_see(marker="mod-save")
    await user.should_not_see(marker="mod-add")
    (await find(user, "wf-duplicate")).click()
    (await find(user, "confirm-ok")).click()
    await user.should_see("Draft copy created.", retries=80)
    with unit_of_work.read_only() as session:
        copies = session.scalars(select(Simulation).where(Simulation.title == "Boardroom Crisis (copy)")).all()
        assert len(copies) == 1 and copies[0].status == SimulationStatus.draft
        assert session.scalars(select(AuditLogEntry).where(AuditLogEntry.action == "simulation.duplicate")).one()


async def test_xss_payloads_are_text(studio_db, user: User):
    payload = "<img src=x onerror=alert(1)>"
    with unit_of_work.transaction() as session:
        module = session.get(Module, studio_db["module"].id)
        module.title = payload
        module.narrative_context = f"{payload} [link](javascript:alert(1))"
        module.stakeholders = [
            {"name": payload, "role": payload, "motivation": payload, "personality_traits": [payload]}
        ]
        session.add(module)
    await login(user, studio_db["creator"].email)
    await user.open(f"/simulations/{studio_db['sim'].id}?tab=modules&module={module.id}")
    await user.should_see(payload)  # as text in the module list and the cards
    preview = (await find(user, "mod-briefing-preview")).elements.pop()
    assert preview.props.get("sanitize") is True


async def test_thumbnail_is_picked_from_the_simulations_images(studio_db, user: User):
    from console.services import media
    from tests.factories import actor_of

    with unit_of_work.transaction() as session:
        image = media.upload(
            session=session,
            actor=actor_of(studio_db["creator"]),
            module_id=studio_db["module"].id,
            filename="cover.png",
            data=samples.png(),
        )
        media.upload(
            session=session,
            actor=actor_of(studio_db["creator"]),
            module_id=studio_db["module"].id,
            filename="handout.pdf",
            data=samples.pdf(),
        )
    await login(user, studio_db["creator"].email)
    await user.open(f"/simulations/{studio_db['sim'].id}")
    picker = (await find(user, "sim-thumbnail-pick")).elements.pop()
    assert list(picker.options.values()) == ["cover.png"]  # images only
    picker.set_value(image.url)
    (await find(user, "sim-save")).click()
    await user.should_see("Saved.", retries=80)
    assert _sim(studio_db["sim"].id).thumbnail_url == image.url
    # The media tab filters by kind.
    await user.open(f"/simulations/{studio_db['sim'].id}?tab=media")
    await user.should_see("2 files", retries=80)
    (await find(user, "media-kind")).elements.pop().set_value("document")
    await user.should_see("1 file", retries=80)
    await user.should_see(marker="media-used-0", retries=80)


async def test_out_of_scope_workspaces_are_not_found_and_catalogue_is_read_only(studio_db, user: User):
    with unit_of_work.transaction() as session:
        enterprise_admin = make_user(session, role=UserRole.enterprise_admin)
        published = make_simulation(session, author=studio_db["creator"], status=SimulationStatus.published)
    await login(user, enterprise_admin.email)
    await user.open(f"/simulations/{studio_db['sim'].id}")  # a draft: not theirs to see
    await user.should_see("There is nothing here, or you do not have access to it.", retries=80)
    await user.open(f"/simulations/{studio_db['sim'].id}?tab=modules&module={studio_db['module'].id}")
    await user.should_see(marker="not-found", retries=80)
    await user.open(f"/simulations/{published.id}")
    await user.should_see(marker="sim-readonly", retries=80)
    await user.should_not_see(marker="tab-history")
    await user.should_not_see(marker="wf-duplicate")
    await user.should_not_see(marker="wf-archive")
    await user.open(f"/simulations/{published.id}?tab=modules&module={studio_db['module'].id}")
    await user.should_see("That module is not available.", retries=80)  # its draft is out of scope


async def test_authors_see_the_publishing_checks_update_as_they_work(studio_db, user: User):
    await login(user, studio_db["creator"].email)
    await user.open(f"/simulations/{studio_db['sim'].id}?tab=modules&module={studio_db['module'].id}")
    await user.should_see("Ready to publish: every check passes.", retries=80)
    (await find(user, "field-build_version")).clear()
    (await find(user, "mod-save")).click()
    await user.should_see("Module saved.", retries=80)
    user.find(marker="tab-scoring").click()
    await user.should_see("missing build version", retries=80)
