"""The S3 backend against a real S3-compatible endpoint (moto's server, on loopback)."""

from __future__ import annotations

import pytest
from sqlmodel import select

from console import unit_of_work
from console.config import Settings
from console.services import media
from models import MediaAsset
from models.enums import UserRole
from tests import media_samples as samples
from tests.factories import actor_of, make_module, make_simulation, make_user

pytest.importorskip("boto3")
moto_server = pytest.importorskip("moto.server")


@pytest.fixture(scope="module")
def s3_endpoint():
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def s3(s3_endpoint, monkeypatch, tmp_path):
    import boto3

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    settings = Settings(
        data_dir=tmp_path,
        media_storage="s3",
        media_s3_bucket=f"media-{tmp_path.name.lower()[-20:].replace('_', '-')}",
        media_s3_endpoint_url=s3_endpoint,
        media_s3_region="us-east-1",
    )
    boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1").create_bucket(Bucket=settings.media_s3_bucket)
    storage = media.get_storage(settings)
    assert isinstance(storage, media.S3Storage)
    return settings, storage


def _objects(storage) -> list[str]:
    listing = storage.client.list_objects_v2(Bucket=storage.bucket)
    return [o["Key"] for o in listing.get("Contents", [])]


def test_upload_serve_and_delete_through_s3(database_url, s3):
    settings, storage = s3
    with unit_of_work.transaction() as session:
        author = make_user(session, role=UserRole.studio_creator, password=None)
        module = make_module(session, make_simulation(session, author=author))
    actor = actor_of(author)
    with unit_of_work.transaction() as session:
        asset = media.upload(
            session=session,
            actor=actor,
            module_id=module.id,
            filename="a.png",
            data=samples.png(),
            storage=storage,
            settings=settings,
        )
    key = media.storage_key(asset)
    assert _objects(storage) == [f"media/{key}"]
    assert storage.get(key) == samples.png() and storage.exists(key)
    head = storage.client.head_object(Bucket=storage.bucket, Key=f"media/{key}")
    assert head["ContentType"] == "image/png"
    with unit_of_work.transaction() as session:
        media.delete(session=session, actor=actor, asset_id=asset.id, storage=storage)
    assert _objects(storage) == [] and not storage.exists(key)


def test_rollback_removes_the_object(database_url, s3):
    settings, storage = s3
    with unit_of_work.transaction() as session:
        author = make_user(session, role=UserRole.studio_creator, password=None)
        module = make_module(session, make_simulation(session, author=author))
    with pytest.raises(RuntimeError), unit_of_work.transaction() as session:
        media.upload(
            session=session,
            actor=actor_of(author),
            module_id=module.id,
            filename="a.pdf",
            data=samples.pdf(),
            storage=storage,
            settings=settings,
        )
        raise RuntimeError("failed before commit")
    assert _objects(storage) == []
    with unit_of_work.read_only() as session:
        assert session.scalars(select(MediaAsset)).all() == []


def test_s3_keys_are_checked(s3):
    _, storage = s3
    with pytest.raises(ValueError):
        storage.put("../../etc/passwd", b"x")
