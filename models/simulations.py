"""The catalogue: simulations, their modules, and each module's media."""

import uuid
from datetime import datetime

import sqlalchemy as sa
from pydantic import field_validator
from sqlmodel import Field, SQLModel

from models.base import fk, jsonb, text_array, timestamp, uuid_pk, version
from models.enums import (
    Difficulty,
    MediaType,
    ModuleStatus,
    Platform,
    SimulationFormat,
    SimulationStatus,
    pg_enum,
)


class Simulation(SQLModel, table=True):
    __tablename__ = "simulations"
    __table_args__ = (sa.Index("idx_simulations_status", "status"),)

    id: uuid.UUID = uuid_pk()
    title: str = Field(max_length=255)
    slug: str = Field(max_length=100, sa_column_kwargs={"unique": True})
    description: str | None = Field(default=None, sa_type=sa.Text)
    category: str | None = Field(default=None, max_length=100)
    skill_tags: list[str] = text_array()
    difficulty: Difficulty = Field(sa_column=sa.Column(pg_enum(Difficulty, "difficulty"), nullable=False))
    format: SimulationFormat = Field(
        sa_column=sa.Column(pg_enum(SimulationFormat, "simulation_format"), nullable=False)
    )
    status: SimulationStatus = Field(
        default=SimulationStatus.draft,
        sa_column=sa.Column(pg_enum(SimulationStatus, "simulation_status"), nullable=False),
    )
    thumbnail_url: str | None = Field(default=None, max_length=500)
    estimated_duration_min: int | None = Field(default=None)
    author_id: uuid.UUID | None = fk("users.id", nullable=True, ondelete="SET NULL")
    scoring_config: dict | None = jsonb()
    created_at: datetime = timestamp()
    updated_at: datetime = timestamp(onupdate=True)
    published_at: datetime | None = timestamp(nullable=True, default_now=False)
    version: int = version()


class Module(SQLModel, table=True):
    __tablename__ = "modules"
    __table_args__ = (
        sa.UniqueConstraint("simulation_id", "slug"),
        sa.Index("ix_modules_simulation_id_sort_order", "simulation_id", "sort_order"),
    )

    id: uuid.UUID = uuid_pk()
    simulation_id: uuid.UUID = fk("simulations.id", ondelete="CASCADE")
    title: str = Field(max_length=255)
    slug: str = Field(max_length=100)
    sort_order: int = Field(default=0)
    narrative_context: str | None = Field(default=None, sa_type=sa.Text)
    stakeholders: list[dict] = jsonb(nullable=False, default=list)
    is_free_demo: bool = Field(default=False)
    estimated_duration_min: int | None = Field(default=None)
    launch_url: str | None = Field(default=None, max_length=500)
    platform: Platform | None = Field(default=None, sa_column=sa.Column(pg_enum(Platform, "platform"), nullable=True))
    build_version: str | None = Field(default=None, max_length=50)
    status: ModuleStatus = Field(
        default=ModuleStatus.draft,
        sa_column=sa.Column(pg_enum(ModuleStatus, "module_status"), nullable=False),
    )
    created_at: datetime = timestamp()
    version: int = version()


class MediaAsset(SQLModel, table=True):
    __tablename__ = "media_assets"

    id: uuid.UUID = uuid_pk()
    module_id: uuid.UUID = fk("modules.id", ondelete="CASCADE", index=True)
    type: MediaType = Field(sa_column=sa.Column(pg_enum(MediaType, "media_type"), nullable=False))
    url: str = Field(max_length=500)
    filename: str = Field(max_length=255)
    size_bytes: int = Field(sa_type=sa.BigInteger)
    duration_seconds: int | None = Field(default=None)
    uploaded_at: datetime = timestamp()
    version: int = version()


def _check_tags(tags: list[str]) -> list[str]:
    cleaned: list[str] = []
    for tag in tags:
        tag = tag.strip()
        if not tag:
            continue
        if len(tag) > 50:
            raise ValueError("each skill tag is at most 50 characters")
        if tag.lower() not in {t.lower() for t in cleaned}:
            cleaned.append(tag)
    if len(cleaned) > 20:
        raise ValueError("at most 20 skill tags")
    return cleaned


def _check_url(url: str | None) -> str | None:
    if url is None or not url.strip():
        return None
    url = url.strip()
    # Only web links or the console's own paths: a javascript: or data: URL would run on whoever
    # clicks it, and "//host" is another site.
    own_path = url.startswith("/") and not url.startswith("//")
    if not (url.startswith("https://") or url.startswith("http://") or own_path) or len(url) > 500:
        raise ValueError("must be an http(s) URL of at most 500 characters")
    return url


class SimulationCreate(SQLModel):
    """What an author may set on a simulation (never status, author or timestamps: no mass assignment)."""

    model_config = {"extra": "forbid"}

    title: str = Field(max_length=255)  # emptiness is checked after stripping, with a plain message
    description: str | None = Field(default=None, max_length=5000)
    category: str | None = Field(default=None, max_length=100)
    skill_tags: list[str] = Field(default_factory=list)
    difficulty: Difficulty
    format: SimulationFormat
    thumbnail_url: str | None = Field(default=None, max_length=500)
    estimated_duration_min: int | None = Field(default=None, ge=1, le=1440)
    scoring_config: dict | None = None

    @field_validator("title")
    @classmethod
    def _title(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("a title is required")
        return value

    @field_validator("skill_tags")
    @classmethod
    def _tags(cls, value: list[str]) -> list[str]:
        return _check_tags(value)

    @field_validator("thumbnail_url")
    @classmethod
    def _thumbnail(cls, value: str | None) -> str | None:
        return _check_url(value)


class SimulationUpdate(SQLModel):
    """A partial change: only the fields present are changed."""

    model_config = {"extra": "forbid"}

    title: str | None = Field(default=None, max_length=255)
    description: str | None = Field(default=None, max_length=5000)
    category: str | None = Field(default=None, max_length=100)
    skill_tags: list[str] | None = None
    difficulty: Difficulty | None = None
    format: SimulationFormat | None = None
    thumbnail_url: str | None = Field(default=None, max_length=500)
    estimated_duration_min: int | None = Field(default=None, ge=1, le=1440)
    scoring_config: dict | None = None

    _title = field_validator("title")(SimulationCreate._title.__func__)
    _tags = field_validator("skill_tags")(lambda cls, v: None if v is None else _check_tags(v))
    _thumbnail = field_validator("thumbnail_url")(SimulationCreate._thumbnail.__func__)
