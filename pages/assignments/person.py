"""/assignments/person/{user_id}: one person's assignments, every session they played in the
organization, the final scores per dimension against the pass mark, and each debrief."""

from __future__ import annotations

import uuid

from nicegui import ui

from console.auth import Actor, Permission
from console.errors import NotFound
from console.services.assignments import person
from pages.access import secured_page
from pages.assignments.page import STATUS_SLOT, _day, _late
from pages.components import calls
from pages.components.markdown import user_markdown
from pages.layout import MUTED, Heading, frame
from pages.people.common import choose

ASSIGNMENT_COLUMNS = [
    {"name": "simulation", "label": "Simulation", "field": "simulation", "align": "left"},
    {"name": "status", "label": "Status", "field": "status", "align": "left"},
    {"name": "due", "label": "Due", "field": "due", "align": "left"},
    {"name": "late", "label": "Late", "field": "late", "align": "left"},
    {"name": "score", "label": "Score", "field": "score", "align": "left"},
    {"name": "assigned", "label": "Assigned", "field": "assigned", "align": "left"},
    {"name": "completed", "label": "Completed", "field": "completed", "align": "left"},
]


def _pass_label(passed: bool | None) -> str:
    return {True: "passed", False: "not passed", None: "no pass mark"}[passed]


def _minutes(seconds: int | None) -> str:
    return "—" if seconds is None else f"{seconds // 60} min {seconds % 60:02d} s"


@secured_page("/assignments/person/{user_id}", title="Person", permission=Permission.manage_organization)
async def person_page(actor: Actor, user_id: str, organization: str = ""):
    with frame(actor, "Person", breadcrumbs=[("Assignments", "/assignments"), ("Person", None)]):
        chosen = await choose(actor, organization, f"/assignments/person/{user_id}")
        if chosen is None:
            return
        try:
            seen = await calls.read(person.overview, user_id=uuid.UUID(user_id), organization_id=chosen.id)
        except (ValueError, NotFound):
            ui.label("Person not found in this organization.").classes(MUTED).mark("person-not-found")
            return
        _draw(seen)


def _draw(seen: person.PersonOverview) -> None:
    Heading(seen.name, level=2).classes("text-h5").mark("person-name")
    facts = [seen.email, seen.department or "no department", seen.role, seen.organization_name]
    if seen.deactivated:
        facts.append("deactivated")
    ui.label(" · ".join(facts)).classes(MUTED)

    with ui.card().classes("w-full"):
        Heading("Assignments", level=3).classes("text-h6")
        if not seen.assignments:
            ui.label("Nothing assigned. Assign a simulation from the Assignments page.").classes(MUTED)
        else:
            table = (
                ui.table(
                    columns=ASSIGNMENT_COLUMNS,
                    rows=[
                        {
                            "id": str(a.id),
                            "simulation": a.simulation_title,
                            "status": a.status.value,
                            "due": _day(a.due_date),
                            "late": _late(a.days_late, a.status),
                            "score": "" if a.score is None else f"{a.score:.1f} ({_pass_label(a.passed)})",
                            "assigned": _day(a.assigned_at),
                            "completed": _day(a.completed_at),
                        }
                        for a in seen.assignments
                    ],
                    row_key="id",
                )
                .props("flat bordered dense")
                .classes("w-full")
                .mark("person-assignments")
            )
            table.add_slot("body-cell-status", STATUS_SLOT)

    with ui.card().classes("w-full"):
        Heading("Sessions", level=3).classes("text-h6")
        if not seen.sessions:
            ui.label("No sessions played in this organization yet.").classes(MUTED).mark("person-no-sessions")
        elif seen.sessions_total > len(seen.sessions):
            ui.label(f"The newest {len(seen.sessions)}; export the results for all of them.").classes(MUTED)
        for s in seen.sessions:
            caption = f"{s.status.value.replace('_', ' ')} · started {s.started_at:%Y-%m-%d %H:%M} UTC"
            if s.total is not None:
                caption += f" · total {s.total:.1f}"
                if s.passed is not None:
                    caption += f" ({'passed' if s.passed else 'not passed'}, pass mark {s.pass_mark:g})"
            with (
                ui.expansion(f"{s.simulation_title} — {s.module_title}", caption=caption)
                .classes("w-full")
                .mark("person-session")
            ):
                ui.label(
                    f"Completed {s.completed_at:%Y-%m-%d %H:%M} UTC · {_minutes(s.duration_seconds)}"
                    if s.completed_at
                    else "Not completed."
                ).classes(MUTED)
                if s.dimensions:
                    _scores(s)
                if s.debrief_text:
                    Heading("Debrief", level=4).classes("text-subtitle1")
                    user_markdown(s.debrief_text).mark("person-debrief")
                elif s.total is not None:
                    ui.label("The debrief is being prepared.").classes(MUTED)


def _scores(s: person.PersonSession) -> None:
    """Each dimension on its own scale, and the total against the pass mark."""
    with ui.column().classes("w-full max-w-2xl gap-1").mark("person-scores"):
        for d in s.dimensions:
            share = (d.value - d.minimum) / (d.maximum - d.minimum) if d.maximum > d.minimum else 0
            with ui.row().classes("w-full items-center no-wrap gap-3"):
                ui.label(d.label).classes("w-40")
                bar = ui.linear_progress(value=max(0.0, min(1.0, share)), show_value=False, size="10px")
                bar.classes("flex-grow")
                # Set as a value, never parsed from a props string: a label is a studio creator's text.
                bar.props["aria-label"] = f"{d.label}: {d.value:g} of {d.maximum:g}"
                ui.label(f"{d.value:g} / {d.maximum:g}").classes("w-24 text-right")
        if s.total is not None and s.pass_mark is not None:
            with ui.row().classes("w-full items-center no-wrap gap-3"):
                ui.label("Total").classes("w-40 font-medium")
                color = "positive" if s.passed else "negative"
                bar = ui.linear_progress(value=s.total / 100, show_value=False, size="10px", color=color)
                bar.classes("flex-grow")
                bar.props["aria-label"] = f"Total: {s.total:g} of 100, pass mark {s.pass_mark:g}"
                ui.label(f"{s.total:g} / 100 (pass {s.pass_mark:g})").classes("w-40 text-right")
