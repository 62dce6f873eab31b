"""How one event reads on a session's page: its title and lines, drawn as text.

Everything an engine sent — ids, labels, outcomes, a custom event's payload — is data: it reaches the
page only as the text of labels (Vue text interpolation), never as HTML, Markdown, props strings or
JavaScript. A custom payload is shown as indented JSON text, cut at `PAYLOAD_CHARS` (the raw events
table below has the whole of it).
"""

from __future__ import annotations

import json
from datetime import UTC
from typing import Any

from nicegui import ui

from console.services.sessions.detail import TimelineEvent
from models.enums import EventType
from pages.layout import MUTED

PAYLOAD_CHARS = 2_000
TYPE_COLOR = {  # white text on each: 4.5:1 and more
    EventType.decision: "indigo-9",
    EventType.milestone: "teal-9",
    EventType.score_update: "blue-grey-8",
    EventType.completion: "positive",
    EventType.custom: "brown-8",
}
TYPE_LABEL = {
    EventType.decision: "Decision",
    EventType.milestone: "Milestone",
    EventType.score_update: "Score update",
    EventType.completion: "Completion",
    EventType.custom: "Custom",
}


def text_of(value: Any) -> str:
    """Any JSON value as plain text: strings as they are, everything else as compact JSON."""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))


def clock(seconds: float) -> str:
    """Seconds from the start as m:ss (h:mm:ss past an hour); negative when an event predates it."""
    sign, seconds = ("-" if seconds < 0 else ""), abs(int(seconds))
    hours, rest = divmod(seconds, 3600)
    return f"{sign}{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{sign}{rest // 60}:{rest % 60:02d}"


def _numbers(scores: Any, signed: bool) -> str:
    if not isinstance(scores, dict) or not scores:
        return ""
    shown = []
    for key, value in scores.items():
        number = f"{value:+g}" if signed and isinstance(value, int | float) else text_of(value)
        shown.append(f"{text_of(key)} {number}")
    return " · ".join(shown)


def describe(event: TimelineEvent) -> tuple[str, list[str]]:
    """(title, lines) of an event, all plain text."""
    data = event.data if isinstance(event.data, dict) else {"data": event.data}
    kind = event.type
    if kind == EventType.decision:
        title = f"Decision {text_of(data.get('decision_id', '?'))} → choice {text_of(data.get('choice_id', '?'))}"
        lines = [f"“{text_of(data['label'])}”"] if data.get("label") is not None else []
        if impacts := _numbers(data.get("impacts"), signed=True):
            lines.append(f"Impacts: {impacts}")
        if isinstance(data.get("time_to_decide_ms"), int | float):
            lines.append(f"Decided in {data['time_to_decide_ms'] / 1000:.1f} s")
        if data.get("node_id") is not None:
            lines.append(f"Node {text_of(data['node_id'])}")
        return title, lines
    if kind == EventType.milestone:
        title = f"Milestone {text_of(data.get('milestone_id', '?'))}"
        return title, [f"“{text_of(data['label'])}”"] if data.get("label") is not None else []
    if kind in (EventType.score_update, EventType.completion):
        lines = []
        if kind == EventType.completion and data.get("outcome") is not None:
            lines.append(f"Outcome: {text_of(data['outcome'])}")
        if scores := _numbers(data.get("scores"), signed=False):
            lines.append(f"Scores: {scores}")
        return ("Score update" if kind == EventType.score_update else "Completed"), lines
    payload = json.dumps(data, ensure_ascii=False, indent=2)
    if len(payload) > PAYLOAD_CHARS:
        payload = payload[:PAYLOAD_CHARS] + f"\n… {len(payload) - PAYLOAD_CHARS:,} more characters in the raw events"
    return "Custom event", [payload]


def draw_event(event: TimelineEvent, *, highlighted: bool = False) -> ui.element:
    """One event of the timeline: its number, type, both clocks and what it says."""
    title, lines = describe(event)
    with ui.row().classes("w-full no-wrap items-start gap-3 px-2 py-1 rounded").mark("timeline-event") as row:
        if highlighted:
            row.classes("bg-amber-2")
        with ui.column().classes("gap-0 w-32 shrink-0"):
            ui.label(f"#{event.position} · +{clock(event.at_seconds)}").classes("text-caption font-medium")
            ui.badge(TYPE_LABEL[event.type]).props(f"color={TYPE_COLOR[event.type]}")
        with ui.column().classes("gap-0 grow min-w-0"):
            ui.label(title).classes("text-body2 font-medium break-all")
            for line in lines:
                label = ui.label(line).classes("text-body2 break-all")
                if event.type == EventType.custom:
                    label.classes("font-mono text-xs whitespace-pre-wrap").mark("timeline-payload")
        with ui.column().classes(f"gap-0 shrink-0 text-right text-caption {MUTED}"):
            ui.label(f"engine {event.timestamp.astimezone(UTC):%Y-%m-%d %H:%M:%S}")
            ui.label(f"received {event.received_at.astimezone(UTC):%H:%M:%S.%f}"[:-3])
    return row
