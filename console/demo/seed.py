"""The demo: three organizations, every role, five simulations, a few hundred played sessions.

Deterministic: the same seed gives the same people, catalogue and play history, anchored at the
day it is loaded (so dashboards always show recent activity). Passwords are random per load and
written to the data folder, never committed.
"""

from __future__ import annotations

import random
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import func, insert, select, text
from sqlmodel import Session

from console.auth import Actor
from console.demo.data import (
    DIMENSIONS,
    FIRST,
    LAST,
    ORGS,
    SEED,
    SIMULATIONS,
    STAKEHOLDERS,
    debrief_for,
    session_events,
)
from console.demo.media import briefing_pack, cover, portrait
from console.demo.results import RESULTS_FROM_SESSIONS
from console.services import api_keys, media, scoring
from console.services.accounts import password_hash
from models import (
    AuditLogEntry,
    GameEvent,
    LocalCredential,
    MediaAsset,
    Module,
    Organization,
    OrgMembership,
    PlaySession,
    Simulation,
    SimulationAssignment,
    User,
)
from models.enums import (
    AssignmentStatus,
    MembershipRole,
    ModuleStatus,
    SessionStatus,
    SimulationStatus,
    SubscriptionTier,
    UserRole,
)


@dataclass
class DemoResult:
    logins: dict[str, tuple[str, str]] = field(default_factory=dict)  # role → (email, password)
    counts: dict[str, int] = field(default_factory=dict)
    api_key: str = ""  # an engine API key (game:write + game:read), for trying the API at once


def has_data(session: Session) -> bool:
    return (session.scalar(select(func.count()).select_from(User)) or 0) > 0


def seed(session: Session, *, seed_value: int = SEED, today: date | None = None) -> DemoResult:
    """Load the demo data set into an empty database (the caller commits)."""
    rng = random.Random(seed_value)
    now = datetime.now(UTC)
    today = today or now.date()
    anchor = datetime(today.year, today.month, today.day, 9, 0, tzinfo=UTC)
    live_now = now if today == now.date() else anchor  # "being played now", on the seeded day

    def new_id() -> uuid.UUID:
        return uuid.UUID(int=rng.getrandbits(128), version=4)

    result = DemoResult()
    passwords: dict[str, str] = {}

    def person(name: str, email: str, role: UserRole, org_id: uuid.UUID | None, *, login: bool) -> dict:
        user = {
            "id": new_id(),
            "email": email,
            "name": name,
            "role": role,
            "organization_id": org_id,
            "subscription_tier": SubscriptionTier.enterprise if org_id else SubscriptionTier.free,
            "created_at": anchor - timedelta(days=rng.randint(40, 400)),
            "updated_at": anchor - timedelta(days=rng.randint(0, 39)),
        }
        users.append(user)
        if login:
            passwords[email] = secrets.token_urlsafe(9)
        return user

    users: list[dict] = []
    orgs: list[dict] = []
    memberships: list[dict] = []
    participants_by_org: dict[uuid.UUID, list[dict]] = {}
    admins_by_org: dict[uuid.UUID, dict] = {}

    platform_admin = person("Pat Admin", "admin@simvado.example", UserRole.platform_admin, None, login=True)
    creators = [
        person("Sam Studio", "studio@simvado.example", UserRole.studio_creator, None, login=True),
        person("Rio Builder", "rio@simvado.example", UserRole.studio_creator, None, login=True),
    ]
    result.logins["platform_admin"] = (platform_admin["email"], "")
    result.logins["studio_creator"] = (creators[0]["email"], "")

    for name, slug, plan, seats, departments, size in ORGS:
        org = {
            "id": new_id(),
            "name": name,
            "slug": slug,
            "plan": plan,
            "seat_limit": seats,
            # Acme has chosen its provider but not finished setting it up: SSO off until an admin
            # enters the issuer, client and domains (on, without them, nobody could sign in).
            "sso_enabled": False,
            "sso_provider": "okta" if slug == "acme" else None,
            "created_at": anchor - timedelta(days=rng.randint(200, 500)),
            "updated_at": anchor - timedelta(days=rng.randint(0, 30)),
        }
        orgs.append(org)
        first_admin = slug == "acme"
        admin = person(
            f"{rng.choice(FIRST)} {rng.choice(LAST)}",
            f"admin@{slug}.example",
            UserRole.enterprise_admin,
            org["id"],
            login=True,
        )
        admins_by_org[org["id"]] = admin
        memberships.append(_membership(new_id(), admin, org, MembershipRole.admin, departments[0], anchor))
        if first_admin:
            result.logins["enterprise_admin"] = (admin["email"], "")
        members = []
        used = set()
        for i in range(size):
            first, last = rng.choice(FIRST), rng.choice(LAST)
            local = f"{first}.{last}".lower().replace("é", "e").replace("í", "i")
            while local in used:
                local += str(i)
            used.add(local)
            member = person(
                f"{first} {last}",
                f"{local}@{slug}.example",
                UserRole.enterprise_participant,
                org["id"],
                login=(first_admin and i == 0),
            )
            if first_admin and i == 0:
                result.logins["enterprise_participant"] = (member["email"], "")
            members.append(member)
            memberships.append(
                _membership(new_id(), member, org, MembershipRole.participant, rng.choice(departments), anchor)
            )
        participants_by_org[org["id"]] = members

    individuals = [
        person(
            f"{rng.choice(FIRST)} {rng.choice(LAST)}",
            f"solo{i}@mail.example",
            UserRole.individual,
            None,
            login=(i == 0),
        )
        for i in range(6)
    ]
    for individual in individuals[1:]:
        individual["subscription_tier"] = rng.choice(
            [SubscriptionTier.free, SubscriptionTier.pro_monthly, SubscriptionTier.pro_annual]
        )
    result.logins["individual"] = (individuals[0]["email"], "")

    session.execute(insert(Organization), orgs)
    session.execute(insert(User), users)
    session.execute(insert(OrgMembership), memberships)
    session.execute(
        insert(LocalCredential),
        [
            {
                "user_id": u["id"],
                "email": u["email"],
                "password_hash": password_hash.hash(passwords[u["email"]]),
                "failed_attempts": 0,
                "password_changed_at": anchor,
            }
            for u in users
            if u["email"] in passwords
        ],
    )
    for role, (email, _) in list(result.logins.items()):
        result.logins[role] = (email, passwords[email])

    # The catalogue, with its pictures and documents drawn here and kept in the console's own storage.
    sims: list[dict] = []
    modules: list[dict] = []
    files: list[tuple[MediaAsset, bytes]] = []

    def add_file(module_id: uuid.UUID, filename: str, data: bytes, when: datetime) -> str:
        asset = media.prepare(module_id=module_id, filename=filename, data=data, asset_id=new_id())
        asset.uploaded_at = when
        files.append((asset, data))
        return asset.url

    configs: dict[uuid.UUID, scoring.ScoringConfig] = {}
    for index, spec in enumerate(SIMULATIONS):
        config = {
            "dimensions": [
                {"key": key, "label": DIMENSIONS[key], "weight": weight, "min": 0, "max": 100}
                for key, weight in spec["dims"]
            ],
            "pass_mark": 60,
        }
        sim_id = new_id()
        created = anchor - timedelta(days=120 - index * 10)
        published = spec["status"] == SimulationStatus.published
        sims.append(
            {
                "id": sim_id,
                "title": spec["title"],
                "slug": spec["title"].lower().replace(":", "").replace(" ", "-"),
                "description": f"{spec['title']}: a {spec['difficulty'].value} simulation on "
                f"{', '.join(spec['tags'])}.",
                "category": spec["category"],
                "skill_tags": spec["tags"],
                "difficulty": spec["difficulty"],
                "format": spec["format"],
                "status": spec["status"],
                "thumbnail_url": None,
                "estimated_duration_min": 25 * len(spec["modules"]),
                "author_id": creators[index % 2]["id"],
                "scoring_config": config,
                "created_at": created,
                "updated_at": created + timedelta(days=5),
                "published_at": created + timedelta(days=20) if published else None,
            }
        )
        for order, module_title in enumerate(spec["modules"]):
            module_id = new_id()
            configs[module_id] = scoring.ScoringConfig.model_validate(config)
            modules.append(
                {
                    "id": module_id,
                    "simulation_id": sim_id,
                    "title": module_title,
                    "slug": module_title.lower().replace(" ", "-"),
                    "sort_order": order,
                    "narrative_context": f"## {module_title}\n\nYou are the CEO. {spec['title']} begins here: "
                    f"read the room, weigh your stakeholders, and decide.\n",
                    "stakeholders": [
                        {
                            "name": n,
                            "role": r,
                            "motivation": m,
                            "portrait_url": add_file(
                                module_id, f"{n.lower().replace(' ', '-')}.png", portrait(n), created
                            ),
                            "personality_traits": t,
                        }
                        for n, r, m, t in rng.sample(STAKEHOLDERS, 3)
                    ],
                    "is_free_demo": order == 0,
                    "estimated_duration_min": 25,
                    "launch_url": f"https://play.simvado.example/{sim_id}/{order}",
                    "platform": spec["platform"],
                    "build_version": f"1.{index}.{order}",
                    "status": ModuleStatus.published
                    if spec["status"] != SimulationStatus.draft
                    else ModuleStatus.draft,
                    "created_at": created,
                }
            )
            if order == 0:
                subtitle = f"{spec['category']} · {len(spec['modules'])} modules"
                sims[-1]["thumbnail_url"] = add_file(module_id, "cover.png", cover(spec["title"], subtitle), created)
                add_file(
                    module_id,
                    "briefing-pack.pdf",
                    briefing_pack(spec["title"], [f"{i + 1}. {title}" for i, title in enumerate(spec["modules"])]),
                    created,
                )
    session.execute(insert(Simulation), sims)
    session.execute(insert(Module), modules)
    storage = media.get_storage()
    for asset, data in files:
        media.store(session=session, asset=asset, data=data, storage=storage)
    session.execute(insert(AuditLogEntry), _catalogue_history(sims, creators, platform_admin, new_id))

    # Assignments and play history for the published simulations.
    playable = [s for s in sims if s["status"] == SimulationStatus.published]
    modules_by_sim = {s["id"]: [m for m in modules if m["simulation_id"] == s["id"]] for s in sims}
    assignments: list[dict] = []
    play: list[dict] = []
    events: list[dict] = []
    totals_by_module: dict[uuid.UUID, list[float]] = {}
    for org in orgs:
        admin = admins_by_org[org["id"]]
        for member in participants_by_org[org["id"]]:
            for sim in rng.sample(playable, rng.randint(1, len(playable))):
                assigned_at = anchor - timedelta(days=rng.randint(5, 60))
                # Mostly a month or more to play, so the overdue ones stand out rather than dominate.
                due = (assigned_at + timedelta(days=rng.choice([14, 30, 45, 60, 90]))).date()
                sim_modules = modules_by_sim[sim["id"]]
                played = rng.choice([0, *range(1, len(sim_modules) + 1), len(sim_modules)])
                completed_modules = 0
                first_start = last_end = None
                for module in sim_modules[:played]:
                    started = assigned_at + timedelta(days=rng.randint(0, 10), minutes=rng.randint(0, 600))
                    if started > anchor:
                        started = anchor - timedelta(hours=rng.randint(1, 48))
                    outcome = rng.random()
                    status = (
                        SessionStatus.completed
                        if outcome < 0.8
                        else SessionStatus.abandoned
                        if outcome < 0.9
                        else SessionStatus.in_progress
                    )
                    if status == SessionStatus.in_progress:
                        # Being played right now (within the abandon sweep's two hours), so the
                        # console has live sessions to show; the counts stay as seeded.
                        started = live_now - timedelta(minutes=rng.randint(60, 100))
                    ps_id = new_id()
                    played_events, values, ended = session_events(
                        rng, new_id, ps_id, module, configs[module["id"]], started, status
                    )
                    events.extend(played_events)
                    row = {
                        "id": ps_id,
                        "user_id": member["id"],
                        "module_id": module["id"],
                        "organization_id": org["id"],
                        "external_session_id": f"demo-{ps_id.hex[:12]}",
                        "platform": module["platform"],
                        "launch_url": module["launch_url"],
                        "status": status,
                        "started_at": started,
                        "completed_at": None,
                        "total_duration_seconds": None,
                        "final_scores": None,
                        "debrief_text": None,
                        "debrief_generated_at": None,
                    }
                    first_start = min(first_start or started, started)
                    if status == SessionStatus.completed:
                        last_end = max(last_end or ended, ended)
                        completed_modules += 1
                        final = scoring.compute_final_scores(configs[module["id"]], values)
                        totals_by_module.setdefault(module["id"], []).append(final["total"])
                        row.update(
                            completed_at=ended,
                            total_duration_seconds=int((ended - started).total_seconds()),
                            final_scores=final,
                        )
                    play.append(row)
                if completed_modules == len(sim_modules):
                    status = AssignmentStatus.completed
                elif played:
                    status = AssignmentStatus.in_progress
                elif due < today:
                    status = AssignmentStatus.overdue
                else:
                    status = AssignmentStatus.assigned
                if status == AssignmentStatus.in_progress and due < today:
                    status = AssignmentStatus.overdue
                assignments.append(
                    {
                        "id": new_id(),
                        "organization_id": org["id"],
                        "assigned_by_user_id": admin["id"],
                        "assigned_to_user_id": member["id"],
                        "simulation_id": sim["id"],
                        "due_date": due,
                        "status": status,
                        "assigned_at": assigned_at,
                        "started_at": first_start,
                        "completed_at": last_end if status == AssignmentStatus.completed else None,
                    }
                )
    # Percentile among completed sessions of the same module, as the engine API computes it.
    for row in play:
        if row["final_scores"]:
            cohort = totals_by_module[row["module_id"]]
            below = sum(1 for t in cohort if t < row["final_scores"]["total"])
            row["final_scores"]["percentile"] = round(100 * below / len(cohort))
            row["debrief_text"] = debrief_for(row["final_scores"])
            row["debrief_generated_at"] = row["completed_at"] + timedelta(seconds=5)
    session.execute(insert(SimulationAssignment), assignments)
    session.execute(insert(PlaySession), play)
    session.execute(text(RESULTS_FROM_SESSIONS))
    for start in range(0, len(events), 5000):
        session.execute(insert(GameEvent), events[start : start + 5000])
    result.api_key = api_keys.create(
        session=session,
        actor=Actor.system("demo data"),
        data={"name": "Demo engine (every published simulation)", "scopes": ["game:write", "game:read"]},
    ).key
    result.counts = {
        "organizations": len(orgs),
        "users": len(users),
        "simulations": len(sims),
        "modules": len(modules),
        "sessions": len(play),
        "events": len(events),
        "assignments": len(assignments),
    }
    return result


# How far along the workflow each status is, and who made each move (DESIGN: author submits, a
# platform admin stages and publishes).
_WORKFLOW = [
    ("submit", SimulationStatus.review, "author"),
    ("stage", SimulationStatus.staged, "admin"),
    ("publish", SimulationStatus.published, "admin"),
]


def _catalogue_history(sims, creators, platform_admin, new_id) -> list[dict]:  # noqa: ANN001
    """The audit trail a simulation would have if it had been authored and reviewed in the console."""
    by_id = {c["id"]: c for c in creators}
    entries = []
    for sim in sims:
        author = by_id[sim["author_id"]]
        when = sim["created_at"]
        entries.append(_entry(new_id, author, "simulation.create", sim, when, None, {"title": sim["title"]}))
        reached = [SimulationStatus.review, SimulationStatus.staged, SimulationStatus.published]
        depth = reached.index(sim["status"]) + 1 if sim["status"] in reached else 0
        before = SimulationStatus.draft
        for step, (name, target, who) in enumerate(_WORKFLOW[:depth], start=1):
            actor = author if who == "author" else platform_admin
            entries.append(
                _entry(
                    new_id,
                    actor,
                    f"simulation.{name}",
                    sim,
                    when + timedelta(days=5 * step),
                    {"status": before.value},
                    {"status": target.value},
                )
            )
            before = target
    return entries


def _entry(new_id, actor, action, sim, when, before, after) -> dict:  # noqa: ANN001
    return {
        "id": new_id(),
        "actor_id": actor["id"],
        "actor_label": actor["email"],
        "action": action,
        "entity_type": "simulation",
        "entity_id": str(sim["id"]),
        "organization_id": None,
        "before": before,
        "after": after,
        "comment": None,
        "created_at": when,
    }


def _membership(id_, user, org, role, department, anchor) -> dict:  # noqa: ANN001
    return {
        "id": id_,
        "user_id": user["id"],
        "organization_id": org["id"],
        "role": role,
        "department": department,
        "joined_at": anchor - timedelta(days=100),
    }
