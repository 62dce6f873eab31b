"""Modules: what an engine needs to run one, as the studio's "Preview as engine" shows it."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Security

from console.api import schemas
from console.api.errors import COMMON_RESPONSES
from console.api.gate import Gate
from console.errors import ValidationFailed
from console.services import ingest, modules, scoring
from console.services.api_keys import SCOPE_READ


def modules_router(gate: Gate) -> APIRouter:
    """GET /modules and GET /modules/{module_id}."""
    router = APIRouter()

    @router.get(
        "/modules",
        response_model=schemas.ModuleListOut,
        responses=COMMON_RESPONSES,
        summary="The modules this key may play",
        tags=["modules"],
    )
    async def list_modules(key: str = Security(gate.key)) -> schemas.ModuleListOut:
        """Published modules of published simulations; for a key bound to a simulation, that simulation's
        only, staged ones included. Ordered by simulation title, then the module's order."""
        return await gate.run(
            key,
            SCOPE_READ,
            lambda s, k: schemas.ModuleListOut(modules=[_summary(c) for c in ingest.list_modules(session=s, actor=k)]),
        )

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


def _summary(found: ingest.ModuleConfig) -> schemas.ModuleSummary:
    module, simulation = found.module, found.simulation
    try:
        dimensions = [d.key for d in scoring.parse_config(simulation.scoring_config).dimensions]
    except ValidationFailed:
        dimensions = []
    return schemas.ModuleSummary(
        id=module.id,
        title=module.title,
        simulation_id=simulation.id,
        simulation_title=simulation.title,
        status=module.status.value,
        version=module.version,
        platform=module.platform,
        build_version=module.build_version,
        launch_url=module.launch_url,
        dimensions=dimensions,
    )
