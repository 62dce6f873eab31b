"""Modules: what an engine needs to run one, as the studio's "Preview as engine" shows it."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Security

from console.api import schemas
from console.api.errors import COMMON_RESPONSES
from console.api.gate import Gate
from console.services import ingest, modules
from console.services.api_keys import SCOPE_READ


def modules_router(gate: Gate) -> APIRouter:
    """GET /modules/{module_id}."""
    router = APIRouter()

    @router.get(
        "/modules/{module_id}",
        response_model=schemas.ModuleOut,
        responses=COMMON_RESPONSES,
        summary="What an engine needs to run a module",
        tags=["modules"],
    )
    async def get_module(module_id: uuid.UUID, key: str = Security(gate.key)) -> schemas.ModuleOut:
        return await gate.run(
            key,
            SCOPE_READ,
            lambda s, k: _module_out(ingest.get_module(session=s, actor=k, module_id=module_id)),
        )

    return router


def _module_out(found: ingest.ModuleConfig) -> schemas.ModuleOut:
    # The same view the studio's "Preview as engine" shows: one function decides what engines get.
    return schemas.ModuleOut.model_validate(modules.engine_view(found.module, found.simulation))
