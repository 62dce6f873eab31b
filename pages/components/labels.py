"""Enum values as people read them: `ai_adaptive` → "AI adaptive", `unreal_3d` → "Unreal 3D"."""

from __future__ import annotations

from enum import Enum

# Words that are written in capitals, whatever their place in the label.
_UPPER = {"ai": "AI", "3d": "3D", "sso": "SSO", "api": "API", "oidc": "OIDC", "saml": "SAML"}


def enum_label(value: str) -> str:
    words = value.split("_")
    shown = [_UPPER.get(w, w) for w in words]
    if shown and shown[0] == words[0]:
        shown[0] = shown[0].capitalize()
    return " ".join(shown)


def enum_options(enum_cls: type[Enum]) -> dict[str, str]:
    """{value: label} for a select, in the enum's own order."""
    return {member.value: enum_label(member.value) for member in enum_cls}


# An assignment's status as a badge; colours dark enough for their white text (4.5:1 and more).
ASSIGNMENT_STATUS_COLORS = "{assigned: 'grey-8', in_progress: 'blue-9', completed: 'positive', overdue: 'negative'}"
ASSIGNMENT_STATUS_SLOT = (
    "<q-td :props=\"props\"><q-badge :label=\"props.value.replace('_', ' ')\" "
    f':color="{ASSIGNMENT_STATUS_COLORS}[props.value]" /></q-td>'
)


# A play session's status as a badge (white text on each colour: 4.5:1 and more), with "stuck" beside
# it when the row says so (`props.row.stuck`).
SESSION_STATUS_COLOR = {"in_progress": "blue-9", "completed": "positive", "abandoned": "grey-8"}
STUCK_COLOR = "deep-orange-10"  # 5.6:1 under white text
TEST_COLOR = "purple-9"  # a test key's session (9.4:1 under white text)
SESSION_STATUS_SLOT = (
    "<q-td :props=\"props\"><q-badge :label=\"props.value.replace('_', ' ')\" "
    f':color="{SESSION_STATUS_COLOR}[props.value]" />'  # our constants, as a JS object
    f'<q-badge v-if="props.row.stuck" class="q-ml-xs" color="{STUCK_COLOR}" label="stuck" />'
    f'<q-badge v-if="props.row.test" class="q-ml-xs" color="{TEST_COLOR}" label="Test" /></q-td>'
)
