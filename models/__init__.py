"""SQLModel tables of the Simvado data model (the seed's ten tables plus the console's own)."""

from models.api_keys import ApiKey, ApiKeyRejection, ApiRateCount
from models.assignments import AssignmentCount, SimulationAssignment
from models.audit import AuditAction, AuditEntity, AuditLogEntry
from models.base import SQLModel
from models.billing import BillingReconciliation, StripeEvent, StripeSubscription
from models.enums import (
    AssignmentStatus,
    Difficulty,
    EventType,
    MediaType,
    MembershipRole,
    ModuleStatus,
    OrgPlan,
    Platform,
    SessionStatus,
    SimulationFormat,
    SimulationStatus,
    SubscriptionTier,
    UserRole,
)
from models.identity import ClerkDelivery, ClerkUser, SsoIdentity
from models.organizations import Invitation, MemberImport, Organization, OrgMembership
from models.play import GameEvent, PlaySession
from models.simulations import MediaAsset, Module, Simulation
from models.users import LocalCredential, LoginSession, User

__all__ = [
    "ApiKey",
    "ApiKeyRejection",
    "ApiRateCount",
    "AssignmentCount",
    "AssignmentStatus",
    "BillingReconciliation",
    "AuditAction",
    "AuditEntity",
    "AuditLogEntry",
    "ClerkDelivery",
    "ClerkUser",
    "Difficulty",
    "EventType",
    "GameEvent",
    "Invitation",
    "LocalCredential",
    "LoginSession",
    "MediaAsset",
    "MediaType",
    "MemberImport",
    "MembershipRole",
    "Module",
    "ModuleStatus",
    "OrgMembership",
    "OrgPlan",
    "Organization",
    "Platform",
    "PlaySession",
    "SQLModel",
    "SessionStatus",
    "Simulation",
    "SimulationAssignment",
    "SimulationFormat",
    "SimulationStatus",
    "SsoIdentity",
    "StripeEvent",
    "StripeSubscription",
    "SubscriptionTier",
    "User",
    "UserRole",
]
