"""POST /sessions (idempotent start), GET /sessions/{id}, GET /modules/{id}."""

from __future__ import annotations

import re
import uuid

from sqlalchemy import select

from console import unit_of_work
from console.auth import Actor
from console.services import api_keys, modules
from models import PlaySession, SimulationAssignment
from models.enums import AssignmentStatus, ModuleStatus, SimulationStatus
from tests.api.conftest import T0, start
from tests.factories import make_module, make_simulation


def test_start_is_idempotent_on_external_session_id(client, world, session):
    first = start(client, world, external="ue-7f3a", launch_url="https://play.example/x")
    assert first.status_code == 201
    body = first.json()
    assert body["external_session_id"] == "ue-7f3a" and body["status"] == "in_progress"
    assert body["module_id"] == str(world.module.id) and body["platform"] == "unreal"
    assert body["started_at"].startswith(T0.strftime("%Y-%m-%dT%H:%M:%S"))
    again = start(client, world, external="ue-7f3a")
    assert again.status_code == 200 and again.json()["id"] == body["id"]
    rows = session.scalars(select(PlaySession).where(PlaySession.external_session_id == "ue-7f3a")).all()
    assert len(rows) == 1 and rows[0].organization_id == world.player.organization_id


def test_first_session_moves_the_assignment_to_in_progress(client, world, session):
    start(client, world)
    assert session.get(SimulationAssignment, world.assignment_id).status == AssignmentStatus.in_progress


def test_player_by_user_id_clerk_id_or_email(client, world):
    for player in ({"user_id": str(world.player.id)}, {"email": world.player.email.upper()}):
        assert start(client, world, player=player).status_code == 201
    assert start(client, world, player={"clerk_id": "nobody"}).status_code == 422
    assert start(client, world, player={"email": "ghost@nowhere.example"}).status_code == 422
    both = start(client, world, player={"email": world.player.email, "user_id": str(world.player.id)})
    assert both.status_code == 422


def test_same_external_id_for_another_module_is_409(client, world):
    assert start(client, world, external="shared").status_code == 201
    response = start(client, world, external="shared", module=world.module2)
    assert response.status_code == 409


def test_server_owned_and_unknown_fields_are_422(client, world):
    for extra in ({"organization_id": str(uuid.uuid4())}, {"status": "completed"}, {"final_scores": {}}, {"x": 1}):
        response = start(client, world, **extra)
        assert response.status_code == 422, extra
        assert list(response.json()["error"]["details"]) == [next(iter(extra))]


def test_bad_input_is_422(client, world):
    assert start(client, world, module_id="not-a-uuid").status_code == 422
    assert start(client, world, platform="playstation").status_code == 422
    assert start(client, world, launch_url="javascript:alert(1)").status_code == 422
    assert start(client, world, started_at="2026-11-25T10:00:00").status_code == 422  # no time zone
    assert (
        client.post(
            "/api/v1/sessions", content=b"{not json", headers={**world.auth(), "Content-Type": "application/json"}
        ).status_code
        == 422
    )


def test_unknown_and_unpublished_modules_are_404_staged_only_for_bound_test_keys(client, world):
    assert start(client, world, module_id=str(uuid.uuid4())).status_code == 404
    assert start(client, world, module=world.staged_module).status_code == 404
    # A live key bound to the staged simulation plays published modules only; an unbound test key neither.
    assert start(client, world, module=world.staged_module, key="staged_live").status_code == 404
    assert start(client, world, module=world.staged_module, key="test").status_code == 404
    assert start(client, world, module=world.staged_module, key="staged").status_code == 201
    assert client.get(f"/api/v1/modules/{world.staged_module.id}", headers=world.auth("rw")).status_code == 404
    assert client.get(f"/api/v1/modules/{world.staged_module.id}", headers=world.auth("staged_live")).status_code == 404
    assert client.get(f"/api/v1/modules/{world.staged_module.id}", headers=world.auth("staged")).status_code == 200


def test_get_session_and_unknown_session(client, world):
    created = start(client, world).json()
    response = client.get(f"/api/v1/sessions/{created['id']}", headers=world.auth())
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == created["id"] and body["final_scores"] is None and body["debrief_text"] is None
    assert body["passed"] is None  # until completed
    assert "key_hash" not in response.text
    assert client.get(f"/api/v1/sessions/{uuid.uuid4()}", headers=world.auth()).status_code == 404
    assert client.get("/api/v1/sessions/nope", headers=world.auth()).status_code == 422


def test_get_module_gives_what_an_engine_needs(client, world):
    response = client.get(f"/api/v1/modules/{world.module.id}", headers=world.auth("read"))
    assert response.status_code == 200
    body = response.json()
    assert body["title"] == "Act One" and body["briefing"] == "# Briefing"
    # Every stakeholder field is present, empty when the author left it out.
    assert body["stakeholders"] == [
        {"name": "CFO", "role": "", "motivation": "", "portrait_url": None, "personality_traits": []}
    ]
    assert [d["key"] for d in body["scoring"]["dimensions"]] == ["financial", "reputational"]
    assert body["scoring"]["pass_mark"] == 60
    assert body["simulation_title"] == "Harbor Crisis"
    # Exactly what the studio's "Preview as engine" shows for it.
    assert body == modules.engine_view(world.module, world.sim)
    assert client.get(f"/api/v1/modules/{uuid.uuid4()}", headers=world.auth("read")).status_code == 404


def test_openapi_documents_bearer_and_every_status(client):
    spec = client.get("/api/v1/openapi.json").json()
    assert spec["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    expected = {
        ("/sessions", "post"): {"200", "201", "401", "403", "404", "409", "413", "415", "422", "429", "503"},
        ("/events", "post"): {"200", "401", "403", "404", "409", "413", "415", "422", "429", "503"},
        ("/sessions/{session_id}", "get"): {"200", "401", "403", "404", "422", "429", "503"},
        ("/modules/{module_id}", "get"): {"200", "401", "403", "404", "422", "429", "503"},
        ("/modules", "get"): {"200", "401", "403", "404", "422", "429", "503"},
    }
    for (path, method), codes in expected.items():
        operation = spec["paths"][path][method]
        assert set(operation["responses"]) == codes, (path, set(operation["responses"]))
        assert operation["security"] == [{"HTTPBearer": []}]
    # The exactly-one rules are in the schema, as the server checks them.
    schemas = spec["components"]["schemas"]
    assert [b["required"] for b in schemas["PlayerRef"]["oneOf"]] == [
        ["user_id"],
        ["clerk_id"],
        ["email"],
        ["launch_token"],
    ]
    assert [b["required"] for b in schemas["EventBatchIn"]["oneOf"]] == [["session_id"], ["external_session_id"]]
    assert "external_session_id" in schemas["SessionStartIn"]["required"]
    docs = client.get("/api/v1/docs")
    assert docs.status_code == 200 and "/api/v1/openapi.json" in docs.text
    # Everything the docs page loads comes from the API itself: no CDN.
    assets = re.findall(r'(?:src|href)="([^"]+)"', docs.text)
    assert assets and all(a.startswith("/api/v1/docs-static/") for a in assets), assets
    for asset in assets:
        assert client.get(asset).status_code == 200, asset
    assert "cdn" not in docs.text.lower()


def test_a_module_tells_engines_which_version_of_it_they_run(client, world):
    """The engine sees the same edit versions the studio's editors check: a saved change moves them."""
    from console import unit_of_work
    from console.auth import Actor

    before = client.get(f"/api/v1/modules/{world.module.id}", headers=world.auth()).json()
    with unit_of_work.transaction() as session:
        module = modules.get(session=session, actor=Actor.system("test"), module_id=world.module.id)
        # The simulation is published (read-only to its editors): the change goes in as the system would.
        module.build_version, module.version = "9.9", module.version + 1
    after = client.get(f"/api/v1/modules/{world.module.id}", headers=world.auth()).json()
    assert after["version"] == before["version"] + 1 and after["build_version"] == "9.9"
    assert after["simulation"]["version"] == before["simulation"]["version"] >= 1


def test_external_session_id_is_required(client, world, session):
    body = {"module_id": str(world.module.id), "player": {"email": world.player.email}}
    answer = client.post("/api/v1/sessions", json=body, headers=world.auth())
    assert answer.status_code == 422
    assert answer.json()["error"]["details"] == {"external_session_id": "Field required"}


def test_the_same_start_again_is_the_same_session_and_a_different_one_is_409_naming_what_differs(client, world):
    external = str(uuid.uuid4())
    first = start(client, world, external=external, launch_url="https://play.example/x")
    assert first.status_code == 201
    for _ in range(2):
        again = start(client, world, external=external, launch_url="https://play.example/x")
        assert again.status_code == 200 and again.json() == first.json()
    # Optional fields left out of a retry are not compared.
    assert start(client, world, external=external, platform=None, started_at=None).status_code == 200
    changed = start(client, world, external=external, module=world.module2, platform="unity")
    assert changed.status_code == 409
    assert changed.json() == {
        "error": {
            "code": "conflict",
            "message": "This external_session_id already names a session started with other module_id, platform: "
            "resend the same start to get it back (200), or start a new session. Give every play session its "
            "own external_session_id: a UUID made by the engine (uuid4).",
            "details": {
                "module_id": f"the session was started for module {world.module.id}",
                "platform": "the session was started with unreal",
                "session_id": first.json()["id"],
            },
        }
    }
    other_player = start(client, world, external=external, player={"user_id": str(world.outsider.id)})
    assert other_player.status_code == 409
    assert other_player.json()["error"]["details"]["player"] == "the session was started for another player"


def test_an_external_session_id_used_by_another_key_or_organization_is_409_saying_so(client, world):
    external = str(uuid.uuid4())
    assert start(client, world, external=external, key="org").status_code == 201
    taken = start(client, world, external=external, key="other_sim", module=world.other_module)
    assert taken.status_code == 409
    assert taken.json() == {
        "error": {
            "code": "conflict",
            "message": "This external_session_id is already used by a play session that another API key or "
            "organization started. Give every play session its own external_session_id: a UUID made by the "
            "engine (uuid4).",
            "details": {"external_session_id": "already used by a play session of another API key or organization"},
        }
    }
    # Two keys that both reach the session (unbound, one organization's): still another key's session.
    # The key that started it gets it back.
    for other in ("rw", "write", "sim"):
        again = start(client, world, external=external, key=other)
        assert again.status_code == 409 and again.json() == taken.json()
    assert start(client, world, external=external, key="org").status_code == 200


def test_a_module_that_is_not_published_says_so_to_keys_that_reach_it(client, world):
    answer = start(client, world, module=world.staged_module)
    assert answer.status_code == 404
    assert answer.json() == {
        "error": {
            "code": "module_not_playable",
            "message": "This module is not published (its simulation is staged, the module published): only "
            "published modules of published simulations can be played with this key. To play it before then, "
            "use a test key (sk_sim_test_…) bound to its simulation: it plays the simulation's draft, staged and "
            "unpublished modules (a studio creator makes one on API keys).",
            "details": {
                "module_id": str(world.staged_module.id),
                "simulation_status": "staged",
                "module_status": "published",
            },
        }
    }
    # A key bound to another simulation learns nothing: the answer for an id that does not exist.
    elsewhere = start(client, world, module=world.staged_module, key="other_sim")
    nowhere = start(client, world, module_id=str(uuid.uuid4()), key="other_sim")
    assert elsewhere.status_code == nowhere.status_code == 404
    assert (
        elsewhere.json()
        == nowhere.json()
        == {"error": {"code": "not_found", "message": "Module not found.", "details": {}}}
    )


def test_list_modules_gives_what_the_key_may_play(client, world):
    def listed(key: str) -> list[str]:
        answer = client.get("/api/v1/modules", headers=world.auth(key))
        assert answer.status_code == 200, answer.text
        return [m["id"] for m in answer.json()["modules"]]

    everywhere = listed("rw")
    assert {str(world.module.id), str(world.module2.id), str(world.other_module.id)} <= set(everywhere)
    assert str(world.staged_module.id) not in everywhere
    assert listed("sim") == [str(world.module.id), str(world.module2.id)]  # in the module's order
    assert listed("staged") == [str(world.staged_module.id)]
    first = client.get("/api/v1/modules", headers=world.auth("sim")).json()["modules"][0]
    assert first == {
        "id": str(world.module.id),
        "title": "Act One",
        "simulation_id": str(world.sim.id),
        "simulation_title": "Harbor Crisis",
        "status": "published",
        "version": world.module.version,
        "platform": first["platform"],
        "build_version": first["build_version"],
        "launch_url": first["launch_url"],
        "dimensions": ["financial", "reputational"],
    }
    assert client.get("/api/v1/modules", headers=world.auth("write")).status_code == 403  # game:read needed
    assert client.get("/api/v1/modules").status_code == 401


def test_an_unknown_player_is_named_by_the_field_sent(client, world):
    answer = start(client, world, player={"email": "ghost@nowhere.example"}, key="org")
    assert answer.status_code == 422
    assert answer.json()["error"] == {
        "code": "validation_failed",
        "message": "Unknown player: no person with this email in the key's organization. Check it against the "
        "console's people, or send the launch_token the console put in the launch URL instead.",
        "details": {"player.email": "no such player"},
    }
    missing_scope = start(client, world, key="read")
    assert missing_scope.status_code == 403
    assert missing_scope.json()["error"]["message"] == (
        "This API key lacks the game:write scope (POST routes need it): use a key that has it, made on the "
        "console's API keys page."
    )


async def test_the_same_start_sent_ten_times_at_once_makes_one_session(world, database_url, session):
    import asyncio

    import httpx

    from tests.api.conftest import build_app

    external = str(uuid.uuid4())
    body = {"external_session_id": external, "module_id": str(world.module.id), "player": {"email": world.player.email}}
    transport = httpx.ASGITransport(app=build_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        answers = await asyncio.gather(
            *(client.post("/api/v1/sessions", json=body, headers=world.auth()) for _ in range(10))
        )
    assert sorted(a.status_code for a in answers) == [200] * 9 + [201]
    assert len({a.json()["id"] for a in answers}) == 1
    rows = session.scalars(select(PlaySession).where(PlaySession.external_session_id == external)).all()
    assert len(rows) == 1


def test_list_modules_lists_exactly_what_each_key_may_read_and_start(client, world):
    """GET /modules and GET /modules/{id} (and so a start) give one answer for every key and module: a
    live key bound to a staged simulation listed modules it could not start, and a test key bound to a
    draft simulation listed none of the modules it could."""
    with unit_of_work.transaction() as s:
        draft = make_simulation(s, status=SimulationStatus.draft)
        draft_module = make_module(s, draft)
        archived = make_module(s, world.staged_sim, status=ModuleStatus.archived, sort_order=5)
        keys = {
            "draft_test": api_keys.create(
                session=s, actor=Actor.system("test"),
                data={"name": "d", "scopes": ["game:write", "game:read"], "simulation_id": draft.id, "test": True},
            ).key,
            "draft_live": api_keys.create(
                session=s, actor=Actor.system("test"),
                data={"name": "d", "scopes": ["game:write", "game:read"], "simulation_id": draft.id},
            ).key,
        }  # fmt: skip
    world.keys.update(keys)
    modules = [world.module, world.module2, world.other_module, world.staged_module, draft_module, archived]
    for name in ("rw", "sim", "other_sim", "staged", "staged_live", "test", "org", "draft_test", "draft_live"):
        answer = client.get("/api/v1/modules", headers=world.auth(name))
        listed = {m["id"] for m in answer.json()["modules"]} & {str(m.id) for m in modules}
        readable = {
            str(m.id)
            for m in modules
            if client.get(f"/api/v1/modules/{m.id}", headers=world.auth(name)).status_code == 200
        }
        assert listed == readable, name
        if name in ("staged_live", "draft_live"):
            assert listed == set()
        if name == "draft_test":
            assert listed == {str(draft_module.id)}
            assert start(client, world, key=name, module=draft_module).status_code == 201
