"""/reports: charts of an organization's assignments, with the numbers behind each, and exports.

Enterprise admins see their organization; platform admins every organization or the one they pick.
The filters are the assignments list's (console/services/assignments/progress.py) and live in the URL
(`?organization_id=…&simulation_id=…&department=…&status=…&due=…&search=…`), so a report can be
bookmarked and shared; Back and Forward walk through the changes. Every chart and both exports follow
them. Each chart is an image to screen readers (role="img" with a description); its numbers, one
click away in "The numbers", are the accessible alternative.
"""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import parse_qsl, urlencode

from nicegui import ui

from console.auth import Actor, Permission
from console.errors import DomainError
from console.services.assignments import assigning, progress, reports
from console.services.assignments.exports import ExportKind
from console.services.listing import ListQuery
from console.services.people import departments, scope
from models.enums import AssignmentStatus
from pages.access import secured_page
from pages.components import calls
from pages.components.exporting import export_buttons
from pages.components.pickers import SearchSelect
from pages.layout import MUTED, Heading, frame

PATH = "/reports"
FILTERS = ("organization_id", "simulation_id", "department", "status", "due", "user_id", "assigned")
# Reports open on the assignments made in the last 30 days (`assigned`): recent work, and a report
# that costs the same after years of history. "All time" is one choice away.
DEFAULT_PERIOD = "30"
STATUS_OPTIONS = {s.value: s.value.replace("_", " ").capitalize() for s in AssignmentStatus}
FUNNEL_STAGES = (("assigned", "Assigned"), ("started", "Started"), ("completed", "Completed"), ("passed", "Passed"))
CHART_ROWS = 15  # simulations or departments drawn in a chart; the numbers have them all

# Back and Forward between views of the report: tell the server which view (a constant script).
_POPSTATE = """<script>
if (!window.simvadoReports) {
  window.simvadoReports = true;
  window.addEventListener('popstate', () => emitEvent('simvado_reports_popstate', window.location.search));
}
</script>"""


def _columns(*pairs: tuple[str, str]) -> list[dict[str, Any]]:
    return [{"name": n, "label": label, "field": n, "align": "left", "sortable": True} for n, label in pairs]


TITLES = {  # each chart's card title, by its marker
    "completion": "Completed per week",
    "funnel": "From assigned to passed",
    "distribution": "Score distribution",
    "averages": "Average score by department",
    "overdue": "Overdue by department",
}


def _numbers(marker: str, columns: list[dict[str, Any]], rows: list[dict[str, Any]]) -> None:
    expansion = ui.expansion("The numbers", icon="table_rows").classes("w-full").mark(f"{marker}-numbers")
    # Five of these on one page: a screen reader hears which chart's numbers each one opens.
    expansion.props["toggle-aria-label"] = f"The numbers behind “{TITLES[marker]}”"
    with expansion:
        ui.table(columns=columns, rows=rows, row_key="id", pagination={"rowsPerPage": 15}).props(
            "dense flat bordered"
        ).classes("w-full").mark(f"{marker}-table")


def _chart(options: dict[str, Any], marker: str, description: str, height: str = "h-64") -> None:
    chart = ui.echart({"animation": False, "tooltip": {"trigger": "axis"}, **options})
    chart.classes(f"w-full {height}").props('role="img"').mark(marker)
    # Set as a value, never parsed from a props string: it holds department names and titles people typed.
    chart.props["aria-label"] = description


def _card(title: str, caption: str) -> ui.card:
    card = ui.card().classes("w-full")
    with card:
        Heading(title, level=2).classes("text-subtitle1 font-medium")
        ui.label(caption).classes(f"{MUTED} text-sm")
    return card


def _empty(marker: str, text: str) -> None:
    ui.label(text).classes(MUTED).mark(f"{marker}-empty")


@secured_page(PATH, title="Reports", permission=Permission.manage_organization)
async def reports_page(actor: Actor):
    request = ui.context.client.request
    with frame(actor, "Reports", breadcrumbs=[("Reports", None)]):
        view = ReportView(actor, dict(request.query_params))
        await view.draw()


class ReportView:
    def __init__(self, actor: Actor, params: dict[str, str]) -> None:
        self.actor = actor
        self.platform = actor.can(Permission.manage_platform)
        self.filters: dict[str, str] = {}
        self.search = ""
        self._apply(params)
        self.titles: dict[str, str] = {}

    # ---------------------------------------------------------------------------------------- state

    def _apply(self, params: dict[str, str]) -> None:
        self.filters = {name: (params.get(name) or "")[:255] for name in FILTERS}
        self.filters["assigned"] = self.filters["assigned"] or DEFAULT_PERIOD
        if not self.platform:
            self.filters["organization_id"] = ""  # their own, whatever the address says
        self.search = (params.get("search") or "")[:200]

    def query(self) -> ListQuery:
        return ListQuery(search=self.search, filters={k: v for k, v in self.filters.items() if v})

    def _url(self) -> str:
        params = {k: v for k, v in self.filters.items() if v and not (k == "assigned" and v == DEFAULT_PERIOD)}
        if self.search:
            params["search"] = self.search
        return f"{PATH}?{urlencode(params)}" if params else PATH

    async def _set(self, name: str, value: str | None) -> None:
        value = (value or "").strip()
        if name == "search":
            if value == self.search:
                return
            self.search = value
            ui.navigate.history.replace(self._url())  # typing is not a step to go Back through
        else:
            if value == self.filters.get(name, ""):
                return
            self.filters[name] = value
            if name == "organization_id":
                self.filters["department"] = ""  # another organization's departments
                await self.toolbar.refresh()
            ui.navigate.history.push(self._url())
        await self.body.refresh()

    async def _on_popstate(self, e) -> None:  # noqa: ANN001
        self._apply(dict(parse_qsl(str(e.args or "").lstrip("?"))))
        await self.toolbar.refresh()
        await self.body.refresh()

    # -------------------------------------------------------------------------------------- drawing

    async def draw(self) -> None:
        ui.add_body_html(_POPSTATE)
        ui.on("simvado_reports_popstate", self._on_popstate)
        ui.label(
            "Every chart and export follows these filters, the same as the assignments list, over the "
            "assignments made in the chosen period. Status is as of today; times are UTC."
        ).classes(MUTED)
        self.toolbar = ui.refreshable(self._toolbar)
        await self.toolbar()
        with ui.card().classes("w-full").mark("exports"):
            Heading("Export", level=2).classes("text-subtitle1 font-medium")
            with ui.row().classes("gap-8"):
                export_buttons(ExportKind.progress, self.query, owner=self.actor)
                export_buttons(ExportKind.results, self.query, owner=self.actor)
        self.body = ui.refreshable(self._body)
        await self.body()

    async def _toolbar(self) -> None:
        with ui.row().classes("w-full items-center gap-2").mark("report-filters"):
            organization = self.filters["organization_id"] or None
            if self.platform:

                async def find_orgs(text: str) -> dict[str, str]:
                    return await calls.read(scope.organization_options, search=text)

                org_picker = SearchSelect(
                    "Organization", find_orgs, value=organization, value_label=self.titles.get(organization or ""),
                    none_label="All organizations", on_change=lambda e: self._set("organization_id", e.value),
                )  # fmt: skip
                org_picker.props(remove="hint").props("dense outlined options-dense").classes("w-56")
                org_picker.mark("filter-organization_id")
                await org_picker.load()

            async def find_simulations(text: str) -> dict[str, str]:
                return await calls.read(assigning.simulation_options, search=text)

            sim_id = self.filters["simulation_id"] or None
            sim_picker = SearchSelect(
                "Simulation", find_simulations, value=sim_id, value_label=self.titles.get(sim_id or ""),
                none_label="All simulations", on_change=lambda e: self._set("simulation_id", e.value),
            )  # fmt: skip
            sim_picker.props(remove="hint").props("dense outlined options-dense").classes("w-56")
            sim_picker.mark("filter-simulation_id")
            await sim_picker.load()

            if not self.platform or organization:
                names = await self._departments(organization)
                options = {"": "Any", progress.NO_DEPARTMENT: "No department", **{n: n for n in names}}
                value = self.filters["department"] if self.filters["department"] in options else ""
                ui.select(options, label="Department", value=value,
                          on_change=lambda e: self._set("department", e.value)).props(
                    "dense outlined options-dense").classes("w-44").mark("filter-department")  # fmt: skip
                await self._person_picker(organization)
            for name, label, choices in (
                ("status", "Status", STATUS_OPTIONS),
                ("due", "Due", progress.DUE_WINDOWS),
            ):
                value = self.filters[name] if self.filters[name] in choices else ""
                ui.select({"": "Any", **choices}, label=label, value=value,
                          on_change=lambda e, n=name: self._set(n, e.value)).props(
                    "dense outlined options-dense").classes("w-40").mark(f"filter-{name}")  # fmt: skip
            period = self.filters["assigned"] if self.filters["assigned"] in progress.ASSIGNED_PERIODS else ""
            ui.select(progress.ASSIGNED_PERIODS, label="Assigned", value=period or None,
                      on_change=lambda e: self._set("assigned", e.value or DEFAULT_PERIOD)).props(
                "dense outlined options-dense").classes("w-40").mark("filter-assigned")  # fmt: skip
            ui.input(placeholder="Person's name or email", value=self.search,
                     on_change=lambda e: self._set("search", e.value)).props(
                'dense outlined clearable debounce=400 type=search aria-label="Search people"').classes(
                "w-56").mark("filter-search")  # fmt: skip

    async def _person_picker(self, organization: str | None) -> None:
        """One person's assignments (`user_id`), among the organization's members."""
        try:
            org_id = uuid.UUID(organization) if organization else None
        except ValueError:
            return  # a mangled organization in the address: the report says so, no picker for it

        async def find_people(text: str) -> dict[str, str]:
            try:
                return await calls.read(assigning.people_options, organization_id=org_id, search=text)
            except DomainError:
                return {}

        chosen = self.filters["user_id"] or None
        label = None
        if chosen:
            try:
                label = await calls.read(assigning.person_label, organization_id=org_id, user_id=uuid.UUID(chosen))
            except (ValueError, DomainError):
                label = None
        picker = SearchSelect(
            "Person", find_people, value=chosen, value_label=label or ("Unknown person" if chosen else None),
            none_label="Everyone", on_change=lambda e: self._set("user_id", e.value),
        )  # fmt: skip
        picker.props(remove="hint").props("dense outlined options-dense").classes("w-56").mark("filter-user_id")
        await picker.load()

    async def _departments(self, organization: str | None) -> list[str]:
        try:
            org_id = uuid.UUID(organization) if organization else None
            return await calls.read(departments.names, organization_id=org_id)
        except (ValueError, DomainError):
            return []

    async def _body(self) -> None:
        try:
            report = await calls.read(reports.build, query=self.query())
        except DomainError as exc:
            ui.label(exc.message).classes("text-negative").props("role=alert").mark("report-error")
            return
        if report.distribution is not None:
            self.titles[str(report.distribution.simulation_id)] = report.distribution.simulation_title
        filtered = any(v for k, v in self.filters.items() if k != "assigned") or bool(self.search)
        period = self.filters["assigned"]
        with ui.row().classes("items-center gap-2"):
            ui.label(f"{report.total:,} {'assignment' if report.total == 1 else 'assignments'}").classes(
                "text-subtitle2"
            ).mark("report-total")
            ui.label(f"as of {report.as_of.isoformat()}").classes(MUTED)
        if report.total == 0:
            _empty(
                "report",
                "No assignments match these filters. Clear a filter, or choose a longer period, to widen the view."
                if filtered
                else f"Nothing was assigned in the {progress.ASSIGNED_PERIODS[period].lower()}. Choose a longer "
                "period under Assigned to see earlier work."
                if period in progress.ASSIGNED_PERIODS and period != "all"
                else "Nothing has been assigned yet. Assign a simulation to people on Assignments; its "
                "progress and results appear here as they play.",
            )
        with_org = report.organizations > 1
        _completion(report)
        _funnel(report)
        _distribution(report)
        _averages(report, with_org)
        _overdue(report, with_org)


def _completion(report: reports.Report) -> None:
    weeks = report.weeks
    with _card(TITLES["completion"], "Assignments completed each week (weeks start on Monday, UTC).").mark(
        "completion-card"
    ):
        if not weeks:
            _empty("completion", "None of these assignments has been completed yet.")
            return
        total = sum(w.completed for w in weeks)
        peak = max(weeks, key=lambda w: w.completed)
        _chart(
            {
                "grid": {"left": 40, "right": 16, "top": 16, "bottom": 30},
                "xAxis": {"type": "category", "data": [w.week.isoformat() for w in weeks]},
                "yAxis": {"type": "value", "minInterval": 1, "min": 0},
                "series": [{"type": "bar", "name": "Completed", "data": [w.completed for w in weeks]}],
            },
            "completion-chart",
            f"Bar chart: {total} assignments completed over {len(weeks)} weeks from {weeks[0].week} to "
            f"{weeks[-1].week}; the most, {peak.completed}, in the week of {peak.week}.",
        )
        _numbers(
            "completion",
            _columns(("week", "Week of"), ("completed", "Completed")),
            [{"id": w.week.isoformat(), "week": w.week.isoformat(), "completed": w.completed} for w in reversed(weeks)],
        )


def _funnel(report: reports.Report) -> None:
    rows = report.funnel
    with _card(TITLES["funnel"], "Per simulation: assigned, started, completed and passed.").mark("funnel-card"):
        if not rows:
            _empty("funnel", "No assignments match these filters.")
            return
        shown = list(reversed(rows[:CHART_ROWS]))  # the most assigned at the top
        _chart(
            {
                "grid": {"left": 160, "right": 16, "top": 30, "bottom": 30},
                "legend": {"top": 0},
                "tooltip": {"trigger": "axis", "axisPointer": {"type": "shadow"}},
                "xAxis": {"type": "value", "minInterval": 1, "min": 0},
                "yAxis": {"type": "category", "data": [r.title[:40] for r in shown]},
                "series": [
                    {"type": "bar", "name": label, "data": [getattr(r, key) for r in shown]}
                    for key, label in FUNNEL_STAGES
                ],
            },
            "funnel-chart",
            "Bar chart per simulation, "
            + "; ".join(
                f"{r.title}: {r.assigned} assigned, {r.started} started, {r.completed} completed, {r.passed} passed"
                for r in rows[:5]
            )
            + ("; more in the numbers." if len(rows) > 5 else "."),
            height="h-72" if len(shown) > 4 else "h-56",
        )
        if len(rows) > CHART_ROWS:
            ui.label(f"The {CHART_ROWS} most assigned of {len(rows)} simulations; the numbers have all.").classes(
                f"{MUTED} text-sm"
            )
        _numbers(
            "funnel",
            _columns(("title", "Simulation"), *FUNNEL_STAGES),
            [
                {"id": str(r.simulation_id), "title": r.title, **{k: getattr(r, k) for k, _ in FUNNEL_STAGES}}
                for r in rows
            ],
        )


def _distribution(report: reports.Report) -> None:
    found = report.distribution
    caption = (
        "How the completed sessions of these people scored on each dimension of the simulation: every "
        "completed play (replays too) by someone holding one of these assignments, played in its "
        "organization."
    )
    with _card(TITLES["distribution"], caption).mark("distribution-card"):
        if found is None:
            _empty(
                "distribution",
                "Choose a simulation in the filters above to see its score distribution: each simulation "
                "scores its own dimensions, so they are shown one simulation at a time.",
            )
            return
        if not found.configured:
            _empty("distribution", f"{found.simulation_title} has no valid scoring configuration, so it has no "
                   "dimensions to show. Its author sets them on the simulation's Scoring tab.")  # fmt: skip
            return
        if found.sessions == 0:
            _empty("distribution", f"No completed session of {found.simulation_title} by these people yet.")
            return
        ui.label(f"{found.sessions:,} completed sessions of {found.simulation_title}.").classes("text-sm")
        with ui.grid(columns=3).classes("w-full gap-3"):
            for dim in found.dimensions:
                with ui.column().classes("gap-0"):
                    ui.label(f"{dim.label} (mean {dim.mean if dim.mean is not None else '—'})").classes(
                        "text-body2 font-medium"
                    )
                    busiest = max(dim.bins, key=lambda b: b.sessions)
                    _chart(
                        {
                            "grid": {"left": 36, "right": 8, "top": 8, "bottom": 40},
                            "xAxis": {
                                "type": "category",
                                "data": [f"{_num(b.low)}–{_num(b.high)}" for b in dim.bins],
                                "axisLabel": {"rotate": 45, "fontSize": 10},
                            },
                            "yAxis": {"type": "value", "minInterval": 1, "min": 0},
                            "series": [{"type": "bar", "name": "Sessions", "data": [b.sessions for b in dim.bins]}],
                        },
                        f"distribution-chart-{dim.key}",
                        f"Histogram of {dim.label}: {dim.sessions} sessions from {_num(dim.low)} to {_num(dim.high)}, "
                        f"mean {dim.mean}; the most, {busiest.sessions}, between {_num(busiest.low)} and "
                        f"{_num(busiest.high)}.",
                        height="h-48",
                    )
        _numbers(
            "distribution",
            _columns(("dimension", "Dimension"), ("range", "Score range"), ("sessions", "Sessions")),
            [
                {"id": f"{d.key}-{i}", "dimension": d.label, "range": f"{_num(b.low)}–{_num(b.high)}",
                 "sessions": b.sessions}
                for d in found.dimensions
                for i, b in enumerate(d.bins)
            ],
        )  # fmt: skip


def _num(value: float) -> str:
    return f"{value:g}"


def _department_chart(
    rows: list[reports.DepartmentFigure], marker: str, with_org: bool, series_name: str, description: str
) -> None:
    shown = list(reversed(rows[:CHART_ROWS]))
    _chart(
        {
            "grid": {"left": 160, "right": 16, "top": 16, "bottom": 30},
            "tooltip": {"trigger": "axis", "axisPointer": {"type": "shadow"}},
            "xAxis": {"type": "value", "min": 0},
            "yAxis": {
                "type": "category",
                "data": [reports.department_label(r, with_organization=with_org) for r in shown],
            },
            "series": [{"type": "bar", "name": series_name, "data": [r.value for r in shown]}],
        },
        marker,
        description,
        height="h-64" if len(shown) > 5 else "h-48",
    )
    if len(rows) > CHART_ROWS:
        ui.label(f"The first {CHART_ROWS} of {len(rows)} departments; the numbers have all.").classes(
            f"{MUTED} text-sm"
        )


def _averages(report: reports.Report, with_org: bool) -> None:
    rows = report.average_by_department
    with _card(TITLES["averages"], "The mean score of completed assignments (fixed at completion).").mark(
        "averages-card"
    ):
        if not rows:
            _empty("averages", "No completed assignment with a score among these yet.")
            return
        _department_chart(
            rows, "averages-chart", with_org, "Average score",
            "Bar chart of the average score per department: "
            + "; ".join(f"{reports.department_label(r, with_organization=with_org)} {r.value}" for r in rows[:8]) + ".",
        )  # fmt: skip
        _numbers(
            "averages",
            _columns(("department", "Department"), ("average", "Average score"), ("assignments", "Completed")),
            [
                {"id": f"{r.organization}-{r.department}", "average": r.value, "assignments": r.assignments,
                 "department": reports.department_label(r, with_organization=with_org)}
                for r in rows
            ],
        )  # fmt: skip


def _overdue(report: reports.Report, with_org: bool) -> None:
    rows = report.overdue_by_department
    with _card(TITLES["overdue"], "Open assignments past their due date today, per department.").mark("overdue-card"):
        late = sum(r.value for r in rows)
        if not rows or late == 0:
            _empty("overdue", "Nothing is overdue among these assignments.")
        else:
            _department_chart(
                rows, "overdue-chart", with_org, "Overdue",
                f"Bar chart of overdue assignments per department, {int(late)} in all: "
                + "; ".join(f"{reports.department_label(r, with_organization=with_org)} {int(r.value)}"
                            for r in rows[:8]) + ".",
            )  # fmt: skip
        if rows:
            _numbers(
                "overdue",
                _columns(("department", "Department"), ("overdue", "Overdue"), ("open", "Open")),
                [
                    {"id": f"{r.organization}-{r.department}", "overdue": int(r.value), "open": r.assignments,
                     "department": reports.department_label(r, with_organization=with_org)}
                    for r in rows
                ],
            )  # fmt: skip
