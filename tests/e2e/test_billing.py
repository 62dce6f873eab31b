"""Billing in Chromium, against localstripe: a platform admin starts the demo organization's
subscription from its page (whose Single sign-on tab, with the Require SSO switch, is checked on the
way), its enterprise admin reads /billing (invoices from Stripe) and adds seats,
the platform admin compares Stripe with the console. axe-clean on each, with a screenshot of each."""

from __future__ import annotations

import re

import pytest
import stripe
from axe_playwright_python.sync_playwright import Axe

from tests import stripe_peer
from tests.e2e.conftest import read_demo_logins, screenshot, serving
from tests.e2e.test_accessibility import BLOCKING, login, rendered

_axe = Axe()


@pytest.fixture(scope="module")
def billed_console():
    peer = stripe_peer.start()
    peer.reset()

    def configure(env: dict) -> None:
        env.update(
            SIMVADO_STRIPE_API_KEY=stripe_peer.KEY,
            SIMVADO_STRIPE_API_BASE=peer.url,
            SIMVADO_STRIPE_WEBHOOK_SECRET=stripe_peer.WEBHOOK_SECRET,
            SIMVADO_STRIPE_PRICE_STANDARD="plan_standard",
            SIMVADO_STRIPE_PRICE_ENTERPRISE="plan_enterprise",
        )

    api = stripe.StripeClient(stripe_peer.KEY, base_addresses={"api": peer.url})
    product = api.v1.products.create(params={"name": "Simvado seats"})
    for plan, amount in stripe_peer.PLANS.items():
        api.v1.plans.create(
            params={"id": plan, "amount": amount, "currency": "usd", "interval": "month", "product": product.id}
        )
    with serving("--demo", prepare=configure) as served:
        yield served, api


def serious(page) -> list[str]:
    violations = _axe.run(page).response["violations"]
    return [f"{v['id']}: {v['help']}" for v in violations if v["impact"] in BLOCKING]


def test_billing_from_start_to_added_seats(billed_console, browser):
    served, api = billed_console
    logins = read_demo_logins(served.root / "demo-logins.txt")
    url = served.url

    org_admin = browser.new_context(viewport={"width": 1400, "height": 900}).new_page()
    login(org_admin, url, logins["enterprise_admin"])
    org_admin.goto(f"{url}/billing")
    rendered(org_admin)
    org_name = org_admin.get_by_role("heading", level=2).first.inner_text()
    assert org_admin.get_by_text("There is no subscription yet").count() == 1
    screenshot(org_admin, "billing-org-admin-before")
    assert serious(org_admin) == []

    admin = browser.new_context(viewport={"width": 1400, "height": 900}).new_page()
    login(admin, url, logins["platform_admin"])
    admin.goto(f"{url}/organizations")
    rendered(admin)
    admin.get_by_role("link", name=org_name, exact=True).click()
    admin.wait_for_url(re.compile(r"/organizations/[a-z0-9-]+$"))
    admin.get_by_role("tab", name="Single sign-on").click()  # the Require SSO switch sits here too
    admin.get_by_role("switch", name="Require SSO for members").wait_for()
    screenshot(admin, "organization-sso-tab")
    assert serious(admin) == []
    admin.get_by_role("tab", name="Billing").click()
    admin.get_by_text("Start a subscription").wait_for()
    admin.get_by_label("Seats", exact=True).fill("100")
    admin.get_by_label("Existing Stripe customer (optional)").fill(stripe_peer.customer_with_card(api, org_name))
    admin.get_by_role("button", name="Start subscription").click()
    admin.get_by_text("Change seats or plan").wait_for()
    rendered(admin)
    screenshot(admin, "billing-organization-tab")
    assert serious(admin) == []

    org_admin.goto(f"{url}/billing")
    rendered(org_admin)
    org_admin.get_by_text("Active").first.wait_for()
    screenshot(org_admin, "billing-org-admin-active")
    assert serious(org_admin) == []
    org_admin.get_by_label("Seats in total").fill("105")
    org_admin.get_by_role("button", name="Add seats").click()
    org_admin.get_by_role("dialog").get_by_role("button", name="Add seats").click()
    org_admin.wait_for_url(f"{url}/billing")
    org_admin.get_by_text("105", exact=True).wait_for()  # seats paid for, after the page reloads
    subs = api.v1.subscriptions.list(params={"status": "all"}).data
    assert [s["items"].data[0].quantity for s in subs] == [105]

    admin.goto(f"{url}/billing")
    rendered(admin)
    admin.get_by_role("button", name="Compare now").click()
    admin.get_by_text("Stripe and the console agree.").wait_for()
    screenshot(admin, "billing-platform-admin")
    assert serious(admin) == []
