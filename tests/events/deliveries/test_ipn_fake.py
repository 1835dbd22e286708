"""End to end: the fake Kartra plays its account's activity, posting webhooks to the
webhook URL and IPNs to the IPN URL of the real endpoints; the mirrored transactions must
match the fake's truth (amounts, types, subscription links, parents)."""

from collections import Counter

import pytest

from events.models import Delivery
from kartra_fake import generate_account, play_events
from leads.models import Transaction
from tests.conftest import FAKE_ANCHOR

from .conftest import Player

pytestmark = pytest.mark.django_db


def test_played_ipns_mirror_the_fakes_transactions(client):
    account = generate_account(15, seed=8, anchor=FAKE_ANCHOR)
    send = Player(account, client)
    sent = send.sent

    # A subscription bought, rebilled and failed in the played week, then a week of activity.
    product = next(p for p in account.products.values() if p.price_points[-1].recurring)
    bought = account.buy_product(1001, product.id, product.price_points[-1].number)
    send(bought)
    subscription = int(
        bought["action_details"]["transaction_details"]["transaction_subscription_id"]
    )
    account.rebill(1001, subscription)
    account.rebill(1001, subscription, failed=True)
    send(None)
    for _mutation, body in play_events(account, 200, seed=8):
        send(body)
    assert Delivery.objects.exclude(status="processed").count() == 0

    truth = {t.id: (lead, t) for lead in account.leads.values() for t in lead.transactions}
    mirrored = {
        t.kartra_id: t for t in Transaction.objects.select_related("lead", "subscription", "parent")
    }
    kinds = Counter(truth[txn_id][1].type for txn_id in sent)
    assert {"sale", "rebill", "failed"} <= set(kinds), kinds
    linked = 0
    for txn_id in sent:
        lead, fake = truth[txn_id]
        row = mirrored[txn_id]
        assert (row.lead.kartra_id, row.transaction_type) == (lead.id, fake.type)
        assert (row.amount, row.base_amount) == (fake.amount, fake.base_amount)
        assert row.product.kartra_id == fake.product_id
        assert row.price_point == str(fake.price_point)
        subscription = row.subscription.kartra_id if row.subscription else 0
        assert subscription == fake.subscription_id
        if fake.subscription_id:
            assert row.subscription_pay_number == fake.pay_number
        parent = fake.parent_id or (fake.original_id if fake.type in ("rebill", "failed") else 0)
        assert (row.parent_kartra_id or 0) == parent
        if parent in mirrored:  # a sale of the played week: linked, whichever came first
            assert row.parent == mirrored[parent]
            linked += 1
    assert linked
    # The sales seen twice (webhook and IPN) are one row each.
    assert Transaction.objects.count() == len(mirrored) == len(set(mirrored))
    assert Delivery.objects.filter(kind="ipn").count() == len(sent)
