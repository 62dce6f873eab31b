"""A module's cohort: the completed, scored sessions of one module, compared by their total score.

Read from one index (`idx_sessions_cohort`: module, total score, completed sessions only), so a
completion costs a range of that index, not a pass over every session the module ever had:
- the percentile is the share of the cohort — this session included — that scored lower;
- the median is found by skipping to the middle of the index, as `statistics.median` defines it
  (the mean of the two middle totals when the cohort is even).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlmodel import Session

from models import PlaySession
from models.enums import SessionStatus


@dataclass(frozen=True)
class Cohort:
    size: int  # other completed, scored sessions of the module
    median: float | None


def _others(module_id: uuid.UUID, exclude: uuid.UUID) -> list:
    return [
        PlaySession.module_id == module_id,
        PlaySession.status == SessionStatus.completed,
        PlaySession.total_score.is_not(None),
        PlaySession.id != exclude,
        ~PlaySession.is_test,  # test sessions are no one's peers (play_sessions.real)
    ]


def percentile(*, session: Session, module_id: uuid.UUID, total: float, exclude: uuid.UUID) -> int:
    """The percentile of `total` among the module's completed sessions, the one it belongs to included."""
    below, others = session.execute(
        select(func.count().filter(PlaySession.total_score < total), func.count()).where(*_others(module_id, exclude))
    ).one()
    return round(100 * below / (others + 1))


def of_module(*, session: Session, module_id: uuid.UUID, exclude: uuid.UUID) -> Cohort:
    """The size and median total of the module's other completed sessions."""
    size = session.scalar(select(func.count()).where(*_others(module_id, exclude))) or 0
    if not size:
        return Cohort(size=0, median=None)
    middle = list(
        session.scalars(
            select(PlaySession.total_score)
            .where(*_others(module_id, exclude))
            .order_by(PlaySession.total_score)
            .offset((size - 1) // 2)
            .limit(1 if size % 2 else 2)
        )
    )
    return Cohort(size=size, median=sum(middle) / len(middle))
