"""A module's media library: upload, list, rename, delete, copy, and "where used".

Safety (SECURITY.md 19–22): what a file is comes from `inspection` (by content); stored names are
generated and the user's filename is kept as sanitized display metadata only; no orphans — a file
written for an upload is removed if the unit of work rolls back, and a deleted asset's file only once
the deletion commits (`console.unit_of_work` hooks).

Scoping follows the module's simulation: a file is readable when its module is (`readable`), and
changed only when the simulation may be edited.
"""

from __future__ import annotations

import re
import uuid
from pathlib import PurePosixPath

from sqlalchemy import ColumnElement, func, select
from sqlmodel import Session

from console import unit_of_work
from console.auth import Actor
from console.config import Settings, get_settings
from console.errors import Conflict, NotFound, ValidationFailed
from console.services import audit, modules, simulations
from console.services.listing import ListQuery, Page, paged, search_clause
from console.services.media.inspection import MIME_BY_EXTENSION, clean_filename, inspect_bytes
from console.services.media.storage import MediaStorage, get_storage
from models import AuditAction, AuditEntity, MediaAsset, Module, Simulation
from models.enums import MediaType

_URL = re.compile(r"^/media/(?P<id>[0-9a-f-]{36})(?P<ext>\.[a-z0-9]{2,5})$")


def storage_key(asset: MediaAsset) -> str:
    return f"{asset.module_id}/{asset.id}{PurePosixPath(asset.url).suffix}"


def mime_of(asset: MediaAsset) -> str:
    return MIME_BY_EXTENSION.get(PurePosixPath(asset.url).suffix, "application/octet-stream")


# --- files follow the unit of work ---------------------------------------------------------------


def _written(session: Session, storage: MediaStorage, key: str) -> None:
    """A file written for this work: removed again if the work is rolled back (no orphan files)."""
    unit_of_work.after_rollback(session, lambda: storage.delete(key))


def _doomed(session: Session, storage: MediaStorage, key: str) -> None:
    """A file whose row this work deletes: removed once the deletion commits (a rollback keeps both).

    Should the removal fail, the stray file is logged by the unit of work and never served: no row
    points at it any more.
    """
    unit_of_work.after_commit(session, lambda: storage.delete(key))


# --- operations ------------------------------------------------------------------------------------


def upload(
    *,
    session: Session,
    actor: Actor,
    module_id: uuid.UUID,
    filename: str,
    data: bytes,
    storage: MediaStorage | None = None,
    settings: Settings | None = None,
) -> MediaAsset:
    """Store one file in a module's library, after checking what it really is."""
    settings = settings or get_settings()
    storage = storage or get_storage(settings)
    module = modules.get(session=session, actor=actor, module_id=module_id)
    simulations.get_editable(session=session, actor=actor, simulation_id=module.simulation_id)
    count = session.scalar(select(func.count()).select_from(MediaAsset).where(MediaAsset.module_id == module.id)) or 0
    if count >= settings.media_max_files_per_module:
        raise ValidationFailed(
            "This module's library is full.",
            details={"file": f"at most {settings.media_max_files_per_module} files per module"},
        )
    asset = prepare(module_id=module.id, filename=filename, data=data, settings=settings)
    store(session=session, asset=asset, data=data, storage=storage)
    audit.created(
        session=session, actor=actor, action=AuditAction.media_upload, subject=asset, comment=f"module {module.id}"
    )
    _audit_simulation(session, actor, module, AuditAction.media_upload, asset)
    return asset


def prepare(
    *,
    module_id: uuid.UUID,
    filename: str,
    data: bytes,
    settings: Settings | None = None,
    asset_id: uuid.UUID | None = None,
) -> MediaAsset:
    """The row for a file, once its bytes are checked (ValidationFailed says why not): id, kind, size,
    duration, the sanitized display name and the generated URL. Not stored yet (see `store`)."""
    found = inspect_bytes(data, settings or get_settings())
    asset = MediaAsset(
        id=asset_id or uuid.uuid4(),
        module_id=module_id,
        type=found.kind.type,
        filename=clean_filename(filename),
        size_bytes=len(data),
        duration_seconds=found.duration_seconds,
        url="",
    )
    asset.url = f"/media/{asset.id}{found.kind.extension}"
    return asset


def store(*, session: Session, asset: MediaAsset, data: bytes, storage: MediaStorage) -> None:
    """Write a prepared file and add its row; the file goes again if the unit of work rolls back.

    No access check here: `upload` is the way in for people; the console's own data (the demo) comes
    through here directly.
    """
    key = storage_key(asset)
    storage.put(key, data)
    _written(session, storage, key)
    session.add(asset)
    session.flush()


def copy_library(*, session: Session, source: Module, target: Module, storage: MediaStorage) -> dict[str, str]:
    """Copy every file of `source`'s library into `target`'s (new ids and keys); returns old url → new url.

    For "duplicate as draft": the caller has already checked access to both modules. The copies
    follow the transaction like uploads (a rollback removes them).
    """
    mapping: dict[str, str] = {}
    for asset in session.scalars(select(MediaAsset).where(MediaAsset.module_id == source.id)):
        twin = MediaAsset(
            id=uuid.uuid4(),
            module_id=target.id,
            type=asset.type,
            filename=asset.filename,
            size_bytes=asset.size_bytes,
            duration_seconds=asset.duration_seconds,
            url="",
        )
        twin.url = f"/media/{twin.id}{PurePosixPath(asset.url).suffix}"
        key = storage_key(twin)
        storage.put(key, storage.get(storage_key(asset)))
        _written(session, storage, key)
        session.add(twin)
        mapping[asset.url] = twin.url
    session.flush()
    return mapping


def readable(actor: Actor) -> ColumnElement[bool]:
    """The rows of `media_assets` this actor may read: those of modules it may read."""
    return MediaAsset.module_id.in_(select(Module.id).where(modules.readable(actor)))


def get(*, session: Session, actor: Actor, asset_id: uuid.UUID) -> MediaAsset:
    asset = session.scalar(select(MediaAsset).where(MediaAsset.id == asset_id, readable(actor)))
    if asset is None:
        raise NotFound("Media not found.")
    return asset


def asset_for_url(*, session: Session, actor: Actor, name: str) -> MediaAsset:
    """The asset a `/media/<id><ext>` path names, if the actor may see it."""
    match = _URL.fullmatch(f"/media/{name}")
    if not match:
        raise NotFound("Media not found.")
    asset = get(session=session, actor=actor, asset_id=uuid.UUID(match["id"]))
    if asset.url != f"/media/{name}":
        raise NotFound("Media not found.")
    return asset


SORTABLE = {
    "filename": MediaAsset.filename,
    "type": MediaAsset.type,
    "size_bytes": MediaAsset.size_bytes,
    "uploaded_at": MediaAsset.uploaded_at,
}


FILTERS = ("type",)


def list_(*, session: Session, actor: Actor, module_id: uuid.UUID, query: ListQuery) -> Page[MediaAsset]:
    """A page of the module's files, newest first unless sorted otherwise. Search: the file name.
    Filters: `type` (image, audio, video, document)."""
    modules.get(session=session, actor=actor, module_id=module_id)
    conditions = [MediaAsset.module_id == module_id]
    search = search_clause(query.search, MediaAsset.filename)
    if search is not None:
        conditions.append(search)
    if kind := query.choice("type", MediaType):
        conditions.append(MediaAsset.type == kind)
    return paged(
        session,
        select(MediaAsset).where(*conditions),
        query,
        sortable=SORTABLE,
        default_sort="uploaded_at",
        default_descending=True,
        tiebreak=MediaAsset.id,
        count=select(func.count()).select_from(MediaAsset).where(*conditions),
    )


def simulation_images(
    *, session: Session, actor: Actor, simulation_id: uuid.UUID, search: str = "", limit: int = 20
) -> list[MediaAsset]:
    """Images in the simulation's module libraries whose name contains `search` (the thumbnail picker
    asks again as the user types), at most `limit`."""
    simulations.get(session=session, actor=actor, simulation_id=simulation_id)
    conditions = [Module.simulation_id == simulation_id, MediaAsset.type == MediaType.image]
    by_name = search_clause(search, MediaAsset.filename)
    if by_name is not None:
        conditions.append(by_name)
    return list(
        session.scalars(
            select(MediaAsset)
            .join(Module, Module.id == MediaAsset.module_id)
            .where(*conditions)
            .order_by(MediaAsset.filename, MediaAsset.id)
            .limit(min(max(1, limit), 200))
        )
    )


def where_used(*, session: Session, actor: Actor, asset_id: uuid.UUID) -> list[str]:
    """Where the asset is referenced: stakeholder portraits and the simulation's thumbnail."""
    asset = get(session=session, actor=actor, asset_id=asset_id)
    return _uses(session, asset)


def usage(*, session: Session, actor: Actor, simulation_id: uuid.UUID) -> dict[str, list[str]]:
    """Every media URL the simulation refers to, with where (one query for a whole library page)."""
    simulations.get(session=session, actor=actor, simulation_id=simulation_id)
    return _usage(session, simulation_id)


def _usage(session: Session, simulation_id: uuid.UUID) -> dict[str, list[str]]:
    uses: dict[str, list[str]] = {}
    sim = session.get(Simulation, simulation_id)
    if sim.thumbnail_url:
        uses.setdefault(sim.thumbnail_url, []).append("the simulation's thumbnail")
    siblings = session.scalars(select(Module).where(Module.simulation_id == simulation_id).order_by(Module.sort_order))
    for other in siblings:
        for stakeholder in other.stakeholders or []:
            url = stakeholder.get("portrait_url")
            if url:
                name = stakeholder.get("name") or "a stakeholder"
                uses.setdefault(url, []).append(f"portrait of {name} in “{other.title}”")
    return uses


def _uses(session: Session, asset: MediaAsset) -> list[str]:
    module = session.get(Module, asset.module_id)
    return _usage(session, module.simulation_id).get(asset.url, [])


def rename(*, session: Session, actor: Actor, asset_id: uuid.UUID, filename: str) -> MediaAsset:
    asset, _module = _editable_asset(session, actor, asset_id)
    if not (filename or "").strip():
        raise ValidationFailed("A name is required.", details={"filename": "a name is required"})
    with audit.changing(session=session, actor=actor, action=AuditAction.media_rename, subject=asset):
        asset.filename = clean_filename(filename)
    return asset


def delete(*, session: Session, actor: Actor, asset_id: uuid.UUID, storage: MediaStorage | None = None) -> None:
    """Delete the row now and the file when the deletion commits (a rollback keeps both)."""
    storage = storage or get_storage()
    asset, module = _editable_asset(session, actor, asset_id)
    uses = _uses(session, asset)
    if uses:
        raise Conflict("This file is in use: " + "; ".join(uses) + ". Choose another first.")
    audit.deleted(session=session, actor=actor, action=AuditAction.media_delete, subject=asset)
    _doomed(session, storage, storage_key(asset))
    session.delete(asset)
    session.flush()
    _audit_simulation(session, actor, module, AuditAction.media_delete, asset)


def _editable_asset(session: Session, actor: Actor, asset_id: uuid.UUID) -> tuple[MediaAsset, Module]:
    asset = get(session=session, actor=actor, asset_id=asset_id)
    module = session.get(Module, asset.module_id)
    simulations.get_editable(session=session, actor=actor, simulation_id=module.simulation_id)
    return asset, module


def _audit_simulation(session: Session, actor: Actor, module: Module, action: AuditAction, asset: MediaAsset) -> None:
    """A line in the simulation's own history too, so its History tab tells the whole story."""
    audit.record(
        session=session,
        actor=actor,
        action=action,
        subject=(AuditEntity.simulation, module.simulation_id),
        after={"file": asset.filename, "module": module.title},
    )
