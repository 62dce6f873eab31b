"""Which Stripe price stands for which plan (settings `SIMVADO_STRIPE_PRICE_*`), both ways."""

from __future__ import annotations

from console.config import get_settings
from models.enums import OrgPlan, SubscriptionTier

# A person keeps Pro while Stripe still tries to collect (past_due); it ends when the subscription does.
PAID_STATUSES = frozenset({"active", "trialing", "past_due"})


def org_prices() -> dict[OrgPlan, str]:
    s = get_settings()
    found = {OrgPlan.pilot: s.stripe_price_pilot, OrgPlan.standard: s.stripe_price_standard}
    found[OrgPlan.enterprise] = s.stripe_price_enterprise
    return {plan: price for plan, price in found.items() if price}


def tier_prices() -> dict[SubscriptionTier, str]:
    s = get_settings()
    found = {SubscriptionTier.pro_monthly: s.stripe_price_pro_monthly}
    found[SubscriptionTier.pro_annual] = s.stripe_price_pro_annual
    return {tier: price for tier, price in found.items() if price}


def org_plan_of(price_id: str | None) -> OrgPlan | None:
    return next((plan for plan, price in org_prices().items() if price == price_id), None)


def tier_of(price_id: str | None, status: str | None) -> SubscriptionTier:
    """A person's tier while this subscription stands as it does (free once it has ended)."""
    if status not in PAID_STATUSES:
        return SubscriptionTier.free
    return next((tier for tier, price in tier_prices().items() if price == price_id), SubscriptionTier.free)
