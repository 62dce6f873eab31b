"""The principal: who is asking. Every service call carries one."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from console.auth.permissions import Permission, has_permission
from console.errors import PermissionDenied
from models.enums import UserRole


@dataclass(frozen=True, slots=True)
class Principal:
    user_id: uuid.UUID | None
    role: UserRole
    organization_id: uuid.UUID | None
    name: str = ""
    email: str = ""
    organization_name: str | None = None

    def can(self, permission: Permission) -> bool:
        return has_permission(self.role, permission)

    def require(self, permission: Permission) -> None:
        if not self.can(permission):
            raise PermissionDenied("You do not have access to this.")

    @property
    def is_platform_admin(self) -> bool:
        return self.role is UserRole.platform_admin

    @property
    def label(self) -> str:
        return self.email or self.name or str(self.user_id)


def system_principal(label: str = "system") -> Principal:
    """The principal of the console itself (CLI bootstrap, demo data, background jobs)."""
    return Principal(user_id=None, role=UserRole.platform_admin, organization_id=None, name=label)
