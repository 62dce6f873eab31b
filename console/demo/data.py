"""The demo's shapes: names, organizations, the catalogue, stakeholders, and a plausible session's
event stream. Shared by the small demo (`seed`) and the large data set (`large.seed_large`)."""

from __future__ import annotations

from datetime import timedelta

from models.enums import Difficulty, EventType, OrgPlan, Platform, SessionStatus, SimulationFormat, SimulationStatus

SEED = 20261125

FIRST = [
    "Ana",
    "Ben",
    "Chloé",
    "Dev",
    "Emeka",
    "Farah",
    "Gus",
    "Hana",
    "Ivan",
    "Jade",
    "Kofi",
    "Lena",
    "Mateo",
    "Nia",
    "Omar",
    "Priya",
    "Quinn",
    "Rosa",
    "Sven",
    "Tara",
    "Uma",
    "Viktor",
    "Wen",
    "Yusuf",
    "Zoe",
]
LAST = [
    "Alvarez",
    "Brooks",
    "Chen",
    "Dubois",
    "Eriksen",
    "Fischer",
    "García",
    "Haddad",
    "Ito",
    "Jensen",
    "Kowalski",
    "Larsen",
    "Mensah",
    "Nakamura",
    "Okafor",
    "Patel",
    "Quintero",
    "Rossi",
    "Schmidt",
    "Tanaka",
    "Usman",
    "Weber",
]

ORGS = [
    ("Acme Corporation", "acme", OrgPlan.enterprise, 250, ["Finance", "Operations", "Sales", "People"], 90),
    ("Globex Industries", "globex", OrgPlan.standard, 60, ["Engineering", "Marketing", "Support"], 36),
    ("Initech Pilot", "initech", OrgPlan.pilot, 15, ["Leadership"], 12),
]

DIMENSIONS = {
    "financial": "Financial",
    "reputational": "Reputational",
    "stakeholder_trust": "Stakeholder trust",
    "team_morale": "Team morale",
    "speed": "Decision speed",
    "ethics": "Ethics",
}

SIMULATIONS = [
    {
        "title": "Activist Investor Showdown",
        "category": "Executive Leadership",
        "tags": ["negotiation", "board relations", "strategy"],
        "difficulty": Difficulty.executive,
        "format": SimulationFormat.unreal_3d,
        "status": SimulationStatus.published,
        "platform": Platform.unreal,
        "dims": [("financial", 40), ("reputational", 30), ("stakeholder_trust", 30)],
        "modules": ["The Letter", "Proxy Fight", "Board Vote"],
    },
    {
        "title": "Data Breach: The First 24 Hours",
        "category": "Crisis Management",
        "tags": ["crisis communication", "incident response", "ethics"],
        "difficulty": Difficulty.advanced,
        "format": SimulationFormat.realtime_crisis,
        "status": SimulationStatus.published,
        "platform": Platform.unity,
        "dims": [("reputational", 35), ("speed", 35), ("ethics", 30)],
        "modules": ["Detection", "Disclosure"],
    },
    {
        "title": "Leading Through a Merger",
        "category": "Change Management",
        "tags": ["change", "culture", "communication"],
        "difficulty": Difficulty.intermediate,
        "format": SimulationFormat.branching_narrative,
        "status": SimulationStatus.staged,
        "platform": Platform.web,
        "dims": [("team_morale", 50), ("stakeholder_trust", 30), ("financial", 20)],
        "modules": ["Day One", "Integration"],
    },
    {
        "title": "First-Time Manager Essentials",
        "category": "People Leadership",
        "tags": ["feedback", "delegation", "coaching"],
        "difficulty": Difficulty.foundational,
        "format": SimulationFormat.ai_adaptive,
        "status": SimulationStatus.review,
        "platform": Platform.web,
        "dims": [("team_morale", 60), ("speed", 40)],
        "modules": ["One-on-Ones"],
    },
    {
        "title": "Supply Chain Board Game",
        "category": "Operations",
        "tags": ["supply chain", "systems thinking"],
        "difficulty": Difficulty.intermediate,
        "format": SimulationFormat.multiplayer_board,
        "status": SimulationStatus.draft,
        "platform": Platform.other,
        "dims": [("financial", 70), ("speed", 30)],
        "modules": ["Season One"],
    },
]

STAKEHOLDERS = [
    ("Margaret Cole", "Board Chair", "Protect the company's long-term reputation", ["measured", "loyal"]),
    ("Victor Hale", "Activist Investor", "Unlock value fast, by a sale if needed", ["aggressive", "data-driven"]),
    ("Priya Raman", "CFO", "Keep the balance sheet defensible", ["cautious", "precise"]),
    ("Tom Becker", "Head of Comms", "Control the story before the press does", ["energetic", "intuitive"]),
    ("Lina Ortiz", "Employee Representative", "Keep jobs and trust on the floor", ["empathetic", "stubborn"]),
]


def session_events(rng, new_id, session_id, module, config, started, status, *, steps=None):  # noqa: ANN001
    """A plausible event stream: decisions that move dimensions, milestones, score updates, completion.

    `steps` moves (each a decision or a milestone, and a score update every third): about 1.3 events a
    step, plus the completion."""
    values = {d.key: 50.0 for d in config.dimensions}
    events = []
    clock = started
    for step in range(steps if steps is not None else rng.randint(6, 18)):
        clock += timedelta(seconds=rng.randint(20, 180))
        if step % 5 == 4:
            events.append(
                event(
                    new_id,
                    session_id,
                    EventType.milestone,
                    {"milestone_id": f"m{step // 5}", "label": f"Act {step // 5 + 1} complete"},
                    clock,
                )
            )
            continue
        impacts = {d.key: rng.randint(-12, 15) for d in rng.sample(config.dimensions, min(2, len(config.dimensions)))}
        for key, delta in impacts.items():
            values[key] = max(0.0, min(100.0, values[key] + delta))
        events.append(
            event(
                new_id,
                session_id,
                EventType.decision,
                {
                    "decision_id": f"d{step}",
                    "choice_id": f"c{rng.randint(1, 3)}",
                    "node_id": f"n{step}",
                    "label": rng.choice(
                        [
                            "Call the board",
                            "Go public",
                            "Hold the line",
                            "Negotiate privately",
                            "Bring in advisors",
                            "Delay the decision",
                        ]
                    ),
                    "time_to_decide_ms": rng.randint(4_000, 90_000),
                    "impacts": impacts,
                },
                clock,
            )
        )
        if step % 3 == 2:
            events.append(
                event(
                    new_id,
                    session_id,
                    EventType.score_update,
                    {"scores": {k: round(v) for k, v in values.items()}},
                    clock,
                )
            )
    if status == SessionStatus.completed:
        clock += timedelta(seconds=rng.randint(10, 60))
        events.append(
            event(
                new_id,
                session_id,
                EventType.completion,
                {"outcome": "finished", "scores": {k: round(v) for k, v in values.items()}},
                clock,
            )
        )
    return events, values, clock


def event(new_id, session_id, kind, data, when) -> dict:  # noqa: ANN001
    return {
        "id": new_id(),
        "session_id": session_id,
        "event_type": kind,
        "event_data": data,
        "timestamp": when,
        "received_at": when + timedelta(milliseconds=120),
    }


def debrief_for(scores: dict) -> str:
    dims = {k: v for k, v in scores.items() if k not in {"total", "percentile"}}
    strongest = max(dims, key=dims.get)
    weakest = min(dims, key=dims.get)
    return (
        f"## Your debrief\n\nTotal **{scores['total']}** (percentile {scores.get('percentile', '—')}).\n\n"
        f"- Strongest: **{strongest.replace('_', ' ')}** ({dims[strongest]})\n"
        f"- Weakest: **{weakest.replace('_', ' ')}** ({dims[weakest]}) — revisit the decisions that moved it.\n"
    )
