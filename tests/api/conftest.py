"""Engine API test setup: the API app mounted at /api/v1 on a bare FastAPI root, served the way `serve` and
`serve-api` serve it (ApiFirst in front), and a small world."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from fastapi import FastAPI
from starlette.testclient import TestClient

from console import unit_of_work
from console.api import PREFIX, ApiFirst, create_api_app
from console.auth import Actor
from console.config import Settings
from console.services import api_keys
from models import SimulationAssignment
from models.enums import SimulationStatus, UserRole
from tests.factories import make_module, make_simulation, make_user

# Yesterday 10:00 UTC: event timestamps must be plausible on the server's clock (not far in the future).
T0 = (datetime.now(UTC) - timedelta(days=1)).replace(hour=10, minute=0, second=0, microsecond=0)


def build_app(**settings) -> ApiFirst:
    root = FastAPI()
    root.mount(PREFIX, create_api_app(Settings(**{"api_rate_limit": "10000/second", **settings})))
    # As served: /api/v1 requests go to the API app directly (a bare Mount would miss paths with a
    # newline, which schemathesis sends, and answer them with Starlette's own 404).
    return ApiFirst(root)


@pytest.fixture
def client(database_url):
    with TestClient(build_app(), base_url="http://testserver") as c:
        yield c


@dataclass
class World:
    sim: object
    module: object
    module2: object
    other_sim: object
    other_module: object
    staged_sim: object
    staged_module: object
    player: object
    outsider: object
    assignment_id: uuid.UUID
    keys: dict[str, str]

    def auth(self, name: str = "rw") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[name]}"}


@pytest.fixture
def world(database_url) -> World:
    admin = Actor.system("test")
    with unit_of_work.transaction() as s:
        sim = make_simulation(s, status=SimulationStatus.published, title="Harbor Crisis")
        module = make_module(s, sim, title="Act One", narrative_context="# Briefing", stakeholders=[{"name": "CFO"}])
        module2 = make_module(s, sim, title="Act Two", sort_order=1)
        other_sim = make_simulation(s, status=SimulationStatus.published)
        other_module = make_module(s, other_sim)
        staged_sim = make_simulation(s, status=SimulationStatus.staged)
        staged_module = make_module(s, staged_sim)
        player = make_user(
            s, role=UserRole.enterprise_participant, password=None, email=f"ana-{uuid.uuid4().hex[:6]}@acme.example"
        )
        outsider = make_user(s, role=UserRole.enterprise_participant, password=None)
        assignment = SimulationAssignment(
            organization_id=player.organization_id, assigned_to_user_id=player.id, simulation_id=sim.id
        )
        s.add(assignment)
        s.flush()

        def key(**data) -> str:
            return api_keys.create(session=s, actor=admin, data={"name": "k", **data}).key

        keys = {
            "rw": key(scopes=["game:write", "game:read"]),
            "write": key(scopes=["game:write"]),
            "read": key(scopes=["game:read"]),
            "sim": key(scopes=["game:write", "game:read"], simulation_id=sim.id),
            "other_sim": key(scopes=["game:write", "game:read"], simulation_id=other_sim.id),
            # A studio's test key for its staged build, and a live key bound to the same simulation.
            "staged": key(scopes=["game:write", "game:read"], simulation_id=staged_sim.id, test=True),
            "staged_live": key(scopes=["game:write", "game:read"], simulation_id=staged_sim.id),
            "test": key(scopes=["game:write", "game:read"], test=True),
            "org": key(scopes=["game:write", "game:read"], organization_id=player.organization_id),
            "other_org": key(scopes=["game:write", "game:read"], organization_id=outsider.organization_id),
        }
        revoked = api_keys.create(session=s, actor=admin, data={"name": "gone"})
        api_keys.revoke(session=s, actor=admin, key_id=revoked.api_key.id)
        keys["revoked"] = revoked.key
        expired = api_keys.create(session=s, actor=admin, data={"name": "old", "expires_days": 1})
        expired.api_key.expires_at = datetime.now(UTC) - timedelta(minutes=1)
        s.add(expired.api_key)
        keys["expired"] = expired.key
    return World(
        sim, module, module2, other_sim, other_module, staged_sim, staged_module, player, outsider, assignment.id, keys
    )


def start(client, world: World, *, key: str = "rw", module=None, external: str | None = None, **extra):
    body = {
        "external_session_id": external or f"ext-{uuid.uuid4().hex[:10]}",
        "module_id": str((module or world.module).id),
        "player": {"email": world.player.email},
        "platform": "unreal",
        "started_at": T0.isoformat(),
        **extra,
    }
    return client.post("/api/v1/sessions", json=body, headers=world.auth(key))


def event(kind: str = "decision", *, at: int = 60, data: dict | None = None, id: str | None = None) -> dict:
    defaults = {
        "decision": {"decision_id": "d1", "choice_id": "c1", "impacts": {"financial": 10}},
        "milestone": {"milestone_id": "m1"},
        "score_update": {"scores": {"financial": 70}},
        "completion": {"outcome": "deal closed"},
        "custom": {"anything": [1, 2, 3]},
    }
    return {
        "id": id or str(uuid.uuid4()),
        "type": kind,
        "timestamp": (T0 + timedelta(seconds=at)).isoformat(),
        "data": defaults[kind] if data is None else data,
    }


def post_events(client, world: World, session_id: str, events: list[dict], key: str = "rw"):
    return client.post("/api/v1/events", json={"session_id": session_id, "events": events}, headers=world.auth(key))
