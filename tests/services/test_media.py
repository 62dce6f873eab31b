"""Media: type by content, limits on the server, safe names, and files that follow the transaction."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlmodel import select

from console import unit_of_work
from console.config import Settings
from console.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from console.services import media
from console.services.listing import ListQuery
from console.services.media import storage as media_storage
from models import MediaAsset
from models.enums import MediaType, SimulationStatus, UserRole
from tests import media_samples as samples
from tests.factories import actor_of, make_module, make_simulation, make_user


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings(data_dir=tmp_path, media_max_image_bytes=200_000, media_max_image_pixels=10_000_000)


@pytest.fixture
def storage(settings) -> media.LocalStorage:
    return media.LocalStorage(settings.data_dir / "media")


@pytest.fixture
def world(session):
    author = make_user(session, role=UserRole.studio_creator, password=None)
    sim = make_simulation(session, author=author)
    return {"author": actor_of(author), "sim": sim, "module": make_module(session, sim)}


def stored_files(storage) -> list[Path]:
    return [p for p in storage.root.rglob("*") if p.is_file()] if storage.root.exists() else []


def up(session, world, storage, settings, name, data):
    return media.upload(
        session=session,
        actor=world["author"],
        module_id=world["module"].id,
        filename=name,
        data=data,
        storage=storage,
        settings=settings,
    )


@pytest.mark.parametrize(
    ("name", "make", "kind", "duration"),
    [
        ("portrait.png", samples.png, MediaType.image, None),
        ("photo.jpeg", samples.jpeg, MediaType.image, None),
        ("voice.mp3", lambda: samples.mp3(2.0), MediaType.audio, 2),
        ("ambience.wav", lambda: samples.wav(2), MediaType.audio, 2),
        ("intro.mp4", lambda: samples.mp4(3), MediaType.video, 3),
        ("handout.pdf", samples.pdf, MediaType.document, None),
    ],
)
def test_real_files_are_accepted_by_content(session, world, storage, settings, name, make, kind, duration):
    data = make()
    asset = up(session, world, storage, settings, name, data)
    assert asset.type == kind and asset.size_bytes == len(data) and asset.duration_seconds == duration
    assert asset.filename == name
    assert storage.get(media.storage_key(asset)) == data
    assert asset.url.startswith("/media/") and name not in asset.url


def test_a_misnamed_real_file_is_typed_by_its_bytes(session, world, storage, settings):
    asset = up(session, world, storage, settings, "notes.txt", samples.png())
    assert asset.type == MediaType.image and asset.url.endswith(".png")


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("innocent.png", samples.HTML),
        ("logo.svg", samples.SVG),
        ("logo.png", samples.SVG),
        ("empty.pdf", b""),
        ("random.bin", os.urandom(2048)),
        ("fake.pdf", b"%PDF"[:3] + b"<html>"),
        ("fake.mp3", b"ID3\x03\x00\x00\x00\x00\x00\x00" + b"<script>alert(1)</script>"),
    ],
)
def test_active_or_unknown_content_is_refused(session, world, storage, settings, name, data):
    with pytest.raises(ValidationFailed):
        up(session, world, storage, settings, name, data)
    assert session.scalars(select(MediaAsset)).all() == []
    assert stored_files(storage) == []


def test_oversize_is_refused_with_nothing_stored(session, world, storage, settings):
    big = samples.png(600, 600)  # random-free but still over a tiny limit
    small_settings = settings.model_copy(update={"media_max_image_bytes": len(big) - 1})
    with pytest.raises(ValidationFailed) as refused:
        up(session, world, storage, small_settings, "big.png", big)
    assert "limited to" in refused.value.details["file"]
    assert session.scalars(select(MediaAsset)).all() == [] and stored_files(storage) == []


def test_absurd_pixel_counts_are_refused(session, world, storage, settings):
    """A 35 KB file that is a valid image of 12 million pixels, over the limit of 10 million: refused for
    its pixel count alone (it would be accepted under a higher limit)."""
    bomb = samples.large_png(4000, 3000)
    assert len(bomb) < settings.media_max_image_bytes
    with pytest.raises(ValidationFailed) as refused:
        up(session, world, storage, settings, "bomb.png", bomb)
    assert refused.value.details["file"] == "4000×3000 pixels is over the limit of 10,000,000"
    assert session.scalars(select(MediaAsset)).all() == [] and stored_files(storage) == []
    roomy = settings.model_copy(update={"media_max_image_pixels": 12_000_000})
    asset = up(session, world, storage, roomy, "bomb.png", bomb)
    assert asset.type == MediaType.image and storage.get(media.storage_key(asset)) == bomb


def test_count_limit_per_module(session, world, storage, settings):
    limited = settings.model_copy(update={"media_max_files_per_module": 1})
    up(session, world, storage, limited, "a.png", samples.png())
    with pytest.raises(ValidationFailed):
        up(session, world, storage, limited, "b.png", samples.png())


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("../../etc/passwd", "passwd"),
        ("..\\..\\windows\\system.ini", "system.ini"),
        ("%2e%2e%2f%2e%2e%2fsecret.png", "secret.png"),
        ("%252e%252e%252fx.png", "x.png"),
        ("evil\x00.png", "evil.png"),
        (".htaccess", "htaccess"),
        ("", "file"),
        ("/", "file"),
        ("a" * 300 + ".png", "a" * 196 + ".png"),
    ],
)
def test_filename_attacks_never_reach_the_disk(session, world, storage, settings, raw, clean):
    asset = up(session, world, storage, settings, raw, samples.png())
    assert asset.filename == clean
    files = stored_files(storage)
    assert len(files) == 1 and files[0].resolve().is_relative_to(storage.root)
    assert files[0].name == f"{asset.id}.png"


def test_storage_refuses_keys_it_did_not_make(storage):
    for key in ["../x", "a/../../b.png", "/etc/passwd", "x.png"]:
        with pytest.raises(ValueError):
            storage.put(key, b"x")


def test_failure_mid_upload_leaves_no_row_or_file(database_url, world_committed, storage, settings):
    actor, module_id = world_committed
    with pytest.raises(RuntimeError), unit_of_work.transaction() as session:
        media.upload(
            session=session,
            actor=actor,
            module_id=module_id,
            filename="a.png",
            data=samples.png(),
            storage=storage,
            settings=settings,
        )
        assert len(stored_files(storage)) == 1
        raise RuntimeError("the connection dropped before commit")
    with unit_of_work.read_only() as session:
        assert session.scalars(select(MediaAsset)).all() == []
    assert stored_files(storage) == []


def test_failure_while_writing_leaves_nothing(database_url, world_committed, storage, settings, monkeypatch):
    actor, module_id = world_committed

    def disk_full(*_args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(media_storage.os, "replace", disk_full)
    with pytest.raises(OSError), unit_of_work.transaction() as session:
        media.upload(
            session=session,
            actor=actor,
            module_id=module_id,
            filename="a.png",
            data=samples.png(),
            storage=storage,
            settings=settings,
        )
    with unit_of_work.read_only() as session:
        assert session.scalars(select(MediaAsset)).all() == []
    assert stored_files(storage) == []


def test_delete_removes_row_and_file_only_when_committed(database_url, world_committed, storage, settings):
    actor, module_id = world_committed
    with unit_of_work.transaction() as session:
        asset = media.upload(
            session=session,
            actor=actor,
            module_id=module_id,
            filename="a.png",
            data=samples.png(),
            storage=storage,
            settings=settings,
        )
    # A delete that rolls back keeps both.
    with pytest.raises(RuntimeError), unit_of_work.transaction() as session:
        media.delete(session=session, actor=actor, asset_id=asset.id, storage=storage)
        raise RuntimeError("abort")
    assert storage.exists(media.storage_key(asset))
    with unit_of_work.read_only() as session:
        assert session.get(MediaAsset, asset.id) is not None
    with unit_of_work.transaction() as session:
        media.delete(session=session, actor=actor, asset_id=asset.id, storage=storage)
    assert stored_files(storage) == []
    with unit_of_work.read_only() as session:
        assert session.get(MediaAsset, asset.id) is None


@pytest.fixture
def world_committed(database_url):
    with unit_of_work.transaction() as session:
        author = make_user(session, role=UserRole.studio_creator, password=None)
        module = make_module(session, make_simulation(session, author=author))
    return actor_of(author), module.id


def test_in_use_portraits_cannot_be_deleted_and_are_listed(session, world, storage, settings):
    asset = up(session, world, storage, settings, "ana.png", samples.png())
    world["module"].stakeholders = [{"name": "Ana", "portrait_url": asset.url, "personality_traits": []}]
    session.add(world["module"])
    session.flush()
    uses = media.where_used(session=session, actor=world["author"], asset_id=asset.id)
    assert uses == [f"portrait of Ana in “{world['module'].title}”"]
    with pytest.raises(Conflict):
        media.delete(session=session, actor=world["author"], asset_id=asset.id, storage=storage)


def test_scope_and_read_only(session, world, storage, settings):
    asset = up(session, world, storage, settings, "a.png", samples.png())
    stranger = actor_of(make_user(session, role=UserRole.studio_creator, password=None))
    with pytest.raises(NotFound):
        media.get(session=session, actor=stranger, asset_id=asset.id)
    with pytest.raises(NotFound):
        media.asset_for_url(session=session, actor=stranger, name=asset.url.removeprefix("/media/"))
    assert media.asset_for_url(session=session, actor=world["author"], name=asset.url.removeprefix("/media/"))
    world["sim"].status = SimulationStatus.published
    session.add(world["sim"])
    session.flush()
    with pytest.raises(PermissionDenied):
        up(session, world, storage, settings, "b.png", samples.png())
    with pytest.raises(PermissionDenied):
        media.rename(session=session, actor=world["author"], asset_id=asset.id, version=asset.version, filename="x.png")
    # Published: the catalogue (and so its media) is visible to other creators, read-only.
    assert media.get(session=session, actor=stranger, asset_id=asset.id)


def test_rename_and_list(session, world, storage, settings):
    a = up(session, world, storage, settings, "a.png", samples.png())
    up(session, world, storage, settings, "b.pdf", samples.pdf())
    media.rename(
        session=session, actor=world["author"], asset_id=a.id, version=a.version, filename="../Portrait of Ana.png"
    )
    assert a.filename == "Portrait of Ana.png"
    page = media.list_(
        session=session, actor=world["author"], module_id=world["module"].id, query=ListQuery(search="ana")
    )
    assert [x.id for x in page.rows] == [a.id] and page.total == 1
    docs = media.list_(
        session=session,
        actor=world["author"],
        module_id=world["module"].id,
        query=ListQuery(filters={"type": MediaType.document.value}),
    )
    assert [x.filename for x in docs.rows] == ["b.pdf"]
