"""The actor: who is asking. Every service call carries one, whoever makes it.

One type for every kind of caller, so a service asks one question — `actor.can(permission)` — and one
set of fields says what the caller is bound to:

| kind     | who                                   | permissions                     | bound to                       |
|----------|---------------------------------------|---------------------------------|--------------------------------|
| user     | a signed-in person                    | their role's (`permissions.py`) | their organization             |
| api_key  | a game engine presenting an API key   | the key's scopes (game:*)       | the key's simulation and/or org |
| webhook  | a provider posting a signed delivery  | what its endpoint grants        | nothing                        |
| system   | the console itself: CLI, demo, jobs   | every console permission        | nothing                        |

The system actor is for work nobody in particular asked for (a CLI bootstrap, the demo data, a
sweep). A service never makes one to step around a scope: when a reader may see more than the
generic rule allows, the aggregate's readable clause says so.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from enum import StrEnum

from console.auth.permissions import ROLE_PERMISSIONS, Permission
from console.errors import PermissionDenied
from models.enums import UserRole


class ActorKind(StrEnum):
    user = "user"
    api_key = "api_key"
    webhook = "webhook"
    system = "system"


# What API key scopes grant: an engine's permissions are exactly its scopes.
ENGINE_SCOPES = frozenset({Permission.game_write, Permission.game_read})
# The console's own work: everything a person can be allowed, nothing an engine key is.
SYSTEM_PERMISSIONS = frozenset(Permission) - ENGINE_SCOPES - {Permission.view_own_assignments}


@dataclass(frozen=True, slots=True)
class Actor:
    kind: ActorKind
    id: uuid.UUID | None  # the user's or the API key's id; None for webhooks and the system
    permissions: frozenset[Permission]
    role: UserRole | None = None  # users only
    organization_id: uuid.UUID | None = None  # a user's organization, a key's organization binding
    simulation_id: uuid.UUID | None = None  # a key's simulation binding
    name: str = ""
    email: str = ""
    organization_name: str | None = None
    prefix: str = field(default="")  # an API key's displayable prefix (safe to log)
    test: bool = False  # a test API key: its sessions are test sessions (play_sessions.real)

    # ----------------------------------------------------------------------------- constructors

    @classmethod
    def for_user(
        cls,
        *,
        user_id: uuid.UUID,
        role: UserRole,
        organization_id: uuid.UUID | None,
        name: str = "",
        email: str = "",
        organization_name: str | None = None,
    ) -> Actor:
        return cls(
            kind=ActorKind.user,
            id=user_id,
            permissions=ROLE_PERMISSIONS.get(role, frozenset()),
            role=role,
            organization_id=organization_id,
            name=name,
            email=email,
            organization_name=organization_name,
        )

    @classmethod
    def for_api_key(
        cls,
        *,
        key_id: uuid.UUID,
        name: str,
        prefix: str,
        scopes: frozenset[str] | list[str] | tuple[str, ...],
        simulation_id: uuid.UUID | None,
        organization_id: uuid.UUID | None,
        test: bool = False,
    ) -> Actor:
        return cls(
            kind=ActorKind.api_key,
            id=key_id,
            permissions=frozenset(Permission(s) for s in scopes if s in ENGINE_SCOPES),
            organization_id=organization_id,
            simulation_id=simulation_id,
            name=name,
            prefix=prefix,
            test=test,
        )

    @classmethod
    def webhook(cls, provider: str, permissions: frozenset[Permission]) -> Actor:
        return cls(kind=ActorKind.webhook, id=None, permissions=permissions, name=provider)

    @classmethod
    def system(cls, label: str = "system") -> Actor:
        """The console itself (CLI bootstrap, demo data, background jobs)."""
        return cls(kind=ActorKind.system, id=None, permissions=SYSTEM_PERMISSIONS, name=label)

    # ---------------------------------------------------------------------------------- questions

    def can(self, permission: Permission) -> bool:
        return permission in self.permissions

    def require(self, permission: Permission) -> None:
        if permission not in self.permissions:
            raise PermissionDenied("You do not have access to this.")

    @property
    def user_id(self) -> uuid.UUID | None:
        """The person acting, if a person is: what authorship and "my" records compare against."""
        return self.id if self.kind is ActorKind.user else None

    @property
    def scopes(self) -> frozenset[str]:
        """An API key's scopes (its engine permissions)."""
        return frozenset(str(p) for p in self.permissions & ENGINE_SCOPES)

    @property
    def label(self) -> str:
        """How the audit log names the actor."""
        if self.kind is ActorKind.api_key:
            return f"API key {self.prefix}…"
        if self.kind in (ActorKind.webhook, ActorKind.system):
            return self.name or self.kind.value
        return self.email or self.name or str(self.id)
