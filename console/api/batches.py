"""An event batch read from a POST /events body, as the hot path needs it.

Two readers, one contract. The contract is pydantic's `schemas.EventBatchIn` (with `parse_event_batch`):
it is what the OpenAPI schema shows, what every 422 is made from, and what takes lax input (a number
sent as a string). In front of it, `read` first tries msgspec (C, about twice as fast to validate and
seven times as fast to write back the stored JSON; together about a third of the server's CPU for a
batch of 100). msgspec is stricter than the contract by construction: where it is not sure that
pydantic would take the body with the same meaning, it gives up and pydantic reads the body, so
anything refused is refused by pydantic, with pydantic's words, and anything msgspec takes pydantic
would have taken and stored the same (tests/api/test_batch_readers.py compares them on generated and
hand-picked bodies). What makes msgspec give up beyond its own validation: a null for an optional
field (pydantic stores it left out), a timestamp with more than six decimals (pydantic truncates,
msgspec rounds: Unity's "o" format has seven), an escaped control character, digit or punctuation
mark (a NUL; a decimal hidden from that check), custom data nested deeper than `MAX_QUICK_DEPTH` (or
than msgspec can read), a type named twice, and a timestamp outside the contract's range.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any

import msgspec
from msgspec import UNSET, Meta, Struct, UnsetType

from console.api import schemas
from console.services import ingest
from console.services.ingest.dimensions import widen_extremes


@dataclass(frozen=True, slots=True)
class ReadBatch:
    """What the route needs of a valid batch: the session it names (exactly one of the two), the events
    as one compact JSON array as they are stored (`ingest.IncomingBatch.events_json`), their ids and types
    in order, every dimension key the batch uses and the lowest and highest score it gives each."""

    session_id: uuid.UUID | None
    external_session_id: str | None
    events_json: bytes
    ids: Sequence[uuid.UUID]
    types: Sequence[str]
    dimension_keys: frozenset[str]
    score_extremes: dict[str, tuple[float, float]]

    def incoming(self, max_data_bytes: int = 32 * 1024) -> ingest.IncomingBatch:
        """The batch as the service stores it (checked when made: see ingest.IncomingBatch)."""
        return ingest.IncomingBatch(
            events_json=self.events_json,
            ids=self.ids,
            types=self.types,
            max_data_bytes=max_data_bytes,
            dimension_keys=self.dimension_keys,
            score_extremes=self.score_extremes,
        )


def read(raw: bytes) -> ReadBatch:
    """The batch in `raw`, or RequestValidationError (422) as `schemas.parse_event_batch` words it."""
    return read_quickly(raw) or read_exactly(raw)


def read_exactly(raw: bytes) -> ReadBatch:
    """The contract's own reader (pydantic): every refusal is made here."""
    body = schemas.parse_event_batch(raw)
    keys, extremes = schemas.dimension_use(body)
    return ReadBatch(
        session_id=body.session_id,
        external_session_id=body.external_session_id,
        events_json=schemas.events_json(body),
        ids=[e["id"] for e in body.events],
        types=[e["type"] for e in body.events],
        dimension_keys=keys,
        score_extremes=extremes,
    )


# ------------------------------------------------------------------------------------ the quick one

# The contract's constraints (schemas.Key, Ident, Label, Number …), in msgspec's terms. Key's pattern
# ends in \Z: Python's $ (msgspec's regex engine) would also match before a final newline.
_Key = Annotated[str, Meta(pattern=r"^[A-Za-z0-9_.:-]+\Z", max_length=50)]
_Ident = Annotated[str, Meta(min_length=1, max_length=100)]
_Label = Annotated[str, Meta(max_length=255)]
_Number = Annotated[float, Meta(ge=-1e9, le=1e9)]  # msgspec's floats are finite: JSON has no NaN
_Dimensions = Annotated[dict[_Key, _Number], Meta(max_length=50)]
_Stamp = Annotated[datetime, Meta(tz=True)]


# Optional fields default to UNSET and take no null: UNSET is never written back, as pydantic's
# exclude_none leaves None out; an explicit null goes to pydantic, which reads it as left out.
class _DecisionData(Struct, forbid_unknown_fields=True, gc=False):
    decision_id: _Ident
    choice_id: _Ident
    label: _Label | UnsetType = UNSET
    node_id: _Ident | UnsetType = UNSET
    time_to_decide_ms: Annotated[int, Meta(ge=0, le=7 * 24 * 3600 * 1000)] | UnsetType = UNSET
    impacts: _Dimensions = {}  # written back even when empty, as pydantic's default_factory=dict is


class _MilestoneData(Struct, forbid_unknown_fields=True, gc=False):
    milestone_id: _Ident
    label: _Label | UnsetType = UNSET


class _ScoreUpdateData(Struct, forbid_unknown_fields=True, gc=False):
    scores: Annotated[dict[_Key, _Number], Meta(min_length=1, max_length=50)]


class _CompletionData(Struct, forbid_unknown_fields=True, gc=False):
    outcome: Annotated[str, Meta(max_length=100)] | UnsetType = UNSET
    scores: _Dimensions | UnsetType = UNSET


class _Event(Struct, forbid_unknown_fields=True, tag_field="type", gc=False):
    id: uuid.UUID
    timestamp: _Stamp


class _Decision(_Event, tag="decision"):
    data: _DecisionData


class _Milestone(_Event, tag="milestone"):
    data: _MilestoneData


class _ScoreUpdate(_Event, tag="score_update"):
    data: _ScoreUpdateData


class _Completion(_Event, tag="completion"):
    data: _CompletionData | UnsetType = UNSET  # stored as {} when left out


class _Custom(_Event, tag="custom"):
    data: dict[str, Any] | UnsetType = UNSET


_AnyEvent = _Decision | _Milestone | _ScoreUpdate | _Completion | _Custom
_TYPE: dict[type, str] = {
    _Decision: "decision",
    _Milestone: "milestone",
    _ScoreUpdate: "score_update",
    _Completion: "completion",
    _Custom: "custom",
}


class _Batch(Struct, forbid_unknown_fields=True, gc=False):
    events: Annotated[list[_AnyEvent], Meta(min_length=1, max_length=1000)]
    session_id: uuid.UUID | None = None
    external_session_id: Annotated[str, Meta(min_length=1, max_length=255)] | None = None


_DECODER = msgspec.json.Decoder(_Batch)
_ENCODER = msgspec.json.Encoder()
# A fraction of a second with more than six digits (pydantic truncates it, msgspec rounds it). Any
# number with seven decimals matches too (and goes to pydantic): a literal first is what keeps the
# search fast (8 µs over a batch of 100 where a digit first took 140).
_LONG_FRACTION = re.compile(rb"\.\d{7}")
# An escaped control character (NUL above all, which PostgreSQL refuses) or an escaped digit or
# punctuation, which would hide a seventh decimal from the search above ("10:00:00\u002e9999999Z"):
# pydantic decides. Escaped letters and non-ASCII text (\u00e9) stay on the quick way.
_ESCAPED_ASCII = re.compile(rb"\\u00[0-3]")
# pydantic's JSON reader refuses bodies nested deeper than about 200 levels; custom data (the only
# free-form part) deeper than this goes to pydantic, which decides.
MAX_QUICK_DEPTH = 64


def _too_deep(value: Any, depth: int = 0) -> bool:
    if depth > MAX_QUICK_DEPTH:
        return True
    if isinstance(value, dict):
        return any(_too_deep(v, depth + 1) for v in value.values())
    if isinstance(value, list):
        return any(_too_deep(v, depth + 1) for v in value)
    return False


def read_quickly(raw: bytes) -> ReadBatch | None:
    """The batch, when msgspec takes it and nothing in it needs the contract's reader; None otherwise."""
    if _LONG_FRACTION.search(raw) is not None or (b"\\u00" in raw and _ESCAPED_ASCII.search(raw) is not None):
        return None
    try:
        batch = _DECODER.decode(raw)
    except (msgspec.ValidationError, msgspec.DecodeError, RecursionError):  # deep nesting: pydantic refuses it
        return None
    if (batch.session_id is None) == (batch.external_session_id is None):
        return None
    latest = datetime.now(UTC) + schemas.CLOCK_SKEW
    keys: set[str] = set()
    extremes: dict[str, tuple[float, float]] = {}
    types: list[str] = []
    for event in batch.events:
        stamp = event.timestamp
        if stamp < schemas.EARLIEST or stamp > latest:
            return None
        if stamp.utcoffset():
            event.timestamp = stamp.astimezone(UTC)  # as pydantic's reader does (PostgreSQL's offset range)
        kind = _TYPE[type(event)]
        types.append(kind)
        if kind == "decision":
            keys.update(event.data.impacts)
        elif kind == "score_update" or (kind == "completion" and event.data is not UNSET and event.data.scores):
            keys.update(event.data.scores)
            widen_extremes(extremes, event.data.scores)
        elif kind == "custom" and event.data is not UNSET and _too_deep(event.data):
            return None
    return ReadBatch(
        session_id=batch.session_id,
        external_session_id=batch.external_session_id,
        events_json=_ENCODER.encode(batch.events),
        ids=[e.id for e in batch.events],
        types=types,
        dimension_keys=frozenset(keys),
        score_extremes=extremes,
    )


__all__ = ["MAX_QUICK_DEPTH", "ReadBatch", "read", "read_exactly", "read_quickly"]
