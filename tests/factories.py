"""Small factories: each makes one row with sensible defaults; tests override what matters to them."""

from __future__ import annotations

import functools
import uuid

from sqlmodel import Session

from console.auth import Actor
from console.services import accounts
from models import (
    LocalCredential,
    Module,
    Organization,
    Simulation,
    User,
)
from models.enums import (
    Difficulty,
    ModuleStatus,
    OrgPlan,
    SimulationFormat,
    SimulationStatus,
    UserRole,
)

PASSWORD = "correct horse battery"
SCORING = {
    "dimensions": [
        {"key": "financial", "label": "Financial", "weight": 60, "min": 0, "max": 100},
        {"key": "reputational", "label": "Reputational", "weight": 40, "min": 0, "max": 100},
    ],
    "pass_mark": 60,
}


@functools.cache
def _password_hash(password: str) -> str:
    # argon2 is slow by design; one hash per password per run keeps the suite fast. The hash is a real
    # argon2id hash of the password (random salt, made once), so logins verify it as they would any other.
    return accounts.password_hash.hash(password)


def _tag() -> str:
    return uuid.uuid4().hex[:8]


def make_org(session: Session, **overrides) -> Organization:
    tag = _tag()
    org = Organization(
        **{"name": f"Org {tag}", "slug": f"org-{tag}", "plan": OrgPlan.standard, "seat_limit": 50, **overrides}
    )
    session.add(org)
    session.flush()
    return org


def make_user(
    session: Session, *, role: UserRole = UserRole.studio_creator, password: str | None = PASSWORD, **overrides
) -> User:
    tag = _tag()
    if role in (UserRole.enterprise_admin, UserRole.enterprise_participant) and "organization_id" not in overrides:
        overrides["organization_id"] = make_org(session).id
    user = User(**{"email": f"user-{tag}@test.example", "name": f"User {tag}", "role": role, **overrides})
    session.add(user)
    session.flush()
    if password:
        session.add(LocalCredential(user_id=user.id, email=user.email.lower(), password_hash=_password_hash(password)))
        session.flush()
    return user


def actor_of(user: User) -> Actor:
    return accounts.actor_for_user(user)


def make_simulation(session: Session, *, author: User | None = None, **overrides) -> Simulation:
    tag = _tag()
    sim = Simulation(
        **{
            "title": f"Simulation {tag}",
            "slug": f"simulation-{tag}",
            "difficulty": Difficulty.intermediate,
            "format": SimulationFormat.branching_narrative,
            "status": SimulationStatus.draft,
            "author_id": author.id if author else None,
            "scoring_config": SCORING,
            **overrides,
        }
    )
    session.add(sim)
    session.flush()
    return sim


def make_module(session: Session, simulation: Simulation, **overrides) -> Module:
    tag = _tag()
    module = Module(
        **{
            "simulation_id": simulation.id,
            "title": f"Module {tag}",
            "slug": f"module-{tag}",
            "status": ModuleStatus.published,
            "launch_url": "https://play.test.example/m",
            **overrides,
        }
    )
    session.add(module)
    session.flush()
    return module
