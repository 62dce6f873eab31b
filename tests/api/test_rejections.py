"""Each key's inbox of refused requests: kept outside the request's transaction, bounded, searchable."""

import uuid

import pytest
from sqlalchemy import func, select
from starlette.testclient import TestClient

from console import unit_of_work
from console.auth import Actor
from console.services import api_keys, rejections
from console.services.listing import ListQuery
from models import ApiKey, ApiKeyRejection
from tests.api.conftest import build_app, event, post_events, start


def _served(**settings):
    app = build_app(**settings)
    return app, app.api.recorder.writer


def _key(key: str) -> ApiKey:
    with unit_of_work.read_only() as s:
        return s.scalar(select(ApiKey).where(ApiKey.key_hash == api_keys.hash_key(key)))


def _inbox(key: str, **query) -> list:
    with unit_of_work.read_only() as s:
        return rejections.list_(
            session=s, actor=Actor.system("test"), key_id=_key(key).id, query=ListQuery(**query)
        ).rows


def test_a_refused_request_is_kept_with_the_offending_part_and_moves_last_used(world):
    app, writer = _served()
    with TestClient(app, base_url="http://testserver") as client:
        sid = start(client, world).json()["id"]
        before = _key(world.keys["rw"])
        bad = event(data={"decision_id": "d1", "choice_id": "c1", "impacts": {"financial": "lots"}})
        refused = post_events(client, world, sid, [event(), bad])
        assert refused.status_code == 422
        assert client.get(f"/api/v1/sessions/{uuid.uuid4()}", headers=world.auth()).status_code == 404
        writer.flush()
    rows = _inbox(world.keys["rw"])
    assert [r.status for r in rows] == [404, 422]  # newest first
    newest, first = rows
    assert first.code == refused.json()["error"]["code"] and first.message == refused.json()["error"]["message"]
    assert first.session_ref == sid and first.method == "POST" and first.path.endswith("/events")
    assert "lots" in first.excerpt and len(first.excerpt.encode()) <= 1024 + 3
    assert newest.session_ref is not None and newest.path.endswith(newest.session_ref)
    key = _key(world.keys["rw"])
    assert key.last_error.startswith("404 ") and key.last_error_at is not None
    assert before.last_used_at is None or key.last_used_at >= before.last_used_at
    assert _inbox(world.keys["rw"], search="lots")[0].id == first.id
    assert [r.status for r in _inbox(world.keys["rw"], filters={"status": "404"})] == [404]


def test_a_refusal_is_kept_even_though_its_request_rolled_back_and_accepted_requests_add_nothing(world):
    app, writer = _served()
    with TestClient(app, base_url="http://testserver") as client:
        sid = start(client, world).json()["id"]
        assert post_events(client, world, sid, [event()]).status_code == 200
        late = post_events(client, world, sid, [event("completion", at=100)])
        assert late.status_code == 200
        conflict = post_events(client, world, sid, [event(at=200)])  # the session is completed
        assert conflict.status_code == 409
        writer.flush()
    assert [r.status for r in _inbox(world.keys["rw"])] == [409]


def test_refusals_are_bounded_per_key_and_unknown_keys_store_nothing(world):
    app, writer = _served(api_rejections_per_key=3)
    unknown = api_keys.generate_key()
    with TestClient(app, base_url="http://testserver") as client:
        for _ in range(6):
            client.get(f"/api/v1/sessions/{uuid.uuid4()}", headers=world.auth())
            client.get(f"/api/v1/sessions/{uuid.uuid4()}", headers={"Authorization": f"Bearer {unknown}"})
        writer.flush()
    assert len(_inbox(world.keys["rw"])) == 3  # 6 stored, the newest 3 kept
    with unit_of_work.read_only() as s:
        assert s.scalar(select(func.count()).select_from(ApiKeyRejection)) == 3


def test_each_process_stores_at_most_so_many_refusals_per_key_a_second():
    from console.api.rejections import RejectionWriter

    writer = RejectionWriter(keep=500, days=7, per_key_second=3)
    admitted = [writer.admit("a-key") for _ in range(5)] + [writer.admit("another-key")]
    assert admitted == [True, True, True, False, False, True] and writer.dropped == 2


def test_refusals_older_than_the_kept_days_are_pruned_and_only_the_keys_readers_see_them(world):
    from sqlalchemy import update

    from console.errors import NotFound
    from models import UserRole
    from tests.factories import actor_of, make_user

    refusal = rejections.Refusal(
        key_hash=api_keys.hash_key(world.keys["rw"]), method="GET", path="/api/v1/modules/x", status=404,
        code="not_found", message="Module not found.", details=None, excerpt="", session_ref=None,
        client_address=None,
    )  # fmt: skip
    with unit_of_work.transaction() as s:
        rejections.record(session=s, refusal=refusal, keep=500, days=7)
        s.execute(update(ApiKeyRejection).values(received_at=func.now() - func.make_interval(0, 0, 0, 8)))
    with unit_of_work.transaction() as s:
        rejections.record(session=s, refusal=refusal, keep=500, days=7)
    assert len(_inbox(world.keys["rw"])) == 1  # the 8-day-old one went as the new one came
    with unit_of_work.transaction() as s:
        creator = make_user(s, role=UserRole.studio_creator)
    with unit_of_work.read_only() as s, pytest.raises(NotFound):  # a live key: not a creator's to read
        rejections.list_(session=s, actor=actor_of(creator), key_id=_key(world.keys["rw"]).id, query=ListQuery())


def test_a_key_pasted_into_a_refused_body_is_kept_as_its_prefix_only(world):
    app, writer = _served()
    pasted = world.keys["read"]  # a real key of the platform, sent where it does not belong
    with TestClient(app, base_url="http://testserver") as client:
        sid = start(client, world).json()["id"]
        bad = event(data={"decision_id": "d1", "choice_id": "c1", "impacts": {pasted: 1}})
        assert post_events(client, world, sid, [bad]).status_code == 422
        writer.flush()
    (kept,) = _inbox(world.keys["rw"])
    assert pasted not in kept.excerpt and pasted not in str(kept.details) + kept.message
    assert pasted[:15] + "…" in str(kept.details) and pasted[:15] + "…" in kept.message
    assert pasted not in (_key(world.keys["rw"]).last_error or "")


def test_a_key_named_as_the_session_or_hidden_in_escapes_is_kept_as_its_prefix_only(world):
    """A key sent as the session (in the path, or as external_session_id) was kept whole as the refusal's
    session, shown and searchable in the inbox; one written with a JSON escape was kept whole in the
    excerpt."""
    app, writer = _served()
    pasted = world.keys["read"]
    escaped = pasted[:12] + "\\u00" + format(ord(pasted[12]), "02x") + pasted[13:]
    with TestClient(app, base_url="http://testserver") as client:
        assert client.get(f"/api/v1/sessions/{pasted}", headers=world.auth()).status_code in (404, 422)
        body = {"external_session_id": pasted, "events": [event()]}
        assert client.post("/api/v1/events", json=body, headers=world.auth()).status_code == 404
        raw = '{"session_id": "' + escaped + '", "events": 7}'
        answer = client.post(
            "/api/v1/events", content=raw, headers={**world.auth(), "Content-Type": "application/json"}
        )
        assert answer.status_code == 422
        writer.flush()
    kept = _inbox(world.keys["rw"])
    assert len(kept) == 3
    for row in kept:
        assert pasted not in f"{row.session_ref} {row.excerpt} {row.details} {row.message} {row.path}"
        assert escaped[12:] not in row.excerpt
    assert {row.session_ref for row in kept} == {pasted[:15] + "…"}
    assert _inbox(world.keys["rw"], search=pasted[15:30]) == []


def test_a_refused_body_with_a_lone_surrogate_or_nul_is_still_kept(world):
    """A "\\ud800" escape parses to text UTF-8 cannot hold: the inbox writer failed on it (the refusal was
    lost, a traceback logged); NUL cannot be stored by PostgreSQL either."""
    app, writer = _served()
    with TestClient(app, base_url="http://testserver") as client:
        sid = start(client, world).json()["id"]
        for odd in ("\\ud800", "\\u0000"):
            raw = (
                '{"session_id": "' + sid + '", "events": [{"id": "' + str(uuid.uuid4()) + '", "type": "decision", '
                '"timestamp": "2026-11-25T10:00:00Z", "data": {"decision_id": "d1", "choice_id": "c1", '
                '"impacts": {"financial": "' + odd + '"}}}]}'
            )
            answer = client.post(
                "/api/v1/events", content=raw, headers={**world.auth(), "Content-Type": "application/json"}
            )
            assert answer.status_code == 422, answer.text
            if odd == "\\ud800":  # said plainly (jiter's "unexpected end of hex escape" left it a riddle)
                assert "must be one half of a surrogate pair" in answer.json()["error"]["details"]["body"]
        writer.flush()
    assert writer.dropped == 0
    assert [r.status for r in _inbox(world.keys["rw"])] == [422, 422]


def test_the_offending_part_keeps_the_name_of_the_field(world):
    """For an unknown dimension the name is what is wrong: the inbox showed its value alone ("3")."""
    app, writer = _served()
    with TestClient(app, base_url="http://testserver") as client:
        sid = start(client, world).json()["id"]
        bad = event(data={"decision_id": "d1", "choice_id": "c1", "impacts": {"financial": 1, "Financial": 3}})
        assert post_events(client, world, sid, [bad]).status_code == 422
        writer.flush()
    (kept,) = _inbox(world.keys["rw"])
    assert kept.excerpt == '{"Financial":3}'
