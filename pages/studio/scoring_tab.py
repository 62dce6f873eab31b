"""The scoring tab: dimensions, weights and the pass mark, checked as they are typed, with a try-it panel
that computes a total the way the engine API will."""

from __future__ import annotations

from nicegui import ui

from console.auth import Actor
from console.errors import ValidationFailed
from console.services import scoring, simulations
from models import Simulation
from pages.components import calls, conflicts
from pages.components.buttons import icon_button


def scoring_tab(actor: Actor, sim: Simulation, *, editable: bool, held: conflicts.Held) -> None:
    config = sim.scoring_config or {}
    rows: list[dict] = [
        {
            "key": d.get("key", ""),
            "label": d.get("label", ""),
            "weight": d.get("weight", 1),
            "min": d.get("min", 0),
            "max": d.get("max", 100),
        }
        for d in config.get("dimensions", [])
        if isinstance(d, dict)
    ] or [{"key": "", "label": "", "weight": 50, "min": 0, "max": 100}]
    form = {"pass_mark": config.get("pass_mark", 60)}
    samples: dict[str, float | None] = {}

    def current() -> dict:
        return {
            "dimensions": [
                {
                    "key": (r["key"] or "").strip(),
                    "label": (r["label"] or "").strip(),
                    "weight": r["weight"],
                    "min": r["min"],
                    "max": r["max"],
                }
                for r in rows
            ],
            "pass_mark": form["pass_mark"],
        }

    def parsed() -> tuple[scoring.ScoringConfig | None, dict[str, str]]:
        try:
            return scoring.parse_config(current()), {}
        except ValidationFailed as exc:
            return None, exc.details

    @ui.refreshable
    def status_panel() -> None:
        valid, problems = parsed()
        with ui.column().classes("gap-0").mark("scoring-status"):
            if valid:
                shares = valid.weight_shares()
                ui.label("Valid. Weights as shares: " + ", ".join(f"{k} {v}%" for k, v in shares.items())).classes(
                    "text-positive"
                )
            else:
                ui.label("Not valid yet:").classes("text-negative font-medium")
                for where, what in problems.items():
                    ui.label(f"{_where(where, rows)}: {what}").classes("text-negative").mark("scoring-error")

    def changed() -> None:
        shares_row.refresh()
        status_panel.refresh()
        try_it.refresh()

    @ui.refreshable
    def shares_row() -> None:
        total = sum(float(r["weight"] or 0) for r in rows if isinstance(r["weight"], int | float) and r["weight"] > 0)
        for index, row in enumerate(rows):
            weight = row["weight"] if isinstance(row["weight"], int | float) and row["weight"] > 0 else 0
            share = 100 * weight / total if total else 0
            with ui.row().classes("items-center gap-2 w-full"):
                ui.label(row["key"] or f"row {index + 1}").classes("w-32 text-grey-8")
                bar = ui.linear_progress(value=share / 100, show_value=False, size="10px").classes("w-64")
                bar._props["aria-label"] = f"{row['key'] or f'row {index + 1}'}: share of the total"
                ui.label(f"{share:.1f}%").mark(f"dim-share-{index}")

    @ui.refreshable
    def dimension_rows() -> None:
        for index, row in enumerate(rows):
            with ui.row().classes("items-center gap-2 no-wrap w-full").mark(f"dim-row-{index}"):
                for field, label, width in (("key", "Key", "w-36"), ("label", "Label", "w-56")):
                    ui.input(label, on_change=changed).props("outlined dense maxlength=100").classes(width).bind_value(
                        row, field
                    ).mark(f"dim-{field}-{index}").set_enabled(editable)
                for field, label in (("weight", "Weight"), ("min", "Min"), ("max", "Max")):
                    ui.number(label, on_change=changed).props("outlined dense").classes("w-24").bind_value(
                        row, field
                    ).mark(f"dim-{field}-{index}").set_enabled(editable)
                if editable:
                    icon_button("delete", f"Remove dimension {index + 1}", lambda i=index: remove(i)).mark(
                        f"dim-remove-{index}"
                    )

    def add() -> None:
        rows.append({"key": "", "label": "", "weight": 10, "min": 0, "max": 100})
        dimension_rows.refresh()
        changed()

    def remove(index: int) -> None:
        rows.pop(index)
        dimension_rows.refresh()
        changed()

    @ui.refreshable
    def try_it() -> None:
        valid, _ = parsed()
        if not valid:
            ui.label("Fix the configuration to try it.").classes("text-grey-8")
            return
        result = ui.label("").classes("text-body1 font-medium").mark("tryit-result")

        def compute() -> None:
            values = {k: v for k, v in samples.items() if v is not None}
            scores = scoring.compute_final_scores(valid, values)  # the engine API's own function
            verdict = "pass" if scoring.passed(valid, scores) else "fail"
            result.text = f"Total {scores['total']} → {verdict} (pass mark {valid.pass_mark:g})"

        with ui.row().classes("items-center gap-2 flex-wrap"):
            for dim in valid.dimensions:
                ui.number(
                    f"{dim.label} ({dim.min:g}–{dim.max:g})",
                    value=samples.get(dim.key),
                    on_change=lambda e, k=dim.key: (samples.__setitem__(k, e.value), compute()),
                ).props("outlined dense").classes("w-44").mark(f"tryit-{dim.key}")
        compute()

    async def save() -> None:
        valid, problems = parsed()
        if not valid:
            ui.notify("The scoring configuration is invalid: " + "; ".join(problems.values()), type="warning")
            return
        data = {"scoring_config": valid.model_dump()}

        saved = await calls.submit(
            simulations.update,
            on_stale=conflicts.resolver(held, yours=data, labels={"scoring_config": "Scoring"}, retry=save),
            simulation_id=sim.id,
            data=data,
            version=held.version,
        )
        if saved is calls.REFUSED:
            return
        held.version = saved.version
        ui.notify("Scoring saved.", type="positive")

    with ui.card().classes("w-full max-w-5xl").mark("scoring-editor"):
        ui.label("Dimensions").classes("text-subtitle2")
        with ui.column().classes("gap-2 w-full"):
            dimension_rows()
        with ui.row().classes("items-center gap-3"):
            if editable:
                ui.button("Add dimension", icon="add", on_click=add).props("outline no-caps").mark("dim-add")
            ui.number("Pass mark (0–100)", min=0, max=100, on_change=changed).props("outlined dense").classes(
                "w-40"
            ).bind_value(form, "pass_mark").mark("scoring-pass-mark").set_enabled(editable)
        ui.label("Weights as shares of 100%").classes("text-subtitle2 mt-2")
        shares_row()
        status_panel()
        if editable:
            with ui.row().classes("w-full justify-end"):
                ui.button("Save scoring", icon="save", on_click=save).props("unelevated color=primary").mark(
                    "scoring-save"
                )
    with ui.card().classes("w-full max-w-5xl").mark("tryit"):
        ui.label("Try it: sample values → the total and pass/fail an engine session would get").classes(
            "text-subtitle2"
        )
        try_it()


def _where(location: str, rows: list[dict]) -> str:
    parts = location.split(".")
    if parts[0] == "dimensions" and len(parts) > 1 and parts[1].isdigit():
        index = int(parts[1])
        key = rows[index]["key"] if index < len(rows) and rows[index]["key"] else f"row {index + 1}"
        return f"dimension {key}" + (f" {parts[2]}" if len(parts) > 2 else "")
    return location.replace("_", " ")
