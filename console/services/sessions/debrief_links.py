"""A session's debrief as statements, each linked to the decision event(s) it rests on.

A debrief is Markdown text (console/services/debrief.py) and keeps no event ids. The links are derived:

1. **Exact names.** The offline generator names every decision it talks about with `Decision.name()`:
   `“label” (choice c2, at 3:05)` or `decision d4 (choice c1, at 0:40)` — label or decision id, choice
   and the time from the session's start, escaped for Markdown. We rebuild that name for each decision
   event of the session, with the same function and the same start (the session's start or its first
   event, whichever is earlier), and a statement links to the events whose name it contains. Two
   decisions with the same label, choice and second share a name, and both are linked.
2. **Decision ids.** A debrief written by a language model (`SIMVADO_LLM_*`) keeps the facts but
   not always the wording: a statement that names no event exactly links to the decisions it mentions
   as `decision <id>`.

A statement is one line of the Markdown (a heading, a paragraph, a list item): the generator writes
one fact per line. Lines that name no decision link to nothing.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Integer, extract, func, or_, select
from sqlmodel import Session

from console.services.debrief import Decision
from models import GameEvent, PlaySession
from models.enums import EventType

# The tail of every name the generator writes: the choice and the clock (minutes:seconds from the start).
_NAMED = re.compile(r"\(choice .+?, at (\d+):(\d\d)\)")
_DECISION_ID = re.compile(r"\bdecision ((?:\\.|[^\s,;:()])+)")
_UNESCAPE = re.compile(r"\\(.)")


@dataclass
class Statement:
    text: str  # one line of the debrief's Markdown
    event_ids: list[uuid.UUID] = field(default_factory=list)


def statements(session: Session, play: PlaySession, started: datetime) -> list[Statement]:
    """The debrief's lines, each with the decision events it names (none without a debrief).

    Only the decisions a line could name are read: those at a second some line names (a 5,000-event
    session has a few thousand decisions; its debrief names a dozen), and those whose id a line names.
    """
    if not play.debrief_text:
        return []
    lines = [line for line in play.debrief_text.splitlines() if line.strip()]
    seconds = {int(m) * 60 + int(s) for line in lines for m, s in _NAMED.findall(line)}
    mentioned = {_UNESCAPE.sub(r"\1", m).rstrip(".") for line in lines for m in _DECISION_ID.findall(line)}
    if not seconds and not mentioned:
        return [Statement(line) for line in lines]
    clock = func.greatest(0, func.floor(extract("epoch", GameEvent.timestamp - started))).cast(Integer)
    by_name: dict[str, list[uuid.UUID]] = {}
    by_decision: dict[str, list[uuid.UUID]] = {}
    for event_id, data, at in session.execute(
        select(GameEvent.id, GameEvent.event_data, GameEvent.timestamp)
        .where(
            GameEvent.session_id == play.id,
            GameEvent.event_type == EventType.decision,
            or_(
                clock.in_(sorted(seconds) or [-1]),
                GameEvent.event_data["decision_id"].astext.in_(sorted(mentioned) or [""]),
            ),
        )
        .order_by(GameEvent.timestamp, GameEvent.received_at, GameEvent.id)
    ):
        decision = _decision(data or {}, (at - started).total_seconds())
        by_name.setdefault(decision.name(), []).append(event_id)
        by_decision.setdefault(decision.decision_id, []).append(event_id)
    return [Statement(line, _links(line, by_name, by_decision)) for line in lines]


def _decision(data: dict, at_seconds: float) -> Decision:
    """The decision as the generator saw it (debrief._decisions), for its name."""
    return Decision(
        decision_id=str(data.get("decision_id", "?")),
        choice_id=str(data.get("choice_id", "?")),
        label=data.get("label"),
        at_seconds=at_seconds,
        time_to_decide_ms=None,
    )


def _links(line: str, by_name: dict[str, list[uuid.UUID]], by_decision: dict[str, list[uuid.UUID]]) -> list[uuid.UUID]:
    found: list[uuid.UUID] = []
    if _NAMED.search(line):
        for name, ids in by_name.items():
            if name in line:
                found += ids
    if not found:
        for match in _DECISION_ID.finditer(line):
            found += by_decision.get(_UNESCAPE.sub(r"\1", match.group(1)).rstrip("."), [])
    return list(dict.fromkeys(found))
