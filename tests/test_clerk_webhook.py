"""The Clerk user mirror through `POST /webhooks/clerk`, with deliveries signed by svix's own
`Webhook.sign`, on a real PostgreSQL (SECURITY.md 8–12)."""

from __future__ import annotations

import base64
import itertools
import json
import threading
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from fastapi import FastAPI
from sqlalchemy import func, select
from starlette.testclient import TestClient
from svix.webhooks import Webhook

from console import unit_of_work
from console.config import Settings
from console.identity_routes import CLERK_WEBHOOK_PATH, identity_router
from models import AuditLogEntry, ClerkDelivery, ClerkUser, LoginSession, User
from models.enums import UserRole
from tests.factories import make_user
from tests.support import at_once

SECRET = "whsec_" + base64.b64encode(b"simvado-clerk-test-secret-32byte").decode()
T0 = 1_764_000_000_000  # Clerk's clock, milliseconds


@pytest.fixture
def client(database_url):
    app = FastAPI()
    app.include_router(identity_router(Settings(clerk_webhook_secret=SECRET, clerk_webhook_max_body_bytes=64 * 1024)))
    with TestClient(app) as c:
        yield c


def clerk_user(clerk_id: str, *, updated_at: int, email: str, first: str = "Ana", last: str = "Lee", verified=True):
    return {
        "id": clerk_id,
        "object": "user",
        "first_name": first,
        "last_name": last,
        "username": None,
        "primary_email_address_id": "idn_1",
        "email_addresses": [
            {
                "id": "idn_1",
                "object": "email_address",
                "email_address": email,
                "verification": {"status": "verified" if verified else "unverified", "strategy": "email_code"},
            }
        ],
        "created_at": T0,
        "updated_at": updated_at,
    }


def event(kind: str, data: dict) -> dict:
    return {"type": kind, "object": "event", "data": data, "timestamp": T0}


def deleted(clerk_id: str) -> dict:
    return event("user.deleted", {"id": clerk_id, "object": "user", "deleted": True})


def signed(body: str, *, msg_id: str | None = None, at: datetime | None = None) -> dict[str, str]:
    msg_id = msg_id or f"msg_{uuid.uuid4().hex}"
    at = at or datetime.now(UTC)
    return {
        "svix-id": msg_id,
        "svix-timestamp": str(int(at.timestamp())),
        "svix-signature": Webhook(SECRET).sign(msg_id, at, body),
        "content-type": "application/json",
    }


def deliver(client: TestClient, payload: dict, *, msg_id: str | None = None):
    body = json.dumps(payload)
    return client.post(CLERK_WEBHOOK_PATH, content=body, headers=signed(body, msg_id=msg_id))


def user_by_clerk_id(clerk_id: str) -> User | None:
    with unit_of_work.read_only() as s:
        return s.scalar(select(User).where(User.clerk_id == clerk_id))


def count(model, *where) -> int:  # noqa: ANN001
    with unit_of_work.read_only() as s:
        return s.scalar(select(func.count()).select_from(model).where(*where))


# ------------------------------------------------------------------------------------ the three events


def test_created_makes_an_individual_and_audits_it_as_the_webhook(client):
    answer = deliver(client, event("user.created", clerk_user("user_a", updated_at=T0, email="Ana@Acme.Example")))
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"status": "applied"}
    assert "set-cookie" not in answer.headers
    user = user_by_clerk_id("user_a")
    assert (user.email, user.name, user.role, user.organization_id) == (
        "ana@acme.example",
        "Ana Lee",
        UserRole.individual,
        None,
    )
    with unit_of_work.read_only() as s:
        entry = s.scalar(select(AuditLogEntry).where(AuditLogEntry.entity_id == str(user.id)))
    assert (entry.action, entry.actor_label, entry.actor_id) == ("user.create", "Clerk webhook", None)


def test_updated_changes_name_and_email(client):
    deliver(client, event("user.created", clerk_user("user_b", updated_at=T0, email="bo@acme.example")))
    answer = deliver(
        client, event("user.updated", clerk_user("user_b", updated_at=T0 + 5, email="bo.new@acme.example", first="Bo"))
    )
    assert answer.json() == {"status": "applied"}
    user = user_by_clerk_id("user_b")
    assert (user.email, user.name) == ("bo.new@acme.example", "Bo Lee")


def test_an_older_update_arriving_late_changes_nothing(client):
    deliver(client, event("user.updated", clerk_user("user_c", updated_at=T0 + 10, email="new@acme.example")))
    answer = deliver(client, event("user.created", clerk_user("user_c", updated_at=T0, email="old@acme.example")))
    assert answer.json() == {"status": "stale"}
    assert user_by_clerk_id("user_c").email == "new@acme.example"


def test_deleted_then_a_late_update_stays_deleted_and_sessions_end(client):
    deliver(client, event("user.created", clerk_user("user_d", updated_at=T0, email="di@acme.example")))
    user = user_by_clerk_id("user_d")
    with unit_of_work.transaction() as s:
        s.add(LoginSession(id="d" * 64, user_id=user.id, expires_at=datetime.now(UTC) + timedelta(hours=1)))
    assert deliver(client, deleted("user_d")).json() == {"status": "applied"}
    late = deliver(client, event("user.updated", clerk_user("user_d", updated_at=T0 + 99, email="di2@acme.example")))
    assert late.status_code == 200
    user = user_by_clerk_id("user_d")
    assert user.deactivated_at is not None  # still deleted
    assert count(LoginSession, LoginSession.user_id == user.id, LoginSession.revoked_at.is_(None)) == 0
    with unit_of_work.read_only() as s:
        assert s.get(ClerkUser, "user_d").deleted_at is not None


def test_a_deletion_before_the_creation_makes_the_person_already_deleted(client):
    deliver(client, deleted("user_e"))
    assert user_by_clerk_id("user_e") is None
    deliver(client, event("user.created", clerk_user("user_e", updated_at=T0, email="e@acme.example")))
    assert user_by_clerk_id("user_e").deactivated_at is not None


def test_other_event_types_are_acknowledged_and_ignored(client):
    answer = deliver(client, event("session.created", {"id": "sess_1", "user_id": "user_x"}))
    assert answer.json() == {"status": "ignored"}
    assert count(User) == 0


# ------------------------------------------------------------------------------- idempotency and order


def test_the_same_delivery_twice_changes_nothing(client):
    payload = event("user.created", clerk_user("user_f", updated_at=T0, email="f@acme.example"))
    first = deliver(client, payload, msg_id="msg_same")
    second = deliver(client, payload, msg_id="msg_same")
    assert (first.json(), second.json()) == ({"status": "applied"}, {"status": "duplicate"})
    assert count(User, User.clerk_id == "user_f") == 1
    assert count(AuditLogEntry) == 1


def test_the_same_delivery_twenty_times_at_once_has_one_effect(client, database_url):
    payload = event("user.created", clerk_user("user_g", updated_at=T0, email="g@acme.example"))
    body = json.dumps(payload)
    headers = signed(body, msg_id="msg_concurrent")
    answers = at_once(20, lambda: client.post(CLERK_WEBHOOK_PATH, content=body, headers=headers))
    assert sorted(a.status_code for a in answers) == [200] * 20
    assert sorted(a.json()["status"] for a in answers) == ["applied"] + ["duplicate"] * 19
    assert count(User, User.clerk_id == "user_g") == 1
    assert count(ClerkDelivery) == 1
    assert count(AuditLogEntry) == 1


def test_different_deliveries_about_one_person_at_once_take_turns(client):
    """A creation and two updates posted at the same moment: the per-person lock makes them take turns,
    so the newest version wins whatever the interleaving, and one person exists."""
    versions = [
        event("user.created", clerk_user("user_t", updated_at=T0, email="t@acme.example", first="Tia")),
        event("user.updated", clerk_user("user_t", updated_at=T0 + 1, email="t@acme.example", first="Tina")),
        event("user.updated", clerk_user("user_t", updated_at=T0 + 2, email="t2@acme.example", first="Tanya")),
    ]
    start = threading.Barrier(len(versions))
    answers: list = []

    def post(payload):
        body = json.dumps(payload)
        headers = signed(body)
        start.wait()
        answers.append(client.post(CLERK_WEBHOOK_PATH, content=body, headers=headers))

    threads = [threading.Thread(target=post, args=(v,)) for v in versions]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [a.status_code for a in answers] == [200, 200, 200]
    assert count(User, User.clerk_id == "user_t") == 1
    user = user_by_clerk_id("user_t")
    assert (user.email, user.name) == ("t2@acme.example", "Tanya Lee")


def _final_state(clerk_id: str) -> tuple:
    with unit_of_work.read_only() as s:
        user = s.scalar(select(User).where(User.clerk_id == clerk_id))
        state = s.get(ClerkUser, clerk_id)
        person = None if user is None else (user.email.replace(clerk_id, "*"), user.name, user.deactivated_at is None)
        return person, state.deleted_at is not None, state.applied_updated_at


@pytest.mark.parametrize("with_delete", [True, False], ids=["with-delete", "no-delete"])
def test_every_order_of_a_sequence_ends_in_the_same_state(client, with_delete):
    def sequence(cid: str) -> list[dict]:
        steps = [
            event("user.created", clerk_user(cid, updated_at=T0, email=f"{cid}@acme.example", first="Ana")),
            event("user.updated", clerk_user(cid, updated_at=T0 + 1, email=f"{cid}@acme.example", first="Anna")),
            event("user.updated", clerk_user(cid, updated_at=T0 + 2, email=f"{cid}@new.example", first="Annabel")),
        ]
        return steps + ([deleted(cid)] if with_delete else [])

    states = set()
    for n, order in enumerate(itertools.permutations(range(4 if with_delete else 3))):
        cid = f"user_p{n}"
        steps = sequence(cid)
        for i in order:
            assert deliver(client, steps[i]).status_code == 200
        states.add(_final_state(cid))
    expected = (("*@new.example", "Annabel Lee", not with_delete), with_delete, T0 + 2)
    assert states == {expected}


# ------------------------------------------------------------------------------------ refused requests


def _nothing_written():
    assert count(ClerkDelivery) == 0
    assert count(User) == 0
    assert count(AuditLogEntry) == 0


def test_a_tampered_byte_is_refused_and_nothing_is_written(client, caplog):
    caplog.set_level("DEBUG")
    body = json.dumps(event("user.created", clerk_user("user_h", updated_at=T0, email="h@acme.example")))
    headers = signed(body)
    answer = client.post(CLERK_WEBHOOK_PATH, content=body.replace("h@acme", "x@acme"), headers=headers)
    assert answer.status_code == 400
    _nothing_written()
    assert SECRET not in caplog.text and SECRET.removeprefix("whsec_") not in caplog.text


def test_reserialized_json_is_refused(client):
    payload = event("user.created", clerk_user("user_i", updated_at=T0, email="i@acme.example"))
    headers = signed(json.dumps(payload))
    answer = client.post(CLERK_WEBHOOK_PATH, content=json.dumps(payload, indent=1), headers=headers)
    assert answer.status_code == 400
    _nothing_written()


def test_a_stale_timestamp_is_refused(client):
    body = json.dumps(event("user.created", clerk_user("user_j", updated_at=T0, email="j@acme.example")))
    old = datetime.now(UTC) - timedelta(minutes=10)
    answer = client.post(CLERK_WEBHOOK_PATH, content=body, headers=signed(body, at=old))
    assert answer.status_code == 400
    _nothing_written()


@pytest.mark.parametrize("missing", ["svix-id", "svix-timestamp", "svix-signature"])
def test_missing_headers_are_refused(client, missing):
    body = json.dumps(event("user.created", clerk_user("user_k", updated_at=T0, email="k@acme.example")))
    headers = signed(body)
    del headers[missing]
    assert client.post(CLERK_WEBHOOK_PATH, content=body, headers=headers).status_code == 400
    _nothing_written()


def test_another_secret_is_refused(client):
    body = json.dumps(event("user.created", clerk_user("user_l", updated_at=T0, email="l@acme.example")))
    at = datetime.now(UTC)
    other = Webhook("whsec_" + base64.b64encode(b"another-secret-another-secret-32").decode())
    headers = {
        "svix-id": "msg_1",
        "svix-timestamp": str(int(at.timestamp())),
        "svix-signature": other.sign("msg_1", at, body),
    }
    assert client.post(CLERK_WEBHOOK_PATH, content=body, headers=headers).status_code == 400
    _nothing_written()


async def test_a_two_mib_body_is_refused_without_being_read_in_full(database_url):
    """Driven as raw ASGI, so the test sees how many chunks of a 2 MiB body the route took in."""
    app = FastAPI()
    app.include_router(identity_router(Settings(clerk_webhook_secret=SECRET, clerk_webhook_max_body_bytes=64 * 1024)))
    chunk, chunks = b"x" * (64 * 1024), 32  # 2 MiB, sent without a Content-Length
    taken = 0
    sent: list[dict] = []

    async def receive():
        nonlocal taken
        taken += 1
        return {"type": "http.request", "body": chunk, "more_body": taken < chunks}

    async def send(message):
        sent.append(message)

    headers = [(k.encode(), v.encode()) for k, v in signed("{}").items()]
    scope = {
        "type": "http",
        "method": "POST",
        "path": CLERK_WEBHOOK_PATH,
        "raw_path": CLERK_WEBHOOK_PATH.encode(),
        "query_string": b"",
        "headers": headers,
        "http_version": "1.1",
        "scheme": "http",
        "server": ("test", 80),
        "client": ("127.0.0.1", 1),
        "root_path": "",
        "asgi": {"version": "3.0"},
    }
    await app(scope, receive, send)
    assert sent[0]["status"] == 413
    assert taken <= 2  # stopped just past the 64 KiB limit: 1.9 MiB never read


def test_a_declared_length_past_the_limit_is_refused_before_reading(client):
    answer = client.post(CLERK_WEBHOOK_PATH, content=b"x" * (2 * 1024 * 1024), headers=signed("{}"))
    assert answer.status_code == 413
    _nothing_written()


def test_without_a_configured_secret_the_webhook_answers_503(database_url):
    app = FastAPI()
    app.include_router(identity_router(Settings(clerk_webhook_secret=None)))
    with TestClient(app) as c:
        assert deliver(c, deleted("user_m")).status_code == 503


def test_a_signed_event_that_is_not_a_user_object_is_refused_so_clerk_retries(client):
    answer = deliver(client, event("user.created", {"id": "user_n"}))  # no updated_at
    assert answer.status_code == 422
    _nothing_written()


# ----------------------------------------------------------------------------- linking existing people


def test_an_existing_account_is_linked_only_by_a_verified_email(client, database_url):
    with unit_of_work.transaction() as s:
        existing = make_user(s, email="pat@acme.example", role=UserRole.studio_creator)
    deliver(
        client, event("user.created", clerk_user("user_q", updated_at=T0, email="pat@acme.example", verified=False))
    )
    assert user_by_clerk_id("user_q") is None  # nobody linked, nobody duplicated
    assert count(User, func.lower(User.email) == "pat@acme.example") == 1
    with unit_of_work.read_only() as s:
        assert s.get(ClerkUser, "user_q").conflict == "email unverified and used by an existing account"
    deliver(client, event("user.updated", clerk_user("user_q", updated_at=T0 + 1, email="pat@acme.example")))
    linked = user_by_clerk_id("user_q")
    assert linked is not None and linked.id == existing.id and linked.role == UserRole.studio_creator


def test_an_account_linked_to_another_clerk_user_is_never_taken_over(client, database_url):
    with unit_of_work.transaction() as s:
        make_user(s, email="zoe@acme.example", clerk_id="user_original")
    deliver(client, event("user.created", clerk_user("user_r", updated_at=T0, email="zoe@acme.example")))
    assert user_by_clerk_id("user_r") is None
    assert user_by_clerk_id("user_original").email == "zoe@acme.example"


@pytest.fixture
def served_console(database_url, tmp_path, monkeypatch):
    from tests.api.test_served import _serve

    monkeypatch.setenv("SIMVADO_CLERK_WEBHOOK_SECRET", SECRET)
    yield from _serve(database_url, tmp_path, ["serve"])


def test_the_served_console_takes_deliveries_without_login_or_cookie(served_console):
    import httpx

    body = json.dumps(event("user.created", clerk_user("user_s", updated_at=T0, email="s@acme.example")))
    answer = httpx.post(f"{served_console}{CLERK_WEBHOOK_PATH}", content=body, headers=signed(body))
    assert answer.status_code == 200, answer.text
    assert "set-cookie" not in answer.headers
    assert user_by_clerk_id("user_s") is not None
    tampered = httpx.post(f"{served_console}{CLERK_WEBHOOK_PATH}", content=body + " ", headers=signed(body))
    assert tampered.status_code == 400
