"""The workflow bar over a simulation's workspace: status, the moves the viewer may make, duplicate."""

from __future__ import annotations

from collections.abc import Callable

from nicegui import ui

from console.auth import Actor
from console.services import simulations, workflow
from models import Simulation
from pages.components import calls, conflicts
from pages.components.dialogs import confirm
from pages.components.forms import FieldErrors
from pages.studio.common import STATUS_COLORS


async def workflow_bar(actor: Actor, sim: Simulation, *, url: Callable[[], str], held: conflicts.Held):  # noqa: ANN201
    """Status, the moves this actor may make now, and "duplicate as draft"; after a move the page
    redraws where the user was (`url`)."""
    moves = workflow.available(actor, sim)
    can_duplicate = workflow.can_duplicate(actor, sim)
    with ui.row().classes("w-full items-center gap-2 text-grey-8").mark("workflow-bar"):
        ui.badge(sim.status.value).props(f"color={STATUS_COLORS[sim.status.value]}").mark("sim-status")
        ui.label(f"slug: {sim.slug}").mark("sim-slug")
        ui.label(f"updated {sim.updated_at:%Y-%m-%d %H:%M}")
        if sim.published_at:
            ui.label(f"published {sim.published_at:%Y-%m-%d}").mark("sim-published-at")
        ui.space()
        for move in moves:
            ui.button(move.label, on_click=lambda m=move: _run_transition(actor, sim, m, url, held)).props(
                "unelevated no-caps color=primary" if move.name in ("submit", "publish", "stage") else "outline no-caps"
            ).mark(f"wf-{move.name}")
        if can_duplicate:
            ui.button("Duplicate as draft", icon="content_copy", on_click=lambda: _duplicate(actor, sim)).props(
                "flat no-caps"
            ).mark("wf-duplicate")
    if sim.status in simulations.READ_ONLY_STATUSES:
        ui.label(
            f"This simulation is {sim.status.value} and read-only. To change it, duplicate it as a draft."
        ).classes("text-deep-orange-10").mark("sim-readonly")
    elif not simulations.can_edit(actor, sim):
        ui.label("Read-only: you do not author this simulation.").classes("text-deep-orange-10").mark("sim-readonly")

    @ui.refreshable
    async def checks() -> None:
        # The publishing checks, for whoever can act on them: authors while they work, admins on review.
        if workflow.can_check_readiness(actor, sim):
            problems = await calls.read(workflow.readiness, simulation_id=sim.id)
            _problem_list(problems, ok_text="Ready to publish: every check passes.")

    await checks()
    return checks.refresh


def _problem_list(problems: dict[str, str], *, ok_text: str) -> None:
    with ui.column().classes("gap-0").mark("wf-problems"):
        if not problems:
            ui.label(ok_text).classes("text-positive")
            return
        ui.label("Before this can be published:").classes("text-negative font-medium")
        for where, what in problems.items():
            with ui.row().classes("items-center gap-1 text-negative"):
                ui.icon("error_outline")
                ui.label(f"{where}: {what}")


async def _run_transition(
    actor: Actor, sim: Simulation, move: workflow.Transition, url: Callable[[], str], held: conflicts.Held
) -> None:
    with ui.dialog() as dialog, ui.card().classes("min-w-[460px]"):
        ui.label(f"{move.label}: “{sim.title}”").classes("text-h6")
        errors = FieldErrors()
        comment = errors.add(
            "comment",
            ui.textarea("Comment" + (" *" if move.comment_required else " (optional)"))
            .props("outlined autogrow maxlength=2000")
            .classes("w-full"),
        ).mark("wf-comment")
        problems_box = ui.column().classes("w-full")

        async def go() -> None:
            text = (comment.value or "").strip()
            if move.comment_required and not text:
                errors.show({"comment": "Say what needs to change."})
                return
            problems_box.clear()

            async def stale(exc) -> None:  # noqa: ANN001
                # Not overwritable: a move is judged on what is there now, so look at it first.
                dialog.close()
                seen = {"status": sim.status.value, "title": sim.title, "description": sim.description}
                labels = {"status": "Status", "title": "Title", "description": "Description"}
                choice = await conflicts.ask(
                    exc, yours=seen, labels=labels, can_overwrite=False, yours_label="When you opened it"
                )
                if choice == "reload":
                    ui.navigate.reload()

            moved = await calls.submit(
                workflow.transition,
                errors=errors,
                on_stale=stale,
                simulation_id=sim.id,
                name=move.name,
                comment=text,
                version=held.version,
            )
            if moved is calls.REFUSED:
                if not errors.last:  # refused outright (the status moved on, or no right to): nothing to fix here
                    dialog.close()
                elif "comment" not in errors.last:
                    with problems_box:
                        _problem_list(errors.last, ok_text="")
                return
            dialog.close()
            ui.notify(f"{move.label}: done.", type="positive")
            ui.navigate.to(url())

        with ui.row().classes("w-full justify-end gap-2"):
            ui.button("Cancel", on_click=dialog.close).props("flat").mark("wf-cancel")
            ui.button(move.label, on_click=go).props("unelevated color=primary").mark("wf-ok")
    dialog.open()


async def _duplicate(actor: Actor, sim: Simulation) -> None:
    if not await confirm(f"Make a new draft copy of “{sim.title}”?", action="Duplicate", danger=False):
        return
    copy = await calls.submit(workflow.duplicate_as_draft, simulation_id=sim.id)
    if copy is calls.REFUSED:
        return
    ui.notify("Draft copy created.", type="positive")
    ui.navigate.to(f"/simulations/{copy.id}")
