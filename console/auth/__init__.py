"""Who is asking (actors), what they may do (permissions), and how they prove it."""

from console.auth.actor import Actor, ActorKind
from console.auth.permissions import ROLE_PERMISSIONS, Permission

__all__ = ["ROLE_PERMISSIONS", "Actor", "ActorKind", "Permission"]
