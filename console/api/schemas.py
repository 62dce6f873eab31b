"""Request and response bodies of the engine API (v1). Field names are the contract: add, never rename.

Every request model forbids unknown fields, so server-owned fields (organization_id, received_at,
status, final_scores, …) are refused with 422 rather than silently ignored or, worse, trusted.
"""

from __future__ import annotations

import json
import math
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal, NotRequired

from fastapi.exceptions import RequestValidationError
from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
    with_config,
)
from typing_extensions import TypedDict

from console.services.ingest.dimensions import widen_extremes
from models.enums import Platform, SessionStatus

Key = Annotated[str, StringConstraints(min_length=1, max_length=50, pattern=r"^[A-Za-z0-9_.:-]+$")]
Ident = Annotated[str, StringConstraints(min_length=1, max_length=100)]
Label = Annotated[str, StringConstraints(max_length=255)]
Number = Annotated[float, Field(allow_inf_nan=False, ge=-1e9, le=1e9)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
CLOCK_SKEW = timedelta(days=1)


_EARLIEST_TS = EARLIEST.timestamp()


NOT_FINITE = "numbers must be finite (no NaN, Infinity or numbers beyond a 64-bit float)"
TOO_LATE = "must be between 2000-01-01 and one day from now (the engine's clock, with a time zone)"


def _plausible(value: datetime | None) -> datetime | None:
    """The engine's clock may drift, but not by decades: durations must fit and sort sensibly."""
    if value is None:
        return None
    if not (_EARLIEST_TS <= value.timestamp() <= time.time() + CLOCK_SKEW.total_seconds()):
        raise ValueError(TOO_LATE)
    return value.astimezone(UTC)  # PostgreSQL refuses offsets past ±15:59, which pydantic takes


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


def _has_non_finite(value: Any) -> bool:
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, dict):
        return any(_has_non_finite(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_non_finite(v) for v in value)
    return False


def _refuse_nul(value: Any) -> Any:
    """PostgreSQL stores no NUL character in text or jsonb: refuse it as bad input (422), not a 500."""
    if _has_nul(value):
        raise ValueError("text may not contain the NUL character (\\u0000)")
    return value


# ------------------------------------------------------------------------------------------ sessions


LAUNCH_PLAYER_DOC = (
    "The token the console's Launch button added to the module's launch URL as the `simvado_launch` query "
    "parameter, passed on unchanged. It names the person who pressed Launch, so the engine needs no email. "
    "Valid for 30 minutes and for that module only; it may be sent again for a retry of the same start (same "
    "external_session_id), even after it expired. Refusals are 422 with the code `launch_token_invalid`, "
    "`launch_token_expired`, `launch_token_wrong_module` or `launch_token_not_allowed`. Send it alone: not "
    "with user_id, clerk_id or email."
)


def exactly_one_of(*fields: str) -> dict[str, Any]:
    """JSON schema for "exactly one of these fields, given and not null" (a oneOf of one branch each), as
    the model's own validator checks it, so the OpenAPI schema says what the server does."""
    return {"oneOf": [{"required": [f], "properties": {f: {"not": {"type": "null"}}}} for f in fields]}


class PlayerRef(Strict):
    """The player: exactly one of user_id, clerk_id, email or launch_token."""

    model_config = ConfigDict(json_schema_extra=exactly_one_of("user_id", "clerk_id", "email", "launch_token"))

    user_id: uuid.UUID | None = None
    clerk_id: Annotated[str, StringConstraints(min_length=1, max_length=255)] | None = None
    email: Annotated[str, StringConstraints(min_length=3, max_length=255)] | None = None
    launch_token: Annotated[str, StringConstraints(min_length=1, max_length=1000)] | None = Field(
        default=None, description=LAUNCH_PLAYER_DOC
    )

    @model_validator(mode="after")
    def _exactly_one(self) -> PlayerRef:
        given = [v for v in (self.user_id, self.clerk_id, self.email) if v is not None]
        if self.launch_token is not None and given:
            # Two names for the player could disagree: refuse rather than pick one.
            raise ValueError("launch_token names the player by itself: send it without user_id, clerk_id or email")
        if len(given) + (self.launch_token is not None) != 1:
            raise ValueError("give exactly one of user_id, clerk_id, email or launch_token")
        return self


class SessionStartIn(Strict):
    external_session_id: Annotated[str, StringConstraints(min_length=1, max_length=255)] = Field(
        description="The engine's own id for this play session, unique across the platform: make it a UUID "
        "(uuid4). Sending the same start again returns the same session (200); an id another key or "
        "organization already used, or a start that differs in module, player or another field it gives, is a 409."
    )
    module_id: uuid.UUID
    player: PlayerRef
    platform: Platform | None = None
    launch_url: Annotated[str, StringConstraints(max_length=500)] | None = None
    started_at: AwareDatetime | None = None

    _started_at = field_validator("started_at")(_plausible)
    _no_nul = model_validator(mode="before")(_refuse_nul)

    @field_validator("launch_url")
    @classmethod
    def _web_url(cls, value: str | None) -> str | None:
        if value is not None and not (value.startswith("https://") or value.startswith("http://")):
            raise ValueError("must be an http(s) URL")
        return value


class SessionOut(BaseModel):
    id: uuid.UUID
    external_session_id: str | None
    module_id: uuid.UUID
    status: SessionStatus
    platform: Platform | None
    started_at: datetime
    completed_at: datetime | None
    total_duration_seconds: int | None
    final_scores: dict[str, float] | None
    passed: bool | None = Field(
        description="Whether final_scores.total reached the simulation's pass mark; null until completed "
        "(or when its scoring is not configured)."
    )
    debrief_text: str | None
    debrief_generated_at: datetime | None


# -------------------------------------------------------------------------------------------- events


class DecisionData(Strict):
    decision_id: Ident
    choice_id: Ident
    label: Label | None = None
    node_id: Ident | None = None
    time_to_decide_ms: Annotated[int, Field(ge=0, le=7 * 24 * 3600 * 1000)] | None = None
    impacts: Annotated[dict[Key, Number], Field(max_length=50)] = Field(default_factory=dict)


class MilestoneData(Strict):
    milestone_id: Ident
    label: Label | None = None


class ScoreUpdateData(Strict):
    scores: Annotated[dict[Key, Number], Field(min_length=1, max_length=50)]


class CompletionData(Strict):
    outcome: Annotated[str, StringConstraints(max_length=100)] | None = None
    scores: Annotated[dict[Key, Number], Field(max_length=50)] | None = None


# Events are TypedDicts, not models: a batch holds up to 1000 of them, and pydantic validates into
# plain dicts well over twice as fast as into model instances (the data inside stay models). Every
# event class forbids unknown fields, like the models.
EventId = Annotated[
    uuid.UUID, Field(description="Client-generated UUID: the dedupe key. Retrying with it never duplicates.")
]
# The lower bound is checked by pydantic (in Rust); the upper one, which moves with the clock, once per
# batch in parse_event_batch (a Python validator per event was a third of the parse).
Timestamp = Annotated[
    AwareDatetime,
    Field(ge=EARLIEST, description="The engine's clock, with a time zone: from 2000-01-01 to one day from now."),
]
_EVENT_CONFIG = ConfigDict(extra="forbid")


@with_config(_EVENT_CONFIG)
class DecisionEvent(TypedDict):
    id: EventId
    timestamp: Timestamp
    type: Literal["decision"]
    data: DecisionData


@with_config(_EVENT_CONFIG)
class MilestoneEvent(TypedDict):
    id: EventId
    timestamp: Timestamp
    type: Literal["milestone"]
    data: MilestoneData


@with_config(_EVENT_CONFIG)
class ScoreUpdateEvent(TypedDict):
    id: EventId
    timestamp: Timestamp
    type: Literal["score_update"]
    data: ScoreUpdateData


@with_config(_EVENT_CONFIG)
class CompletionEvent(TypedDict):
    id: EventId
    timestamp: Timestamp
    type: Literal["completion"]
    data: NotRequired[CompletionData]  # stored as {} when left out


@with_config(_EVENT_CONFIG)
class CustomEvent(TypedDict):
    id: EventId
    timestamp: Timestamp
    type: Literal["custom"]
    data: NotRequired[Annotated[dict[str, Any], Field(description="Any JSON object up to the data size limit.")]]


Event = Annotated[
    DecisionEvent | MilestoneEvent | ScoreUpdateEvent | CompletionEvent | CustomEvent,
    Field(discriminator="type"),
]


class EventBatchIn(Strict):
    """1–1000 events for one session, named by session_id or external_session_id (exactly one). Each
    event id at most once, at most one completion event; dimension keys in impacts and scores must be
    the module's own (GET /modules lists them), scores within each dimension's range.

    Parse request bodies with `parse_event_batch`, which also refuses the NUL character.
    """

    model_config = ConfigDict(json_schema_extra=exactly_one_of("session_id", "external_session_id"))

    session_id: uuid.UUID | None = None
    external_session_id: Annotated[str, StringConstraints(min_length=1, max_length=255)] | None = None
    events: Annotated[list[Event], Field(min_length=1, max_length=1000)]

    @model_validator(mode="after")
    def _check(self) -> EventBatchIn:
        # An id twice in one batch is refused when the service's batch is made (ingest.IncomingBatch).
        if (self.session_id is None) == (self.external_session_id is None):
            raise ValueError("give exactly one of session_id or external_session_id")
        return self


def parse_event_batch(raw: bytes) -> EventBatchIn:
    """Validate a request body straight from its bytes (pydantic's own JSON parser, one pass).

    Raises RequestValidationError, as FastAPI would for a body parameter. Busy engines post here
    many times a second, and parsing to Python objects first and validating them after cost about
    three times as much.
    """
    try:
        batch = EventBatchIn.model_validate_json(raw)
    except ValidationError as exc:
        raise RequestValidationError(exc.errors(include_url=False, include_context=False)) from None
    latest = datetime.now(UTC) + CLOCK_SKEW
    for index, event in enumerate(batch.events):
        stamp = event["timestamp"]
        if stamp > latest:
            raise RequestValidationError(
                [{"loc": ("body", "events", index, "timestamp"), "msg": TOO_LATE, "type": "value_error"}]
            )
        if stamp.utcoffset():
            # As UTC: PostgreSQL stores the instant only, and refuses offsets past ±15:59 that pydantic takes.
            event["timestamp"] = stamp.astimezone(UTC)
        # Custom data is free-form: pydantic takes NaN, Infinity and numbers too large for a float
        # (1e400, read as infinity), which would be stored as null or refused by PostgreSQL.
        if event["type"] == "custom" and _has_non_finite(event.get("data")):
            raise RequestValidationError(
                [{"loc": ("body", "events", index, "data"), "msg": NOT_FINITE, "type": "value_error"}]
            )
    # NUL, which PostgreSQL refuses in text and jsonb, is in JSON only ever the escape \\u0000 (a raw
    # control character is not valid JSON): look for it in the bytes, walk the values only on a hit.
    if b"\\u0000" in raw and _has_nul(json.loads(raw)):
        raise RequestValidationError(
            [{"loc": ("body",), "msg": "text may not contain the NUL character (\\u0000)", "type": "value_error"}]
        )
    return batch


def dimension_use(batch: EventBatchIn) -> tuple[frozenset[str], dict[str, tuple[float, float]]]:
    """Every key the batch uses in decision `impacts` and in score update and completion `scores`, and
    the lowest and highest score it gives each dimension: the service checks them against the module's
    dimensions (ingest.dimension_refusal) without reading the events again."""
    keys: set[str] = set()
    extremes: dict[str, tuple[float, float]] = {}
    for event in batch.events:
        kind = event["type"]
        if kind == "decision":
            keys.update(event["data"].impacts)
        elif kind == "score_update" or (kind == "completion" and "data" in event and event["data"].scores):
            keys.update(event["data"].scores)
            widen_extremes(extremes, event["data"].scores)
    return frozenset(keys), extremes


_EVENTS = TypeAdapter(list[Event])


def events_json(batch: EventBatchIn) -> bytes:
    """The batch's events as one compact UTF-8 JSON array, as stored: optional fields left out when
    null (custom data as sent; a left-out `data` is stored as {}). Serialized by pydantic in Rust, in
    one call for the whole batch."""
    return _EVENTS.dump_json(batch.events, exclude_none=True)


def event_batch_json_schemas() -> dict[str, dict[str, Any]]:
    """EventBatchIn's JSON schema and the schemas it refers to, named for OpenAPI's components."""
    schema = EventBatchIn.model_json_schema(ref_template="#/components/schemas/{model}")
    return {"EventBatchIn": schema, **schema.pop("$defs", {})}


class EventBatchOut(BaseModel):
    accepted: int = Field(description="Events stored by this request.")
    duplicates: int = Field(description="Events already stored with the same content (retries).")
    session_id: uuid.UUID
    session_status: SessionStatus


# ------------------------------------------------------------------------------------------- modules


class DimensionOut(BaseModel):
    key: str
    label: str
    weight: float
    min: float
    max: float


class ScoringOut(BaseModel):
    dimensions: list[DimensionOut]
    pass_mark: float


class SimulationRef(BaseModel):
    id: uuid.UUID
    title: str
    slug: str
    status: str
    format: str
    difficulty: str
    version: int = Field(description="The simulation's edit version: it grows with every saved change (scoring too).")


class StakeholderOut(BaseModel):
    name: str
    role: str
    motivation: str
    portrait_url: str | None
    personality_traits: list[str]


class ModuleOut(BaseModel):
    """What `GET /modules/{id}` answers: `console.services.modules.engine_view`, which the studio's
    "Preview as engine" shows too."""

    id: uuid.UUID
    simulation_id: uuid.UUID
    simulation_title: str
    simulation: SimulationRef
    title: str
    version: int = Field(
        description="The module's edit version: it grows with every saved change, so an engine can tell "
        "whether the module it cached is still the one the studio holds."
    )
    slug: str
    sort_order: int
    status: str
    briefing: str = Field(description="The module's narrative context, in Markdown (empty when none).")
    stakeholders: list[StakeholderOut]
    scoring: ScoringOut | None = Field(description="Null while the simulation's scoring config is not valid.")
    is_free_demo: bool
    estimated_duration_min: int | None
    launch_url: str | None
    platform: Platform | None
    build_version: str | None


class ModuleSummary(BaseModel):
    """One module of `GET /modules`: enough to pick one; `GET /modules/{id}` has the rest."""

    id: uuid.UUID
    title: str
    simulation_id: uuid.UUID
    simulation_title: str
    status: str
    version: int
    platform: Platform | None
    build_version: str | None
    launch_url: str | None
    dimensions: list[str] = Field(description="The scoring dimensions' keys: the only keys impacts and scores take.")


class ModuleListOut(BaseModel):
    modules: list[ModuleSummary]


# -------------------------------------------------------------------------------------------- errors


class ErrorDetail(BaseModel):
    code: str
    message: str
    details: dict[str, Any] = Field(default_factory=dict)


class ErrorOut(BaseModel):
    error: ErrorDetail
