"""Who is asking (principals), what they may do (permissions), and how they prove it."""

from console.auth.permissions import ROLE_PERMISSIONS, Permission, has_permission
from console.auth.principal import Principal, system_principal

__all__ = ["ROLE_PERMISSIONS", "Permission", "Principal", "has_permission", "system_principal"]
