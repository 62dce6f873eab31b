"""Play sessions as staff follow them: the list of every session in reach, one session's page, the
stuck rule and abandoning by hand.

- `stuck` — when an in-progress session counts as stuck (`stuck_condition`), and `abandon`;
- `listing` — `/sessions`: every session the actor may read, filtered, sorted and paged in SQL;
- `detail` — one session: header, timeline, score series, final scores, debrief linked to events;
- `events` — one session's raw events, searchable and paged, and their JSON/CSV export;
- `exports` — the filtered list as CSV or Excel.

Who reads which sessions is `console.services.play_sessions.readable`, the aggregate's one clause.
"""
