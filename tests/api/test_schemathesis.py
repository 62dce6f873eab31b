"""Generated input (schemathesis over our OpenAPI schema) never gets a 5xx or an undocumented status."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
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
