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
    if isinstance(data, dict) and (bad := [k for k, v in data.items() if _holds_control(v)]):
        raise ValidationFailed(
            "Check the highlighted fields.", details={str(k): "contains a character that is not allowed" for k in bad}
        )
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


# NUL cannot be stored in PostgreSQL text; the other C0 controls (but tab and newlines) and the bidi
# overrides only ever hide or disguise what a text says.
_FORBIDDEN = {chr(c) for c in range(32) if chr(c) not in "\t\n\r"} | set("\u202a\u202b\u202c\u202d\u202e")


def _holds_control(value: object) -> bool:
    if isinstance(value, str):
        return any(ch in _FORBIDDEN for ch in value)
    if isinstance(value, list | tuple):
        return any(_holds_control(v) for v in value)
    if isinstance(value, dict):
        return any(_holds_control(k) or _holds_control(v) for k, v in value.items())
    return False


def required_name(value: str | None) -> str | None:
    """A name field's validator: surrounding spaces dropped, empty refused (None passes: optional
    fields of an update)."""
    if value is None:
        return None
    value = value.strip()
    if not value:
        raise ValueError("a name is required")
    return value
