"""Generated input (schemathesis over our OpenAPI schema) never gets a 5xx or an undocumented status."""

from __future__ import annotations

import uuid

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from console import unit_of_work
from console.auth import Actor
from console.services import api_keys
from tests.api.conftest import build_app

schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", build_app())
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,
]


@pytest.fixture
def api_key(database_url) -> str:
    with unit_of_work.transaction() as session:
        created = api_keys.create(
            session=session,
            actor=Actor.system("t"),
            data={"name": "fuzz", "scopes": ["game:write", "game:read"]},
        )
    return created.key


@schema.parametrize()
@settings(max_examples=40, deadline=None, database=None, suppress_health_check=list(HealthCheck))
def test_no_5xx_and_no_undocumented_status(case, api_key):
    case.call_and_validate(headers={"Authorization": f"Bearer {api_key}"}, checks=CHECKS)


# ------------------------------------------------------------------ generated input that gets through

DIMENSIONS = ("financial", "reputational")  # the factories' scoring config


def _aimed_at_the_world(body: dict, *, session_id: str | None = None, start: dict | None = None) -> dict:
    """A generated body with the parts that name records pointed at real ones, so that valid input can
    reach a 2xx: the module and player of a start, the session of a batch, the dimension keys of
    impacts and scores (by position, onto the module's own)."""
    if start is not None:
        return {**body, **start}
    body = {k: v for k, v in body.items() if k not in ("session_id", "external_session_id")}
    body["session_id"] = session_id
    for event in body.get("events") or []:
        data = event.get("data") if isinstance(event, dict) else None
        for field in ("impacts", "scores"):
            if isinstance(data, dict) and isinstance(data.get(field), dict):
                values = list(data[field].values())[: len(DIMENSIONS)]
                data[field] = dict(zip(DIMENSIONS, values, strict=False))
    return body


@pytest.mark.parametrize("path", ["/sessions", "/events"])
def test_valid_generated_input_reaches_a_2xx_and_nothing_else_is_a_5xx_or_undocumented(path, world):
    from starlette.testclient import TestClient

    seen: list[int] = []
    headers = world.auth()
    with TestClient(build_app(), base_url="http://testserver") as client:

        def fresh_session() -> str:
            body = {
                "external_session_id": str(uuid.uuid4()),
                "module_id": str(world.module.id),
                "player": {"email": world.player.email},
            }
            return client.post("/api/v1/sessions", json=body, headers=headers).json()["id"]

        @given(case=schema[path]["POST"].as_strategy())
        @settings(max_examples=40, deadline=None, database=None, suppress_health_check=list(HealthCheck))
        def run(case) -> None:
            if isinstance(case.body, dict):
                if path == "/sessions":
                    start = {"module_id": str(world.module.id), "player": {"email": world.player.email}}
                    case.body = _aimed_at_the_world(case.body, start=start)
                else:
                    case.body = _aimed_at_the_world(case.body, session_id=fresh_session())
            response = case.call_and_validate(headers=headers, checks=CHECKS[:-1])  # positive data only
            seen.append(response.status_code)

        run()
    assert any(200 <= status < 300 for status in seen), sorted(set(seen))
