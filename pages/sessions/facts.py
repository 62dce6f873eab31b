"""The facts of a session's page: every column of the session in a grid, each scoring dimension's chart
over the session's time, and the final scores against the pass mark. Values are text (labels) or chart
data; names people or engines chose are set as values, never parsed from a props string."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from nicegui import ui

from console.services.sessions.detail import Header, ScoreChart
from models.enums import SessionStatus
from pages.layout import MUTED, Heading
from pages.sessions.page import duration_text
from pages.sessions.timeline import clock


def _when(value: datetime | None) -> str:
    return f"{value.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC" if value else "—"


def _tagged(text: str, tag: str) -> ui.label:
    label = ui.label(text)  # text, whatever it holds
    label.tag = tag
    return label


def header_facts(header: Header) -> None:
    """Every seed column of `sessions`, the module's build and the player, as label: value pairs."""
    seconds = header.total_duration_seconds
    facts = [
        ("Player", f"{header.player_name} <{header.player_email}>"),
        ("Organization", header.organization_name or "— (played as an individual)"),
        ("Simulation", header.simulation_title),
        ("Module", header.module_title),
        ("Build version", header.build_version or "—"),
        ("Platform", header.platform.value if header.platform else "—"),
        ("Started", _when(header.started_at)),
        ("Completed", _when(header.completed_at)),
        ("Duration (engine)", "—" if seconds is None else f"{clock(seconds)} ({seconds:,} s)"),
        ("Running time", duration_text(header.duration_seconds, header.status)),
        ("Last event received", _when(header.last_event_at)),
        ("Events", f"{header.event_count:,}"),
        ("External session id", header.external_session_id or "—"),
        ("Launch URL", header.launch_url or "—"),
        ("Debrief generated", _when(header.debrief_generated_at)),
        ("Final scores", json.dumps(header.final_scores, ensure_ascii=False) if header.final_scores else "—"),
        ("Session id", str(header.id)),
        ("Player id", str(header.user_id)),
        ("Module id", str(header.module_id)),
        ("Organization id", str(header.organization_id) if header.organization_id else "—"),
        ("Started with key", f"{header.api_key_prefix}…" if header.api_key_prefix else "—"),
    ]
    grid = "grid-template-columns: repeat(auto-fill, minmax(9rem, 11rem) minmax(14rem, 1fr))"
    with ui.card().classes("w-full").mark("session-facts"), ui.element("dl").classes("grid gap-x-4 gap-y-1 w-full"):
        ui.context.slot.parent.style(grid)
        for name, value in facts:
            _tagged(name, "dt").classes(f"{MUTED} text-sm")
            _tagged(value, "dd").classes("text-sm break-all m-0")


def score_charts(chart: ScoreChart) -> None:
    """A chart per dimension: its value over the session's time, within its range."""
    Heading("Scores over time", level=3).classes("text-subtitle1 font-medium")
    if not chart.configured:
        ui.label("The simulation has no valid scoring configuration: nothing to chart.").classes(MUTED)
        return
    ui.label(
        "Each dimension starts mid-range; decisions move it, score updates and the completion set it. "
        "Minutes on the engine's clock from the start."
    ).classes(f"{MUTED} text-caption")
    with (
        ui.element("div")
        .classes("grid gap-2 w-full")
        .style("grid-template-columns: repeat(auto-fill, minmax(18rem, 1fr))")
    ):
        for dim in chart.dimensions:
            points = chart.series.get(dim.key, [])
            data = [[round(at / 60, 2), round(value, 2)] for at, value in points]
            options = {
                "animation": False,
                "title": {"text": dim.label, "textStyle": {"fontSize": 13, "fontWeight": 500}},
                "tooltip": {"trigger": "axis"},
                "grid": {"left": 36, "right": 12, "top": 32, "bottom": 24},
                "xAxis": {"type": "value", "min": 0, "name": "min", "nameGap": 4},
                "yAxis": {"type": "value", "min": dim.minimum, "max": dim.maximum},
                "series": [{"type": "line", "step": "end", "showSymbol": False, "name": dim.label, "data": data}],
            }
            element = ui.echart(options).classes("w-full h-44").props('role="img"').mark("dimension-chart")
            plural = "s" if len(points) != 1 else ""
            shown = f"{len(points)} point{plural}, ending at {points[-1][1]:g}." if points else "no points."
            element.props["aria-label"] = f"Line chart of {dim.label} from {dim.minimum:g} to {dim.maximum:g}: {shown}"


def final_scores(chart: ScoreChart, status: SessionStatus) -> None:
    """Each dimension's final value on its range, and the total against the pass mark."""
    Heading("Final scores", level=3).classes("text-subtitle1 font-medium")
    if chart.total is None:
        ui.label(
            "Scores are final when the session completes."
            if status == SessionStatus.in_progress
            else "No final scores."
        ).classes(MUTED).mark("scores-none")
        return
    with ui.column().classes("w-full gap-1").mark("final-scores"):
        for dim in chart.dimensions:
            if dim.final is None:
                continue
            share = (dim.final - dim.minimum) / (dim.maximum - dim.minimum)
            _bar(dim.label, share, f"{dim.final:g} / {dim.maximum:g}", f"{dim.label}: {dim.final:g} of {dim.maximum:g}")
        passed = chart.passed
        color = "positive" if passed else "negative"
        pass_mark = f"pass mark {chart.pass_mark:g}" if chart.pass_mark is not None else "no pass mark"
        _bar("Total", chart.total / 100, f"{chart.total:g} / 100", f"Total: {chart.total:g} of 100, {pass_mark}",
             color=color)  # fmt: skip
        verdict = {True: "Passed", False: "Not passed", None: ""}[passed]
        extra = f" · percentile {chart.percentile:g}" if chart.percentile is not None else ""
        ui.label(f"{verdict} ({pass_mark}){extra}").classes(
            "font-medium " + ("text-green-9" if passed else "text-red-9")
        ).mark("scores-verdict")


def _bar(name: str, share: float, shown: str, spoken: str, *, color: str = "primary") -> None:
    with ui.row().classes("w-full items-center no-wrap gap-2"):
        ui.label(name).classes("w-36 text-sm truncate").tooltip(name)
        bar = ui.linear_progress(value=max(0.0, min(1.0, share)), show_value=False, size="10px", color=color)
        bar.classes("grow")
        bar.props["aria-label"] = spoken  # a value: a dimension's label is a creator's text
        ui.label(shown).classes("w-24 text-right text-sm whitespace-nowrap")
