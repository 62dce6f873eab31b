"""A subscription read from Stripe and applied as it stands now (the queued `billing_sync` job)."""

from __future__ import annotations

import time

from console import unit_of_work
from console.services.billing import client, events


def sync_subscription(subscription_id: str) -> bool:
    """Read the subscription from Stripe and apply it at the moment it was read. True if it changed
    anything; a newer state already applied stays (events.apply_state)."""
    read_at = time.time_ns() // 1_000_000
    obj = client.retrieve_subscription(subscription_id)
    state = events.SubscriptionState.of(obj)
    with unit_of_work.transaction() as session:
        return events.apply_state(session=session, actor=events.JOB_ACTOR, state=state, at=read_at)
