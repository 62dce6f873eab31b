"""The plain-SQL floor of each page in bench/pages.py: the page's data written by hand, one statement a
figure or list (parameters: the ids the benchmark found, plus `offset` for last pages)."""

DAYS_30 = "now() - interval '30 days'"
CREATOR_MODULES = (
    "SELECT m.id FROM modules m JOIN simulations s ON s.id = m.simulation_id WHERE s.author_id = %(creator)s"
)


def _dashboard(scope: str, extra: list[str]) -> list[str]:
    return [
        "SELECT status, count(*) FROM simulations GROUP BY status",
        f"SELECT count(*) FROM sessions WHERE status = 'in_progress' AND {scope}",
        f"SELECT count(*) FROM sessions WHERE status = 'completed' AND completed_at >= {DAYS_30} AND {scope}",
        f"SELECT round(avg(total_score)::numeric, 1) FROM sessions WHERE status = 'completed' "
        f"AND completed_at >= {DAYS_30} AND {scope}",
        f"SELECT started_at::date, count(*) FROM sessions WHERE started_at >= {DAYS_30} AND {scope} "
        "GROUP BY 1 ORDER BY 1",
        *extra,
    ]


_ASSIGNMENTS = (
    "SELECT a.*, u.name, u.email, m.department, s.title, o.name FROM simulation_assignments a "
    "JOIN users u ON u.id = a.assigned_to_user_id LEFT JOIN org_memberships m ON m.user_id = a.assigned_to_user_id "
    "AND m.organization_id = a.organization_id JOIN simulations s ON s.id = a.simulation_id "
    "JOIN organizations o ON o.id = a.organization_id"
)
_STATUS_NOW = "CASE WHEN a.status <> 'completed' AND a.due_date < current_date THEN 'overdue' ELSE a.status::text END"

PLAIN: dict[str, list[str]] = {
    "dashboard_platform admin": _dashboard(
        "true",
        [
            "SELECT count(*) FROM organizations",
            "SELECT count(*) FROM users",
            "SELECT count(*) FROM api_keys WHERE is_active",
            "SELECT count(*) FROM game_events WHERE received_at >= now() - interval '1 day'",
        ],
    ),
    "dashboard_creator": _dashboard(f"module_id IN ({CREATOR_MODULES})", []),
    "dashboard_org admin": _dashboard(
        "organization_id = %(org)s",
        [
            "SELECT count(*) FROM users WHERE organization_id = %(org)s",
            "SELECT seat_limit FROM organizations WHERE id = %(org)s",
            "SELECT status, count FROM assignment_counts WHERE organization_id = %(org)s",
        ],
    ),
    "simulations_list": [
        "SELECT DISTINCT category FROM simulations WHERE category IS NOT NULL ORDER BY category",
        "SELECT * FROM simulations ORDER BY updated_at DESC, id LIMIT 25",
        "SELECT count(*) FROM simulations",
    ],
    "workspace": [
        "SELECT * FROM simulations WHERE id = %(simulation)s",
        "SELECT * FROM modules WHERE simulation_id = %(simulation)s AND status <> 'archived' ORDER BY sort_order",
        "SELECT a.* FROM media_assets a JOIN modules m ON m.id = a.module_id WHERE m.simulation_id = %(simulation)s "
        "AND a.type = 'image' ORDER BY a.filename LIMIT 500",
    ],
    "history": [
        "SELECT * FROM audit_log WHERE entity_type = 'simulation' AND entity_id = %(simulation)s::text "
        "ORDER BY created_at DESC, id LIMIT 25",
        "SELECT count(*) FROM audit_log WHERE entity_type = 'simulation' AND entity_id = %(simulation)s::text",
    ],
    "api_keys": [
        "SELECT k.*, s.title, o.name FROM api_keys k LEFT JOIN simulations s ON s.id = k.simulation_id "
        "LEFT JOIN organizations o ON o.id = k.organization_id ORDER BY k.created_at DESC, k.id LIMIT 25",
        "SELECT count(*) FROM api_keys",
    ],
    "audit_first": [
        "SELECT * FROM audit_log ORDER BY created_at DESC, id LIMIT 25",
        "SELECT count(*) FROM (SELECT 1 FROM audit_log LIMIT 10001) AS capped",
    ],
    "audit_last": [
        "SELECT * FROM audit_log ORDER BY created_at, id LIMIT 25 OFFSET %(offset)s",
        "SELECT count(*) FROM (SELECT 1 FROM audit_log LIMIT 10001) AS capped",
    ],
    "audit_org": [
        "SELECT * FROM audit_log WHERE organization_id = %(org)s ORDER BY created_at DESC, id LIMIT 25",
        "SELECT count(*) FROM (SELECT 1 FROM audit_log WHERE organization_id = %(org)s LIMIT 10001) AS capped",
    ],
    "audit_org_last": [
        "SELECT * FROM audit_log WHERE organization_id = %(org)s ORDER BY created_at, id LIMIT 25 OFFSET %(offset)s",
        "SELECT count(*) FROM (SELECT 1 FROM audit_log WHERE organization_id = %(org)s LIMIT 10001) AS capped",
    ],
    "my": [
        "SELECT a.*, s.title FROM simulation_assignments a JOIN simulations s ON s.id = a.simulation_id "
        "WHERE a.assigned_to_user_id = %(participant)s ORDER BY a.due_date NULLS LAST, a.assigned_at DESC LIMIT 25",
        "SELECT count(*) FROM simulation_assignments WHERE assigned_to_user_id = %(participant)s",
        "SELECT p.*, m.title, s.title FROM sessions p JOIN modules m ON m.id = p.module_id "
        "JOIN simulations s ON s.id = m.simulation_id WHERE p.user_id = %(participant)s "
        "ORDER BY p.started_at DESC LIMIT 50",
        "SELECT count(*) FROM sessions WHERE user_id = %(participant)s",
    ],
    "complete": [
        "SELECT status FROM sessions WHERE id = %(playing)s FOR UPDATE",
        "INSERT INTO game_events (id, session_id, event_type, event_data, timestamp, received_at) "
        "SELECT gen_random_uuid(), %(playing)s, 'decision', '{}', now(), now() FROM generate_series(1, 6) RETURNING id",
        "SELECT event_type, event_data FROM game_events WHERE session_id = %(playing)s ORDER BY timestamp",
        "SELECT count(*) FILTER (WHERE total_score < 60), count(*) FROM sessions "
        "WHERE module_id = %(module)s AND status = 'completed'",
        "UPDATE sessions SET status = 'completed', completed_at = now(), final_scores = '{\"total\": 60}' "
        "WHERE id = %(playing)s RETURNING id",
        "SELECT total_score FROM sessions WHERE module_id = %(module)s AND status = 'completed' "
        "ORDER BY total_score OFFSET 100 LIMIT 2",
        "UPDATE sessions SET debrief_text = 'x', debrief_generated_at = now() WHERE id = %(playing)s RETURNING id",
    ],
    "sweep_abandoned": [
        "UPDATE sessions AS s SET status = 'abandoned' WHERE s.status = 'in_progress' AND "
        "COALESCE((SELECT max(e.received_at) FROM game_events e WHERE e.session_id = s.id), s.started_at) "
        "< now() - interval '120 minutes' RETURNING s.id",
    ],
    "sweep_overdue": [
        "UPDATE simulation_assignments SET status = 'overdue' WHERE status IN ('assigned', 'in_progress') "
        "AND due_date < current_date RETURNING id",
    ],
    "sweep_debriefs": [
        "SELECT id FROM sessions WHERE status = 'completed' AND debrief_generated_at IS NULL "
        "ORDER BY completed_at LIMIT 100",
    ],
    # Organizations, users and people (issue "Organizations, people and seats").
    "organizations_first": [
        "SELECT o.*, (SELECT count(*) FROM org_memberships m WHERE m.organization_id = o.id) FROM organizations o "
        "ORDER BY o.name, o.id LIMIT 25",
        "SELECT count(*) FROM organizations",
    ],
    "organizations_by_members": [
        "SELECT o.*, c.n FROM organizations o LEFT JOIN (SELECT organization_id, count(*) n FROM org_memberships "
        "GROUP BY organization_id) c ON c.organization_id = o.id ORDER BY c.n DESC NULLS LAST, o.id LIMIT 25",
        "SELECT count(*) FROM organizations",
    ],
    "users_first": [
        "SELECT u.*, o.name FROM users u LEFT JOIN organizations o ON o.id = u.organization_id "
        "ORDER BY u.created_at DESC, u.id LIMIT 25",
        "SELECT count(*) FROM users",
    ],
    "users_search": [
        "SELECT u.*, o.name FROM users u LEFT JOIN organizations o ON o.id = u.organization_id "
        "WHERE u.name ILIKE '%%smith%%' OR u.email ILIKE '%%smith%%' ORDER BY u.created_at DESC, u.id LIMIT 25",
        "SELECT count(*) FROM users WHERE name ILIKE '%%smith%%' OR email ILIKE '%%smith%%'",
    ],
    "users_by_sign_in": [
        "SELECT u.*, l.at FROM users u LEFT JOIN (SELECT user_id, max(created_at) AS at FROM login_sessions "
        "GROUP BY user_id) l ON l.user_id = u.id ORDER BY l.at DESC NULLS LAST, u.id LIMIT 25",
        "SELECT count(*) FROM users",
    ],
    "users_last": [
        "SELECT u.*, o.name FROM users u LEFT JOIN organizations o ON o.id = u.organization_id "
        "ORDER BY u.created_at DESC, u.id OFFSET %(offset)s LIMIT 25",
        "SELECT count(*) FROM users",
    ],
    "people_first": [
        "SELECT m.*, u.name, u.email FROM org_memberships m JOIN users u ON u.id = m.user_id "
        "WHERE m.organization_id = %(org)s ORDER BY u.name, m.id LIMIT 25",
        "SELECT count(*) FROM org_memberships WHERE organization_id = %(org)s",
    ],
    "people_search": [
        "SELECT m.*, u.name, u.email FROM org_memberships m JOIN users u ON u.id = m.user_id "
        "WHERE m.organization_id = %(org)s AND (u.name ILIKE '%%smith%%' OR u.email ILIKE '%%smith%%') "
        "ORDER BY u.name, m.id LIMIT 25",
        "SELECT count(*) FROM org_memberships m JOIN users u ON u.id = m.user_id WHERE m.organization_id = %(org)s "
        "AND (u.name ILIKE '%%smith%%' OR u.email ILIKE '%%smith%%')",
    ],
    "people_by_last_played": [
        "SELECT m.*, u.name, p.last FROM org_memberships m JOIN users u ON u.id = m.user_id LEFT JOIN "
        "(SELECT user_id, max(started_at) AS last FROM sessions WHERE organization_id = %(org)s GROUP BY user_id) p "
        "ON p.user_id = m.user_id WHERE m.organization_id = %(org)s ORDER BY p.last DESC NULLS LAST, m.id LIMIT 25",
        "SELECT count(*) FROM org_memberships WHERE organization_id = %(org)s",
    ],
    "people_last": [
        "SELECT m.*, u.name, u.email FROM org_memberships m JOIN users u ON u.id = m.user_id "
        "WHERE m.organization_id = %(org)s ORDER BY u.name, m.id OFFSET %(offset)s LIMIT 25",
        "SELECT count(*) FROM org_memberships WHERE organization_id = %(org)s",
    ],
    # Assignments and reports (issue "Assignments, progress, results and reports"), as the org admin.
    "assignments_first": [
        f"{_ASSIGNMENTS} WHERE a.organization_id = %(org)s ORDER BY a.due_date NULLS LAST, a.id LIMIT 25",
        "SELECT count(*) FROM simulation_assignments WHERE organization_id = %(org)s",
    ],
    "assignments_status": [
        f"{_ASSIGNMENTS} WHERE a.organization_id = %(org)s AND {_STATUS_NOW} = 'overdue' "
        "ORDER BY a.due_date NULLS LAST, a.id LIMIT 25",
        "SELECT count(*) FROM simulation_assignments a WHERE a.organization_id = %(org)s "
        f"AND {_STATUS_NOW} = 'overdue'",
    ],
    "assignments_last": [
        f"{_ASSIGNMENTS} WHERE a.organization_id = %(org)s ORDER BY a.due_date NULLS LAST, a.id "
        "OFFSET %(offset)s LIMIT 25",
        "SELECT count(*) FROM simulation_assignments WHERE organization_id = %(org)s",
    ],
    "report_completion": [
        "SELECT date_trunc('week', timezone('UTC', completed_at)), count(*) FROM simulation_assignments "
        "WHERE organization_id = %(org)s AND assigned_at >= %(period_start)s AND status = 'completed' "
        "AND completed_at IS NOT NULL GROUP BY 1 ORDER BY 1",
    ],
    "report_funnel": [
        "SELECT s.id, s.title, count(*), count(*) FILTER (WHERE a.started_at IS NOT NULL OR a.status IN "
        "('in_progress', 'completed')), count(*) FILTER (WHERE a.status = 'completed'), count(*) FILTER "
        "(WHERE a.passed) FROM simulation_assignments a JOIN simulations s ON s.id = a.simulation_id "
        "WHERE a.organization_id = %(org)s AND a.assigned_at >= %(period_start)s "
        "GROUP BY s.id, s.title ORDER BY 3 DESC, 2",
    ],
    "report_distribution": [
        "SELECT d.key, width_bucket((p.final_scores ->> d.key)::float8, 0, 100, 10), count(*) FROM sessions p "
        "JOIN modules m ON m.id = p.module_id CROSS JOIN (VALUES ('total')) AS d(key) "
        "WHERE m.simulation_id = %(report_simulation)s AND p.status = 'completed' AND p.final_scores ? d.key "
        "AND EXISTS (SELECT 1 FROM simulation_assignments a WHERE a.assigned_to_user_id = p.user_id "
        "AND a.simulation_id = m.simulation_id AND a.organization_id = %(org)s "
        "AND p.organization_id = a.organization_id AND a.assigned_at >= %(period_start)s) GROUP BY 1, 2",
    ],
    "progress_matrix": [
        "SELECT s.id, s.title FROM simulation_assignments a JOIN simulations s ON s.id = a.simulation_id "
        "WHERE a.organization_id = %(org)s GROUP BY 1, 2 ORDER BY 2, 1 LIMIT 41",
        "SELECT count(*) FROM (SELECT DISTINCT assigned_to_user_id FROM simulation_assignments "
        "WHERE organization_id = %(org)s) p",
        "WITH page AS (SELECT u.id, u.name FROM simulation_assignments a JOIN users u ON u.id = a.assigned_to_user_id "
        "WHERE a.organization_id = %(org)s GROUP BY 1, 2 ORDER BY 2, 1 LIMIT 25) "
        "SELECT a.* FROM simulation_assignments a JOIN page ON page.id = a.assigned_to_user_id "
        "WHERE a.organization_id = %(org)s ORDER BY a.assigned_at",
    ],
    "person_page": [
        "SELECT u.*, m.* FROM users u JOIN org_memberships m ON m.user_id = u.id WHERE u.id = %(participant)s "
        "AND m.organization_id = %(org)s",
        f"{_ASSIGNMENTS} WHERE a.organization_id = %(org)s AND a.assigned_to_user_id = %(participant)s "
        "ORDER BY a.assigned_at DESC LIMIT 100",
        "SELECT s.*, mo.title, si.title, si.scoring_config FROM sessions s JOIN modules mo ON mo.id = s.module_id "
        "JOIN simulations si ON si.id = mo.simulation_id WHERE s.user_id = %(participant)s "
        "AND s.organization_id = %(org)s ORDER BY s.started_at DESC, s.id LIMIT 201",
    ],
    "report_departments": [
        "SELECT m.department, count(*), avg(a.score) FROM simulation_assignments a LEFT JOIN org_memberships m "
        "ON m.user_id = a.assigned_to_user_id AND m.organization_id = a.organization_id WHERE a.organization_id = "
        "%(org)s AND a.assigned_at >= %(period_start)s AND a.status = 'completed' AND a.score IS NOT NULL GROUP BY 1",
        f"SELECT m.department, count(*), count(*) FILTER (WHERE {_STATUS_NOW} = 'overdue') FROM simulation_assignments "
        "a LEFT JOIN org_memberships m ON m.user_id = a.assigned_to_user_id AND m.organization_id = a.organization_id "
        "WHERE a.organization_id = %(org)s AND a.assigned_at >= %(period_start)s AND a.status <> 'completed' "
        "GROUP BY 1",
    ],
}


# What bench/pages.py explains at the larger size: the statements whose cost had grown with history.
EXPLAINED: dict[str, str] = {
    "dashboard: sessions in progress": "SELECT count(*) FROM sessions WHERE status = 'in_progress'",
    "dashboard: completed and average, 30 days": (
        "SELECT count(*), avg(total_score) FROM sessions WHERE status = 'completed' AND completed_at >= %(since)s"
    ),
    "dashboard: sessions a day, 30 days": (
        "SELECT started_at::date, count(*) FROM sessions WHERE started_at >= %(since)s GROUP BY 1"
    ),
    "dashboard: events, 24 hours": "SELECT count(*) FROM game_events WHERE received_at >= %(day)s",
    "dashboard: assignments by status": "SELECT status, count FROM assignment_counts WHERE organization_id = %(org)s",
    "completion: percentile": (
        "SELECT count(*) FILTER (WHERE total_score < 60), count(*) FROM sessions WHERE module_id = %(module)s "
        "AND status = 'completed' AND total_score IS NOT NULL AND id <> %(playing)s"
    ),
    "debrief: cohort median": (
        "SELECT total_score FROM sessions WHERE module_id = %(module)s AND status = 'completed' "
        "AND total_score IS NOT NULL AND id <> %(playing)s ORDER BY total_score OFFSET 1000 LIMIT 2"
    ),
    "audit log: a page after a cursor": (
        "SELECT * FROM audit_log WHERE (created_at, id) < (%(since)s, %(org)s) ORDER BY created_at DESC, id DESC "
        "LIMIT 26"
    ),
    "audit log: the count, capped": "SELECT count(*) FROM (SELECT 1 FROM audit_log LIMIT 1001) AS capped",
    "sweep: abandoned sessions": (
        "SELECT s.id FROM sessions s WHERE s.status = 'in_progress' AND COALESCE((SELECT max(e.received_at) "
        "FROM game_events e WHERE e.session_id = s.id), s.started_at) < %(idle)s"
    ),
    "sweep: overdue assignments": (
        "SELECT id FROM simulation_assignments WHERE status IN ('assigned', 'in_progress') AND due_date < current_date"
    ),
    "sweep: missing debriefs": (
        "SELECT id FROM sessions WHERE status = 'completed' AND debrief_generated_at IS NULL ORDER BY completed_at "
        "LIMIT 100"
    ),
    "engine: a player by email": "SELECT id FROM users WHERE lower(email) = lower(%(email)s)",
}
