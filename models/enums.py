"""Every enum of the seed's data model, with exactly the seed's values.

Each is stored as a native PostgreSQL enum type; `pg_enum` gives the column type so that the
type's name is the same in every table that uses it (sessions.platform and modules.platform share
`platform`).
"""

from enum import StrEnum

import sqlalchemy as sa


class UserRole(StrEnum):
    individual = "individual"
    enterprise_admin = "enterprise_admin"
    enterprise_participant = "enterprise_participant"
    studio_creator = "studio_creator"
    platform_admin = "platform_admin"


class SubscriptionTier(StrEnum):
    free = "free"
    pro_monthly = "pro_monthly"
    pro_annual = "pro_annual"
    enterprise = "enterprise"


class OrgPlan(StrEnum):
    pilot = "pilot"
    standard = "standard"
    enterprise = "enterprise"


class MembershipRole(StrEnum):
    admin = "admin"
    participant = "participant"


class Difficulty(StrEnum):
    foundational = "foundational"
    intermediate = "intermediate"
    advanced = "advanced"
    executive = "executive"


class SimulationFormat(StrEnum):
    branching_narrative = "branching_narrative"
    realtime_crisis = "realtime_crisis"
    ai_adaptive = "ai_adaptive"
    multiplayer_board = "multiplayer_board"
    unreal_3d = "unreal_3d"
    unity_3d = "unity_3d"
    external_custom = "external_custom"


class SimulationStatus(StrEnum):
    draft = "draft"
    review = "review"
    staged = "staged"
    published = "published"
    archived = "archived"


class ModuleStatus(StrEnum):
    draft = "draft"
    published = "published"
    archived = "archived"


class Platform(StrEnum):
    unreal = "unreal"
    unity = "unity"
    web = "web"
    other = "other"


class MediaType(StrEnum):
    video = "video"
    image = "image"
    audio = "audio"
    document = "document"


class SessionStatus(StrEnum):
    in_progress = "in_progress"
    completed = "completed"
    abandoned = "abandoned"


class EventType(StrEnum):
    decision = "decision"
    milestone = "milestone"
    score_update = "score_update"
    completion = "completion"
    custom = "custom"


class AssignmentStatus(StrEnum):
    assigned = "assigned"
    in_progress = "in_progress"
    completed = "completed"
    overdue = "overdue"


def pg_enum(enum_cls: type[StrEnum], name: str) -> sa.Enum:
    """A native PostgreSQL enum column type storing the enum's values (not its member names)."""
    return sa.Enum(
        enum_cls,
        name=name,
        values_callable=lambda cls: [member.value for member in cls],
        validate_strings=True,
    )
