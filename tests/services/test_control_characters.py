"""What a user can type never becomes a server error: a NUL (which PostgreSQL text cannot hold) or a
bidi override in any field is refused under its field, and in a search or a URL it is no match."""

from __future__ import annotations

import pytest

from console.errors import NotFound, ValidationFailed
from console.services import organizations, users
from console.services.listing import ListQuery
from console.services.people import members
from models import MembershipRole, OrgMembership, UserRole
from tests.factories import actor_of, make_org, make_user


@pytest.fixture
def world(session):
    org = make_org(session, seat_limit=10)
    admin = make_user(session, role=UserRole.enterprise_admin, organization_id=org.id)
    session.add(OrgMembership(user_id=admin.id, organization_id=org.id, role=MembershipRole.admin))
    platform = make_user(session, role=UserRole.platform_admin)
    return {"org": org, "admin": actor_of(admin), "platform": actor_of(platform)}


@pytest.mark.parametrize("bad", ["Ann\x00", "Ann\u202eeviL", "A\x07nn"])
def test_control_characters_are_refused_under_their_field(session, world, bad):
    with pytest.raises(ValidationFailed) as refused:
        members.add(
            session=session, actor=world["admin"], organization_id=None, data={"email": "a@example.com", "name": bad}
        )
    assert refused.value.details == {"name": "contains a character that is not allowed"}
    with pytest.raises(ValidationFailed) as refused:
        organizations.create(session=session, actor=world["platform"], data={"name": bad})
    assert "name" in refused.value.details
    with pytest.raises(ValidationFailed):
        users.create(
            session=session, actor=world["platform"], data={"email": "b@example.com", "name": bad, "role": "individual"}
        )


def test_a_nul_in_a_search_or_a_slug_is_no_match_not_an_error(session, world):
    query = ListQuery(search="\x00smith", filters={"department": "\x00"})
    members.list_(session=session, actor=world["admin"], query=query)
    users.list_(session=session, actor=world["platform"], query=ListQuery(search="a\x00b"))
    organizations.list_(session=session, actor=world["platform"], query=ListQuery(search="\x00"))
    with pytest.raises(NotFound):
        organizations.get_by_slug(session=session, actor=world["platform"], slug="a\x00b")


@pytest.mark.parametrize(
    "issuer",
    [
        "https://169.254.169.254/latest/meta-data",
        "https://10.0.0.5",
        "https://[::1]",
        "https://0x7f000001",
        "https://2130706433",
        "https://metadata.google.internal",
        "https://x.com:99999",
        "https://a b.com",
        "http://login.example.com",
        "file:///etc/passwd",
    ],
)
def test_an_sso_issuer_is_a_public_https_host_name(session, world, issuer):
    org = organizations.create(session=session, actor=world["platform"], data={"name": "Issuer Test"})
    with pytest.raises(ValidationFailed) as refused:
        organizations.update_sso(
            session=session,
            actor=world["platform"],
            organization_id=org.id,
            data={"sso_issuer_url": issuer},
            version=org.version,
        )
    assert "sso_issuer_url" in refused.value.details
