"""The media tab: each module's library of files — upload (checked by content on the server), preview,
rename, delete, and where each file is used."""

from __future__ import annotations

import asyncio
import contextlib
import uuid

from nicegui import ui

from console.auth import Actor
from console.errors import DomainError
from console.media_routes import UPLOAD_PATH
from console.services import media, modules
from console.services.listing import ListQuery
from models import Simulation
from models.enums import MediaType, ModuleStatus
from pages.components import calls, conflicts
from pages.components.buttons import icon_button
from pages.components.dialogs import confirm
from pages.components.forms import FieldErrors
from pages.components.labels import enum_options
from pages.components.pickers import PICKED, SearchSelect
from pages.components.uploader import Uploader, UploadResult
from pages.studio.common import size_label

# The uploader's header with a named "Choose files" button a keyboard reaches (Quasar's own is an
# unnamed icon wrapping the file input); the file input itself stays out of sight and out of the tab
# order, opened by the button. Dropping files on the uploader works as before.


ACCEPT = "image/png,image/jpeg,image/gif,image/webp,audio/*,video/*,application/pdf"


def _storage_use(use: media.Storage) -> None:
    """The simulation's storage against its quota, and its organization's: a bar each."""
    rows = [("This simulation", use.simulation, "quota-simulation")]
    if use.organization is not None:
        rows.append((use.organization_name or "Organization", use.organization, "quota-organization"))
    with ui.row().classes("w-full max-w-3xl gap-6 items-center").mark("media-quota"):
        for label, quota, marker in rows:
            with ui.column().classes("gap-0 grow"):
                if quota.limit_bytes:
                    text = f"{label}: {size_label(quota.used_bytes)} of {size_label(quota.limit_bytes)} used"
                    share = min(1.0, quota.used_bytes / quota.limit_bytes)
                else:
                    text, share = f"{label}: {size_label(quota.used_bytes)} used (no quota)", 0.0
                ui.label(text).classes("text-caption text-grey-8").mark(marker)
                color = "negative" if share >= 0.9 else "warning" if share >= 0.75 else "primary"
                bar = ui.linear_progress(value=share, show_value=False, color=color).props("rounded size=6px")
                bar._props["aria-label"] = f"{label}: storage used"  # a value, never parsed as props


async def media_tab(actor: Actor, sim: Simulation, *, editable: bool, state: dict) -> None:
    async def matching_modules(text: str) -> dict[str, str]:
        query = ListQuery(search=text, filters={"archived": "0"}, sort="sort_order", limit=PICKED)
        return {str(m.id): m.title for m in (await calls.read(modules.list_, simulation_id=sim.id, query=query)).rows}

    first = await matching_modules("")
    if not first:
        ui.label("Add a module first: each module has its own media library.").classes("text-grey-8").mark(
            "media-no-modules"
        )
        return
    current = None
    if state["module"]:  # the module chosen in the modules tab, if it is this simulation's (and not archived)
        with contextlib.suppress(DomainError, ValueError):
            module = await calls.read(modules.get, module_id=uuid.UUID(state["module"]))
            if module.simulation_id == sim.id and module.status != ModuleStatus.archived:
                current = (str(module.id), module.title)
    current = current or next(iter(first.items()))
    chosen = {"module": current[0], "search": "", "type": None}

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
            query=ListQuery(
                search=chosen["search"],
                filters={"type": chosen["type"].value} if chosen["type"] else {},
                sort="uploaded_at",
                descending=True,
                limit=100,
            ),
        )
        uses = await calls.read(media.usage, simulation_id=sim.id)
        ui.label(f"{page.total} file{'s' if page.total != 1 else ''}").classes("text-grey-8").mark("media-count")
        if page.total > len(page.rows):
            ui.label(f"Showing the newest {len(page.rows)}; search to find the others.").classes("text-grey-8")
        with ui.row().classes("w-full gap-3 flex-wrap items-start"):
            for index, asset in enumerate(page.rows):
                _media_card(actor, asset, index, uses.get(asset.url, []), editable=editable, refresh=changed)

    async def uploaded(result: UploadResult) -> None:
        name = media.clean_filename(result.name)
        if result.status == 401:  # signed out in another tab, or the login expired: nothing was stored
            calls.sign_in_again(f"/simulations/{sim.id}?tab=media")
            return
        if not result.ok:
            ui.notify(f"{name} refused: {result.reason}", type="warning", multi_line=True)
            return
        ui.notify(f"{name} uploaded.", type="positive")
        await changed()
        await quota.refresh()

    def upload_url() -> str:
        return f"{UPLOAD_PATH}?module={chosen['module']}"

    async def pick(e) -> None:  # noqa: ANN001
        chosen["module"] = e.value
        if uploader is not None:
            uploader.set_url(upload_url())
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
        picker = SearchSelect("Module", matching_modules, value=current[0], value_label=current[1], on_change=pick)
        picker.props("outlined dense").classes("w-72").mark("media-module")
        picker.set_options({**first, current[0]: current[1]}, value=current[0])
        ui.input(placeholder="Search files", on_change=search).props("outlined dense clearable debounce=300").mark(
            "media-search"
        )
        ui.select({"": "Any kind", **enum_options(MediaType)}, value="", on_change=kind).props(
            "outlined dense"
        ).classes("w-36").mark("media-kind")
    uploader = None
    if editable:
        uploader = (
            Uploader(
                upload_url(),
                on_result=uploaded,
                accept=ACCEPT,
                max_file_size=media.largest_allowed(),
                title="Drop files here, or choose them: images, audio, video, PDF",
            )
            .classes("w-full max-w-3xl")
            .mark("media-upload")
        )

    @ui.refreshable
    async def quota() -> None:
        _storage_use(await calls.read(media.storage_use, simulation_id=sim.id))

    await quota()
    await library()


def _media_card(actor: Actor, asset, index: int, uses: list[str], *, editable: bool, refresh) -> None:  # noqa: ANN001
    with ui.card().classes("w-[260px] gap-1").mark(f"media-card-{index}"):
        if asset.type == MediaType.image:
            preview = ui.image(asset.url).classes("w-full h-32").props("fit=contain").mark(f"media-preview-{index}")
            preview._props["alt"] = asset.filename  # the file's name, as a value (never markup)
        elif asset.type == MediaType.audio:
            ui.audio(asset.url).classes("w-full")
        elif asset.type == MediaType.video:
            ui.video(asset.url).classes("w-full h-32")
        else:
            ui.icon("description", size="64px").classes("text-grey-6 self-center")
        ui.label(asset.filename).classes("font-medium break-all").mark(f"media-name-{index}")
        details = [asset.type.value, size_label(asset.size_bytes)]
        if asset.duration_seconds is not None:
            details.append(f"{asset.duration_seconds // 60}:{asset.duration_seconds % 60:02d}")
        ui.label(" · ".join(details)).classes("text-caption text-grey-8")
        ui.label("Used: " + "; ".join(uses) if uses else "Not used yet").classes("text-caption text-grey-8").mark(
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
                    if await calls.submit(media.delete, asset_id=a.id) is calls.REFUSED:
                        return
                    ui.notify("Deleted.", type="positive")
                    await refresh()

                icon_button("edit", f"Rename {asset.filename}", rename).mark(f"media-rename-{index}")
                icon_button("delete", f"Delete {asset.filename}", delete).mark(f"media-delete-{index}")


async def _rename(actor: Actor, asset, refresh) -> None:  # noqa: ANN001
    with ui.dialog() as dialog, ui.card().classes("min-w-[360px]"):
        errors = FieldErrors()
        name = errors.add(
            "filename",
            ui.input("File name", value=asset.filename).props("outlined dense maxlength=200").classes("w-full"),
        ).mark("media-rename-input")

        held = conflicts.Held(asset.version)

        async def reload() -> None:
            dialog.close()
            await refresh()

        async def go() -> None:
            renamed = await calls.submit(
                media.rename,
                errors=errors,
                on_stale=conflicts.resolver(
                    held,
                    yours={"filename": name.value or ""},
                    labels={"filename": "File name"},
                    retry=go,
                    reload=reload,
                ),
                asset_id=asset.id,
                filename=name.value or "",
                version=held.version,
            )
            if renamed is calls.REFUSED:
                return
            dialog.close()
            await refresh()

        with ui.row().classes("w-full justify-end"):
            ui.button("Cancel", on_click=dialog.close).props("flat")
            ui.button("Rename", on_click=go).props("unelevated color=primary").mark("media-rename-ok")
    dialog.open()
