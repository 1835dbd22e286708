"""``play_events``: a realistic stream of account activity, as webhook deliveries.

Each step picks an action by weight, a live lead for which it makes sense (no unassign without
a tag, no refund without a sale, ...), applies the mutation and yields it with its body. Now and
then a new lead opts in, or a profile/custom field changes silently, which the next delivery's
lead block shows. An account that sends IPNs also collects (or fails to collect) the next
payment of a subscription now and then: no webhook tells of it, only its IPN. The account's
clock moves forward between events, spreading them over the time left before the anchor (the
last week, after :func:`~kartra_fake.generate.generate_account`); it never passes the anchor.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from .model import TEXT_FIELD_TYPES, FakeLead, elapsed, kartra_after
from .mutations import Mutation

if TYPE_CHECKING:
    from .account import FakeAccount

Chooser = Callable[["FakeAccount", FakeLead, random.Random], dict[str, Any] | None]


def _pick(items, rng: random.Random):
    items = list(items)
    return rng.choice(items) if items else None


def _one(key: str, pool: Callable[[FakeAccount, FakeLead], Any]) -> Chooser:
    def choose(account: FakeAccount, lead: FakeLead, rng: random.Random) -> dict[str, Any] | None:
        value = _pick(pool(account, lead), rng)
        return None if value is None else {key: value}

    return choose


def _buy(account: FakeAccount, lead: FakeLead, rng: random.Random) -> dict[str, Any]:
    product = rng.choice(list(account.products.values()))
    return {"product_id": product.id, "price_point": rng.choice(product.price_points).number}


def _refundable(lead: FakeLead) -> list[int]:
    done = {t.parent_id for t in lead.transactions if t.type in ("refund", "chargeback")}
    return [t.id for t in lead.transactions if t.type == "sale" and t.id not in done]


def _partial(account: FakeAccount, lead: FakeLead, rng: random.Random) -> dict[str, Any] | None:
    sale = _pick(_refundable(lead), rng)
    return None if sale is None else {"transaction_id": sale, "amount": Decimal("10.00")}


def _grant(account: FakeAccount, lead: FakeLead, rng: random.Random) -> dict[str, Any]:
    membership = rng.choice(list(account.memberships.values()))
    level = rng.choice(membership.levels)
    return {"membership_id": membership.id, "level_id": level.id}


def _book(account: FakeAccount, lead: FakeLead, rng: random.Random) -> dict[str, Any]:
    calendar = rng.choice(list(account.calendars.values()))
    return {"calendar_id": calendar.id, "class_id": rng.choice(calendar.classes).id}


def _score(account: FakeAccount, lead: FakeLead, rng: random.Random) -> dict[str, Any]:
    return {"points": lead.score + rng.choice([5, 10, 25, 50])}


def _survey(account: FakeAccount, lead: FakeLead, rng: random.Random) -> dict[str, Any]:
    survey = rng.choice(list(account.surveys.values()))
    answers = {q.id: [rng.choice(q.options).id] for q in survey.questions}
    return {"survey_id": survey.id, "answers": answers}


def _booked(lead: FakeLead) -> list[int]:
    return [c.id for c in lead.calendars if c.status in ("Active", "Pending")]


def _held(account: FakeAccount, lead: FakeLead) -> list[int]:
    """Bookings whose first session has started: only those can be completed."""
    return [
        c.id
        for c in lead.calendars
        if c.status in ("Active", "Pending") and c.events and c.events[0][0] <= account.now
    ]


# action -> (weight, chooser of arguments or None when the action makes no sense for the lead)
ACTIONS: dict[str, tuple[int, Chooser]] = {
    "assign_tag": (12, _one("tag_id", lambda a, lead: set(a.tags) - lead.tags)),
    "unassign_tag": (4, _one("tag_id", lambda a, lead: sorted(lead.tags))),
    "list_subscription": (
        8,
        _one(
            "list_id",
            lambda a, lead: [i for i in a.lists if not (i in lead.lists and lead.lists[i].active)],
        ),
    ),
    "list_unsubscription": (
        3,
        _one("list_id", lambda a, lead: [i for i, s in lead.lists.items() if s.active]),
    ),
    "filled_form": (6, _one("form_id", lambda a, lead: a.forms)),
    "sequence_subscription": (
        5,
        _one("sequence_id", lambda a, lead: [i for i in a.sequences if i not in lead.sequences]),
    ),
    "sequence_unsubscription": (
        2,
        _one(
            "sequence_id",
            lambda a, lead: [
                i for i, s in lead.sequences.items() if s.status == "active" and not s.completed
            ],
        ),
    ),
    "sequence_completion": (
        2,
        _one(
            "sequence_id",
            lambda a, lead: [
                i for i, s in lead.sequences.items() if s.status == "active" and not s.completed
            ],
        ),
    ),
    "click_tracking_link": (4, _one("link_id", lambda a, lead: a.tracking_links)),
    "click_page_split_test_link": (2, _one("link_id", lambda a, lead: a.split_test_links)),
    "buy_product": (6, _buy),
    "refund_product": (1, _one("transaction_id", lambda a, lead: _refundable(lead))),
    "partial_refund_product": (1, _partial),
    "cancel_subscription": (
        1,
        _one(
            "subscription_id",
            lambda a, lead: [s.id for s in lead.subscriptions if s.status == "active"],
        ),
    ),
    "video_play": (4, _one("video_id", lambda a, lead: a.videos)),
    "video_complete": (2, _one("video_id", lambda a, lead: a.videos)),
    "reaches_score": (2, _score),
    "membership_granted": (3, _grant),
    "membership_revoked": (
        1,
        _one("membership_id", lambda a, lead: [i for i, m in lead.memberships.items() if m.active]),
    ),
    "affiliate_signup": (
        1,
        _one("product_id", lambda a, lead: set(a.products) - lead.affiliate_products),
    ),
    "jv_signup": (1, _one("product_id", lambda a, lead: set(a.products) - lead.jv_products)),
    "kartra_page_visit": (8, _one("page_id", lambda a, lead: a.pages)),
    "calendar_subscribe": (2, _book),
    "calendar_complete": (2, _one("subscription_id", _held)),
    "calendar_cancel": (1, _one("subscription_id", lambda a, lead: _booked(lead))),
    "survey_complete": (2, _survey),
}


def _new_lead(account: FakeAccount, rng: random.Random) -> FakeLead:
    n = account.next_ids.get("lead", 1001)
    lead = account.create_lead(f"new.lead{n}@example.com", "New", f"Lead{n}", source="single-optin")
    lead.gdpr_lead_status, lead.gdpr_lead_status_date = 1, account.now
    return lead


def _silent_change(account: FakeAccount, lead: FakeLead, rng: random.Random) -> None:
    if rng.random() < 0.5:
        account.edit_lead(lead.id, phone=str(rng.randint(2000000, 9999999)), city="Lisbon")
        return
    cf = rng.choice(list(account.custom_fields.values()))
    value: Any = "changed" if cf.type in TEXT_FIELD_TYPES else [rng.choice(cf.options).id]
    account.set_custom_field(lead.id, cf.identifier, value)


def _payment_due(account: FakeAccount, lead: FakeLead, rng: random.Random) -> None:
    """The next payment of one of the lead's active subscriptions: mostly collected, now and
    then refused by the card."""
    active = [s.id for s in lead.subscriptions if s.status == "active" and s.payments_left]
    if active:
        account.rebill(lead.id, rng.choice(active), failed=rng.random() < 0.2)


def _tick(account: FakeAccount, rng: random.Random, events_left: int) -> None:
    """Move the clock by a random share of the time left before the anchor: on average the
    ``events_left`` events spread evenly over it."""
    step = elapsed(account.now, account.anchor) / (events_left + 1) * 2 * rng.random()
    account.now = min(kartra_after(account.now, step, later=True), account.anchor)


def play_events(
    account: FakeAccount, n_events: int, seed: int = 0
) -> Iterator[tuple[Mutation, dict]]:
    """Apply ``n_events`` mutations and yield ``(Mutation, webhook body)`` for each."""
    rng = random.Random(seed)
    account.rng = random.Random(seed + 1)
    names = list(ACTIONS)
    weights = [ACTIONS[name][0] for name in names]
    for done in range(n_events):
        with account.lock:
            _tick(account, rng, n_events - done)
            live = [lead for lead in account.leads.values() if not lead.deleted]
            if not live or rng.random() < 0.05:
                lead = _new_lead(account, rng)
                params: dict[str, Any] | None = {"form_id": rng.choice(list(account.forms))}
                action = "filled_form"
            else:
                lead = rng.choice(live)
                if rng.random() < 0.05:
                    _silent_change(account, lead, rng)
                if account.ipn_outbox is not None and rng.random() < 0.15:
                    _payment_due(account, lead, rng)
                for _attempt in range(50):
                    action = rng.choices(names, weights)[0]
                    params = ACTIONS[action][1](account, lead, rng)
                    if params is not None:
                        break
                else:  # nothing fits this lead: a page visit always does
                    action, params = (
                        "kartra_page_visit",
                        {"page_id": rng.choice(list(account.pages))},
                    )
            assert params is not None
            body = getattr(account, action)(lead.id, **params)
        yield Mutation(action, lead.id, params), body
