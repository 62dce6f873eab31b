"""POST /sessions (idempotent start), GET /sessions/{id}, GET /modules/{id}."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from console.services import modules
from models import PlaySession, SimulationAssignment
from models.enums import AssignmentStatus
from tests.api.conftest import T0, start


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
    }
    for (path, method), codes in expected.items():
        operation = spec["paths"][path][method]
        assert set(operation["responses"]) == codes, (path, set(operation["responses"]))
        assert operation["security"] == [{"HTTPBearer": []}]
    docs = client.get("/api/v1/docs")
    assert docs.status_code == 200 and "/api/v1/openapi.json" in docs.text


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
