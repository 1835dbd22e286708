"""Every documented action, posted through the real URL, with ids as strings and integers."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from events.models import Activity, Delivery, DeliveryStatus
from leads.models import (
    Asset,
    CalendarSubscription,
    CustomFieldValue,
    Lead,
    LeadTag,
    ListSubscription,
    MembershipAccess,
    SequenceSubscription,
    Subscription,
    SurveyResult,
    Transaction,
)
from tests.payloads import body

pytestmark = pytest.mark.django_db

ACTIONS = [
    "list_subscription",
    "list_unsubscription",
    "assign_tag",
    "unassign_tag",
    "filled_form",
    "sequence_subscription",
    "sequence_unsubscription",
    "sequence_completion",
    "click_tracking_link",
    "click_page_split_test_link",
    "buy_product",
    "refund_product",
    "partial_refund_product",
    "cancel_subscription",
    "video_play",
    "video_complete",
    "reaches_score",
    "membership_granted",
    "membership_revoked",
    "affiliate_signup",
    "jv_signup",
    "kartra_page_visit",
    "calendar_subscribe",
    "calendar_complete",
    "calendar_cancel",
    "survey_complete",
]


def _assert_profile(lead: Lead) -> None:
    assert lead.kartra_id == 1
    assert lead.email == "lead1@example.com"
    assert lead.first_name == "John" and lead.last_name2 == "Doe"
    assert lead.google_plus == "google_plus"
    # 2018-04-26 00:00 in New York (EDT, UTC-4)
    assert lead.date_joined == datetime(2018, 4, 26, 4, 0, tzinfo=UTC)
    assert lead.lead_deleted is False and lead.lead_deleted_date is None
    assert lead.gdpr_lead_status == 1 and lead.gdpr_lead_communications == 0
    values = {v.field.identifier: v for v in CustomFieldValue.objects.filter(lead=lead)}
    assert values["favorite_dish"].text == "beef lasagna"
    assert sorted(o.value for o in values["color"].options.all()) == ["blue", "red"]


def _state(action: str, lead: Lead):
    """The mirror state each action must leave, as comparable values."""
    if action.startswith("list_"):
        row = ListSubscription.objects.get(lead=lead)
        return (row.list.kartra_id, row.list.name, row.active)
    if action.endswith("_tag"):
        row = LeadTag.objects.get(lead=lead)
        return (row.tag.kartra_id, row.tag.name, row.active)
    if action.startswith("sequence_"):
        row = SequenceSubscription.objects.get(lead=lead)
        return (row.sequence.kartra_id, row.sequence.name, row.status)
    if action.startswith("membership_"):
        row = MembershipAccess.objects.get(lead=lead)
        return (row.membership.kartra_id, row.level.kartra_id, row.level.name, row.active)
    if action.startswith("calendar_"):
        row = CalendarSubscription.objects.get(lead=lead)
        return (row.calendar.kartra_id, row.calendar_class.kartra_id, row.status)
    if action == "survey_complete":
        row = SurveyResult.objects.get(lead=lead)
        answer = row.answers.get()
        return (
            row.survey.kartra_id,
            row.score,
            row.completion_time,
            answer.question.title,
            answer.correct,
            [o.value for o in answer.options.all()],
        )
    if action in ("buy_product", "refund_product", "partial_refund_product", "cancel_subscription"):
        row = Transaction.objects.get(lead=lead)
        return (row.kartra_id, row.transaction_type, row.full_amount, row.product.kartra_id)
    if action == "reaches_score":
        return (lead.score, Activity.objects.get(lead=lead).points)
    activity = Activity.objects.get(lead=lead)
    if activity.asset_id:
        return (activity.asset.kind, activity.asset.kartra_id, activity.asset.name)
    return (activity.product.kartra_id, activity.product.name, activity.product.official_name)


EXPECTED = {
    "list_subscription": (11, "Newsletter", True),
    "list_unsubscription": (11, "Newsletter", False),
    "assign_tag": (21, "VIP", True),
    "unassign_tag": (21, "VIP", False),
    "filled_form": ("form", 31, "Signup form"),
    "sequence_subscription": (41, "Welcome", "active"),
    "sequence_unsubscription": (41, "Welcome", "unsubscribed"),
    "sequence_completion": (41, "Welcome", "completed"),
    "click_tracking_link": ("tracking_link", 51, "Promo link"),
    "click_page_split_test_link": ("split_test_link", 61, "Split A"),
    "buy_product": (9001, "sale", Decimal("110.50"), 77),
    "refund_product": (9002, "refund", Decimal("-110.50"), 77),
    "partial_refund_product": (9002, "partial_refund", Decimal("-20.00"), 77),
    "cancel_subscription": (9003, "cancellation", Decimal("110.50"), 77),
    "video_play": ("video", 71, "Intro video"),
    "video_complete": ("video", 71, "Intro video"),
    "reaches_score": (0, 150),  # the lead block's score; the event's points
    "membership_granted": (91, 92, "Gold", True),
    "membership_revoked": (91, 92, "Gold", False),
    "affiliate_signup": (77, "Course", "The Course"),
    "jv_signup": (77, "Course", "The Course"),
    "kartra_page_visit": ("page", 81, "Sales page"),
    "calendar_subscribe": (123, 22, "Active"),
    "calendar_complete": (123, 22, "Completed"),
    "calendar_cancel": (123, 22, "Cancelled"),
    "survey_complete": (127, Decimal("50"), 75, "5+5", 1, ["10"]),
}


@pytest.mark.parametrize("as_int", [False, True], ids=["ids-as-strings", "ids-as-integers"])
@pytest.mark.parametrize("action", ACTIONS)
def test_action_applies_exactly(post, action, as_int):
    response = post(body(action, as_int=as_int))

    assert response.status_code == 200, response.content
    delivery = Delivery.objects.get()
    assert response.json() == {"delivery": delivery.pk, "status": "processed"}
    assert delivery.status == DeliveryStatus.PROCESSED
    assert delivery.action == action
    lead = Lead.objects.get()
    assert delivery.lead == lead
    _assert_profile(lead)
    assert _state(action, lead) == EXPECTED[action]
    activity = Activity.objects.get()
    assert (activity.lead, activity.action, activity.delivery) == (lead, action, delivery)
    assert activity.occurred_at == delivery.received_at
    assert lead.mirror_webhook_at == delivery.received_at
    assert lead.mirror_refresh_requested_at is not None


def test_every_documented_action_has_an_applier():
    from events.appliers import APPLIERS
    from leads.normalize import IPN_ACTIONS, WEBHOOK_ACTIONS

    assert set(APPLIERS) == set(WEBHOOK_ACTIONS) | IPN_ACTIONS
    assert set(WEBHOOK_ACTIONS) == set(ACTIONS)


def test_refund_links_to_the_sale_it_refunds_in_either_order(post):
    post(body("refund_product"))
    post(body("buy_product"))

    refund = Transaction.objects.get(kartra_id=9002)
    assert refund.parent == Transaction.objects.get(kartra_id=9001)


def test_cancellation_marks_the_subscription_cancelled(post):
    post(body("cancel_subscription"))

    subscription = Subscription.objects.get(kartra_id=555)
    assert subscription.cancelled is True
    assert subscription.cancelled_at == datetime(2024, 1, 15, 15, 0, tzinfo=UTC)
    assert Transaction.objects.get().subscription == subscription


def test_a_purchase_known_only_from_a_webhook_shows_its_amount_in_the_lead_api(post):
    from tests.factories import UserFactory
    from tests.kartra_mirror.api.conftest import token_client, view_permissions

    post(body("buy_product"))
    post(body("partial_refund_product"))

    # The webhook's full amount is get_lead's transaction_amount: both fill ``amount``.
    assert sorted(Transaction.objects.values_list("kartra_id", "amount", "full_amount")) == [
        (9001, Decimal("110.50"), Decimal("110.50")),
        (9002, Decimal("-20.00"), Decimal("-20.00")),
    ]
    user = UserFactory(username="reader")
    user.user_permissions.add(*view_permissions())
    response = token_client(user).get("/api/v1/leads/1/")
    assert response.status_code == 200, response.content
    amounts = {t["id"]: t["amount"] for t in response.json()["transactions"]}
    assert amounts == {9001: "110.50", 9002: "-20.00"}


@pytest.mark.parametrize("lead_score", [0, 200])
def test_reaches_score_takes_the_lead_score_from_the_lead_block(post, lead_score):
    # The event's points are the threshold the lead reached; its lead block has the score.
    post(body("reaches_score", score=str(lead_score)))

    assert Lead.objects.get().score == lead_score
    assert Activity.objects.get().points == 150


def test_asset_row_is_shared_between_play_and_complete(post):
    post(body("video_play"))
    post(body("video_complete"))

    assert Asset.objects.count() == 1
    assert list(Activity.objects.order_by("id").values_list("action", "asset__name")) == [
        ("video_play", "Intro video"),
        ("video_complete", "Intro video"),
    ]
