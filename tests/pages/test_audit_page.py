"""The audit log pages by key: First, Previous, Next and Last walk the log without page numbers, the
position is in the URL, and a long log says "10,000+"."""

from __future__ import annotations

import uuid
from datetime import timedelta

from nicegui.testing import User
from sqlalchemy import insert

from console import unit_of_work
from models import AuditLogEntry
from models.base import utcnow
from models.enums import UserRole
from tests.factories import PASSWORD, make_user
from tests.support import sign_in, wait_until_async


async def test_the_audit_log_pages_by_key(user: User, database_url):
    with unit_of_work.transaction() as session:
        admin = make_user(session, role=UserRole.platform_admin)
        start = utcnow() - timedelta(days=1)
        session.execute(
            insert(AuditLogEntry),
            [
                {"id": uuid.uuid4(), "actor_label": f"user{n:02d}@test.example", "action": "user.create",
                 "entity_type": "user", "entity_id": str(n), "created_at": start + timedelta(minutes=n)}
                for n in range(60)
            ],
        )  # fmt: skip
    await sign_in(user.http_client, admin.email, PASSWORD)
    await user.open("/audit")
    await user.should_see("60 entries")

    def shown() -> list[str]:
        return [row["entity"] for row in user.find(marker="audit-table").elements.pop().rows]

    async def showing(first: str) -> None:
        await wait_until_async(lambda: shown()[0] == first, what=f"the page to start at {first}")

    assert shown()[0] == "User 59" and len(shown()) == 25  # newest first
    assert not user.find(marker="audit-previous").elements.pop().enabled
    user.find(marker="audit-next").click()
    await showing("User 34")
    user.find(marker="audit-last").click()  # the oldest 25, still newest first within the page
    await showing("User 24")
    assert shown() == [f"User {n}" for n in range(24, -1, -1)]
    assert not user.find(marker="audit-next").elements.pop().enabled
    user.find(marker="audit-previous").click()  # the 25 before them
    await showing("User 49")
    user.find(marker="audit-first").click()
    await showing("User 59")
