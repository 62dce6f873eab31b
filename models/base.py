"""What every table shares: naming convention, UUID keys and timezone-aware timestamps."""

import uuid
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg
from sqlmodel import Field, SQLModel

# Alembic names constraints from this convention, so autogenerate is stable run after run.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


def uuid_pk() -> uuid.UUID:
    return Field(default_factory=uuid.uuid4, primary_key=True)


def timestamp(*, nullable: bool = False, default_now: bool = True, onupdate: bool = False) -> datetime:
    """A TIMESTAMP WITH TIME ZONE column; the seed's TIMESTAMPs are all instants in time."""
    kwargs = {}
    if onupdate:
        kwargs["onupdate"] = utcnow
    column = sa.Column(sa.DateTime(timezone=True), nullable=nullable, **kwargs)
    if default_now:
        return Field(default_factory=utcnow, sa_column=column)
    return Field(default=None, sa_column=column)


def version() -> int:
    """The row's edit version for optimistic concurrency (console/services/versions.py): every change
    an editor can make takes the next number, and a save based on an older number is refused."""
    return Field(default=1, sa_column=sa.Column(sa.Integer, nullable=False, server_default="1"))


def jsonb(*, nullable: bool = True, default=None):
    column = sa.Column(pg.JSONB(none_as_null=True), nullable=nullable)
    if callable(default):
        return Field(default_factory=default, sa_column=column)
    return Field(default=default, sa_column=column)


def text_array(*, nullable: bool = True, default_factory=list):
    return Field(default_factory=default_factory, sa_column=sa.Column(pg.ARRAY(sa.Text()), nullable=nullable))


def fk(target: str, *, nullable: bool = False, ondelete: str | None = None, index: bool = False):
    return Field(
        default=None,
        sa_column=sa.Column(sa.Uuid(), sa.ForeignKey(target, ondelete=ondelete), nullable=nullable, index=index),
    )


__all__ = ["SQLModel", "fk", "jsonb", "text_array", "timestamp", "utcnow", "uuid_pk"]
