"""Roles → permissions. Deny by default: a role has exactly the permissions listed here."""

from __future__ import annotations

from enum import StrEnum

from models.enums import UserRole


class Permission(StrEnum):
    use_console = "use_console"  # every signed-in role: the home page routes them on
    view_dashboard = "view_dashboard"
    view_own_assignments = "view_own_assignments"
    view_catalogue = "view_catalogue"  # read published simulations
    author_simulations = "author_simulations"  # create and edit one's own simulations
    manage_all_simulations = "manage_all_simulations"  # review, publish, edit anyone's
    manage_organization = "manage_organization"  # own org: members, departments, assignments
    manage_platform = "manage_platform"  # orgs, users, billing across the platform
    manage_api_keys = "manage_api_keys"
    # Test keys bound to one's own simulations (api_keys.readable): studios test builds, staged ones too.
    manage_test_keys = "manage_test_keys"
    view_audit_log = "view_audit_log"
    view_live_sessions = "view_live_sessions"
    view_sessions = "view_sessions"  # /sessions: every play session in reach (play_sessions.readable)
    # API key scopes: what an engine may do through the engine API (never held by a role).
    game_write = "game:write"  # start sessions, post events
    game_read = "game:read"  # read modules and results


ROLE_PERMISSIONS: dict[UserRole, frozenset[Permission]] = {
    UserRole.individual: frozenset({Permission.use_console, Permission.view_own_assignments}),
    UserRole.enterprise_participant: frozenset({Permission.use_console, Permission.view_own_assignments}),
    UserRole.enterprise_admin: frozenset(
        {
            Permission.use_console,
            Permission.view_dashboard,
            Permission.view_catalogue,
            Permission.manage_organization,
            Permission.view_live_sessions,
            Permission.view_sessions,
            Permission.view_audit_log,  # their own organization's entries (audit.readable)
        }
    ),
    UserRole.studio_creator: frozenset(
        {
            Permission.use_console,
            Permission.view_dashboard,
            Permission.view_catalogue,
            Permission.author_simulations,
            Permission.view_sessions,  # sessions of the simulations they author
            Permission.view_live_sessions,  # /live: those sessions while they are played
            Permission.manage_test_keys,  # test keys for the simulations they author
        }
    ),
    # Everything except the participant's own page: platform admins are not assigned simulations.
    UserRole.platform_admin: frozenset(Permission)
    - {Permission.view_own_assignments, Permission.game_write, Permission.game_read},
}
