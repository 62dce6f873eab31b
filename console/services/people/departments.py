"""Departments: the words memberships carry (`org_memberships.department`), counted, renamed and merged
per organization. A department exists while a member is in it; renaming or merging moves every member
at once, in one statement, under one audit entry that names the count."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlmodel import Session

from console.auth import Actor
from console.errors import NotFound, ValidationFailed
from console.services import audit
from console.services.people import scope
from console.services.people.members import check_department
from models import AuditAction, AuditEntity, Organization, OrgMembership


@dataclass(frozen=True)
class Department:
    name: str | None  # None: the members without a department
    members: int


def list_(*, session: Session, actor: Actor, organization_id: uuid.UUID | None) -> list[Department]:
    """The organization's departments by name with their member counts; last, those in none (if any)."""
    org = scope.organization(session, actor, organization_id)
    rows = session.execute(
        select(OrgMembership.department, func.count())
        .where(scope.readable(actor, org.id))
        .group_by(OrgMembership.department)
        .order_by(OrgMembership.department.asc().nulls_last())
    )
    return [Department(name, count) for name, count in rows]


def names(*, session: Session, actor: Actor, organization_id: uuid.UUID | None) -> list[str]:
    return [d.name for d in list_(session=session, actor=actor, organization_id=organization_id) if d.name]


def _members_in(session: Session, organization_id: uuid.UUID, name: str) -> int:
    return session.scalar(
        select(func.count()).where(OrgMembership.organization_id == organization_id, OrgMembership.department == name)
    )


def _required(value: str | None, field: str) -> str:
    cleaned = check_department(value)
    if cleaned is None:
        raise ValidationFailed("Check the highlighted fields.", details={field: "a department name is required"})
    return cleaned


def _move(session: Session, organization_id: uuid.UUID, source: str, target: str) -> int:
    result = session.execute(
        update(OrgMembership)
        .where(OrgMembership.organization_id == organization_id, OrgMembership.department == source)
        .values(department=target)
        .execution_options(synchronize_session="fetch")
    )
    return result.rowcount


def rename(*, session: Session, actor: Actor, organization_id: uuid.UUID | None, name: str, new_name: str) -> int:
    """Rename a department: every member in it moves at once. Returns how many moved. Renaming to a
    department that already exists is a merge, and is refused here (the merge asks to be sure)."""
    org = scope.organization(session, actor, organization_id)
    source, target = _required(name, "name"), _required(new_name, "new_name")
    _lock(session, org.id)
    if not _members_in(session, org.id, source):
        raise NotFound("Department not found.")
    if source == target:
        return 0
    if _members_in(session, org.id, target):
        raise ValidationFailed(
            f"“{target}” already exists: merge the two instead.", details={"new_name": "already a department"}
        )
    return _move_audited(session, actor, org.id, AuditAction.department_rename, source, target, "moved")


def merge(*, session: Session, actor: Actor, organization_id: uuid.UUID | None, source: str, target: str) -> int:
    """Move every member of `source` into `target` (both existing); `source` is gone after. Returns how many."""
    org = scope.organization(session, actor, organization_id)
    source, target = _required(source, "source"), _required(target, "target")
    if source == target:
        raise ValidationFailed("Choose two different departments.", details={"target": "the same department"})
    _lock(session, org.id)
    if not _members_in(session, org.id, source) or not _members_in(session, org.id, target):
        raise NotFound("Department not found.")
    return _move_audited(
        session, actor, org.id, AuditAction.department_merge, source, target, f"of “{source}” merged into “{target}”"
    )


def _move_audited(
    session: Session, actor: Actor, organization_id: uuid.UUID, action: AuditAction, source: str, target: str, how: str
) -> int:
    """Every member of `source` into `target`, as one audited change of the organization."""
    moved = _move(session, organization_id, source, target)
    audit.record(
        session=session,
        actor=actor,
        action=action,
        subject=(AuditEntity.organization, organization_id),
        organization_id=organization_id,
        before={"department": source},
        after={"department": target, "members": moved},
        comment=f"{moved} member{'s' if moved != 1 else ''} {how}",
    )
    return moved


def _lock(session: Session, organization_id: uuid.UUID) -> None:
    """Serialize department changes of one organization (two renames at once would count each other
    wrong). The organization's row lock is the one seats take too: KEY SHARE, so nothing else waits."""
    session.execute(select(Organization.id).where(Organization.id == organization_id).with_for_update(key_share=True))
