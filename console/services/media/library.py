"""A module's media library: upload, list, rename, delete, copy, and "where used".

Safety (SECURITY.md 19–22): what a file is comes from `inspection` (by content); stored names are
generated and the user's filename is kept as sanitized display metadata only; no orphans — a file
written for an upload is removed if the unit of work rolls back, and a deleted asset's file only once
the deletion commits (`console.unit_of_work` hooks).

Scoping follows the module's simulation: a file is readable when its module is (`readable`), and
changed only when the simulation may be edited.
"""

from __future__ import annotations

import io
import re
import uuid
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import BinaryIO

from sqlalchemy import ColumnElement, func, select
from sqlmodel import Session

from console import unit_of_work
from console.auth import Actor
from console.config import Settings, get_settings
from console.errors import Conflict, NotFound, TooLarge, ValidationFailed
from console.services import audit, modules, simulations, versions
from console.services.listing import ListQuery, Page, paged, search_clause
from console.services.media.inspection import MIME_BY_EXTENSION, clean_filename, inspect_file
from console.services.media.storage import MediaStorage, get_storage
from models import AuditAction, AuditEntity, MediaAsset, Module, Organization, Simulation, User
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
    data: bytes | BinaryIO,
    storage: MediaStorage | None = None,
    settings: Settings | None = None,
) -> MediaAsset:
    """Store one file in a module's library, after checking what it really is, the module's file count
    and the storage quotas. `data` may be a file (an upload spooled to disk): it is never read whole."""
    settings = settings or get_settings()
    storage = storage or get_storage(settings)
    module = modules.get(session=session, actor=actor, module_id=module_id)
    simulations.get_editable(session=session, actor=actor, simulation_id=module.simulation_id)
    asset = prepare(module_id=module.id, filename=filename, data=data, settings=settings)
    # A first look without locks spares writing a file that cannot stay; the file then goes in (it is
    # removed again on rollback), and the counting that decides is done under locks, held only for the
    # counting and the insert, not for the write.
    _make_room(session, module, adding_files=1, adding_bytes=asset.size_bytes, settings=settings, lock=False)
    key = storage_key(asset)
    storage.put(key, data)
    _written(session, storage, key)
    _make_room(session, module, adding_files=1, adding_bytes=asset.size_bytes, settings=settings)
    session.add(asset)
    session.flush()
    audit.created(
        session=session, actor=actor, action=AuditAction.media_upload, subject=asset, comment=f"module {module.id}"
    )
    _audit_simulation(session, actor, module, AuditAction.media_upload, asset)
    return asset


# --- limits: files per module, bytes per simulation and per organization -------------------------


@dataclass(frozen=True)
class Quota:
    used_bytes: int
    limit_bytes: int  # 0: no quota

    @property
    def left_bytes(self) -> int | None:
        return None if not self.limit_bytes else max(0, self.limit_bytes - self.used_bytes)


@dataclass(frozen=True)
class Storage:
    """What a simulation's libraries use, against its quota and its organization's (shown in the media tab)."""

    simulation: Quota
    organization: Quota | None  # None: the author belongs to no organization
    organization_name: str | None


def _organization_of(session: Session, simulation_id: uuid.UUID) -> tuple[uuid.UUID, str] | None:
    row = session.execute(
        select(Organization.id, Organization.name)
        .join(User, User.organization_id == Organization.id)
        .join(Simulation, Simulation.author_id == User.id)
        .where(Simulation.id == simulation_id)
    ).one_or_none()
    return (row[0], row[1]) if row else None


def _bytes_used(session: Session, *conditions: ColumnElement[bool]) -> int:
    query = (
        select(func.coalesce(func.sum(MediaAsset.size_bytes), 0))
        .select_from(MediaAsset)
        .join(Module, Module.id == MediaAsset.module_id)
        .join(Simulation, Simulation.id == Module.simulation_id)
    )
    return int(session.scalar(query.where(*conditions)))


def _organization_condition(organization_id: uuid.UUID) -> ColumnElement[bool]:
    return Simulation.author_id.in_(select(User.id).where(User.organization_id == organization_id))


def storage_use(
    *, session: Session, actor: Actor, simulation_id: uuid.UUID, settings: Settings | None = None
) -> Storage:
    settings = settings or get_settings()
    simulations.get(session=session, actor=actor, simulation_id=simulation_id)
    return _storage(session, simulation_id, settings)


def _storage(session: Session, simulation_id: uuid.UUID, settings: Settings) -> Storage:
    simulation = Quota(_bytes_used(session, Simulation.id == simulation_id), settings.media_quota_simulation_bytes)
    organization = _organization_of(session, simulation_id)
    if organization is None:
        return Storage(simulation=simulation, organization=None, organization_name=None)
    used = _bytes_used(session, _organization_condition(organization[0]))
    return Storage(
        simulation=simulation,
        organization=Quota(used, settings.media_quota_organization_bytes),
        organization_name=organization[1],
    )


def _make_room(
    session: Session, module: Module, *, adding_files: int, adding_bytes: int, settings: Settings, lock: bool = True
) -> None:
    """Refuse what would cross a limit, counted under locks so concurrent uploads cannot all slip in:
    the simulation's row (its modules' counts and its bytes), then its organization's (its bytes)."""
    if lock:
        session.execute(
            select(Simulation.id).where(Simulation.id == module.simulation_id).with_for_update(key_share=True)
        )
    organization = _organization_of(session, module.simulation_id)
    if organization is not None and lock:
        session.execute(
            select(Organization.id).where(Organization.id == organization[0]).with_for_update(key_share=True)
        )
    count = session.scalar(select(func.count()).select_from(MediaAsset).where(MediaAsset.module_id == module.id)) or 0
    if count + adding_files > settings.media_max_files_per_module:
        raise ValidationFailed(
            "This module's library is full.",
            details={"file": f"at most {settings.media_max_files_per_module} files per module"},
        )
    use = _storage(session, module.simulation_id, settings)
    for quota, whose in ((use.simulation, "this simulation"), (use.organization, use.organization_name)):
        if quota is not None and quota.limit_bytes and quota.used_bytes + adding_bytes > quota.limit_bytes:
            raise TooLarge(
                f"The storage quota of {whose} would be exceeded.",
                details={
                    "file": f"{whose} uses {_size(quota.used_bytes)} of {_size(quota.limit_bytes)}; "
                    f"this needs {_size(adding_bytes)} more"
                },
            )


def _size(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)


def prepare(
    *,
    module_id: uuid.UUID,
    filename: str,
    data: bytes | BinaryIO,
    settings: Settings | None = None,
    asset_id: uuid.UUID | None = None,
) -> MediaAsset:
    """The row for a file, once its bytes are checked (ValidationFailed says why not): id, kind, size,
    duration, the sanitized display name and the generated URL. Not stored yet (see `store`)."""
    file = io.BytesIO(data) if isinstance(data, bytes) else data
    found = inspect_file(file, settings or get_settings())
    asset = MediaAsset(
        id=asset_id or uuid.uuid4(),
        module_id=module_id,
        type=found.kind.type,
        filename=clean_filename(filename),
        size_bytes=file.seek(0, io.SEEK_END),
        duration_seconds=found.duration_seconds,
        url="",
    )
    asset.url = f"/media/{asset.id}{found.kind.extension}"
    return asset


def store(*, session: Session, asset: MediaAsset, data: bytes | BinaryIO, storage: MediaStorage) -> None:
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
    files, size = session.execute(
        select(func.count(), func.coalesce(func.sum(MediaAsset.size_bytes), 0)).where(MediaAsset.module_id == source.id)
    ).one()
    if files:
        _make_room(session, target, adding_files=files, adding_bytes=int(size), settings=get_settings())
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


def rename(*, session: Session, actor: Actor, asset_id: uuid.UUID, filename: str, version: int) -> MediaAsset:
    """`version` is the one the renaming dialog read (a newer one refuses: `versions.Stale`)."""
    asset, _module = _editable_asset(session, actor, asset_id)
    if not (filename or "").strip():
        raise ValidationFailed("A name is required.", details={"filename": "a name is required"})
    versions.check(session, asset, version=version, noun="file", fields={"filename"})
    with audit.changing(session=session, actor=actor, action=AuditAction.media_rename, subject=asset):
        asset.filename = clean_filename(filename)
        versions.bump(asset)
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
