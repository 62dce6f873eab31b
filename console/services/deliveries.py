"""What every webhook's service shares (Clerk's user mirror, Stripe's billing): a delivery applies once,
and deliveries about one object take turns.

- `first_time(session, Model, key=…, **values)` records a delivery's id in the same transaction as its
  effect: True the first time, False for a duplicate. A concurrent copy blocks on the primary key until
  the first commits (then it is a duplicate) or rolls back (then it applies).
- `locked(session, Model, key=…)` is the row of the object a delivery is about, made if missing and
  locked until commit, so deliveries about one object apply one after the other, in any order they come.
"""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import Session, SQLModel

from models.base import utcnow

Row = TypeVar("Row", bound=SQLModel)


def _key(key: dict[str, Any]) -> tuple[str, Any]:
    (name, value), *rest = key.items()
    assert not rest, "one key column"
    return name, value


def first_time(session: Session, model: type[SQLModel], *, key: dict[str, Any], **values: Any) -> bool:
    """Record a delivery (its id as `key`, e.g. {"svix_id": …}); True if it was not recorded before."""
    name, value = _key(key)
    column = getattr(model, name)
    inserted = session.scalar(
        insert(model)
        .values({name: value, **values, "received_at": utcnow()})
        .on_conflict_do_nothing(index_elements=[name])
        .returning(column)
    )
    return inserted is not None


def locked(session: Session, model: type[Row], *, key: dict[str, Any]) -> Row:
    """The row of the object `key` names, made if missing, locked until the transaction ends."""
    name, value = _key(key)
    now = utcnow()
    session.execute(
        insert(model)
        .values({name: value, "created_at": now, "updated_at": now})
        .on_conflict_do_nothing(index_elements=[name])
    )
    return session.scalars(
        select(model).where(getattr(model, name) == value).with_for_update().execution_options(populate_existing=True)
    ).one()
