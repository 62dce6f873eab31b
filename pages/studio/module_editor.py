"""One module's editor: its fields, the Markdown briefing with a preview, stakeholder cards, and what an
engine would receive."""

from __future__ import annotations

import json
import uuid

from nicegui import ui

from console.auth import Actor
from console.errors import DomainError
from console.services import media, modules
from console.services.listing import MAX_PAGE_SIZE, ListQuery
from models import Module, Simulation
from models.enums import ModuleStatus, Platform
from pages.components import calls, conflicts
from pages.components.forms import ChipsField, FieldErrors
from pages.components.labels import enum_options
from pages.components.markdown import user_markdown

LABELS = {
    "title": "Title",
    "status": "Status",
    "platform": "Platform",
    "launch_url": "Launch URL",
    "build_version": "Build version",
    "estimated_duration_min": "Duration (minutes)",
    "is_free_demo": "Free demo",
    "narrative_context": "Briefing",
    "stakeholders": "Stakeholders",
}


async def module_editor(actor: Actor, sim: Simulation, module: Module, *, editable: bool, on_saved) -> None:  # noqa: ANN001
    errors = FieldErrors()
    held = conflicts.Held(module.version)
    images = (
        await calls.read(
            media.list_,
            module_id=module.id,
            query=ListQuery(filters={"type": "image"}, sort="filename", limit=MAX_PAGE_SIZE),
        )
    ).rows
    portrait_options = {"": "No portrait", **{a.url: a.filename for a in images}}
    stakeholders: list[dict] = [
        {
            "name": s.get("name", ""),
            "role": s.get("role", ""),
            "motivation": s.get("motivation", ""),
            "portrait_url": s.get("portrait_url") or "",
            "personality_traits": list(s.get("personality_traits") or []),
        }
        for s in module.stakeholders or []
    ]

    with ui.row().classes("w-full items-center"):
        ui.label(module.title).classes("text-h6").mark("mod-editor-title")
        ui.space()
        ui.button("Preview as engine", icon="data_object", on_click=lambda: _engine_preview(actor, module.id)).props(
            "flat no-caps"
        ).mark("mod-preview")
    with ui.grid(columns=3).classes("w-full gap-3"):
        title = errors.add("title", ui.input("Title *", value=module.title).props("outlined dense maxlength=255"))
        status = errors.add(
            "status",
            ui.select(enum_options(ModuleStatus), label="Status", value=module.status.value).props("outlined dense"),
        )
        platform = errors.add(
            "platform",
            ui.select(
                {"": "—", **enum_options(Platform)},
                label="Platform",
                value=module.platform.value if module.platform else "",
            ).props("outlined dense"),
        )
        launch_url = errors.add(
            "launch_url",
            ui.input("Launch URL", value=module.launch_url or "", placeholder="https://…").props(
                "outlined dense maxlength=500"
            ),
        )
        build = errors.add(
            "build_version",
            ui.input("Build version", value=module.build_version or "").props("outlined dense maxlength=50"),
        )
        duration = errors.add(
            "estimated_duration_min",
            ui.number("Duration (minutes)", value=module.estimated_duration_min, min=1, max=1440, precision=0).props(
                "outlined dense"
            ),
        )
    free_demo = errors.add("is_free_demo", ui.switch("Free demo", value=module.is_free_demo))
    ui.label("Briefing (Markdown)").classes("text-subtitle2 mt-2")
    with ui.row().classes("w-full gap-3 no-wrap items-stretch"):
        briefing = errors.add(
            "narrative_context",
            ui.textarea(value=module.narrative_context or "", placeholder="What the player is told before they start…")
            .props("outlined autogrow input-class=font-mono")
            .classes("w-1/2"),
        )
        with ui.card().classes("w-1/2 bg-grey-1").props("flat bordered"):
            ui.label("Preview").classes("text-caption text-grey-8")
            # Cleaned on the server to formatted text (no style, script, SVG, handlers or non-http(s) links),
            # then by NiceGUI's sanitizer: pages/components/markdown.py.
            preview = user_markdown(module.narrative_context).classes("w-full").mark("mod-briefing-preview")
    briefing.on_value_change(lambda e: preview.set_markdown(e.value))

    ui.label("Stakeholders").classes("text-subtitle2 mt-2")
    stakeholder_errors = ui.column().classes("gap-0")

    trait_fields: list[tuple[dict, ChipsField]] = []

    def settle_traits() -> None:
        """Typed trait text becomes a chip before anything is saved or redrawn (nothing typed is lost)."""
        for person, field in trait_fields:
            person["personality_traits"] = field.settle()

    @ui.refreshable
    def stakeholder_cards() -> None:
        trait_fields.clear()
        with ui.row().classes("w-full gap-3 flex-wrap items-start"):
            for index, person in enumerate(stakeholders):
                with ui.card().classes("w-[300px] gap-1").mark(f"sh-card-{index}"):
                    with ui.row().classes("w-full items-center no-wrap"):
                        portrait = (
                            ui.image(person["portrait_url"])
                            .classes("w-12 h-12 rounded-full")
                            .props(f'alt="Portrait of stakeholder {index + 1}"')
                            .mark(f"sh-portrait-{index}")
                        )
                        placeholder = ui.icon("person", size="48px").classes("text-grey-6")
                        portrait.set_visibility(bool(person["portrait_url"]))
                        placeholder.set_visibility(not person["portrait_url"])
                        ui.space()
                        if editable:
                            ui.button(icon="delete", on_click=lambda i=index: remove(i)).props(
                                f'flat dense round size=sm aria-label="Remove stakeholder {index + 1}"'
                            ).tooltip("Remove").mark(f"sh-remove-{index}")
                    for key, label in (("name", "Name *"), ("role", "Role")):
                        ui.input(label, value=person[key]).props("outlined dense maxlength=100").classes(
                            "w-full"
                        ).bind_value(person, key).mark(f"sh-{key}-{index}").set_enabled(editable)
                    ui.textarea("Motivation", value=person["motivation"]).props(
                        "outlined dense autogrow maxlength=2000"
                    ).classes("w-full").bind_value(person, "motivation").mark(f"sh-motivation-{index}").set_enabled(
                        editable
                    )
                    options = dict(portrait_options)
                    if person["portrait_url"] and person["portrait_url"] not in options:
                        options[person["portrait_url"]] = "(another file)"

                    def choose_portrait(e, p=person, image=portrait, icon=placeholder) -> None:  # noqa: ANN001
                        # Only this card's picture changes: a redraw of the cards would replace the
                        # fields someone may be typing into right now.
                        p["portrait_url"] = e.value or ""
                        if p["portrait_url"]:
                            image.set_source(p["portrait_url"])
                        image.set_visibility(bool(p["portrait_url"]))
                        icon.set_visibility(not p["portrait_url"])

                    ui.select(
                        options,
                        label="Portrait (from this module's images)",
                        value=person["portrait_url"],
                        on_change=choose_portrait,
                    ).props("outlined dense").classes("w-full").mark(f"sh-portrait-select-{index}").set_enabled(
                        editable
                    )
                    traits = (
                        ChipsField("Personality traits", value=person["personality_traits"])
                        .props("outlined dense")
                        .classes("w-full")
                        .bind_value(person, "personality_traits")
                        .mark(f"sh-traits-{index}")
                    )
                    traits.set_enabled(editable)
                    trait_fields.append((person, traits))
            if editable:
                ui.button("Add stakeholder", icon="person_add", on_click=add_person).props("outline no-caps").mark(
                    "sh-add"
                )

    def add_person() -> None:
        settle_traits()
        stakeholders.append({"name": "", "role": "", "motivation": "", "portrait_url": "", "personality_traits": []})
        stakeholder_cards.refresh()

    def remove(index: int) -> None:
        settle_traits()
        stakeholders.pop(index)
        stakeholder_cards.refresh()

    stakeholder_cards()
    for element in (title, status, platform, launch_url, build, duration, free_demo, briefing):
        element.set_enabled(editable)

    async def save() -> None:
        settle_traits()
        stakeholder_errors.clear()
        data = {
            "title": title.value or "",
            "status": status.value,
            "platform": platform.value or None,
            "launch_url": (launch_url.value or "").strip() or None,
            "build_version": (build.value or "").strip() or None,
            "estimated_duration_min": int(duration.value) if duration.value not in (None, "") else None,
            "is_free_demo": bool(free_demo.value),
            "narrative_context": briefing.value or None,
            "stakeholders": [{**p, "portrait_url": p["portrait_url"] or None} for p in stakeholders],
        }

        saved = await calls.submit(
            modules.update,
            errors=errors,
            on_stale=conflicts.resolver(held, yours=data, labels=LABELS, retry=save),
            module_id=module.id,
            data=data,
            version=held.version,
        )
        if saved is calls.REFUSED:
            with stakeholder_errors:  # each card's problems, by card (the cards have no single field)
                for where, what in errors.last.items():
                    if where.startswith("stakeholders"):
                        parts = where.split(".")
                        label = f"Stakeholder {int(parts[1]) + 1} · {parts[2]}" if len(parts) > 2 else "Stakeholders"
                        ui.label(f"{label}: {what}").classes("text-negative").mark("sh-error")
            return
        held.version = saved.version
        ui.notify("Module saved.", type="positive")
        await on_saved()

    if editable:
        with ui.row().classes("w-full justify-end"):
            ui.button("Save module  (Ctrl+S)", icon="save", on_click=save).props("unelevated color=primary").classes(
                "js-save"
            ).mark("mod-save")


async def _engine_preview(actor: Actor, module_id: uuid.UUID) -> None:
    try:
        module, sim = await calls.read(modules.get_with_simulation, module_id=module_id)
    except DomainError as exc:
        calls.notify_error(exc)
        return
    text = json.dumps(modules.engine_view(module, sim), indent=2, ensure_ascii=False)
    with ui.dialog() as dialog, ui.card().classes("min-w-[640px] max-w-[900px]"):
        ui.label(f"GET /api/v1/modules/{module.id}").classes("font-mono text-sm text-grey-8")
        ui.label("What an engine receives for this module (from the saved version).").classes("text-caption")
        with ui.scroll_area().classes("w-full h-[60vh] bg-grey-1"):
            # A label, not ui.code/ui.html: the JSON holds user text and is shown as text only.
            ui.label(text).classes("whitespace-pre font-mono text-xs p-2").mark("engine-json")
        with ui.row().classes("w-full justify-end"):
            ui.button("Close", on_click=dialog.close).props("flat")
    dialog.open()
