"""Scoring: the shape of a simulation's `scoring_config` and the one function that computes scores.

The engine API, the scoring editor's try-it panel and the demo data all call `compute_final_scores`,
so what an author previews is exactly what a player gets.

A config:
    {"dimensions": [{"key": "financial", "label": "Financial", "weight": 40, "min": 0, "max": 100}, …],
     "pass_mark": 60}
Each dimension's final value is clamped to [min, max]; `total` is the weighted mean of the values
rescaled to 0–100; a session passes when total ≥ pass_mark.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from console.errors import ValidationFailed

RESERVED_KEYS = {"total", "percentile", "passed", "outcome"}


class ScoringDimension(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key: str = Field(min_length=1, max_length=50)
    label: str = Field(min_length=1, max_length=100)
    weight: float = Field(gt=0, le=1000)
    min: float = 0
    max: float = 100

    @field_validator("key")
    @classmethod
    def _identifier(cls, value: str) -> str:
        if not re.fullmatch(r"[a-z][a-z0-9_]*", value):
            raise ValueError("use lower-case letters, digits and _ (starting with a letter)")
        if value in RESERVED_KEYS:
            raise ValueError(f"'{value}' is reserved")
        return value

    @model_validator(mode="after")
    def _range(self) -> ScoringDimension:
        if self.max <= self.min:
            raise ValueError(f"{self.key}: max must be greater than min")
        return self


class ScoringConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    dimensions: list[ScoringDimension] = Field(min_length=1, max_length=20)
    pass_mark: float = Field(default=60, ge=0, le=100)

    @model_validator(mode="after")
    def _unique_keys(self) -> ScoringConfig:
        keys = [d.key for d in self.dimensions]
        duplicates = sorted({k for k in keys if keys.count(k) > 1})
        if duplicates:
            raise ValueError(f"dimension keys must be unique: {', '.join(duplicates)}")
        return self

    def weight_shares(self) -> dict[str, float]:
        """Each dimension's weight as a percentage of the whole."""
        total = sum(d.weight for d in self.dimensions)
        return {d.key: round(100 * d.weight / total, 1) for d in self.dimensions}


def parse_config(raw: Mapping | None) -> ScoringConfig:
    """Validate a scoring config, raising ValidationFailed with every problem at once."""
    if raw is None:
        raise ValidationFailed("Scoring is not configured.", details={"scoring_config": "missing"})
    try:
        return ScoringConfig.model_validate(raw)
    except ValidationError as exc:
        problems = {}
        for err in exc.errors():
            where = ".".join(str(p) for p in err["loc"]) or "scoring_config"
            problems[where] = err["msg"].removeprefix("Value error, ")
        raise ValidationFailed("The scoring configuration is invalid.", details=problems) from exc


def compute_final_scores(config: ScoringConfig, values: Mapping[str, float]) -> dict[str, float]:
    """Final scores from each dimension's value: the clamped values plus a weighted `total` (0–100).

    A dimension without a value counts as its minimum: a player who never touched it earned nothing.
    """
    scores: dict[str, float] = {}
    weighted = 0.0
    weight_sum = 0.0
    for dim in config.dimensions:
        raw = values.get(dim.key)
        value = dim.min if raw is None else min(max(float(raw), dim.min), dim.max)
        scores[dim.key] = round(value, 1)
        weighted += dim.weight * (value - dim.min) / (dim.max - dim.min) * 100
        weight_sum += dim.weight
    scores["total"] = round(weighted / weight_sum, 1)
    return scores


def passed(config: ScoringConfig, scores: Mapping[str, float]) -> bool:
    return scores.get("total", 0) >= config.pass_mark
