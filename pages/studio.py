"""The authoring studio: a simulation's workspace (details, modules, scoring, media, history) and its
workflow bar. Drawn by the `/simulations/{id}` page in pages/simulations.py.

Everything a user typed is shown through text-setting elements (labels, inputs, table cells) or the
sanitizing `ui.markdown`; nothing of theirs goes into HTML, props strings or JavaScript.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Awaitable, Callable
from urllib.parse import urlencode

from nicegui import events, ui

from console.auth import Actor, Permission
from console.errors import DomainError, ValidationFailed
from console.services import media, modules, scoring, simulations, workflow
from models import Module, Simulation
from models.enums import MediaType, ModuleStatus, Platform
from pages.components import calls
from pages.components.dialogs import confirm
from pages.components.forms import FieldErrors
from pages.components.labels import enum_options
from pages.components.table import ServerTable, TableRequest

TABS = [("details", "Details"), ("modules", "Modules"), ("scoring", "Scoring"), ("media", "Media")]
STATUS_COLORS = {
    "draft": "grey-7",
    "review": "orange",
    "staged": "purple",
    "published": "positive",
    "archived": "blue-grey",
}


def _size(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)


def _set_error(element: ui.element, message: str | None) -> None:
    # Through _props, never a props string: the message may quote user input.
    if message:
        element._props["error"] = True
        element._props["error-message"] = message
    else:
        element._props.pop("error", None)
        element._props.pop("error-message", None)
    element.update()


async def workspace(
    actor: Actor,
    sim: Simulation,
    *,
    tab: str,
    module_id: str | None,
    details: Callable[[Actor, Simulation], Awaitable[None]],
) -> None:
    editable = simulations.can_edit(actor, sim)
    tabs_available = list(TABS)
    if simulations.can_read_history(actor, sim):
        tabs_available.append(("history", "History"))
    names = [name for name, _ in tabs_available]
    current = tab if tab in names else "details"
    # `changed` counts edits made in each tab; a tab that shows another tab's data redraws when entered
    # if that data changed since it was drawn (new modules for the media tab, new images for portraits).
    state = {"tab": current, "module": module_id, "changed": {"modules": 0, "media": 0}}
    drawn: dict[str, dict[str, int]] = {}
    depends = {"details": ("media",), "modules": ("media",), "media": ("modules",), "history": ("modules", "media")}

    def url() -> str:
        params = {"tab": state["tab"]}
        if state["module"]:
            params["module"] = state["module"]
        return f"/simulations/{sim.id}?{urlencode(params)}"

    def sync_url() -> None:
        ui.navigate.history.replace(url())

    refresh_checks = await workflow_bar(actor, sim, url=url)

    def make_panel(name: str, draw: Callable[[], Awaitable[None]]):  # noqa: ANN202
        @ui.refreshable
        async def panel() -> None:
            drawn[name] = dict(state["changed"])
            await draw()

        return panel

    panels = {
        "details": make_panel("details", lambda: details(actor, sim)),
        "modules": make_panel(
            "modules", lambda: modules_tab(actor, sim, editable=editable, state=state, on_select=sync_url)
        ),
        "scoring": make_panel("scoring", lambda: _async(scoring_tab, actor, sim, editable=editable)),
        "media": make_panel("media", lambda: media_tab(actor, sim, editable=editable, state=state)),
        "history": make_panel("history", lambda: history_tab(actor, sim)),
    }

    async def on_tab(e) -> None:  # noqa: ANN001
        state["tab"] = e.value
        sync_url()
        seen = drawn.get(e.value, {})
        if e.value == "history" or any(seen.get(k) != state["changed"][k] for k in depends.get(e.value, ())):
            await panels[e.value].refresh()
        await refresh_checks()  # edits in the tab just left may have changed what publishing lacks

    with ui.tabs(value=current, on_change=on_tab).classes("text-grey-8").props("dense align=left no-caps") as tabs:
        for name, label in tabs_available:
            ui.tab(name, label=label).mark(f"tab-{name}")
    with ui.tab_panels(tabs, value=current).classes("w-full bg-transparent").props("keep-alive"):
        for name in names:
            with ui.tab_panel(name).classes("p-0"):
                await panels[name]()


async def _async(func, *args, **kwargs) -> None:  # noqa: ANN001
    func(*args, **kwargs)


# --- workflow ------------------------------------------------------------------------------------


async def workflow_bar(actor: Actor, sim: Simulation, *, url: Callable[[], str]):  # noqa: ANN201
    """Status, the moves this actor may make now, and "duplicate as draft"; after a move the page
    redraws where the user was (`url`)."""
    moves = workflow.available(actor, sim)
    can_duplicate = actor.can(Permission.author_simulations) and (
        actor.can(Permission.manage_all_simulations) or sim.author_id == actor.user_id
    )
    with ui.row().classes("w-full items-center gap-2 text-grey-8").mark("workflow-bar"):
        ui.badge(sim.status.value).props(f"color={STATUS_COLORS[sim.status.value]}").mark("sim-status")
        ui.label(f"slug: {sim.slug}").mark("sim-slug")
        ui.label(f"updated {sim.updated_at:%Y-%m-%d %H:%M}")
        if sim.published_at:
            ui.label(f"published {sim.published_at:%Y-%m-%d}").mark("sim-published-at")
        ui.space()
        for move in moves:
            ui.button(move.label, on_click=lambda m=move: _run_transition(actor, sim, m, url)).props(
                "unelevated no-caps color=primary" if move.name in ("submit", "publish", "stage") else "outline no-caps"
            ).mark(f"wf-{move.name}")
        if can_duplicate:
            ui.button("Duplicate as draft", icon="content_copy", on_click=lambda: _duplicate(actor, sim)).props(
                "flat no-caps"
            ).mark("wf-duplicate")
    if sim.status in simulations.READ_ONLY_STATUSES:
        ui.label(
            f"This simulation is {sim.status.value} and read-only. To change it, duplicate it as a draft."
        ).classes("text-orange-9").mark("sim-readonly")
    elif not simulations.can_edit(actor, sim):
        ui.label("Read-only: you do not author this simulation.").classes("text-orange-9").mark("sim-readonly")

    @ui.refreshable
    async def checks() -> None:
        # The publishing checks, for whoever can act on them: authors while they work, admins on review.
        active = sim.status.value in ("draft", "review", "staged")
        if active and (simulations.can_edit(actor, sim) or actor.can(Permission.manage_all_simulations)):
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


async def _run_transition(actor: Actor, sim: Simulation, move: workflow.Transition, url: Callable[[], str]) -> None:
    with ui.dialog() as dialog, ui.card().classes("min-w-[460px]"):
        ui.label(f"{move.label}: “{sim.title}”").classes("text-h6")
        comment = (
            ui.textarea("Comment" + (" *" if move.comment_required else " (optional)"))
            .props("outlined autogrow maxlength=2000")
            .classes("w-full")
            .mark("wf-comment")
        )
        problems_box = ui.column().classes("w-full")

        async def go() -> None:
            text = (comment.value or "").strip()
            if move.comment_required and not text:
                _set_error(comment, "Say what needs to change.")
                return
            try:
                await calls.write(workflow.transition, simulation_id=sim.id, name=move.name, comment=text)
            except ValidationFailed as exc:
                problems_box.clear()
                with problems_box:
                    if "comment" in exc.details:
                        _set_error(comment, exc.details["comment"])
                    else:
                        _problem_list(exc.details, ok_text="")
                ui.notify(exc.message, type="warning")
                return
            except DomainError as exc:
                calls.notify_error(exc)
                dialog.close()
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
    try:
        copy = await calls.write(workflow.duplicate_as_draft, simulation_id=sim.id)
    except DomainError as exc:
        calls.notify_error(exc)
        return
    ui.notify("Draft copy created.", type="positive")
    ui.navigate.to(f"/simulations/{copy.id}")


# --- modules -------------------------------------------------------------------------------------


async def modules_tab(actor: Actor, sim: Simulation, *, editable: bool, state: dict, on_select) -> None:  # noqa: ANN001
    view = {"search": "", "limit": 50}

    async def select(module_id: uuid.UUID | None) -> None:
        state["module"] = str(module_id) if module_id else None
        state["changed"]["modules"] += 1
        on_select()
        await module_list.refresh()
        await editor.refresh()

    @ui.refreshable
    async def module_list() -> None:
        page = await calls.read(modules.list_, simulation_id=sim.id, search=view["search"], limit=view["limit"])
        ui.label(f"{page.total} module{'s' if page.total != 1 else ''}").classes("text-grey-7").mark("mod-count")
        if not page.rows:
            ui.label("No modules yet.").classes("text-grey-7")
        for index, module in enumerate(page.rows):
            selected = state["module"] == str(module.id)
            with (
                ui.row()
                .classes("w-full items-center gap-1 no-wrap px-2 py-1 rounded " + ("bg-blue-1" if selected else ""))
                .mark(f"mod-row-{index}")
            ):
                ui.label(f"{index + 1}.").classes("text-grey-7 w-6")
                ui.label(module.title).classes("grow text-primary cursor-pointer").on(
                    "click", lambda m=module: select(m.id)
                ).mark(f"mod-open-{index}")
                ui.badge(module.status.value).props(
                    f"color={STATUS_COLORS.get(module.status.value, 'grey')} outline"
                ).mark(f"mod-status-{index}")
                if editable:
                    for icon, action, tip in (
                        ("arrow_upward", "up", "Move up"),
                        ("arrow_downward", "down", "Move down"),
                        ("content_copy", "duplicate", "Duplicate"),
                        ("archive", "archive", "Archive"),
                    ):
                        ui.button(icon=icon, on_click=lambda m=module, a=action: act(m, a)).props(
                            "flat dense round size=sm"
                        ).tooltip(tip).mark(f"mod-{action}-{index}")
        if page.total > len(page.rows):

            async def more() -> None:
                view["limit"] += 50
                await module_list.refresh()

            ui.button(f"Show more ({page.total - len(page.rows)} left)", on_click=more).props("flat dense no-caps")

    async def act(module: Module, action: str) -> None:
        try:
            if action == "up":
                await calls.write(modules.move, module_id=module.id, direction=-1)
            elif action == "down":
                await calls.write(modules.move, module_id=module.id, direction=1)
            elif action == "duplicate":
                copy = await calls.write(modules.duplicate, module_id=module.id)
                ui.notify("Module duplicated.", type="positive")
                await select(copy.id)
                return
            elif action == "archive":
                if not await confirm(f"Archive the module “{module.title}”? Engines will no longer get it."):
                    return
                await calls.write(modules.archive, module_id=module.id)
                state["changed"]["modules"] += 1
                ui.notify("Module archived.", type="positive")
        except DomainError as exc:
            calls.notify_error(exc)
        await module_list.refresh()
        await editor.refresh()

    async def add() -> None:
        with ui.dialog() as dialog, ui.card().classes("min-w-[380px]"):
            ui.label("New module").classes("text-h6")
            title = ui.input("Title *").props("outlined dense autofocus maxlength=255").classes("w-full")
            title.mark("mod-new-title")

            async def create() -> None:
                try:
                    created = await calls.write(modules.create, simulation_id=sim.id, data={"title": title.value or ""})
                except ValidationFailed as exc:
                    _set_error(title, exc.details.get("title", exc.message))
                    return
                except DomainError as exc:
                    calls.notify_error(exc)
                    return
                dialog.close()
                ui.notify("Module added.", type="positive")
                await select(created.id)

            title.on("keydown.enter", create)
            with ui.row().classes("w-full justify-end"):
                ui.button("Cancel", on_click=dialog.close).props("flat")
                ui.button("Create module", on_click=create).props("unelevated color=primary").mark("mod-new-ok")
        dialog.open()

    @ui.refreshable
    async def editor() -> None:
        if not state["module"]:
            ui.label("Choose a module on the left, or add one.").classes("text-grey-7 p-4").mark("mod-none")
            return
        try:
            module = await calls.read(modules.get, module_id=uuid.UUID(state["module"]))
        except (ValueError, DomainError):
            ui.label("That module is not available.").classes("text-grey-7 p-4")
            return
        if module.simulation_id != sim.id:
            ui.label("That module is not part of this simulation.").classes("text-grey-7 p-4")
            return

        async def saved() -> None:
            state["changed"]["modules"] += 1
            await module_list.refresh()

        await module_editor(actor, sim, module, editable=editable, on_saved=saved)

    with ui.row().classes("w-full items-start gap-4 no-wrap"):
        with ui.card().classes("w-[380px] shrink-0 gap-1").mark("mod-list"):
            with ui.row().classes("w-full items-center gap-2"):

                async def on_search(e) -> None:  # noqa: ANN001
                    view["search"] = e.value or ""
                    await module_list.refresh()

                ui.input(placeholder="Search modules", on_change=on_search).props(
                    "dense outlined clearable debounce=300"
                ).classes("grow").mark("mod-search")
                if editable:
                    ui.button("Add module", icon="add", on_click=add).props(
                        "unelevated dense no-caps color=primary"
                    ).mark("mod-add")
            await module_list()
        with ui.card().classes("grow min-w-0").mark("mod-editor"):
            await editor()


async def module_editor(actor: Actor, sim: Simulation, module: Module, *, editable: bool, on_saved) -> None:  # noqa: ANN001
    errors = FieldErrors()
    images = (await calls.read(media.list_, module_id=module.id, type=MediaType.image, limit=200)).rows
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
            ui.label("Preview").classes("text-caption text-grey-7")
            # ui.markdown sanitizes by default (kept on): script, handlers and javascript: links are stripped.
            preview = ui.markdown(module.narrative_context or "").classes("w-full").mark("mod-briefing-preview")
    briefing.on_value_change(lambda e: preview.set_content(e.value or ""))

    ui.label("Stakeholders").classes("text-subtitle2 mt-2")
    stakeholder_errors = ui.column().classes("gap-0")

    @ui.refreshable
    def stakeholder_cards() -> None:
        with ui.row().classes("w-full gap-3 flex-wrap items-start"):
            for index, person in enumerate(stakeholders):
                with ui.card().classes("w-[300px] gap-1").mark(f"sh-card-{index}"):
                    with ui.row().classes("w-full items-center no-wrap"):
                        if person["portrait_url"]:
                            ui.image(person["portrait_url"]).classes("w-12 h-12 rounded-full").mark(
                                f"sh-portrait-{index}"
                            )
                        else:
                            ui.icon("person", size="48px").classes("text-grey-5")
                        ui.space()
                        if editable:
                            ui.button(icon="delete", on_click=lambda i=index: remove(i)).props(
                                "flat dense round size=sm"
                            ).mark(f"sh-remove-{index}")
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
                    ui.select(
                        options,
                        label="Portrait (from this module's images)",
                        value=person["portrait_url"],
                        on_change=lambda e, p=person: (
                            p.__setitem__("portrait_url", e.value or ""),
                            stakeholder_cards.refresh(),
                        ),
                    ).props("outlined dense").classes("w-full").mark(f"sh-portrait-select-{index}").set_enabled(
                        editable
                    )
                    ui.input_chips(
                        "Personality traits", value=person["personality_traits"], new_value_mode="add-unique"
                    ).props("outlined dense").classes("w-full").bind_value(person, "personality_traits").mark(
                        f"sh-traits-{index}"
                    ).set_enabled(editable)
            if editable:
                ui.button("Add stakeholder", icon="person_add", on_click=add_person).props("outline no-caps").mark(
                    "sh-add"
                )

    def add_person() -> None:
        stakeholders.append({"name": "", "role": "", "motivation": "", "portrait_url": "", "personality_traits": []})
        stakeholder_cards.refresh()

    def remove(index: int) -> None:
        stakeholders.pop(index)
        stakeholder_cards.refresh()

    stakeholder_cards()
    for element in (title, status, platform, launch_url, build, duration, free_demo, briefing):
        element.set_enabled(editable)

    async def save() -> None:
        errors.clear()
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
        try:
            await calls.write(modules.update, module_id=module.id, data=data)
        except ValidationFailed as exc:
            errors.show(exc.field_errors)
            with stakeholder_errors:
                for where, what in exc.field_errors.items():
                    if where.startswith("stakeholders"):
                        parts = where.split(".")
                        label = f"Stakeholder {int(parts[1]) + 1} · {parts[2]}" if len(parts) > 2 else "Stakeholders"
                        ui.label(f"{label}: {what}").classes("text-negative").mark("sh-error")
            ui.notify(exc.message, type="warning")
            return
        except DomainError as exc:
            calls.notify_error(exc)
            return
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


# --- scoring -------------------------------------------------------------------------------------


def scoring_tab(actor: Actor, sim: Simulation, *, editable: bool) -> None:
    config = sim.scoring_config or {}
    rows: list[dict] = [
        {
            "key": d.get("key", ""),
            "label": d.get("label", ""),
            "weight": d.get("weight", 1),
            "min": d.get("min", 0),
            "max": d.get("max", 100),
        }
        for d in config.get("dimensions", [])
        if isinstance(d, dict)
    ] or [{"key": "", "label": "", "weight": 50, "min": 0, "max": 100}]
    form = {"pass_mark": config.get("pass_mark", 60)}
    samples: dict[str, float | None] = {}

    def current() -> dict:
        return {
            "dimensions": [
                {
                    "key": (r["key"] or "").strip(),
                    "label": (r["label"] or "").strip(),
                    "weight": r["weight"],
                    "min": r["min"],
                    "max": r["max"],
                }
                for r in rows
            ],
            "pass_mark": form["pass_mark"],
        }

    def parsed() -> tuple[scoring.ScoringConfig | None, dict[str, str]]:
        try:
            return scoring.parse_config(current()), {}
        except ValidationFailed as exc:
            return None, exc.details

    @ui.refreshable
    def status_panel() -> None:
        valid, problems = parsed()
        with ui.column().classes("gap-0").mark("scoring-status"):
            if valid:
                shares = valid.weight_shares()
                ui.label("Valid. Weights as shares: " + ", ".join(f"{k} {v}%" for k, v in shares.items())).classes(
                    "text-positive"
                )
            else:
                ui.label("Not valid yet:").classes("text-negative font-medium")
                for where, what in problems.items():
                    ui.label(f"{_where(where, rows)}: {what}").classes("text-negative").mark("scoring-error")

    def changed() -> None:
        shares_row.refresh()
        status_panel.refresh()
        try_it.refresh()

    @ui.refreshable
    def shares_row() -> None:
        total = sum(float(r["weight"] or 0) for r in rows if isinstance(r["weight"], int | float) and r["weight"] > 0)
        for index, row in enumerate(rows):
            weight = row["weight"] if isinstance(row["weight"], int | float) and row["weight"] > 0 else 0
            share = 100 * weight / total if total else 0
            with ui.row().classes("items-center gap-2 w-full"):
                ui.label(row["key"] or f"row {index + 1}").classes("w-32 text-grey-8")
                ui.linear_progress(value=share / 100, show_value=False, size="10px").classes("w-64")
                ui.label(f"{share:.1f}%").mark(f"dim-share-{index}")

    @ui.refreshable
    def dimension_rows() -> None:
        for index, row in enumerate(rows):
            with ui.row().classes("items-center gap-2 no-wrap w-full").mark(f"dim-row-{index}"):
                for field, label, width in (("key", "Key", "w-36"), ("label", "Label", "w-56")):
                    ui.input(label, on_change=changed).props("outlined dense maxlength=100").classes(width).bind_value(
                        row, field
                    ).mark(f"dim-{field}-{index}").set_enabled(editable)
                for field, label in (("weight", "Weight"), ("min", "Min"), ("max", "Max")):
                    ui.number(label, on_change=changed).props("outlined dense").classes("w-24").bind_value(
                        row, field
                    ).mark(f"dim-{field}-{index}").set_enabled(editable)
                if editable:
                    ui.button(icon="delete", on_click=lambda i=index: remove(i)).props("flat dense round size=sm").mark(
                        f"dim-remove-{index}"
                    )

    def add() -> None:
        rows.append({"key": "", "label": "", "weight": 10, "min": 0, "max": 100})
        dimension_rows.refresh()
        changed()

    def remove(index: int) -> None:
        rows.pop(index)
        dimension_rows.refresh()
        changed()

    @ui.refreshable
    def try_it() -> None:
        valid, _ = parsed()
        if not valid:
            ui.label("Fix the configuration to try it.").classes("text-grey-7")
            return
        result = ui.label("").classes("text-body1 font-medium").mark("tryit-result")

        def compute() -> None:
            values = {k: v for k, v in samples.items() if v is not None}
            scores = scoring.compute_final_scores(valid, values)  # the engine API's own function
            verdict = "pass" if scoring.passed(valid, scores) else "fail"
            result.text = f"Total {scores['total']} → {verdict} (pass mark {valid.pass_mark:g})"

        with ui.row().classes("items-center gap-2 flex-wrap"):
            for dim in valid.dimensions:
                ui.number(
                    f"{dim.label} ({dim.min:g}–{dim.max:g})",
                    value=samples.get(dim.key),
                    on_change=lambda e, k=dim.key: (samples.__setitem__(k, e.value), compute()),
                ).props("outlined dense").classes("w-44").mark(f"tryit-{dim.key}")
        compute()

    async def save() -> None:
        valid, problems = parsed()
        if not valid:
            ui.notify("The scoring configuration is invalid: " + "; ".join(problems.values()), type="warning")
            return
        try:
            await calls.write(
                simulations.update,
                simulation_id=sim.id,
                data={"scoring_config": valid.model_dump()},
            )
        except DomainError as exc:
            calls.notify_error(exc)
            return
        ui.notify("Scoring saved.", type="positive")

    with ui.card().classes("w-full max-w-5xl").mark("scoring-editor"):
        ui.label("Dimensions").classes("text-subtitle2")
        with ui.column().classes("gap-2 w-full"):
            dimension_rows()
        with ui.row().classes("items-center gap-3"):
            if editable:
                ui.button("Add dimension", icon="add", on_click=add).props("outline no-caps").mark("dim-add")
            ui.number("Pass mark (0–100)", min=0, max=100, on_change=changed).props("outlined dense").classes(
                "w-40"
            ).bind_value(form, "pass_mark").mark("scoring-pass-mark").set_enabled(editable)
        ui.label("Weights as shares of 100%").classes("text-subtitle2 mt-2")
        shares_row()
        status_panel()
        if editable:
            with ui.row().classes("w-full justify-end"):
                ui.button("Save scoring", icon="save", on_click=save).props("unelevated color=primary").mark(
                    "scoring-save"
                )
    with ui.card().classes("w-full max-w-5xl").mark("tryit"):
        ui.label("Try it: sample values → the total and pass/fail an engine session would get").classes(
            "text-subtitle2"
        )
        try_it()


def _where(location: str, rows: list[dict]) -> str:
    parts = location.split(".")
    if parts[0] == "dimensions" and len(parts) > 1 and parts[1].isdigit():
        index = int(parts[1])
        key = rows[index]["key"] if index < len(rows) and rows[index]["key"] else f"row {index + 1}"
        return f"dimension {key}" + (f" {parts[2]}" if len(parts) > 2 else "")
    return location.replace("_", " ")


# --- media ---------------------------------------------------------------------------------------


async def media_tab(actor: Actor, sim: Simulation, *, editable: bool, state: dict) -> None:
    all_modules = (await calls.read(modules.list_, simulation_id=sim.id, include_archived=False, limit=200)).rows
    if not all_modules:
        ui.label("Add a module first: each module has its own media library.").classes("text-grey-7").mark(
            "media-no-modules"
        )
        return
    ids = {str(m.id) for m in all_modules}
    chosen = {
        "module": state["module"] if state["module"] in ids else str(all_modules[0].id),
        "search": "",
        "type": None,
    }

    redraw = asyncio.Lock()  # several uploads finish at once; two overlapping redraws would interleave

    async def changed() -> None:
        state["changed"]["media"] += 1
        async with redraw:
            await library.refresh()

    @ui.refreshable
    async def library() -> None:
        module_id = uuid.UUID(chosen["module"])
        page = await calls.read(
            media.list_,
            module_id=module_id,
            search=chosen["search"],
            type=chosen["type"],
            limit=100,
        )
        uses = await calls.read(media.usage, simulation_id=sim.id)
        ui.label(f"{page.total} file{'s' if page.total != 1 else ''}").classes("text-grey-7").mark("media-count")
        if page.total > len(page.rows):
            ui.label(f"Showing the newest {len(page.rows)}; search to find the others.").classes("text-grey-7")
        with ui.row().classes("w-full gap-3 flex-wrap items-start"):
            for index, asset in enumerate(page.rows):
                _media_card(actor, asset, index, uses.get(asset.url, []), editable=editable, refresh=changed)

    async def on_upload(e: events.UploadEventArguments) -> None:
        name = e.file.name
        if e.file.size() > media.largest_allowed():
            ui.notify(f"{name}: too large.", type="warning")
            return
        data = await e.file.read()
        try:
            await calls.write(media.upload, module_id=uuid.UUID(chosen["module"]), filename=name, data=data)
        except DomainError as exc:
            reason = "; ".join(exc.details.values()) if exc.details else exc.message
            ui.notify(f"{media.clean_filename(name)} refused: {reason}", type="warning", multi_line=True)
            return
        ui.notify(f"{media.clean_filename(name)} uploaded.", type="positive")
        await changed()

    async def pick(e) -> None:  # noqa: ANN001
        chosen["module"] = e.value
        async with redraw:
            await library.refresh()

    async def search(e) -> None:  # noqa: ANN001
        chosen["search"] = e.value or ""
        async with redraw:
            await library.refresh()

    async def kind(e) -> None:  # noqa: ANN001
        chosen["type"] = MediaType(e.value) if e.value else None
        async with redraw:
            await library.refresh()

    with ui.row().classes("w-full items-center gap-3"):
        ui.select(
            {str(m.id): m.title for m in all_modules}, label="Module", value=chosen["module"], on_change=pick
        ).props("outlined dense").classes("w-72").mark("media-module")
        ui.input(placeholder="Search files", on_change=search).props("outlined dense clearable debounce=300").mark(
            "media-search"
        )
        ui.select({"": "Any kind", **enum_options(MediaType)}, value="", on_change=kind).props(
            "outlined dense"
        ).classes("w-36").mark("media-kind")
    if editable:
        ui.upload(
            label="Drop files here or click to choose — images, audio, video, PDF",
            multiple=True,
            auto_upload=True,
            on_upload=on_upload,
            max_file_size=media.largest_allowed(),
        ).props("accept='image/png,image/jpeg,image/gif,image/webp,audio/*,video/*,application/pdf'").classes(
            "w-full max-w-3xl"
        ).mark("media-upload")
    await library()


def _media_card(actor: Actor, asset, index: int, uses: list[str], *, editable: bool, refresh) -> None:  # noqa: ANN001
    with ui.card().classes("w-[260px] gap-1").mark(f"media-card-{index}"):
        if asset.type == MediaType.image:
            ui.image(asset.url).classes("w-full h-32").props("fit=contain").mark(f"media-preview-{index}")
        elif asset.type == MediaType.audio:
            ui.audio(asset.url).classes("w-full")
        elif asset.type == MediaType.video:
            ui.video(asset.url).classes("w-full h-32")
        else:
            ui.icon("description", size="64px").classes("text-grey-6 self-center")
        ui.label(asset.filename).classes("font-medium break-all").mark(f"media-name-{index}")
        details = [asset.type.value, _size(asset.size_bytes)]
        if asset.duration_seconds is not None:
            details.append(f"{asset.duration_seconds // 60}:{asset.duration_seconds % 60:02d}")
        ui.label(" · ".join(details)).classes("text-caption text-grey-7")
        ui.label("Used: " + "; ".join(uses) if uses else "Not used yet").classes("text-caption text-grey-7").mark(
            f"media-used-{index}"
        )
        with ui.row().classes("gap-1"):
            ui.link("Open" if asset.type != MediaType.document else "Download", asset.url, new_tab=True).classes(
                "text-primary text-sm"
            )
            if editable:

                async def rename(a=asset) -> None:  # noqa: ANN001
                    await _rename(actor, a, refresh)

                async def delete(a=asset) -> None:  # noqa: ANN001
                    if not await confirm(f"Delete “{a.filename}”? The file is removed for good."):
                        return
                    try:
                        await calls.write(media.delete, asset_id=a.id)
                    except DomainError as exc:
                        calls.notify_error(exc)
                        return
                    ui.notify("Deleted.", type="positive")
                    await refresh()

                ui.button(icon="edit", on_click=rename).props("flat dense round size=sm").tooltip("Rename").mark(
                    f"media-rename-{index}"
                )
                ui.button(icon="delete", on_click=delete).props("flat dense round size=sm").tooltip("Delete").mark(
                    f"media-delete-{index}"
                )


async def _rename(actor: Actor, asset, refresh) -> None:  # noqa: ANN001
    with ui.dialog() as dialog, ui.card().classes("min-w-[360px]"):
        name = ui.input("File name", value=asset.filename).props("outlined dense maxlength=200").classes("w-full")
        name.mark("media-rename-input")

        async def go() -> None:
            try:
                await calls.write(media.rename, asset_id=asset.id, filename=name.value or "")
            except ValidationFailed as exc:
                _set_error(name, exc.details.get("filename", exc.message))
                return
            except DomainError as exc:
                calls.notify_error(exc)
                return
            dialog.close()
            await refresh()

        with ui.row().classes("w-full justify-end"):
            ui.button("Cancel", on_click=dialog.close).props("flat")
            ui.button("Rename", on_click=go).props("unelevated color=primary").mark("media-rename-ok")
    dialog.open()


# --- history -------------------------------------------------------------------------------------

HISTORY_COLUMNS = [
    {"name": "created_at", "label": "When", "field": "created_at", "align": "left"},
    {"name": "actor", "label": "Who", "field": "actor", "align": "left"},
    {"name": "action", "label": "What", "field": "action", "align": "left"},
    {
        "name": "changes",
        "label": "Changes",
        "field": "changes",
        "align": "left",
        "style": "white-space: normal; min-width: 320px; max-width: 560px; word-break: break-word",
    },
    {
        "name": "comment",
        "label": "Comment",
        "field": "comment",
        "align": "left",
        "style": "white-space: normal; min-width: 200px; max-width: 360px; word-break: break-word",
    },
]


def _changes(before: dict | None, after: dict | None) -> str:
    before, after = before or {}, after or {}
    parts = []
    for key in sorted(set(before) | set(after)):
        old, new = before.get(key), after.get(key)
        text = lambda v: json.dumps(v, ensure_ascii=False)[:80] if not isinstance(v, str) else v[:80]  # noqa: E731
        parts.append(f"{key}: {text(old)} → {text(new)}" if key in before else f"{key}: {text(new)}")
    return "; ".join(parts)[:600]


async def history_tab(actor: Actor, sim: Simulation) -> None:
    async def fetch(request: TableRequest):  # noqa: ANN202
        page = await calls.read(simulations.history, simulation_id=sim.id, offset=request.offset, limit=request.limit)
        return [
            {
                "id": str(e.id),
                "created_at": e.created_at.strftime("%Y-%m-%d %H:%M:%S"),
                "actor": e.actor_label,
                "action": e.action,
                "changes": _changes(e.before, e.after),
                "comment": e.comment or "",
            }
            for e in page.rows
        ], page.total

    table = ServerTable(
        columns=HISTORY_COLUMNS, fetch=fetch, sort="created_at", descending=True, empty_message="No history yet."
    )
    table.table.mark("history-table")
    await table.reload()
