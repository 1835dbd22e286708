"""What a lead holds, one table for every reader: for each kind of row, the API's lead filter,
the admin's lead filter, the catalogue's lead count and the selector
(``leads.selectors.leads_holding``) must find the same leads, and the lead page's card
(``leads.selectors.is_held``) must agree."""

from dataclasses import dataclass
from typing import Any

import pytest
from django.urls import reverse

from leads.models import (
    CalendarStatus,
    CalendarSubscription,
    Lead,
    LeadTag,
    ListSubscription,
    MembershipAccess,
    SequenceStatus,
    SequenceSubscription,
    SurveyResult,
    Transaction,
    TransactionType,
)
from leads.revenue import money_totals
from leads.selectors import is_held, leads_holding
from tests import factories as f
from tests.kartra_mirror.api.conftest import ids, token_client, view_permissions

pytestmark = pytest.mark.django_db

LEADS = reverse("admin:leads_lead_changelist")


@pytest.fixture
def client_reader(db):
    """An API client with the view permissions (as ``tests/kartra_mirror/api``'s)."""
    user = f.UserFactory(username="reader")
    user.user_permissions.add(*view_permissions())
    return token_client(user)


@dataclass
class Rule:
    """One relation: its factory, the row's foreign key to the catalogue, the filter's
    parameter in the API (a name) and in the admin (a primary key)."""

    relation: type
    factory: Any
    field: str
    api: str | None
    admin: str


RULES = {
    "tag": Rule(LeadTag, f.LeadTagFactory, "tag", "tag", "tag"),
    "list": Rule(ListSubscription, f.ListSubscriptionFactory, "list", "list", "list"),
    "membership": Rule(
        MembershipAccess, f.MembershipAccessFactory, "membership", "membership", "membership"
    ),
    "membership level": Rule(
        MembershipAccess, f.MembershipAccessFactory, "level", None, "membership_level"
    ),
    "product": Rule(Transaction, f.TransactionFactory, "product", "product", "product"),
    "calendar": Rule(
        CalendarSubscription, f.CalendarSubscriptionFactory, "calendar", "calendar", "calendar"
    ),
    "survey": Rule(SurveyResult, f.SurveyResultFactory, "survey", None, "survey"),
}

# (rule, the row's fields, whether its lead holds the catalogue row)
CASES = [
    ("tag", {"active": True}, True),
    ("tag", {"active": False}, False),  # unassigned
    ("list", {"active": True}, True),
    ("list", {"active": False}, False),  # unsubscribed
    ("membership", {"active": True}, True),
    ("membership", {"active": False}, False),  # revoked, or expired
    ("membership level", {"active": True}, True),
    ("membership level", {"active": False}, False),
    ("product", {"transaction_type": TransactionType.SALE}, True),
    ("product", {"transaction_type": TransactionType.REBILL}, True),  # its first sale missed
    ("product", {"transaction_type": TransactionType.REFUND}, False),
    ("product", {"transaction_type": TransactionType.PARTIAL_REFUND}, False),
    ("product", {"transaction_type": TransactionType.CHARGEBACK}, False),
    ("product", {"transaction_type": TransactionType.FAILED}, False),
    ("product", {"transaction_type": TransactionType.CANCELLATION}, False),
    ("product", {"transaction_type": "something_new"}, False),
    ("calendar", {"status": CalendarStatus.ACTIVE}, True),
    ("calendar", {"status": CalendarStatus.PENDING}, True),
    ("calendar", {"status": CalendarStatus.COMPLETED}, True),
    ("calendar", {"status": CalendarStatus.DECLINED}, False),
    ("calendar", {"status": CalendarStatus.CANCELLED}, False),
    ("survey", {}, True),
]


def catalogue_row(rule: Rule, row):
    return getattr(row, rule.field)


def found_by_every_reader(rule: Rule, target, api_client, admin_client) -> dict[str, set[int]]:
    """The Kartra ids of the leads each reader finds holding ``target``."""
    found = {
        "selector": set(
            leads_holding(Lead.objects.all(), rule.relation, **{rule.field: target}).values_list(
                "kartra_id", flat=True
            )
        ),
        "lead page": {
            row.lead.kartra_id
            for row in rule.relation.objects.filter(**{rule.field: target}).select_related("lead")
            if is_held(row)
        },
    }
    if rule.api:
        found["api"] = set(ids(api_client, "leads/", **{rule.api: target.name}))
        found["api by id"] = set(ids(api_client, "leads/", **{f"{rule.api}_id": target.kartra_id}))
    response = admin_client.get(LEADS, {rule.admin: target.pk})
    assert response.status_code == 200
    found["admin"] = {lead.kartra_id for lead in response.context["cl"].result_list}
    opts = type(target)._meta
    listed = admin_client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"))
    count = {row.pk: row.lead_count for row in listed.context["cl"].result_list}[target.pk]
    found["catalogue count"] = set(range(count))  # compared by size below
    return found


@pytest.mark.parametrize(
    ("rule_name", "fields", "held"),
    CASES,
    ids=[f"{rule}-{'-'.join(map(str, fields.values())) or 'any'}" for rule, fields, _ in CASES],
)
def test_every_reader_agrees_on_what_a_lead_holds(
    client_reader, admin_client, rule_name, fields, held
):
    rule = RULES[rule_name]
    row = rule.factory(lead__kartra_id=1, **fields)
    target = catalogue_row(rule, row)
    rule.factory(lead__kartra_id=2)  # another catalogue row, held: never found

    expected = {1} if held else set()
    found = found_by_every_reader(rule, target, client_reader, admin_client)
    count = len(found.pop("catalogue count"))
    assert found == dict.fromkeys(found, expected)
    assert count == len(expected)


def test_a_refunded_sale_is_still_bought_and_its_refund_lowers_the_net(client_reader, admin_client):
    """A refund is a transaction of its own: the purchase stands (``product``), the refund
    is found by ``transaction_type=refund`` and lowers the lead's net."""
    sale = f.TransactionFactory(lead__kartra_id=1, transaction_type=TransactionType.SALE)
    f.TransactionFactory(
        lead=sale.lead,
        product=sale.product,
        transaction_type=TransactionType.REFUND,
        parent=sale,
        parent_kartra_id=sale.kartra_id,
    )
    found = found_by_every_reader(RULES["product"], sale.product, client_reader, admin_client)
    assert len(found.pop("catalogue count")) == 1
    assert found == dict.fromkeys(found, {1})
    assert set(ids(client_reader, "leads/", transaction_type="refund")) == {1}
    assert money_totals(Transaction.objects.filter(lead=sale.lead))["net"] == 0


@pytest.mark.parametrize(
    ("status", "in_it", "active_in_it"),
    [
        (SequenceStatus.ACTIVE, True, True),
        (SequenceStatus.COMPLETED, True, False),
        (SequenceStatus.UNSUBSCRIBED, True, False),
    ],
)
def test_a_sequence_is_held_in_any_status_unless_one_is_asked(
    client_reader, admin_client, status, in_it, active_in_it
):
    """``sequence`` alone: in it, whatever the status; ``sequence_status=active``: what the
    card shows and the catalogue counts (``is_held``)."""
    row = f.SequenceSubscriptionFactory(lead__kartra_id=1, status=status)
    sequence = row.sequence
    active = SequenceStatus.ACTIVE.value

    def api(**params):
        return set(ids(client_reader, "leads/", **params))

    def admin(**params):
        response = admin_client.get(LEADS, params)
        return {lead.kartra_id for lead in response.context["cl"].result_list}

    assert api(sequence=sequence.name) == admin(sequence=sequence.pk) == ({1} if in_it else set())
    expected = {1} if active_in_it else set()
    assert api(sequence=sequence.name, sequence_status=active) == expected
    assert admin(sequence=sequence.pk, sequence_status=active) == expected
    held = leads_holding(Lead.objects.all(), SequenceSubscription, sequence=sequence)
    assert set(held.values_list("kartra_id", flat=True)) == expected
    assert is_held(row) is active_in_it
    listed = admin_client.get(reverse("admin:leads_sequence_changelist"))
    counts = {each.pk: each.lead_count for each in listed.context["cl"].result_list}
    assert counts[sequence.pk] == len(expected)
