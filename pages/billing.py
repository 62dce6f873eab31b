"""Billing: `/billing` (an enterprise admin: their organization's plan, seats used and paid for, the
subscription's status, invoices from Stripe, and adding seats; a platform admin: Stripe compared with the
database) and the organization page's Billing tab (a platform admin starts the subscription, sets seats
and plan). docs/billing.md says what each status does to seats.

Invoice links are Stripe's hosted pages: the service hands out https URLs only, and the link is built
in a constant slot template. Every number and word from Stripe is shown as text.
"""

from __future__ import annotations

from nicegui import ui

from console.auth import Actor, Permission
from console.errors import DomainError, NotFound
from console.services.billing import reconcile, subscriptions
from console.services.billing.subscriptions import BillingOverview
from console.services.listing import ListQuery
from models.enums import OrgPlan
from pages.access import secured_page
from pages.components import calls
from pages.components.dialogs import confirm
from pages.components.forms import FieldErrors
from pages.components.labels import enum_label, enum_options
from pages.components.listing import Filter, list_view
from pages.layout import MUTED, Heading, frame

STATUS_COLORS = {"active": "positive", "trialing": "positive", "past_due": "deep-orange-10", "canceled": "negative"}
INVOICE_COLUMNS = [
    {"name": key, "label": label, "field": key, "align": "left"}
    for key, label in (("number", "Invoice"), ("date", "Date"), ("amount", "Amount"), ("status", "Status"))
] + [{"name": "view", "label": "Stripe", "field": "url", "align": "left"}]
VIEW_SLOT = (
    '<q-td :props="props"><a v-if="props.row.url" class="text-primary" target="_blank" rel="noopener noreferrer" '
    ':href="props.row.url">View invoice<span class="sr-only"> {{ props.row.number }}</span></a>'
    "<span v-else>—</span></q-td>"
)
DIFF_COLUMNS = [
    {"name": key, "label": label, "field": key, "align": "left"}
    for key, label in (
        ("kind", "Difference"),
        ("organization", "Organization"),
        ("subscription", "Subscription"),
        ("stripe", "In Stripe"),
        ("console", "In the console"),
    )
]
DIFF_KINDS = {
    "status": "Status differs",
    "seats": "Seats differ",
    "unreadable": "Unreadable",
    "plan": "Plan differs",
    "missing_in_stripe": "Not in Stripe",
    "unknown_organization": "Unknown organization",
    "not_linked": "Not linked",
}


def status_badge(seen: BillingOverview) -> None:
    color = STATUS_COLORS.get(seen.status or "", "grey-8")
    ui.badge(seen.status_label).props(f"outline color={color}").mark("billing-status")


def summary(seen: BillingOverview) -> None:
    """Plan, status, seats used against those paid for, the period's end, and what a hold means."""
    with ui.row().classes("w-full items-center gap-3"):
        ui.badge(enum_label(seen.plan.value)).props("outline color=primary").mark("billing-plan")
        status_badge(seen)
        if seen.current_period_end:
            ui.label(f"Current period ends {seen.current_period_end:%Y-%m-%d}").classes(MUTED)
    with ui.row().classes("w-full items-baseline gap-6"):
        with ui.column().classes("gap-0"):
            ui.label("Seats used").classes(f"{MUTED} text-caption")
            ui.label(str(seen.seats.used)).classes("text-h6").mark("billing-used")
        with ui.column().classes("gap-0"):
            # Without a subscription nothing is paid through Stripe: the limit is the one set by hand.
            ui.label("Seats paid for" if seen.quantity is not None else "Seat limit").classes(f"{MUTED} text-caption")
            paid = seen.quantity if seen.quantity is not None else seen.seats.limit
            ui.label("—" if paid is None else str(paid)).classes("text-h6").mark("billing-paid")
    if seen.hold:
        with ui.row().classes("items-center gap-2 text-deep-orange-10").mark("billing-hold"):
            ui.icon("warning")
            ui.label(seen.hold)


async def _add_seats_form(actor: Actor, seen: BillingOverview) -> None:
    errors = FieldErrors()
    paid = seen.quantity or 0
    allowed = subscriptions.can_add_seats(actor, seen)
    with ui.card().classes("w-full max-w-xl").mark("billing-add-seats"):
        Heading("Add seats", level=2).classes("text-subtitle1 font-medium")
        ui.label(
            "More seats are charged from today, prorated to the end of the period. To have fewer seats or "
            "another plan, ask Simvado's support."
        ).classes(MUTED)
        with ui.row().classes("items-start gap-3"):
            seats = errors.add(
                "seats",
                ui.number("Seats in total", value=paid + 1 if allowed else None, min=paid + 1, precision=0)
                .props("outlined dense")
                .classes("w-48"),
            )

            async def add() -> None:
                wanted = int(seats.value or 0)
                if not await confirm(
                    f"Pay for {wanted} seats from now on ({wanted - paid} more)?", action="Add seats", danger=False
                ):
                    return
                done = await calls.submit(
                    subscriptions.change_seats, errors=errors, organization_id=seen.organization_id, seats=wanted
                )
                if done is calls.REFUSED:
                    return
                ui.notify(f"{done.organization_name} now pays for {done.quantity} seats.", type="positive")
                ui.navigate.reload()

            button = ui.button("Add seats", icon="add", on_click=add).props("unelevated no-caps color=primary")
            button.mark("billing-add-seats-submit")
        if not allowed:
            seats.disable()
            button.disable()
            why = (
                "There is no subscription yet: Simvado's team starts it."
                if not seen.subscription_id
                else f"The subscription is {seen.status_label.lower()}: seats can be added once it is paid."
                if not seen.in_good_standing
                else "Stripe is not configured."
            )
            ui.label(why).classes(MUTED).mark("billing-add-seats-why")


async def _invoices(seen: BillingOverview) -> None:
    Heading("Invoices", level=2).classes("text-subtitle1 font-medium")
    try:
        lines = await calls.read(subscriptions.invoices, organization_id=seen.organization_id)
    except DomainError as exc:
        ui.label(f"Invoices could not be read: {exc.message}").classes(MUTED).mark("billing-invoices-error")
        return
    rows = [
        {
            "id": line.id,
            "number": line.number or line.id,
            "date": f"{line.created:%Y-%m-%d}",
            "amount": line.amount,
            "status": enum_label(line.status or "—"),
            "url": line.url,
        }
        for line in lines
    ]
    table = (
        ui.table(columns=INVOICE_COLUMNS, rows=rows, row_key="id")
        .props('dense flat bordered hide-pagination :pagination="{rowsPerPage: 0}" no-data-label="No invoices yet."')
        .classes("w-full max-w-3xl")
        .mark("billing-invoices")
    )
    table.add_slot("body-cell-view", VIEW_SLOT)


async def _reconciliation() -> None:
    found = await calls.read(reconcile.latest)
    with ui.card().classes("w-full").mark("billing-reconciliation"):
        with ui.row().classes("w-full items-center gap-3"):
            Heading("Stripe compared with the console", level=2).classes("text-subtitle1 font-medium")
            ui.space()

            async def compare() -> None:
                count = await calls.submit(reconcile.compare_now)
                if count is calls.REFUSED:
                    return
                ui.notify(f"{count} difference{'s' if count != 1 else ''} found.", type="info")
                ui.navigate.reload()

            ui.button("Compare now", icon="compare_arrows", on_click=compare).props("outline no-caps").mark(
                "billing-compare"
            )
        if found is None:
            ui.label("Not compared yet: the worker compares every hour, or press Compare now.").classes(MUTED)
            return
        ui.label(
            f"Compared {found.ran_at:%Y-%m-%d %H:%M} UTC: {found.subscriptions_checked} "
            f"subscription{'s' if found.subscriptions_checked != 1 else ''} in Stripe, "
            f"{len(found.differences)} difference{'s' if len(found.differences) != 1 else ''}."
        ).classes(MUTED).mark("billing-compared")
        if found.error:
            ui.label(f"The comparison failed: {found.error}").classes("text-negative").mark("billing-compare-error")
        rows = [
            {
                "id": str(i),
                "kind": DIFF_KINDS.get(d.kind, d.kind),
                "organization": d.organization or "—",
                "subscription": d.subscription or "—",
                "stripe": d.stripe,
                "console": d.console,
            }
            for i, d in enumerate(found.differences)
        ]
        ui.table(columns=DIFF_COLUMNS, rows=rows, row_key="id").props(
            'dense flat bordered hide-pagination :pagination="{rowsPerPage: 0}" '
            'no-data-label="Stripe and the console agree."'
        ).classes("w-full").mark("billing-differences")


LIST_COLUMNS = [
    {"name": "name", "label": "Organization", "field": "name", "sortable": True, "align": "left"},
    {"name": "plan", "label": "Plan", "field": "plan", "align": "left"},
    {"name": "status", "label": "Subscription", "field": "status", "sortable": True, "align": "left"},
    {"name": "quantity", "label": "Seats paid for", "field": "quantity", "sortable": True, "align": "left"},
    {"name": "members", "label": "Seats used", "field": "members", "sortable": True, "align": "left"},
]
# The name opens the organization's Billing tab; slugs are [a-z0-9-] (checked by the service).
LIST_NAME_SLOT = (
    '<q-td :props="props"><a class="text-primary" '
    ":href=\"'/organizations/' + encodeURIComponent(props.row.slug) + '?tab=billing'\">{{ props.value }}</a></q-td>"
)


async def _subscriptions() -> None:
    async def fetch(query: ListQuery):  # noqa: ANN202
        page = await calls.read(subscriptions.list_, query=query)
        return [
            {
                "id": str(r.organization_id),
                "name": r.name,
                "slug": r.slug,
                "plan": enum_label(r.plan.value),
                "status": subscriptions.STATUS_LABELS.get(r.status, r.status or "No subscription"),
                "quantity": "—" if r.quantity is None else r.quantity,
                "members": r.members,
            }
            for r in page.rows
        ], page

    Heading("Organizations' subscriptions", level=2).classes("text-subtitle1 font-medium")
    await list_view(
        columns=LIST_COLUMNS,
        fetch=fetch,
        marker="billing-list",
        noun=("organization", "organizations"),
        path="/billing",
        sort="name",
        sortable=list(subscriptions.SORTABLE),
        search_placeholder="Search name or slug…",
        filters=[Filter("status", "Subscription", subscriptions.STATUS_FILTER, width="w-56")],
        slots={"body-cell-name": LIST_NAME_SLOT},
        empty_message="No organizations match.",
    )


@secured_page("/billing", title="Billing", permission=Permission.manage_organization)
async def billing_page(actor: Actor):
    with frame(actor, "Billing", breadcrumbs=[("Billing", None)]):
        if actor.organization_id is not None:
            try:
                seen = await calls.read(subscriptions.overview, organization_id=actor.organization_id)
            except NotFound:
                ui.label("There is no organization to bill here.").classes(MUTED)
                return
            with ui.card().classes("w-full max-w-3xl").mark("billing-summary"):
                Heading(seen.organization_name, level=2).classes("text-subtitle1 font-medium")
                summary(seen)
            await _add_seats_form(actor, seen)
            await _invoices(seen)
        if actor.can(Permission.manage_platform):
            ui.label(
                "Each organization's subscription is started and changed on its page, in the Billing tab."
            ).classes(MUTED)
            await _reconciliation()
            await _subscriptions()


# ------------------------------------------------------------------------------ the organization's tab


async def organization_tab(seen: BillingOverview) -> None:
    """The Billing tab of an organization's page (platform admins)."""
    with ui.card().classes("w-full max-w-3xl").mark("org-billing"):
        summary(seen)
        if seen.subscription_id:
            ui.label(f"Stripe subscription {seen.subscription_id}, customer {seen.customer_id or '—'}").classes(
                f"{MUTED} font-mono text-sm"
            )
    if not seen.stripe_configured:
        ui.label("Stripe is not configured (SIMVADO_STRIPE_API_KEY): subscriptions cannot be started here.").classes(
            MUTED
        ).mark("org-billing-unconfigured")
        return
    running = seen.subscription_id and seen.status not in ("canceled", "incomplete_expired")
    errors = FieldErrors()
    with ui.card().classes("w-full max-w-3xl").mark("org-billing-form"):
        Heading("Change seats or plan" if running else "Start a subscription", level=2).classes(
            "text-subtitle1 font-medium"
        )
        with ui.row().classes("items-start gap-3"):
            plan = errors.add(
                "plan",
                ui.select(enum_options(OrgPlan), label="Plan", value=seen.plan.value)
                .props("outlined dense")
                .classes("w-48"),
            )
            seats = errors.add(
                "seats",
                ui.number("Seats", value=seen.quantity or seen.seats.limit or max(seen.seats.used, 1), min=1)
                .props("outlined dense")
                .classes("w-32"),
            )
            customer = None
            if not running:
                customer = errors.add(
                    "customer_id",
                    ui.input("Existing Stripe customer (optional)", placeholder="cus_…")
                    .props("outlined dense maxlength=255")
                    .classes("w-64"),
                )

            async def save() -> None:
                wanted = int(seats.value or 0)
                if running:
                    done = await calls.submit(
                        subscriptions.change_seats,
                        errors=errors,
                        organization_id=seen.organization_id,
                        seats=wanted,
                        plan=plan.value,
                    )
                else:
                    done = await calls.submit(
                        subscriptions.subscribe,
                        errors=errors,
                        organization_id=seen.organization_id,
                        plan=plan.value,
                        seats=wanted,
                        customer_id=customer.value if customer else None,
                    )
                if done is calls.REFUSED:
                    return
                ui.notify(f"Stripe now bills {done.quantity} seats ({done.status_label}).", type="positive")
                ui.navigate.reload()

            ui.button("Save in Stripe" if running else "Start subscription", icon="payments", on_click=save).props(
                "unelevated no-caps color=primary"
            ).mark("org-billing-save")
        if seen.seats.used and running:
            note = f"{seen.seats.used} seats are in use: fewer seats refuses new members, nobody is removed."
            ui.label(note).classes(MUTED)
