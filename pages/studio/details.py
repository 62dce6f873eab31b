"""The simulation's details form: the catalogue fields of a new or existing simulation."""

from __future__ import annotations

from nicegui import ui

from console.auth import Actor
from console.services import media, simulations
from models.enums import Difficulty, SimulationFormat
from pages.components import calls, conflicts
from pages.components.forms import ChipsField, FieldErrors
from pages.components.labels import enum_options
from pages.components.pickers import SearchSelect

LABELS = {
    "title": "Title",
    "category": "Category",
    "difficulty": "Difficulty",
    "format": "Format",
    "estimated_duration_min": "Duration (minutes)",
    "thumbnail_url": "Thumbnail URL",
    "description": "Description",
    "skill_tags": "Skill tags",
}


async def details_form(actor: Actor, sim, held: conflicts.Held | None = None) -> None:  # noqa: ANN001
    """The form for a new simulation (`sim` None), or an existing one whose version the workspace
    holds in `held` (shared with the scoring tab and the workflow bar: the same record)."""
    editable = sim is None or simulations.can_edit(actor, sim)
    errors = FieldErrors()
    with ui.card().classes("w-full max-w-4xl"):
        with ui.grid(columns=2).classes("w-full gap-3"):
            title = errors.add(
                "title",
                ui.input("Title *", value=sim.title if sim else "").props("outlined dense maxlength=255 autofocus"),
            )
            category = errors.add(
                "category",
                ui.input("Category", value=(sim.category or "") if sim else "").props("outlined dense maxlength=100"),
            )
            difficulty = errors.add(
                "difficulty",
                ui.select(
                    enum_options(Difficulty),
                    label="Difficulty *",
                    value=sim.difficulty.value if sim else Difficulty.intermediate.value,
                ).props("outlined dense"),
            )
            fmt = errors.add(
                "format",
                ui.select(
                    enum_options(SimulationFormat),
                    label="Format *",
                    value=sim.format.value if sim else SimulationFormat.branching_narrative.value,
                ).props("outlined dense"),
            )
            duration = errors.add(
                "estimated_duration_min",
                ui.number(
                    "Estimated duration (minutes)",
                    value=sim.estimated_duration_min if sim else None,
                    min=1,
                    max=1440,
                    precision=0,
                ).props("outlined dense"),
            )
            thumbnail = errors.add(
                "thumbnail_url",
                ui.input("Thumbnail URL", value=(sim.thumbnail_url or "") if sim else "").props(
                    "outlined dense maxlength=500"
                ),
            )
        description = errors.add(
            "description",
            ui.textarea("Description", value=(sim.description or "") if sim else "")
            .props("outlined dense autogrow maxlength=5000")
            .classes("w-full"),
        )
        tags = errors.add(
            "skill_tags",
            ChipsField("Skill tags", value=list(sim.skill_tags or []) if sim else [])
            .props("outlined dense")
            .classes("w-full"),
        )
        if sim is not None:

            async def images(text: str) -> dict[str, str]:
                found = await calls.read(media.simulation_images, simulation_id=sim.id, search=text)
                return {a.url: a.filename for a in found}

            first = await images("")
            if first and editable:
                picker = SearchSelect(
                    "Pick the thumbnail from this simulation's images",
                    images,
                    on_change=lambda e: thumbnail.set_value(e.value or thumbnail.value),
                )
                picker.props("outlined dense clearable").classes("w-full").mark("sim-thumbnail-pick")
                picker.set_options(first)
            if sim.thumbnail_url and sim.thumbnail_url.startswith("/media/"):
                ui.image(sim.thumbnail_url).classes("w-48 h-28 rounded").props(
                    'fit=cover alt="The simulation\'s thumbnail"'
                ).mark("sim-thumbnail")
        for element in (title, category, difficulty, fmt, duration, thumbnail, description, tags):
            element.set_enabled(editable)

        async def save() -> None:
            if not editable:
                return
            errors.clear()
            data = {
                "title": title.value or "",
                "description": description.value or None,
                "category": (category.value or "").strip() or None,
                "skill_tags": tags.settle(),
                "difficulty": difficulty.value,
                "format": fmt.value,
                "thumbnail_url": (thumbnail.value or "").strip() or None,
                "estimated_duration_min": int(duration.value) if duration.value not in (None, "") else None,
            }
            if sim is None:
                created = await calls.submit(simulations.create, errors=errors, data=data)
                if created is not calls.REFUSED:
                    ui.notify(f"Created “{created.title}”.", type="positive")
                    ui.navigate.to(f"/simulations/{created.id}")
                return

            saved = await calls.submit(
                simulations.update,
                errors=errors,
                on_stale=conflicts.resolver(held, yours=data, labels=LABELS, retry=save),
                simulation_id=sim.id,
                data=data,
                version=held.version,
            )
            if saved is not calls.REFUSED:
                held.version = saved.version
                ui.notify("Saved.", type="positive")

        with ui.row().classes("w-full justify-end gap-2"):
            ui.button("Cancel", on_click=lambda: ui.navigate.to("/simulations")).props("flat")
            if editable:
                ui.button("Save  (Ctrl+S)", icon="save", on_click=save).props("unelevated color=primary").classes(
                    "js-save"
                ).mark("sim-save")
