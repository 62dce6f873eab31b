"""Billing through Stripe (docs/billing.md): organizations' plan and seats as a Stripe subscription
(quantity = seat_limit), people's Pro tier, Stripe's webhook, and the reconciliation of the two.

- client.py: the one module that calls Stripe (a StripeClient configured by settings);
- plans.py: which Stripe price is which plan or tier;
- events.py: a verified webhook event applied once, in any order;
- subscriptions.py: what admins do (start a subscription, change seats) and what the billing page reads;
- sync.py: one subscription read from Stripe and applied (a queued job);
- reconcile.py: Stripe compared with the database.
"""
