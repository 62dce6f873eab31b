"""Dimension keys and scores of a batch against its module's scoring dimensions (DESIGN.md: keys must be
the module's own, exactly; nothing in a 2xx request is silently ignored).

The route gathers what a batch uses (keys, each dimension's lowest and highest score) while it has the
parsed events; the storing statement hands back the simulation's dimensions only for batches that use
some; `dimension_refusal` reads the events again only to name what it refuses.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from console.errors import ValidationFailed

if TYPE_CHECKING:
    from console.services.ingest.events import IncomingBatch


def widen_extremes(extremes: dict[str, tuple[float, float]], scores: dict[str, float]) -> None:
    """Fold an event's absolute `scores` into the lowest and highest seen per dimension."""
    for key, value in scores.items():
        low, high = extremes.get(key, (value, value))
        extremes[key] = (min(low, value), max(high, value))


def dimension_map(event_type: str, data: dict[str, Any] | None) -> dict[str, Any]:
    """The {dimension: number} an event carries: a decision's `impacts`, a score update's or a
    completion's `scores` (empty for other events)."""
    if not data:
        return {}
    if event_type == "decision":
        return data.get("impacts") or {}
    if event_type in ("score_update", "completion"):
        return data.get("scores") or {}
    return {}


def dimension_refusal(batch: IncomingBatch, dimensions: Sequence[Any]) -> ValidationFailed | None:
    """422 naming every dimension key of the batch that is not one of the module's own `dimensions` (its
    scoring config's, matched exactly: `Financial` is not `financial`), and every absolute score outside
    its dimension's range, at its path in the body; None when all is well.

    Impacts are deltas: the value they move is kept in range (see dimension_values), so they are not
    bounded here; a score is a value, and one outside the range would be silently clamped.
    """
    bounds: dict[str, tuple[float, float]] = {}
    for dim in dimensions:
        if isinstance(dim, dict) and isinstance(dim.get("key"), str):
            low, high = dim.get("min", 0), dim.get("max", 100)
            numeric = isinstance(low, int | float) and isinstance(high, int | float)
            bounds[dim["key"]] = (low, high) if numeric else (float("-inf"), float("inf"))
    allowed = list(bounds)
    if not batch.dimension_keys:
        return None
    if batch.dimension_keys.issubset(bounds) and all(
        bounds[key][0] <= low and high <= bounds[key][1] for key, (low, high) in (batch.score_extremes or {}).items()
    ):
        return None  # the common case: no event read again
    details: dict[str, Any] = {}
    unknown: list[str] = []
    for index, event in enumerate(batch.events()):
        field = "impacts" if event.type == "decision" else "scores"
        for key, value in dimension_map(event.type, event.data).items():
            where = f"events[{index}].data.{field}.{key}"
            if key not in bounds:
                details[where] = "not a dimension of this module"
                if key not in unknown:
                    unknown.append(key)
            elif field == "scores" and not bounds[key][0] <= value <= bounds[key][1]:
                details[where] = f"outside the dimension's range, {bounds[key][0]:g} to {bounds[key][1]:g}"
    if not details:
        return None
    if unknown:
        listed = ", ".join(allowed) if allowed else "none (its simulation has no scoring configured)"
        message = (
            f"Unknown scoring dimension{'s' if len(unknown) > 1 else ''}: {', '.join(unknown)}. "
            f"This module's dimensions are: {listed}. Keys must match exactly; nothing of the batch was stored."
        )
        code = "unknown_dimension"
    else:
        message = "A score is outside its dimension's range; nothing of the batch was stored."
        code = "score_out_of_range"
    details["allowed_dimensions"] = allowed
    refused = ValidationFailed(message, details=details)
    refused.code = code
    return refused
