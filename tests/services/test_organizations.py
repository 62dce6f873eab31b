"""Organizations: create and edit with validation, SSO settings with a write-only secret, delete only
when nothing depends on it, the list's seat counts and filters, and scoping for every operation."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select

from console.auth import Actor
from console.errors import NotFound, PermissionDenied, ValidationFailed
from console.services import organizations, sso_secrets
from console.services.listing import ListQuery
from console.services.versions import Stale
from models import (
    ApiKey,
    AuditLogEntry,
    Organization,
    OrgMembership,
    PlaySession,
    SimulationAssignment,
)
from models.base import utcnow
from models.enums import MembershipRole, OrgPlan, SessionStatus, SimulationStatus, UserRole
from tests.factories import actor_of, make_module, make_org, make_simulation, make_user

SECRET = "s3cr3t-client-value-Zq9"
SSO = {
    "sso_enabled": True,
    "sso_provider": "okta",
    "sso_issuer_url": "https://acme.okta.com",
    "sso_client_id": "client-123",
    "sso_client_secret": SECRET,
    "sso_email_domains": ["acme.example"],
}


@pytest.fixture
def admin(session) -> Actor:
    return actor_of(make_user(session, role=UserRole.platform_admin))


def add_members(session, org: Organization, n: int, *, days_ago: int = 0) -> list[OrgMembership]:  # noqa: ANN001
    out = []
    for _ in range(n):
        person = make_user(session, role=UserRole.enterprise_participant, organization_id=org.id, password=None)
        membership = OrgMembership(
            user_id=person.id,
            organization_id=org.id,
            role=MembershipRole.participant,
            joined_at=utcnow() - timedelta(days=days_ago),
        )
        session.add(membership)
        out.append(membership)
    session.flush()
    return out


def names(page) -> list[str]:  # noqa: ANN001
    return [r.name for r in page.rows]


# --- create and edit ---------------------------------------------------------------------------


def test_create_makes_a_slug_from_the_name_and_audits(session, admin):
    org = organizations.create(session=session, actor=admin, data={"name": "  Acme Corp  ", "seat_limit": 10})
    again = organizations.create(session=session, actor=admin, data={"name": "Acme Corp", "plan": "pilot"})
    assert (org.name, org.slug, org.plan, org.seat_limit) == ("Acme Corp", "acme-corp", OrgPlan.standard, 10)
    assert again.slug == "acme-corp-2" and again.plan == OrgPlan.pilot and again.seat_limit is None
    entry = session.scalar(select(AuditLogEntry).where(AuditLogEntry.entity_id == str(org.id)))
    assert entry.action == "organization.create" and entry.organization_id == org.id
    assert entry.after["slug"] == "acme-corp"


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"name": "   "}, "name"),
        ({"name": "A", "slug": "Not OK!"}, "slug"),
        ({"name": "A", "slug": "-edge"}, "slug"),
        ({"name": "A", "slug": "a--b"}, "slug"),
        ({"name": "A", "slug": "ä-umlaut"}, "slug"),
        ({"name": "A", "seat_limit": -1}, "seat_limit"),
        ({"name": "A", "plan": "platinum"}, "plan"),
        ({"name": "x" * 256}, "name"),
        # Tampering: server-owned and SSO fields are refused, not quietly taken.
        ({"name": "A", "id": str(uuid.uuid4())}, "id"),
        ({"name": "A", "version": 7}, "version"),
        ({"name": "A", "created_at": "2020-01-01T00:00:00Z"}, "created_at"),
        ({"name": "A", "sso_enabled": True}, "sso_enabled"),
        ({"name": "A", "sso_client_secret_encrypted": "x"}, "sso_client_secret_encrypted"),
    ],
)
def test_create_refuses_bad_input_by_field(session, admin, data, field):
    with pytest.raises(ValidationFailed) as exc:
        organizations.create(session=session, actor=admin, data=data)
    assert field in exc.value.field_errors


def test_slug_is_lowercased_and_unique(session, admin):
    org = organizations.create(session=session, actor=admin, data={"name": "One", "slug": " Taken-Slug "})
    assert org.slug == "taken-slug"
    with pytest.raises(ValidationFailed) as exc:
        organizations.create(session=session, actor=admin, data={"name": "Two", "slug": "taken-slug"})
    assert "already" in exc.value.field_errors["slug"]
    other = organizations.create(session=session, actor=admin, data={"name": "Three"})
    with pytest.raises(ValidationFailed):
        organizations.update(
            session=session, actor=admin, organization_id=other.id, data={"slug": "taken-slug"}, version=other.version
        )
    # Its own slug again is no clash.
    same = organizations.update(
        session=session, actor=admin, organization_id=org.id, data={"slug": "taken-slug"}, version=org.version
    )
    assert same.slug == "taken-slug"


def test_update_checks_the_version_and_audits_the_change(session, admin):
    org = organizations.create(session=session, actor=admin, data={"name": "Versioned", "seat_limit": 5})
    saved = organizations.update(
        session=session,
        actor=admin,
        organization_id=org.id,
        data={"name": "Renamed", "slug": "renamed", "plan": "enterprise", "seat_limit": None},
        version=org.version,
    )
    assert (saved.name, saved.slug, saved.plan, saved.seat_limit) == ("Renamed", "renamed", OrgPlan.enterprise, None)
    assert saved.version == org.version + 1
    with pytest.raises(Stale) as exc:
        organizations.update(
            session=session, actor=admin, organization_id=org.id, data={"name": "Lost"}, version=org.version
        )
    assert exc.value.current["name"] == "Renamed"
    with pytest.raises(Stale):
        organizations.update(session=session, actor=admin, organization_id=org.id, data={"name": "x"}, version=None)
    entry = session.scalar(
        select(AuditLogEntry).where(
            AuditLogEntry.action == "organization.update", AuditLogEntry.entity_id == str(org.id)
        )
    )
    assert entry.before == {"name": "Versioned", "slug": "versioned", "plan": "standard", "seat_limit": 5, "version": 1}


def test_update_refuses_tampering_and_clearing_required_fields(session, admin):
    org = organizations.create(session=session, actor=admin, data={"name": "Safe"})
    for data, field in (
        ({"id": str(uuid.uuid4())}, "id"),
        ({"version": 99}, "version"),
        ({"sso_client_secret_encrypted": "x"}, "sso_client_secret_encrypted"),
        ({"name": None}, "name"),
        ({"plan": None}, "plan"),
    ):
        with pytest.raises(ValidationFailed) as exc:
            organizations.update(session=session, actor=admin, organization_id=org.id, data=data, version=org.version)
        assert field in exc.value.field_errors
    assert session.get(Organization, org.id).version == org.version


# --- SSO -----------------------------------------------------------------------------------------


def test_sso_secret_is_encrypted_at_rest_and_never_handed_out(session, admin):
    org = organizations.create(session=session, actor=admin, data={"name": "Secretive"})
    saved = organizations.update_sso(session=session, actor=admin, organization_id=org.id, data=SSO, version=1)
    stored = session.get(Organization, org.id).sso_client_secret_encrypted
    assert stored and SECRET not in stored and sso_secrets.decrypt(stored) == SECRET
    for returned in (
        saved,
        organizations.get(session=session, actor=admin, organization_id=org.id),
        organizations.get_by_slug(session=session, actor=admin, slug=org.slug),
        organizations.overview(session=session, actor=admin, organization_id=org.id),
        organizations.list_(session=session, actor=admin, query=ListQuery()),
    ):
        assert SECRET not in repr(returned) and stored not in repr(returned)
    assert saved.sso_secret_stored and saved.sso_enabled and saved.sso_email_domains == ("acme.example",)
    # An empty secret keeps the stored one; a new one replaces it. The log says so and no more.
    organizations.update_sso(
        session=session,
        actor=admin,
        organization_id=org.id,
        data={**SSO, "sso_client_secret": "", "sso_client_id": "client-456"},
        version=2,
    )
    assert session.get(Organization, org.id).sso_client_secret_encrypted == stored
    organizations.update_sso(
        session=session, actor=admin, organization_id=org.id, data={**SSO, "sso_client_secret": "new-one"}, version=3
    )
    assert sso_secrets.decrypt(session.get(Organization, org.id).sso_client_secret_encrypted) == "new-one"
    entries = session.scalars(
        select(AuditLogEntry)
        .where(AuditLogEntry.action == "organization.sso_update", AuditLogEntry.entity_id == str(org.id))
        .order_by(AuditLogEntry.created_at)
    ).all()
    assert [e.comment for e in entries] == ["client secret: set", None, "client secret: changed"]
    every_entry = repr([(e.before, e.after, e.comment) for e in session.scalars(select(AuditLogEntry))])
    assert SECRET not in every_entry and "new-one" not in every_entry and stored not in every_entry
    with pytest.raises(Stale) as exc:  # the SSO form shares the organization's version
        organizations.update_sso(session=session, actor=admin, organization_id=org.id, data=SSO, version=3)
    assert "sso_client_secret" not in repr(exc.value.details) and stored not in repr(exc.value.details)


def test_the_secret_cannot_be_read_with_another_storage_secret(monkeypatch):
    monkeypatch.setenv("SIMVADO_STORAGE_SECRET", "one" * 20)
    from console.config import get_settings

    get_settings.cache_clear()
    token = sso_secrets.encrypt("x")
    monkeypatch.setenv("SIMVADO_STORAGE_SECRET", "two" * 20)
    get_settings.cache_clear()
    with pytest.raises(sso_secrets.SecretUnreadable):
        sso_secrets.decrypt(token)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"sso_provider": "myspace"}, "sso_provider"),
        ({"sso_provider": "x" * 51}, "sso_provider"),
        ({"sso_issuer_url": "http://acme.okta.com"}, "sso_issuer_url"),
        ({"sso_issuer_url": "javascript:alert(1)"}, "sso_issuer_url"),
        ({"sso_issuer_url": "https://acme.okta.com/?x=1"}, "sso_issuer_url"),
        ({"sso_issuer_url": "https://user:pw@acme.okta.com"}, "sso_issuer_url"),
        ({"sso_issuer_url": "ftp://acme.okta.com"}, "sso_issuer_url"),
        ({"sso_email_domains": ["not a domain"]}, "sso_email_domains"),
        ({"sso_email_domains": ["localhost"]}, "sso_email_domains"),
        ({"sso_email_domains": ["-bad.example"]}, "sso_email_domains"),
        # Turning SSO on needs every piece.
        ({"sso_issuer_url": ""}, "sso_issuer_url"),
        ({"sso_client_id": " "}, "sso_client_id"),
        ({"sso_client_secret": ""}, "sso_client_secret"),
        ({"sso_email_domains": []}, "sso_email_domains"),
        ({"sso_provider": None}, "sso_provider"),
        ({"sso_client_secret_encrypted": "forged"}, "sso_client_secret_encrypted"),
        ({"version": 5}, "version"),
    ],
)
def test_sso_settings_are_validated(session, admin, change, field):
    org = organizations.create(session=session, actor=admin, data={"name": "Checked"})
    with pytest.raises(ValidationFailed) as exc:
        organizations.update_sso(
            session=session, actor=admin, organization_id=org.id, data={**SSO, **change}, version=1
        )
    assert field in exc.value.field_errors
    assert session.get(Organization, org.id).sso_client_secret_encrypted is None


def test_sso_accepts_local_http_and_normalises_domains(session, admin):
    org = organizations.create(session=session, actor=admin, data={"name": "Local"})
    saved = organizations.update_sso(
        session=session,
        actor=admin,
        organization_id=org.id,
        data={
            **SSO,
            "sso_issuer_url": "http://127.0.0.1:8081/realms/x",
            "sso_email_domains": [" @Acme.Example ", "acme.example", "b.co.uk"],
        },
        version=1,
    )
    assert saved.sso_issuer_url == "http://127.0.0.1:8081/realms/x"
    assert saved.sso_email_domains == ("acme.example", "b.co.uk")
    # Switching SSO off keeps what was entered (to switch it on again later).
    off = organizations.update_sso(
        session=session, actor=admin, organization_id=org.id, data={**SSO, "sso_enabled": False}, version=2
    )
    assert not off.sso_enabled and off.sso_secret_stored


def test_an_email_domain_belongs_to_one_organization(session, admin):
    first = organizations.create(session=session, actor=admin, data={"name": "First"})
    second = organizations.create(session=session, actor=admin, data={"name": "Second"})
    organizations.update_sso(session=session, actor=admin, organization_id=first.id, data=SSO, version=1)
    with pytest.raises(ValidationFailed) as exc:
        organizations.update_sso(
            session=session,
            actor=admin,
            organization_id=second.id,
            data={**SSO, "sso_email_domains": ["other.example", "ACME.example"]},
            version=1,
        )
    assert exc.value.field_errors["sso_email_domains"] == "acme.example already belongs to First"
    # The organization that has it may save it again.
    organizations.update_sso(session=session, actor=admin, organization_id=first.id, data=SSO, version=2)


# --- delete --------------------------------------------------------------------------------------


def test_delete_is_refused_while_anything_depends_on_it(session, admin):
    org = make_org(session)
    add_members(session, org, 1)
    with pytest.raises(ValidationFailed, match="remove them in People first"):
        organizations.delete(session=session, actor=admin, organization_id=org.id)
    assert session.get(Organization, org.id) is not None

    played = make_org(session)
    player = make_user(session, role=UserRole.individual)
    sim = make_simulation(session, status=SimulationStatus.published)
    session.add(
        PlaySession(
            user_id=player.id,
            module_id=make_module(session, sim).id,
            organization_id=played.id,
            status=SessionStatus.completed,
        )
    )
    session.flush()
    with pytest.raises(ValidationFailed, match="kept for its records"):
        organizations.delete(session=session, actor=admin, organization_id=played.id)

    assigned = make_org(session)
    session.add(SimulationAssignment(organization_id=assigned.id, assigned_to_user_id=player.id, simulation_id=sim.id))
    keyed = make_org(session)
    session.add(ApiKey(name="k", key_hash=uuid.uuid4().hex, key_prefix="sk_sim_x", organization_id=keyed.id))
    session.flush()
    with pytest.raises(ValidationFailed, match="assignment"):
        organizations.delete(session=session, actor=admin, organization_id=assigned.id)
    with pytest.raises(ValidationFailed, match="revoke them first"):
        organizations.delete(session=session, actor=admin, organization_id=keyed.id)
    assert session.get(Organization, keyed.id) is not None


def test_an_empty_organization_is_deleted_and_the_log_keeps_what_it_was(session, admin):
    org = organizations.create(session=session, actor=admin, data={"name": "Short Lived"})
    organizations.update_sso(session=session, actor=admin, organization_id=org.id, data=SSO, version=1)
    assert organizations.deletion_blockers(session, org.id) == []
    organizations.delete(session=session, actor=admin, organization_id=org.id)
    assert session.get(Organization, org.id) is None
    entry = session.scalar(select(AuditLogEntry).where(AuditLogEntry.action == "organization.delete"))
    assert entry.before["slug"] == "short-lived" and entry.entity_id == str(org.id)
    assert "sso_client_secret_encrypted" not in entry.before


# --- the list ------------------------------------------------------------------------------------


def test_list_counts_members_and_filters_by_plan_and_seats(session, admin):
    near = make_org(session, name="Near", seat_limit=10, plan=OrgPlan.pilot)
    add_members(session, near, 9)
    full = make_org(session, name="Full", seat_limit=3)
    add_members(session, full, 3)
    free = make_org(session, name="Free", seat_limit=None, plan=OrgPlan.enterprise)
    add_members(session, free, 2)
    roomy = make_org(session, name="Roomy", seat_limit=100)
    add_members(session, roomy, 1)

    def listed(**kwargs):  # noqa: ANN202
        return organizations.list_(session=session, actor=admin, query=ListQuery(**kwargs))

    page = listed()
    assert names(page) == ["Free", "Full", "Near", "Roomy"] and page.total == 4
    assert {r.name: (r.members, r.seat_limit) for r in page.rows} == {
        "Near": (9, 10),
        "Full": (3, 3),
        "Free": (2, None),
        "Roomy": (1, 100),
    }
    assert [r.name for r in page.rows if r.seats.near_limit] == ["Full", "Near"]
    assert names(listed(filters={"seats": "near_limit"})) == ["Full", "Near"]
    assert names(listed(filters={"seats": "full"})) == ["Full"]
    assert names(listed(filters={"seats": "no_limit"})) == ["Free"]
    assert names(listed(filters={"plan": "pilot"})) == ["Near"]
    assert names(listed(search="ROOM")) == ["Roomy"]
    assert names(listed(search="%")) == []
    assert names(listed(sort="members", descending=True)) == ["Near", "Full", "Free", "Roomy"]
    with pytest.raises(ValidationFailed):
        listed(filters={"seats": "lots"})
    with pytest.raises(ValidationFailed):
        listed(filters={"plan": "gold"})


# --- the overview --------------------------------------------------------------------------------


def test_overview_shows_seats_keys_simulations_and_seat_use_over_time(session, admin):
    org = make_org(session, seat_limit=10)
    add_members(session, org, 2, days_ago=30)
    add_members(session, org, 1, days_ago=0)
    # A member who joined 60 days ago and was removed 10 days ago (the people area's entry).
    removed_at = utcnow() - timedelta(days=10)
    session.add(
        AuditLogEntry(
            actor_label="someone",
            action="membership.remove",
            entity_type="membership",
            entity_id=str(uuid.uuid4()),
            organization_id=org.id,
            before={"joined_at": (utcnow() - timedelta(days=60)).isoformat()},
            created_at=removed_at,
        )
    )
    sim = make_simulation(session, title="Crisis", status=SimulationStatus.published)
    player = make_user(session, role=UserRole.enterprise_participant, organization_id=org.id, password=None)
    for status in ("completed", "assigned"):
        session.add(
            SimulationAssignment(
                organization_id=org.id, assigned_to_user_id=player.id, simulation_id=sim.id, status=status
            )
        )
    session.add(
        ApiKey(name="Build server", key_hash=uuid.uuid4().hex, key_prefix="sk_sim_abcdefgh", organization_id=org.id)
    )
    session.flush()

    seen = organizations.overview(session=session, actor=admin, organization_id=org.id)
    assert (seen.seats.used, seen.seats.limit) == (3, 10) and len(seen.members) == 3
    assert [(k.name, k.status) for k in seen.api_keys] == [("Build server", "active")]
    assert [(s.title, s.assignments, s.completed) for s in seen.simulations] == [("Crisis", 2, 1)]
    series = dict(seen.seat_series)
    assert len(series) == organizations.SERIES_DAYS
    today = utcnow().date()
    assert series[today] == 3
    assert series[today - timedelta(days=5)] == 2
    assert series[today - timedelta(days=20)] == 3  # the removed one still in, with the two
    assert series[today - timedelta(days=45)] == 1  # only the removed one had joined
    assert series[today - timedelta(days=89)] == 0
    assert any("member" in reason for reason in seen.delete_blockers)


# --- who may do what -----------------------------------------------------------------------------


def test_an_enterprise_admin_reads_only_their_own_and_changes_nothing(session, admin):
    mine = make_org(session, name="Mine")
    theirs = make_org(session, name="Theirs")
    me = actor_of(make_user(session, role=UserRole.enterprise_admin, organization_id=mine.id))
    assert names(organizations.list_(session=session, actor=me, query=ListQuery())) == ["Mine"]
    assert organizations.get_by_slug(session=session, actor=me, slug=mine.slug).id == mine.id
    calls = {
        "get": lambda org: organizations.get(session=session, actor=me, organization_id=org.id),
        "get_by_slug": lambda org: organizations.get_by_slug(session=session, actor=me, slug=org.slug),
        "overview": lambda org: organizations.overview(session=session, actor=me, organization_id=org.id),
        "history": lambda org: organizations.history(
            session=session, actor=me, organization_id=org.id, query=ListQuery()
        ),
        "update": lambda org: organizations.update(
            session=session, actor=me, organization_id=org.id, data={"name": "Hacked"}, version=org.version
        ),
        "update_sso": lambda org: organizations.update_sso(
            session=session, actor=me, organization_id=org.id, data=SSO, version=org.version
        ),
        "delete": lambda org: organizations.delete(session=session, actor=me, organization_id=org.id),
    }
    for name, call in calls.items():
        with pytest.raises(NotFound):
            call(theirs)
        if name in ("update", "update_sso", "delete"):
            with pytest.raises(PermissionDenied):  # their own: readable, but not theirs to change
                call(mine)
    with pytest.raises(PermissionDenied):
        organizations.create(session=session, actor=me, data={"name": "New"})
    assert session.get(Organization, theirs.id).name == "Theirs"
    assert session.get(Organization, mine.id).name == "Mine"


@pytest.mark.parametrize("role", [UserRole.studio_creator, UserRole.enterprise_participant, UserRole.individual])
def test_other_roles_read_nothing_and_change_nothing(session, role):
    org = make_org(session)
    actor = actor_of(make_user(session, role=role))
    assert organizations.list_(session=session, actor=actor, query=ListQuery()).total == 0
    with pytest.raises(NotFound):
        organizations.get_by_slug(session=session, actor=actor, slug=org.slug)
    with pytest.raises(NotFound):
        organizations.update(session=session, actor=actor, organization_id=org.id, data={"name": "x"}, version=1)
    with pytest.raises(PermissionDenied):
        organizations.create(session=session, actor=actor, data={"name": "x"})
