"""The default debrief: deterministic Markdown traced to the decision events behind each score."""

from __future__ import annotations

from collections import namedtuple
from datetime import UTC, datetime, timedelta

from console.services import debrief, scoring
from console.services.ingest import dimension_values
from tests.factories import SCORING

Row = namedtuple("Row", "type event_data timestamp")
T0 = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)


def _events():
    return [
        Row(
            "decision",
            {
                "decision_id": "d1",
                "choice_id": "c1",
                "label": "Call the board",
                "time_to_decide_ms": 5000,
                "impacts": {"financial": 15, "reputational": -20},
            },
            T0 + timedelta(seconds=65),
        ),
        Row("milestone", {"milestone_id": "m1"}, T0 + timedelta(seconds=90)),
        Row(
            "decision",
            {
                "decision_id": "d2",
                "choice_id": "c2",
                "label": "Leak *everything* <script>",
                "time_to_decide_ms": 42000,
                "impacts": {"reputational": 5, "financial": -3},
            },
            T0 + timedelta(seconds=130),
        ),
        Row("completion", {"outcome": "board satisfied"}, T0 + timedelta(seconds=300)),
    ]


def _generate(cohort=(40.0, 55.0, 70.0)):
    config = scoring.parse_config(SCORING)
    values = dimension_values(config, [(r.type, r.event_data) for r in _events()])
    final = scoring.compute_final_scores(config, values)
    final["percentile"] = 33
    return final, debrief.generate(
        module_title="Act One",
        config=config,
        final_scores=final,
        events=_events(),
        started_at=T0,
        cohort_totals=list(cohort),
    )


def test_debrief_traces_scores_to_decisions():
    final, text = _generate()
    assert final == {"financial": 62.0, "reputational": 35.0, "total": 51.2, "percentile": 33}
    assert text.startswith("# Debrief: Act One")
    assert "did not pass with a total of **51.2** against a pass mark of 60" in text
    assert "board satisfied" in text
    assert "median total is 55: you are below it (percentile 33)" in text
    assert "### Financial: 62 of 100" in text and "### Reputational: 35 of 100" in text
    assert "Strongest moment: “Call the board” (choice c1, at 1:05): +15" in text
    assert "Weakest moment: “Call the board” (choice c1, at 1:05): -20" in text
    assert "## Time on key decisions" in text and "5 s to decide" in text and "42 s to decide" in text
    assert "## What to work on: Reputational" in text
    assert "Revisit “Call the board”" in text and "under ten seconds" in text
    assert "8.8 more points" in text


def test_debrief_is_deterministic_and_escapes_engine_labels():
    assert _generate()[1] == _generate()[1]
    text = _generate()[1]
    assert "<script>" not in text and "\\<script\\>" in text and "\\*everything\\*" in text


def test_first_completion_has_no_cohort():
    _, text = _generate(cohort=())
    assert "first to complete this module" in text
