"""The audit log: who changed what, in which organization, from what to what, and when.

Entity types and actions are a closed vocabulary (`AuditEntity`, `AuditAction`): a free string once
made the log's "media" filter find nothing because media wrote "media_asset". They are stored as
text, not as PostgreSQL enums, so a new action needs no migration; the Python types keep every
writer and reader to the same words.
"""

import uuid
from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from models.base import fk, jsonb, timestamp, uuid_pk


class AuditEntity(StrEnum):
    """What kind of record an entry is about (the value is what `audit_log.entity_type` holds)."""

    simulation = "simulation"
    module = "module"
    media = "media_asset"
    api_key = "api_key"
    user = "user"
    organization = "organization"
    membership = "membership"
    assignment = "assignment"
    play_session = "play_session"
    invitation = "invitation"

    @property
    def label(self) -> str:
        return _ENTITY_LABELS[self]


_ENTITY_LABELS = {
    AuditEntity.simulation: "Simulation",
    AuditEntity.module: "Module",
    AuditEntity.media: "Media file",
    AuditEntity.api_key: "API key",
    AuditEntity.user: "User",
    AuditEntity.organization: "Organization",
    AuditEntity.membership: "Membership",
    AuditEntity.assignment: "Assignment",
    AuditEntity.play_session: "Play session",
    AuditEntity.invitation: "Invitation",
}


class AuditAction(StrEnum):
    """What was done (the value is what `audit_log.action` holds: "<area>.<verb>")."""

    simulation_create = "simulation.create"
    simulation_update = "simulation.update"
    simulation_duplicate = "simulation.duplicate"
    simulation_submit = "simulation.submit"
    simulation_withdraw = "simulation.withdraw"
    simulation_send_back = "simulation.send_back"
    simulation_stage = "simulation.stage"
    simulation_publish = "simulation.publish"
    simulation_archive = "simulation.archive"
    simulation_restore = "simulation.restore"
    module_create = "module.create"
    module_update = "module.update"
    module_move = "module.move"
    module_archive = "module.archive"
    media_upload = "media.upload"
    media_rename = "media.rename"
    media_delete = "media.delete"
    api_key_create = "api_key.create"
    api_key_revoke = "api_key.revoke"
    api_key_rotate = "api_key.rotate"
    user_create = "user.create"
    user_update = "user.update"  # name, role (with the membership role kept in step)
    user_deactivate = "user.deactivate"
    user_reactivate = "user.reactivate"
    user_sso_link = "user.sso_link"  # bound to an identity at an OIDC provider (issuer; never a token)
    organization_create = "organization.create"
    organization_update = "organization.update"  # name, slug, plan, seat limit
    organization_sso_update = "organization.sso_update"  # SSO settings (the secret never in the entry)
    organization_delete = "organization.delete"  # only an organization nothing depends on
    # Billing (docs/billing.md): a subscription started, its plan or seats changed (by an admin, or by
    # Stripe through its webhook), and a person's Pro tier following their own subscription.
    organization_subscribe = "organization.subscribe"
    organization_billing_update = "organization.billing_update"
    user_subscription_update = "user.subscription_update"
    membership_add = "membership.add"
    membership_update = "membership.update"  # role, department
    membership_remove = "membership.remove"
    membership_import = "membership.import"  # one entry per CSV import, with its counts
    invitation_create = "invitation.create"
    invitation_accept = "invitation.accept"
    invitation_revoke = "invitation.revoke"
    department_rename = "department.rename"  # every member moved at once; entity: the organization
    department_merge = "department.merge"
    assignment_create = "assignment.create"  # one entry per assign call: the simulation, due date, people
    assignment_update = "assignment.update"  # due date (an extension), one entry per change of many
    assignment_remove = "assignment.remove"  # unassigned; its sessions and results stay
    assignment_export = "assignment.export"  # who exported progress or results, with which filters
    play_session_abandon = "play_session.abandon"  # marked abandoned by staff; the reason is the comment
    play_session_export = "play_session.export"  # the sessions list, or one session's events, exported
    play_session_delete = "play_session.delete"  # a test session, with its events (real ones are never deleted)
    api_key_delete_test_sessions = "api_key.delete_test_sessions"  # all of a test key's sessions; the count

    @property
    def label(self) -> str:
        area, verb = self.value.split(".", 1)
        return f"{AuditEntity(_AREAS.get(area, area)).label} · {verb.replace('_', ' ')}"


_AREAS = {"media": AuditEntity.media.value, "department": AuditEntity.organization.value}


class AuditLogEntry(SQLModel, table=True):
    __tablename__ = "audit_log"
    __table_args__ = (
        sa.Index("ix_audit_log_entity", "entity_type", "entity_id"),
        sa.Index("ix_audit_log_organization_id_created_at", "organization_id", "created_at"),
        sa.Index("ix_audit_log_created_at", "created_at"),
        # Deleting a user sets their entries' actor_id to NULL: without this, a scan of the whole log.
        sa.Index("ix_audit_log_actor_id", "actor_id"),
    )

    id: uuid.UUID = uuid_pk()
    # The actor may be deleted later; the label keeps the entry readable.
    actor_id: uuid.UUID | None = fk("users.id", nullable=True, ondelete="SET NULL")
    actor_label: str = Field(max_length=255)
    action: str = Field(max_length=100)
    entity_type: str = Field(max_length=50)
    entity_id: str | None = Field(default=None, max_length=64)
    organization_id: uuid.UUID | None = fk("organizations.id", nullable=True, ondelete="SET NULL")
    before: dict | None = jsonb()
    after: dict | None = jsonb()
    comment: str | None = Field(default=None, sa_type=sa.Text)
    created_at: datetime = timestamp()
