"""The media upload endpoint: bounded while the file streams, the module's file count held under
concurrent requests, the storage quotas enforced in the transaction that inserts, access and the
CSRF token checked before a byte is read."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import quote

import pytest
from nicegui.testing import User
from sqlalchemy import func, select

from console import unit_of_work
from console.config import get_settings
from models import MediaAsset
from models.enums import ModuleStatus, UserRole
from tests import media_samples as samples
from tests.factories import PASSWORD, make_module, make_org, make_simulation, make_user
from tests.support import sign_in

MiB = 1024 * 1024


@pytest.fixture
def library(database_url, tmp_path, monkeypatch):
    monkeypatch.setenv("SIMVADO_MEDIA_ROOT", str(tmp_path / "media"))
    with unit_of_work.transaction() as session:
        studio = make_org(session, name="Northwind Studio")
        creator = make_user(session, role=UserRole.studio_creator, name="Cleo Creator", organization_id=studio.id)
        sim = make_simulation(session, author=creator, title="Boardroom Crisis")
        module = make_module(session, sim, title="Opening", status=ModuleStatus.draft)
    return {"creator": creator, "sim": sim, "module": module, "root": tmp_path / "media", "org": studio}


async def _signed_in(user: User, account) -> None:  # noqa: ANN001
    await sign_in(user.http_client, account.email, PASSWORD)


def _headers(user: User, name: str = "portrait.png") -> dict[str, str]:
    return {
        "X-Filename": quote(name),
        "X-CSRF-Token": user.http_client.cookies["simvado_csrf"],
        "Origin": str(user.http_client.base_url).rstrip("/"),
        "Content-Type": "application/octet-stream",
    }


async def _post(user: User, module_id, content, name: str = "portrait.png", **headers):  # noqa: ANN001
    return await user.http_client.post(
        f"/media/upload?module={module_id}", content=content, headers={**_headers(user, name), **headers}
    )


def _files(root: Path) -> list[Path]:
    return [f for f in root.rglob("*") if f.is_file()] if root.exists() else []


def _count(module_id) -> int:  # noqa: ANN001
    with unit_of_work.read_only() as session:
        return session.scalar(select(func.count()).select_from(MediaAsset).where(MediaAsset.module_id == module_id))


class _Stream:
    """A request body of `total` bytes that starts like a PNG, counting what the server asked for."""

    def __init__(self, total: int, head: bytes) -> None:
        self.total, self.head, self.sent = total, head, 0
        self.chunk = b"\0" * MiB

    async def __aiter__(self):
        yield self.head
        self.sent = len(self.head)
        while self.sent < self.total:
            yield self.chunk
            self.sent += len(self.chunk)


def _rss() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


class _PeakMemory:
    """The process's resident memory, sampled every few milliseconds while the block runs."""

    def __enter__(self):
        self.before, self.peak, self.running = _rss(), 0, True
        self.thread = threading.Thread(target=self._sample, daemon=True)
        self.thread.start()
        return self

    def _sample(self) -> None:
        while self.running:
            self.peak = max(self.peak, _rss())
            time.sleep(0.002)

    def __exit__(self, *exc) -> None:  # noqa: ANN002
        self.running = False
        self.thread.join()

    @property
    def growth(self) -> int:
        return self.peak - self.before


async def test_a_300_mib_file_with_a_png_header_is_refused_at_the_image_limit_with_memory_bounded(library, user):
    await _signed_in(user, library["creator"])
    stream = _Stream(300 * MiB, samples.png())
    with _PeakMemory() as memory:
        response = await _post(user, library["module"].id, stream)
    assert response.status_code == 413
    assert response.json()["error"]["details"]["file"] == "image files are limited to 10 MiB"
    # Reading stopped at the limit (plus the chunk in flight), not at the end of the file …
    assert stream.sent <= 12 * MiB, f"the server read {stream.sent / MiB:.0f} MiB"
    # … and what was read went to a spool, not into memory.
    assert memory.growth < 20 * MiB, f"memory grew by {memory.growth / MiB:.0f} MiB"
    assert _count(library["module"].id) == 0 and not _files(library["root"])


async def test_a_declared_length_over_every_limit_is_refused_before_reading(library, user):
    await _signed_in(user, library["creator"])
    stream = _Stream(600 * MiB, samples.png())
    response = await _post(user, library["module"].id, stream, **{"Content-Length": str(600 * MiB)})
    assert response.status_code == 413
    assert stream.sent == 0


async def test_a_file_whose_first_bytes_are_no_accepted_kind_is_refused_there(library, user):
    await _signed_in(user, library["creator"])
    stream = _Stream(50 * MiB, samples.HTML)
    response = await _post(user, library["module"].id, stream, name="cat.png")
    assert response.status_code == 422
    assert response.json()["error"]["message"] == "This type of file is not accepted."
    assert stream.sent <= 2 * MiB
    assert not _files(library["root"])


async def test_an_accepted_file_is_stored_with_its_name(library, user):
    await _signed_in(user, library["creator"])
    response = await _post(user, library["module"].id, samples.png(), name="Q3 portrait – CFO.png")
    assert response.status_code == 201
    body = response.json()
    assert body["filename"] == "Q3 portrait – CFO.png" and body["url"].startswith("/media/")
    assert (await user.http_client.get(body["url"])).content == samples.png()


async def test_sixty_uploads_at_once_into_a_module_at_170_leave_exactly_200(library, user, monkeypatch):
    from console.services import media

    module = library["module"]
    with unit_of_work.transaction() as session:
        for i in range(170):
            asset = media.prepare(module_id=module.id, filename=f"old-{i}.png", data=samples.png())
            media.store(session=session, asset=asset, data=samples.png(), storage=media.get_storage())
    await _signed_in(user, library["creator"])
    responses = await asyncio.gather(*(_post(user, module.id, samples.png(), name=f"new-{i}.png") for i in range(60)))
    statuses = sorted(r.status_code for r in responses)
    assert statuses.count(201) == 30 and statuses.count(422) == 30
    refused = next(r for r in responses if r.status_code == 422).json()["error"]
    assert refused["message"] == "This module's library is full."
    assert refused["details"]["file"] == "at most 200 files per module"
    assert _count(module.id) == 200
    assert len(_files(library["root"])) == 200  # no file left behind by a refused upload


async def test_the_simulation_quota_refuses_the_upload_that_would_cross_it(library, user, monkeypatch):
    size = len(samples.png())
    monkeypatch.setenv("SIMVADO_MEDIA_QUOTA_SIMULATION_BYTES", str(2 * size + size // 2))
    get_settings.cache_clear()
    await _signed_in(user, library["creator"])
    for i in range(2):
        assert (await _post(user, library["module"].id, samples.png(), name=f"p{i}.png")).status_code == 201
    refused = await _post(user, library["module"].id, samples.png(), name="p3.png")
    assert refused.status_code == 413
    assert refused.json()["error"]["message"] == "The storage quota of this simulation would be exceeded."
    assert _count(library["module"].id) == 2 and len(_files(library["root"])) == 2


async def test_the_organization_quota_counts_every_simulation_its_members_author(library, user, monkeypatch):
    size = len(samples.png())
    with unit_of_work.transaction() as session:
        other = make_simulation(session, author=library["creator"], title="Second")
        other_module = make_module(session, other, title="Other")
    monkeypatch.setenv("SIMVADO_MEDIA_QUOTA_ORGANIZATION_BYTES", str(size + size // 2))
    get_settings.cache_clear()
    await _signed_in(user, library["creator"])
    assert (await _post(user, library["module"].id, samples.png())).status_code == 201
    refused = await _post(user, other_module.id, samples.png())
    assert refused.status_code == 413
    assert refused.json()["error"]["message"] == "The storage quota of Northwind Studio would be exceeded."
    assert _count(other_module.id) == 0 and len(_files(library["root"])) == 1


async def test_the_media_tab_shows_storage_against_the_quotas(library, user):
    await _signed_in(user, library["creator"])
    assert (await _post(user, library["module"].id, samples.png())).status_code == 201
    await user.open(f"/simulations/{library['sim'].id}?tab=media")
    size = len(samples.png())
    await user.should_see(f"This simulation: {size} B of 5.0 GB used", retries=80)
    await user.should_see(f"Northwind Studio: {size} B of 50.0 GB used")


async def test_someone_who_may_not_edit_is_refused_before_a_byte_is_read(library, user):
    with unit_of_work.transaction() as session:
        stranger = make_user(session, role=UserRole.studio_creator)
    await _signed_in(user, stranger)
    stream = _Stream(5 * MiB, samples.png())
    response = await _post(user, library["module"].id, stream)
    assert response.status_code == 404  # not told that the module exists
    assert stream.sent == 0
    bogus = await _post(user, "not-a-uuid", samples.png())
    assert bogus.status_code == 404
    unknown = await _post(user, uuid.uuid4(), samples.png())
    assert unknown.status_code == 404


async def test_an_upload_without_the_pages_token_stores_nothing(library, user):
    await _signed_in(user, library["creator"])
    for headers in ({"X-CSRF-Token": ""}, {"X-CSRF-Token": "A" * 43}, {"Origin": "https://evil.example"}):
        response = await _post(user, library["module"].id, samples.png(), **headers)
        assert response.status_code == 403
    assert _count(library["module"].id) == 0 and not _files(library["root"])


async def test_signed_out_uploads_get_401_and_nicegui_upload_routes_are_closed(library, user):
    response = await user.http_client.post(f"/media/upload?module={library['module'].id}", content=samples.png())
    assert response.status_code == 401
    await _signed_in(user, library["creator"])
    # No page uses NiceGUI's own upload route (it reads a whole form before any check).
    response = await user.http_client.post(
        "/_nicegui/client/any/upload/1", files={"file": ("x.png", samples.png(), "image/png")}
    )
    assert response.status_code == 404
