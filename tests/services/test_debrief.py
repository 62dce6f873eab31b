"""The default debrief: deterministic Markdown traced to the decision events behind each score."""

from __future__ import annotations

import statistics
from collections import namedtuple
from datetime import UTC, datetime, timedelta

from console.services import cohorts, debrief, scoring
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
        cohort=cohorts.Cohort(size=len(cohort), median=statistics.median(cohort) if cohort else None),
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


class _ChatServer:
    """A local HTTP server speaking the OpenAI chat-completions protocol (or failing, on demand)."""

    def __init__(self, status: int = 200, content: str = "# Your debrief\n\nWell played.") -> None:
        import json
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.requests: list[dict] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                outer.requests.append({"path": self.path, "auth": self.headers.get("Authorization"), "body": body})
                payload = json.dumps(
                    {
                        "id": "x",
                        "object": "chat.completion",
                        "choices": [
                            {"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}
                        ],
                    }
                ).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()


def test_llm_debrief_through_an_openai_compatible_server():
    from console.config import Settings

    server = _ChatServer()
    try:
        settings = Settings(llm_base_url=server.url, llm_api_key="local-key", llm_model="tiny")
        _, default = _generate()
        text = debrief.llm_rewrite(default, settings=settings)
    finally:
        server.close()
    assert text == "# Your debrief\n\nWell played.\n"
    request = server.requests[0]
    assert request["path"] == "/v1/chat/completions" and request["auth"] == "Bearer local-key"
    assert request["body"]["model"] == "tiny"
    assert "Call the board" in request["body"]["messages"][1]["content"]  # the facts go to the model


def test_llm_failure_falls_back_to_the_default():
    from console.config import Settings

    server = _ChatServer(status=500)
    try:
        assert debrief.llm_rewrite("draft", settings=Settings(llm_base_url=server.url)) is None
    finally:
        server.close()
    # Nothing listening, or not configured at all: also no LLM text.
    assert (
        debrief.llm_rewrite("draft", settings=Settings(llm_base_url="http://127.0.0.1:9", llm_timeout_seconds=1))
        is None
    )
    assert debrief.llm_rewrite("draft", settings=Settings()) is None


def test_percentile_and_median_follow_their_definitions_on_a_hand_checked_cohort(session):
    """Cohort of module M: totals 40, 55, 55, 70, 90 (completed) — plus one abandoned and one unscored
    completed session, which are not part of it."""
    from models import PlaySession
    from models.enums import SessionStatus, UserRole
    from tests.factories import make_module, make_simulation, make_user

    player = make_user(session, role=UserRole.individual)
    module = make_module(session, make_simulation(session))
    made = []
    for total, status in [(40, "completed"), (55, "completed"), (55, "completed"), (70, "completed"),
                          (90, "completed"), (99, "abandoned"), (None, "completed")]:  # fmt: skip
        play = PlaySession(
            user_id=player.id,
            module_id=module.id,
            status=SessionStatus(status),
            final_scores={"total": total} if total is not None else None,
        )
        session.add(play)
        made.append(play)
    session.flush()
    this = made[3]  # the 70
    # 3 of the 5 scored completed sessions (this one included) scored lower than 70: 60th percentile.
    assert cohorts.percentile(session=session, module_id=module.id, total=70, exclude=this.id) == 60
    assert cohorts.percentile(session=session, module_id=module.id, total=55, exclude=made[1].id) == 20
    others = cohorts.of_module(session=session, module_id=module.id, exclude=this.id)
    assert others == cohorts.Cohort(size=4, median=55.0)  # 40, 55, 55, 90: the mean of 55 and 55
    odd = cohorts.of_module(session=session, module_id=module.id, exclude=made[0].id)
    assert odd == cohorts.Cohort(size=4, median=62.5)  # 55, 55, 70, 90: the mean of 55 and 70
    session.delete(made[4])
    session.flush()
    assert cohorts.of_module(session=session, module_id=module.id, exclude=made[0].id) == cohorts.Cohort(3, 55.0)
