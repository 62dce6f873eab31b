"""Importing members from a CSV: stage the file, dry-run it (a report per line, nothing written), apply it.

The file is kept (`member_imports`) between its dry run and the admin's confirmation, so what is
applied is exactly what was checked, by any console process. `apply` checks every line again under
the organization's lock and writes all of it or none of it: one transaction, the seats for the whole
count claimed at once, refused if any line has a problem or the seats fall short.

Audit: one `membership.import` entry per import, with its counts and the import's id, instead of one
`membership.add` per person: 5,000 entries would slow the import and bury the log, and the kept file
names everyone the import added.

Outcomes per line: created (the member will be added; `attached` says an existing individual's account
joins), already a member (skipped), and the problems — invalid email, unknown role, duplicate in the
file, belongs to another organization, an account that cannot join, an invalid line (name or
department too long, too many columns).
"""

from __future__ import annotations

import csv
import io
import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import delete, func, insert, or_, select, update
from sqlmodel import Session

from console.auth import Actor, Permission
from console.errors import Conflict, NotFound, TooLarge, ValidationFailed
from console.services import accounts, audit, seats
from console.services.people import members, scope
from console.services.people.members import USER_ROLE, check_department, refusal
from models import AuditAction, AuditEntity, MemberImport, MembershipRole, OrgMembership, User
from models.base import utcnow
from models.enums import SubscriptionTier

MAX_BYTES = 2 * 1024 * 1024
MAX_LINES = 10_000
COLUMNS = ("email", "name", "role", "department")
NOT_FOUND = "Import not found."
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class Outcome(StrEnum):
    created = "created"
    already_member = "already_member"
    invalid_email = "invalid_email"
    unknown_role = "unknown_role"
    duplicate = "duplicate"
    other_organization = "other_organization"
    unavailable = "unavailable"
    invalid = "invalid"

    @property
    def label(self) -> str:
        return LABELS[self]


LABELS = {
    Outcome.created: "will be added",
    Outcome.already_member: "already a member",
    Outcome.invalid_email: "invalid email",
    Outcome.unknown_role: "unknown role",
    Outcome.duplicate: "duplicate in the file",
    Outcome.other_organization: "cannot be added here",
    Outcome.unavailable: "cannot be added here",
    Outcome.invalid: "invalid line",
}
OK = frozenset({Outcome.created, Outcome.already_member})


def template_csv() -> bytes:
    """The file admins start from: the header and two example lines."""
    return (
        b"email,name,role,department\r\n"
        b"ada.lovelace@example.com,Ada Lovelace,admin,Finance\r\n"
        b"alan.turing@example.com,Alan Turing,participant,Operations\r\n"
    )


# --- reading the file --------------------------------------------------------------------------


@dataclass
class Line:
    number: int  # the line in the file (the header is line 1)
    email: str
    name: str
    role: str
    department: str
    extra: bool = False  # more cells than columns


def read(content: bytes | str) -> list[Line]:
    """The data lines of a members CSV, or ValidationFailed saying why the file is not one (checked by
    content: UTF-8 text, no control characters, the header naming our columns, at most MAX_LINES lines)."""
    if isinstance(content, bytes):
        if len(content) > MAX_BYTES:
            raise TooLarge("The file is larger than 2 MiB.", details={"file": "at most 2 MiB"})
        try:
            text = content.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise ValidationFailed(
                "This is not a UTF-8 text file.", details={"file": "save it as CSV (UTF-8)"}
            ) from None
    else:
        text = content
    if _CONTROL.search(text):
        raise ValidationFailed("This is not a text CSV file.", details={"file": "it holds binary data"})
    rows = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [cell.strip().lower() for cell in next(rows, [])]
        unknown = [c for c in header if c not in COLUMNS]
        if not header or unknown or "email" not in header or "name" not in header:
            raise ValidationFailed(
                "The first line must name the columns: email,name,role,department.",
                details={"file": f"unknown column “{unknown[0][:40]}”" if unknown else "email and name are required"},
            )
        where = {name: header.index(name) for name in COLUMNS if name in header}
        lines: list[Line] = []
        for cells in rows:
            if not any(cell.strip() for cell in cells):
                continue  # blank lines (a trailing newline, spacing) are not members
            if len(lines) >= MAX_LINES:
                raise TooLarge(
                    f"The file has more than {MAX_LINES:,} members: split it.", details={"file": "too many lines"}
                )
            cell = {name: (cells[i].strip() if i < len(cells) else "") for name, i in where.items()}
            lines.append(
                Line(rows.line_num, cell["email"], cell["name"], cell.get("role", ""), cell.get("department", ""))
            )
            lines[-1].extra = len(cells) > len(header)
    except csv.Error as exc:
        raise ValidationFailed(f"The file is not valid CSV: {exc}.", details={"file": "not valid CSV"}) from None
    return lines


def _filename(name: str) -> str:
    """The user's name for the file, as metadata only: its last part, printable, at most 255 characters."""
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    return "".join(c for c in name if c.isprintable())[:255] or "members.csv"


# --- the report --------------------------------------------------------------------------------


@dataclass
class LineReport:
    line: int
    email: str
    name: str
    role: str
    department: str | None
    outcome: Outcome
    message: str = ""
    user_id: uuid.UUID | None = None  # an existing account that joins


@dataclass
class Report:
    import_id: uuid.UUID
    filename: str
    lines: list[LineReport]
    counts: dict[str, int]
    seats_needed: int
    seats_left: int | None  # None: no limit
    applied_at: datetime | None = None
    problems: int = field(init=False)

    def __post_init__(self) -> None:
        self.problems = sum(n for outcome, n in self.counts.items() if Outcome(outcome) not in OK)

    @property
    def seats_missing(self) -> int:
        return 0 if self.seats_left is None else max(self.seats_needed - self.seats_left, 0)

    @property
    def ok(self) -> bool:
        return self.problems == 0 and self.seats_missing == 0


def _valid_email(raw: str) -> str | None:
    try:
        validate_email(raw, check_deliverability=False)
    except EmailNotValidError:
        return None
    return accounts.normalize_email(raw)


def _judge(
    session: Session, organization_id: uuid.UUID, lines: list[Line], *, by_platform_admin: bool, lock: bool = False
) -> list[LineReport]:
    """Each line's outcome. Existing accounts are read in two queries for the whole file."""
    emails = {}
    for line in lines:
        emails[line.number] = _valid_email(line.email)
    wanted = {e for e in emails.values() if e}
    users: dict[str, User] = {}
    homes: dict[uuid.UUID, set[uuid.UUID]] = {}
    if wanted:
        found = select(User).where(func.lower(User.email).in_(wanted))
        for user in session.scalars(found.order_by(User.id).with_for_update() if lock else found):
            users[user.email.lower()] = user
        rows = session.execute(
            select(OrgMembership.user_id, OrgMembership.organization_id).where(
                OrgMembership.user_id.in_([u.id for u in users.values()])
            )
        )
        for user_id, org_id in rows:
            homes.setdefault(user_id, set()).add(org_id)
    seen: set[str] = set()
    out: list[LineReport] = []
    for line in lines:
        email = emails[line.number]
        report = LineReport(
            line.number, line.email, line.name, line.role.lower() or "participant", None, Outcome.created
        )
        out.append(report)
        if email is None:
            report.outcome, report.message = Outcome.invalid_email, "not an email address"
            continue
        report.email = email
        if email in seen:
            report.outcome, report.message = Outcome.duplicate, "this email is on an earlier line"
            continue
        seen.add(email)
        if report.role not in {r.value for r in MembershipRole}:
            report.outcome, report.message = Outcome.unknown_role, "use admin or participant"
            continue
        report.name = report.name or email.split("@", 1)[0]
        try:
            report.department = check_department(line.department)
        except ValidationFailed:
            report.outcome, report.message = Outcome.invalid, "department longer than 100 characters"
            continue
        if len(report.name) > 255 or line.extra:
            report.outcome = Outcome.invalid
            report.message = "name longer than 255 characters" if len(report.name) > 255 else "more cells than columns"
            continue
        user = users.get(email)
        if user is None:
            continue
        home = homes.get(user.id, set())
        if organization_id in home:
            report.outcome, report.message = Outcome.already_member, "no change"
            continue
        code = refusal(
            user, organization_id, member_elsewhere=bool(home - {organization_id}), by_platform_admin=by_platform_admin
        )
        if code:
            report.outcome = Outcome.unavailable  # one answer whatever the account is (members.REFUSALS)
            report.message = "not added"
            continue
        report.user_id, report.message = user.id, "existing account joins"
    return out


def _report(session: Session, imported: MemberImport, lines: list[LineReport]) -> Report:
    counts = {o.value: 0 for o in Outcome}
    for line in lines:
        counts[line.outcome.value] += 1
    use = seats.use(session, imported.organization_id)
    return Report(
        import_id=imported.id,
        filename=imported.filename,
        lines=lines,
        counts=counts,
        seats_needed=sum(1 for line in lines if line.outcome is Outcome.created and seats.takes_seat(line.role)),
        seats_left=use.left,
        applied_at=imported.applied_at,
    )


# --- the operations ----------------------------------------------------------------------------


KEPT = 20  # unconfirmed imports an organization may hold at once


def stage(
    *, session: Session, actor: Actor, organization_id: uuid.UUID | None, filename: str, content: bytes
) -> MemberImport:
    """Keep an uploaded members CSV for its dry run, once it is checked to be one."""
    org = scope.organization(session, actor, organization_id)
    if not read(content):
        raise ValidationFailed("The file names no members.", details={"file": "no lines after the header"})
    # The files hold people's names and addresses: an unconfirmed one is kept a day, and an
    # organization holds at most KEPT of them (the oldest go first).
    session.execute(
        delete(MemberImport).where(
            MemberImport.organization_id == org.id,
            MemberImport.applied_at.is_(None),
            or_(
                MemberImport.created_at < utcnow() - timedelta(days=1),
                MemberImport.id.in_(
                    select(MemberImport.id)
                    .where(MemberImport.organization_id == org.id, MemberImport.applied_at.is_(None))
                    .order_by(MemberImport.created_at.desc())
                    .offset(KEPT - 1)
                ),
            ),
        )
    )
    imported = MemberImport(
        organization_id=org.id,
        created_by_id=actor.user_id,
        filename=_filename(filename),
        content=content.decode("utf-8-sig"),
    )
    session.add(imported)
    session.flush()
    return imported


def _get(session: Session, actor: Actor, import_id: uuid.UUID, *, lock: bool = False) -> MemberImport:
    statement = select(MemberImport).where(MemberImport.id == import_id)
    imported = session.scalar(statement.with_for_update() if lock else statement)
    if imported is None:
        raise NotFound(NOT_FOUND)
    try:
        scope.organization(session, actor, imported.organization_id)
    except NotFound:
        raise NotFound(NOT_FOUND) from None
    return imported


def dry_run(*, session: Session, actor: Actor, import_id: uuid.UUID) -> Report:
    """What applying the import would do, line by line, and the seats it needs: nothing is written."""
    imported = _get(session, actor, import_id)
    lines = _judge(session, imported.organization_id, read(imported.content), by_platform_admin=_trusted(actor))
    return _report(session, imported, lines)


def _trusted(actor: Actor) -> bool:
    """Platform admins may bring existing individual accounts in; enterprise admins only new people."""
    return actor.can(Permission.manage_platform)


def apply(*, session: Session, actor: Actor, import_id: uuid.UUID) -> Report:
    """Add every member the import names, or none: refused if any line has a problem, if the seats fall
    short, or if it was applied already. Returns the report as applied."""
    imported = _get(session, actor, import_id, lock=True)
    if imported.applied_at is not None:
        raise Conflict("This import was applied already.")
    org_id = imported.organization_id
    seats.claim(session, org_id, 0)  # the organization's lock first: the checks below hold until commit
    # Accounts named in the file cannot be made or taken elsewhere meanwhile (members.lock_email, for
    # a whole file at once); existing ones are locked by _judge.
    members.lock_all_emails(session)
    lines = _judge(session, org_id, read(imported.content), by_platform_admin=_trusted(actor), lock=True)
    problems = [line for line in lines if line.outcome not in OK]
    if problems:
        first = problems[0]
        raise ValidationFailed(
            f"{len(problems)} line{'s' if len(problems) != 1 else ''} of the file cannot be imported "
            f"(line {first.line}: {first.outcome.label}). Fix the file and upload it again.",
            details={"file": f"{len(problems)} problem lines"},
        )
    new = [line for line in lines if line.outcome is Outcome.created]
    seats.claim(session, org_id, sum(1 for line in new if seats.takes_seat(line.role)))
    now = utcnow()
    created = [line for line in new if line.user_id is None]
    joining = [line for line in new if line.user_id is not None]  # existing accounts
    for line in created:
        line.user_id = uuid.uuid4()
    if created:
        session.execute(
            insert(User.__table__),
            [
                {
                    "id": line.user_id,
                    "email": line.email,
                    "name": line.name,
                    "role": USER_ROLE[MembershipRole(line.role)],
                    "organization_id": org_id,
                    "subscription_tier": SubscriptionTier.free,
                    "created_at": now,
                    "updated_at": now,
                    "version": 1,
                }  # fmt: skip
                for line in created
            ],
        )
    for role in MembershipRole:
        ids = [line.user_id for line in joining if line.role == role.value]
        if ids:
            session.execute(
                update(User.__table__)
                .where(User.id.in_(ids))
                .values(organization_id=org_id, role=USER_ROLE[role], updated_at=now, version=User.version + 1)
            )
    if new:
        session.execute(
            insert(OrgMembership.__table__),
            [
                {
                    "id": uuid.uuid4(),
                    "user_id": line.user_id,
                    "organization_id": org_id,
                    "role": MembershipRole(line.role),
                    "department": line.department,
                    "joined_at": now,
                }  # fmt: skip
                for line in new
            ],
        )
    imported.applied_at = now
    report = _report(session, imported, lines)
    imported.content = ""  # applied: the audit entry and the accounts say what it did
    session.add(imported)
    audit.record(
        session=session,
        actor=actor,
        action=AuditAction.membership_import,
        subject=(AuditEntity.organization, org_id),
        organization_id=org_id,
        after={
            "import_id": str(imported.id),
            "filename": imported.filename,
            "added": len(new),
            "accounts_created": len(created),
            "accounts_joined": len(new) - len(created),
            "already_members": report.counts[Outcome.already_member.value],
        },
        comment=f"{len(new)} member{'s' if len(new) != 1 else ''} added from {imported.filename}",
    )
    return report
