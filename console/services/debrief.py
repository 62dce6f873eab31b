"""Debriefs: what a participant reads after a session, in Markdown.

The default generator is offline and deterministic (the same events always give the same text): the
outcome and total against the pass mark and the cohort; each dimension with its strongest and
weakest moments, traced to the decision events behind them; time taken on the key decisions; and
concrete suggestions for the weakest dimension.

Engine-supplied labels are untrusted: they are escaped for Markdown here and the console renders
debriefs through pages/components/markdown.py (an allow-list on the server, then NiceGUI's sanitizer).
"""

from __future__ import annotations

import logging
import re
import statistics
import uuid
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select, text
from sqlmodel import Session

from console.errors import ValidationFailed
from console.services import cohorts, scoring
from models import Module, PlaySession, Simulation
from models.base import utcnow
from models.enums import SessionStatus

log = logging.getLogger("simvado.debrief")
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~])")


def _md(value: object, limit: int = 120) -> str:
    text_value = " ".join(str(value).split())[:limit]
    return _MD_SPECIAL.sub(r"\\\1", text_value)


def _clock(seconds: float) -> str:
    seconds = max(0, int(seconds))
    return f"{seconds // 60}:{seconds % 60:02d}"


def _num(value: float) -> str:
    return f"{value:g}" if float(value).is_integer() else f"{value:.1f}"


@dataclass
class Decision:
    decision_id: str
    choice_id: str
    label: str | None
    at_seconds: float
    time_to_decide_ms: int | None
    impacts: dict[str, float] = field(default_factory=dict)

    def name(self) -> str:
        base = f"“{_md(self.label)}”" if self.label else f"decision {_md(self.decision_id)}"
        return f"{base} (choice {_md(self.choice_id)}, at {_clock(self.at_seconds)})"


def _decisions(events: list, started_at: datetime) -> list[Decision]:
    out = []
    for row in events:
        if row.type != "decision":
            continue
        data = row.event_data or {}
        out.append(
            Decision(
                decision_id=str(data.get("decision_id", "?")),
                choice_id=str(data.get("choice_id", "?")),
                label=data.get("label"),
                at_seconds=(row.timestamp - started_at).total_seconds(),
                time_to_decide_ms=data.get("time_to_decide_ms"),
                impacts={k: float(v) for k, v in (data.get("impacts") or {}).items()},
            )
        )
    return out


def generate(
    *,
    module_title: str,
    config: scoring.ScoringConfig,
    final_scores: dict,
    events: list,
    started_at: datetime,
    cohort: cohorts.Cohort,
) -> str:
    """The Markdown debrief of one completed session (pure: no database, no clock)."""
    total = float(final_scores.get("total", 0))
    passed = total >= config.pass_mark
    outcome = next(
        ((row.event_data or {}).get("outcome") for row in reversed(events) if row.type == "completion"), None
    )
    decisions = _decisions(events, started_at)
    lines = [f"# Debrief: {_md(module_title)}", ""]
    verdict = "passed" if passed else "did not pass"
    lines.append(
        f"**Outcome:** you {verdict} with a total of **{_num(total)}** against a pass mark of "
        f"{_num(config.pass_mark)}" + (f" — the story ended “{_md(outcome)}”." if outcome else ".")
    )
    if cohort.size:
        median = cohort.median
        comparison = "above" if total > median else "below" if total < median else "level with"
        percentile = final_scores.get("percentile")
        lines.append(
            f"Among {cohort.size} other completed session{'s' if cohort.size != 1 else ''} of this "
            f"module the median total is {_num(median)}: you are {comparison} it"
            + (f" (percentile {percentile})." if percentile is not None else ".")
        )
    else:
        lines.append("You are the first to complete this module, so there is no cohort to compare with yet.")
    lines += ["", "## Dimensions", ""]

    # Weakest = lowest share of its range, the dimension with the most room to grow.
    def share(dim: scoring.ScoringDimension) -> float:
        return (float(final_scores.get(dim.key, dim.min)) - dim.min) / (dim.max - dim.min)

    weakest = min(config.dimensions, key=lambda d: (share(d), -d.weight, d.key))
    for dim in config.dimensions:
        value = float(final_scores.get(dim.key, dim.min))
        lines.append(f"### {_md(dim.label)}: {_num(value)} of {_num(dim.max)}")
        moved = [d for d in decisions if d.impacts.get(dim.key)]
        if not moved:
            lines += ["No decision moved this dimension.", ""]
            continue
        best = max(moved, key=lambda d: (d.impacts[dim.key], -d.at_seconds))
        worst = min(moved, key=lambda d: (d.impacts[dim.key], d.at_seconds))
        if best.impacts[dim.key] > 0:
            lines.append(f"- Strongest moment: {best.name()}: {best.impacts[dim.key]:+g}.")
        if worst.impacts[dim.key] < 0:
            lines.append(f"- Weakest moment: {worst.name()}: {worst.impacts[dim.key]:+g}.")
        lines.append("")

    timed = [d for d in decisions if isinstance(d.time_to_decide_ms, int | float)]
    if timed:
        lines += ["## Time on key decisions", ""]
        key_decisions = sorted(timed, key=lambda d: (-sum(abs(v) for v in d.impacts.values()), d.at_seconds))[:5]
        for d in sorted(key_decisions, key=lambda d: d.at_seconds):
            swing = sum(abs(v) for v in d.impacts.values())
            lines.append(
                f"- {d.name()}: {d.time_to_decide_ms / 1000:.0f} s to decide, a swing of {_num(swing)} points."
            )
        average = statistics.mean(d.time_to_decide_ms for d in timed) / 1000
        lines += ["", f"On average you took {average:.0f} s per decision.", ""]

    lines += [f"## What to work on: {_md(weakest.label)}", ""]
    hurt = sorted(
        (d for d in decisions if d.impacts.get(weakest.key, 0) < 0),
        key=lambda d: (d.impacts[weakest.key], d.at_seconds),
    )
    for d in hurt[:3]:
        hint = ""
        if d.time_to_decide_ms is not None and d.time_to_decide_ms < 10_000:
            hint = " You decided in under ten seconds: slow down and weigh who is affected."
        lines.append(
            f"- Revisit {d.name()}: it cost {abs(d.impacts[weakest.key]):g} points of {_md(weakest.label)}. "
            f"Replay it and try another choice.{hint}"
        )
    helped = [d for d in decisions if d.impacts.get(weakest.key, 0) > 0]
    if helped:
        best = max(helped, key=lambda d: d.impacts[weakest.key])
        lines.append(f"- Do more of what worked in {best.name()}, which raised {_md(weakest.label)}.")
    lines.append(
        f"- Before each choice, ask how it affects {_md(weakest.label)} — it carries "
        f"{config.weight_shares()[weakest.key]:g}% of the total."
    )
    if not passed:
        gap = config.pass_mark - total
        lines.append(
            f"- You need {_num(gap)} more points of total to pass: {_md(weakest.label)} is the quickest route."
        )
    return "\n".join(lines).rstrip() + "\n"


LLM_SYSTEM_PROMPT = (
    "You write the debrief a participant reads after a business simulation. Use Markdown with short "
    "sections: outcome, each dimension's strongest and weakest moments, time on key decisions, and "
    "concrete suggestions for the weakest dimension. Use only the facts given; invent no numbers."
)
MAX_LLM_CHARS = 20_000


def llm_rewrite(default_text: str, *, settings=None) -> str | None:  # noqa: ANN001
    """Ask an OpenAI-compatible chat API for a debrief from the default one's facts; None on any failure.

    Configured by SIMVADO_LLM_BASE_URL (+ _API_KEY, _MODEL, _TIMEOUT_SECONDS). The default generator's
    text is both the facts given to the model and the fallback.
    """
    import httpx

    from console.config import get_settings

    settings = settings or get_settings()
    if not settings.llm_base_url:
        return None
    headers = {"Authorization": f"Bearer {settings.llm_api_key}"} if settings.llm_api_key else {}
    try:
        response = httpx.post(
            settings.llm_base_url.rstrip("/") + "/chat/completions",
            json={
                "model": settings.llm_model,
                "temperature": 0.2,
                "messages": [
                    {"role": "system", "content": LLM_SYSTEM_PROMPT},
                    {"role": "user", "content": "Facts (a draft debrief):\n\n" + default_text},
                ],
            },
            headers=headers,
            timeout=settings.llm_timeout_seconds,
        )
        response.raise_for_status()
        content = response.json()["choices"][0]["message"]["content"]
    except Exception as exc:  # any failure: the offline debrief stands
        log.warning("LLM debrief failed (%s); using the default generator", type(exc).__name__)
        return None
    if not isinstance(content, str) or not content.strip():
        return None
    return content.strip()[:MAX_LLM_CHARS] + "\n"


def write_for_session(*, session: Session, play_session_id: uuid.UUID) -> bool:
    """Generate and store the debrief of a completed session, unless it has one. Returns True if written."""
    play = session.execute(
        select(PlaySession).where(PlaySession.id == play_session_id).with_for_update()
    ).scalar_one_or_none()
    if play is None or play.status != SessionStatus.completed or play.debrief_generated_at is not None:
        return False
    module = session.get(Module, play.module_id)
    simulation = session.get(Simulation, module.simulation_id)
    try:
        config = scoring.parse_config(simulation.scoring_config)
    except ValidationFailed:
        config = None
    if config is None or not play.final_scores:
        play.debrief_text = "# Debrief\n\nThis module has no scoring configured, so there is no scored debrief.\n"
    else:
        events = session.execute(
            text(
                "SELECT CAST(event_type AS text) AS type, event_data, timestamp FROM game_events "
                "WHERE session_id = :sid ORDER BY timestamp, received_at"
            ),
            {"sid": play.id},
        ).all()
        cohort = cohorts.of_module(session=session, module_id=play.module_id, exclude=play.id)
        started = play.started_at
        if events and events[0].timestamp < started:
            started = events[0].timestamp
        default = generate(
            module_title=module.title,
            config=config,
            final_scores=play.final_scores,
            events=events,
            started_at=started,
            cohort=cohort,
        )
        play.debrief_text = llm_rewrite(default) or default
    play.debrief_generated_at = utcnow()
    session.add(play)
    session.flush()
    return True
