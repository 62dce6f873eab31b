"""What game engines do through the engine API: start sessions, report events, read results back.

Every call carries the calling API key's `Actor`: a key bound to a simulation or an organization
reaches nothing outside it: "not found", as for an id that does not exist, and nothing written.

Events take the fast path: one ``INSERT … SELECT FROM jsonb_array_elements(…) ON CONFLICT (id) DO NOTHING``
for the batches of many sessions at once (no ORM objects; the engine API stores a whole group of
requests this way), then the ids that were not inserted are compared with what is stored — the same
content is a duplicate (a retry), different content is a Conflict that rolls the batch back. Session
rows are locked (FOR UPDATE) for their batches, so batches of one session are applied one after
another and a completion cannot race another batch.

Decisions written down here, where DESIGN.md is silent:
- Modules an engine may use: published modules of published simulations; a test key bound to a
  simulation also reaches that simulation's unpublished modules (draft or staged), so studios can
  test builds. Live keys play published modules only. Archived modules are never playable.
- Test keys (`sk_sim_test_…`) start test sessions (`is_test`, with `api_key_id` as every session):
  they score and complete as any other, but move no assignment and count in no cohort, figure or
  participant's page (play_sessions.real).
- A key bound to an organization only knows that organization's people: any other player is an
  unknown player (422), so emails cannot be probed across tenants.
- `started_at`: the engine's when given. When absent it is the server's clock at creation, and the
  duration is measured from the earlier of that and the first event's timestamp (the contract's "first
  event's timestamp" for engines whose clock is behind ours; no extra column is needed).
- Scores: each dimension starts at the middle of its range, decision impacts move it (clamped), a
  score_update or the completion's `scores` set absolute values. Final = the value after the last event.
- The percentile counts the completed sessions of the module (this one included) that scored lower.
"""

from console.services.ingest.completion import complete_session, dimension_values, sessions_awaiting_debrief
from console.services.ingest.events import (
    BatchesOverlap,
    BatchResult,
    EventReport,
    IncomingBatch,
    IncomingEvent,
    record_event_batches,
)
from console.services.ingest.sessions import (
    ModuleConfig,
    PlayerRef,
    SessionStart,
    get_module,
    get_session,
    list_modules,
    passed,
    start_session,
)

__all__ = [
    "BatchResult",
    "BatchesOverlap",
    "EventReport",
    "IncomingBatch",
    "IncomingEvent",
    "ModuleConfig",
    "PlayerRef",
    "SessionStart",
    "complete_session",
    "dimension_values",
    "get_module",
    "get_session",
    "list_modules",
    "passed",
    "record_event_batches",
    "sessions_awaiting_debrief",
    "start_session",
]
