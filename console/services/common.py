"""Small pieces services share: validation-error translation and the driver connection for hot paths.

Lists (query, page of results, LIKE escaping): console/services/listing.py."""

from __future__ import annotations

from typing import TypeVar

from pydantic import BaseModel, ValidationError
from sqlmodel import Session

from console.errors import ValidationFailed

M = TypeVar("M", bound=BaseModel)


def driver_connection(session: Session):  # noqa: ANN201 — a psycopg Connection
    """The psycopg connection under the session, inside the session's transaction.

    For the engine API's hot statements only (prepared by psycopg, no ORM): every other query goes
    through the session.
    """
    return session.connection().connection.driver_connection


def validate(schema: type[M], data: dict | BaseModel) -> M:
    """Validate input against a schema; every field error is reported at once, by field name."""
    if isinstance(data, BaseModel):
        data = data.model_dump(exclude_unset=True)
    try:
        return schema.model_validate(data)
    except ValidationError as exc:
        errors: dict[str, str] = {}
        for err in exc.errors():
            field = str(err["loc"][0]) if err["loc"] else "_"
            message = err["msg"].removeprefix("Value error, ")
            if err["type"] == "extra_forbidden":
                message = "this field cannot be set here"
            errors.setdefault(field, message)
        raise ValidationFailed("Check the highlighted fields.", details=errors) from exc


def required_name(value: str | None) -> str | None:
    """A name field's validator: surrounding spaces dropped, empty refused (None passes: optional
    fields of an update)."""
    if value is None:
        return None
    value = value.strip()
    if not value:
        raise ValueError("a name is required")
    return value
