"""Completed assignments' results from the sessions already loaded (the demo sets bulk-insert
assignments, so they fill in what `assignments.status.record_completion` would have written)."""

# The mean of each published module's latest completed total; passed against the pass mark (60 when
# the config leaves it out; NULL without a scoring config).
RESULTS_FROM_SESSIONS = """
UPDATE simulation_assignments a
SET score = r.score,
    passed = CASE WHEN s.scoring_config IS NULL OR r.score IS NULL THEN NULL
                  ELSE r.score >= coalesce((s.scoring_config ->> 'pass_mark')::double precision, 60) END
FROM (
    SELECT a2.id, round(avg(latest.total)::numeric, 1)::double precision AS score
    FROM simulation_assignments a2
    JOIN modules m ON m.simulation_id = a2.simulation_id AND m.status = 'published'
    JOIN LATERAL (
        SELECT ps.total_score AS total FROM sessions ps
        WHERE ps.user_id = a2.assigned_to_user_id AND ps.module_id = m.id AND ps.status = 'completed'
          AND ps.organization_id = a2.organization_id
        ORDER BY ps.completed_at DESC LIMIT 1
    ) latest ON true
    WHERE a2.status = 'completed' AND a2.score IS NULL
    GROUP BY a2.id
) r, simulations s
WHERE r.id = a.id AND s.id = a.simulation_id
"""
