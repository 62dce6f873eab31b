"""Playing sessions for the live tests: what an engine does through the engine API, as service calls."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlmodel import Session

from console import unit_of_work
from console.api import batches
from console.auth import Actor
from console.services import ingest
from models import Module, Simulation, User
from models.enums import SimulationStatus, UserRole
from tests.factories import make_module, make_org, make_simulation, make_user

ENGINE = Actor.for_api_key(
    key_id=uuid.uuid4(), name="engine", prefix="sk_sim_test", scopes=["game:write"], simulation_id=None,
    organization_id=None,
)  # fmt: skip
TEST_ENGINE = Actor.for_api_key(
    key_id=uuid.uuid4(), name="engine (test key)", prefix="sk_sim_test", scopes=["game:write"], simulation_id=None,
    organization_id=None, test=True,
)  # fmt: skip


@dataclass
class Played:
    simulation: Simulation
    module: Module
    player: User


def playable(session: Session, *, author: User | None = None, organization_id: uuid.UUID | None = None,
             title: str = "Harbor Crisis") -> Played:  # fmt: skip
    """A published simulation and module, and a participant (of a new organization unless named)."""
    simulation = make_simulation(session, author=author, status=SimulationStatus.published, title=title)
    module = make_module(session, simulation, title="Act One")
    org = organization_id or make_org(session).id
    player = make_user(session, role=UserRole.enterprise_participant, organization_id=org, password=None)
    return Played(simulation, module, player)


def start(played: Played, *, started_at: datetime | None = None, test: bool = False) -> uuid.UUID:
    """Start a play session (committed) and return its id; with `test`, as a test key does."""
    with unit_of_work.transaction() as session:
        play, _ = ingest.start_session(
            session=session,
            actor=TEST_ENGINE if test else ENGINE,
            data=ingest.SessionStart(
                module_id=played.module.id,
                player=ingest.PlayerRef(email=played.player.email),
                external_session_id=f"t-{uuid.uuid4().hex}",
                started_at=started_at,
            ),
        )
        return play.id


def event(kind: str = "decision", *, data: dict | None = None, at: datetime | None = None) -> dict:
    defaults = {
        "decision": {"decision_id": "d1", "choice_id": "c2", "label": "Call the press", "impacts": {"financial": 10}},
        "milestone": {"milestone_id": "m1", "label": "Harbor closed"},
        "score_update": {"scores": {"financial": 70, "reputational": 40}},
        "completion": {"outcome": "deal closed"},
        "custom": {"anything": [1, 2, 3]},
    }
    return {
        "id": str(uuid.uuid4()),
        "type": kind,
        "timestamp": (at or datetime.now(UTC) - timedelta(seconds=1)).isoformat(),
        "data": defaults[kind] if data is None else data,
    }


def post(session_id: uuid.UUID, *events: dict) -> ingest.BatchResult:
    """Store a batch of events for a session (committed), as POST /events does."""
    batch = batches.read(json.dumps({"session_id": str(session_id), "events": list(events)}).encode()).incoming()
    with unit_of_work.transaction() as session:
        (result,) = ingest.record_event_batches(
            session=session, reports=[ingest.EventReport(ENGINE, batch, session_id=session_id)]
        )
    return result
