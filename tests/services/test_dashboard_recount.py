"""The dashboard reads indexes and counts the database keeps current; after every kind of change —
a session started, events, a completion, the abandon and overdue sweeps, deletions, a bulk insert —
its figures equal a plain recount of the rows, for every role that has a dashboard."""

from __future__ import annotations

import json
import uuid
from datetime import date, timedelta

from sqlalchemy import delete, insert, text

from console.auth import Actor
from console.services import assignments, dashboard, ingest, sweeps
from models import PlaySession, SimulationAssignment
from models.base import utcnow
from models.enums import AssignmentStatus, SimulationStatus, UserRole
from tests.factories import actor_of, make_module, make_org, make_simulation, make_user

RECOUNT = {
    "sessions_in_progress": "SELECT count(*) FROM sessions s WHERE status = 'in_progress' AND {scope}",
    "sessions_completed_30d": (
        "SELECT count(*) FROM sessions s WHERE status = 'completed' AND completed_at >= now() - interval '30 days' "
        "AND {scope}"
    ),
    "average_total_score_30d": (
        "SELECT round(avg((final_scores->>'total')::float)::numeric, 1) FROM sessions s WHERE status = 'completed' "
        "AND completed_at >= now() - interval '30 days' AND {scope}"
    ),
}


def _recount(session, actor_scope: str, org_id=None) -> dict:  # noqa: ANN001
    out = {key: session.scalar(text(sql.format(scope=actor_scope)), {"org": org_id}) for key, sql in RECOUNT.items()}
    out["sessions_completed_30d"] = out["sessions_completed_30d"] or 0
    if org_id is not None:
        by_status = dict(
            session.execute(
                text(
                    "SELECT status::text, count(*) FROM simulation_assignments WHERE organization_id = :org "
                    "GROUP BY status"
                ),
                {"org": org_id},
            ).all()
        )
        out["assignments_by_status"] = {s.value: by_status.get(s.value, 0) for s in AssignmentStatus}
    return out


def _check(session, world) -> None:  # noqa: ANN001
    session.flush()
    admin = dashboard.summary(session=session, actor=world["platform"])
    org = dashboard.summary(session=session, actor=world["org_admin"])
    expected_admin = _recount(session, "true")
    expected_org = _recount(session, "s.organization_id = :org", world["org"].id)
    assert {k: admin[k] for k in expected_admin} == expected_admin
    assert {k: org[k] for k in expected_org} == expected_org
    events = session.scalar(text("SELECT count(*) FROM game_events WHERE received_at >= now() - interval '1 day'"))
    assert admin["events_24h"] == events


def _batch(*events: tuple[str, dict]) -> ingest.IncomingBatch:
    now = utcnow()
    payload = [
        {"id": str(uuid.uuid4()), "type": kind, "timestamp": (now + timedelta(seconds=i)).isoformat(), "data": data}
        for i, (kind, data) in enumerate(events)
    ]
    return ingest.IncomingBatch(
        events_json=json.dumps(payload).encode(),
        ids=[uuid.UUID(e["id"]) for e in payload],
        types=[e["type"] for e in payload],
    )


def test_dashboard_figures_equal_a_recount_after_every_kind_of_change(session):
    org = make_org(session)
    other_org = make_org(session)
    org_admin = make_user(session, role=UserRole.enterprise_admin, organization_id=org.id)
    players = [make_user(session, role=UserRole.enterprise_participant, organization_id=org.id) for _ in range(3)]
    outsider = make_user(session, role=UserRole.enterprise_participant, organization_id=other_org.id)
    sim = make_simulation(session, status=SimulationStatus.published)
    module = make_module(session, sim)
    world = {
        "org": org,
        "platform": actor_of(make_user(session, role=UserRole.platform_admin)),
        "org_admin": actor_of(org_admin),
    }
    for player in players:
        session.add(
            SimulationAssignment(
                organization_id=org.id,
                assigned_by_user_id=org_admin.id,
                assigned_to_user_id=player.id,
                simulation_id=sim.id,
                due_date=date.today() + timedelta(days=7),
            )
        )
    _check(session, world)

    key = Actor.for_api_key(
        key_id=uuid.uuid4(),
        name="k",
        prefix="sk_sim_k",
        scopes=["game:write"],
        simulation_id=None,
        organization_id=None,
    )
    plays = []
    for player in [*players, outsider]:  # sessions start: assignments move to in progress
        play, _ = ingest.start_session(
            session=session,
            actor=key,
            data=ingest.SessionStart(module_id=module.id, player=ingest.PlayerRef(user_id=player.id)),
        )
        plays.append(play)
    _check(session, world)

    ingest.record_event_batches(  # events, then a completion for two of them
        session=session,
        reports=[
            ingest.EventReport(key, _batch(("decision", {"decision_id": "d", "choice_id": "c"})), session_id=p.id)
            for p in plays
        ],
    )
    _check(session, world)
    for play in plays[:2]:
        ingest.record_event_batches(
            session=session,
            reports=[
                ingest.EventReport(key, _batch(("completion", {"scores": {"financial": 80}})), session_id=play.id)
            ],
        )
    _check(session, world)

    # The abandon sweep: the third session has been silent for hours.
    session.execute(text("UPDATE game_events SET received_at = now() - interval '5 hours' WHERE session_id = :s"),
                    {"s": plays[2].id})  # fmt: skip
    session.execute(text("UPDATE sessions SET started_at = now() - interval '5 hours' WHERE id = :s"),
                    {"s": plays[2].id})  # fmt: skip
    assert sweeps.mark_abandoned(session=session, idle=timedelta(hours=2)) == [plays[2].id]
    _check(session, world)

    # The overdue sweep, a bulk insert, and deletions (a session, an assignment, a whole batch).
    session.execute(text("UPDATE simulation_assignments SET due_date = current_date - 1 WHERE organization_id = :o"),
                    {"o": org.id})  # fmt: skip
    assert assignments.mark_overdue(session=session) >= 1
    _check(session, world)
    session.execute(
        insert(SimulationAssignment),
        [
            {"id": uuid.uuid4(), "organization_id": org.id, "assigned_to_user_id": players[0].id,
             "simulation_id": sim.id, "status": AssignmentStatus.completed, "assigned_at": utcnow()}
            for _ in range(5)
        ],
    )  # fmt: skip
    _check(session, world)
    session.execute(delete(PlaySession).where(PlaySession.id == plays[0].id))
    session.execute(delete(SimulationAssignment).where(SimulationAssignment.assigned_to_user_id == players[1].id))
    _check(session, world)
    session.execute(delete(SimulationAssignment).where(SimulationAssignment.organization_id == org.id))
    _check(session, world)
