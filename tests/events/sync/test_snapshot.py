"""Applying a get_lead snapshot: every section of the 002 example, replacement of each
relation set, not found / deleted, and newer webhooks that a snapshot must not undo."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from events.models import Activity, Delivery
from leads.models import (
    CalendarEvent,
    CalendarSubscription,
    CustomFieldValue,
    Lead,
    LeadTag,
    ListSubscription,
    MembershipAccess,
    MirrorStatus,
    SequenceSubscription,
    Source,
    SurveyResult,
    Tag,
    Transaction,
)
from leads.normalize import parse_lead_details
from leads.services.snapshot import lead_apply_snapshot, lead_mark_gone
from tests.payloads import example_details, webhook_body

pytestmark = pytest.mark.django_db

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def apply(details: dict, at: datetime = T0, run: int | None = 7) -> Lead:
    return lead_apply_snapshot(
        snapshot=parse_lead_details(details), requested_at=at, sync_run_id=run
    )


def links(model, lead, fk: str) -> dict:
    return {getattr(row, fk).name: row.active for row in model.objects.filter(lead=lead)}


@pytest.mark.parametrize("sequence_key", ["tree_name", "sequence_name"])
def test_every_section_of_the_002_example(sequence_key):
    details = example_details()
    if sequence_key == "sequence_name":
        details["sequences"] = [{"sequence_name": "test", "step": "2", "status": "active"}]

    lead = apply(details)

    lead.refresh_from_db()
    assert (lead.kartra_id, lead.email, lead.username) == (1234, "test@test.co", "test123")
    assert (lead.first_name, lead.last_name2, lead.company) == ("test", "test", "test")
    assert lead.date_joined == datetime(2019, 3, 26, 10, 35, 31, tzinfo=UTC)  # EDT
    assert (lead.score, lead.source, lead.ip_country) == (0, "checkout", "United States")
    assert lead.lead_preferred_time_zone == "America/New_York"
    assert (lead.gdpr_lead_status, lead.gdpr_lead_communications) == (2, 1)
    assert lead.mirror_status == MirrorStatus.ACTIVE
    assert lead.mirror_refreshed_at == T0
    assert lead.mirror_raw_source == Source.SNAPSHOT

    values = {v.field.identifier: v for v in CustomFieldValue.objects.filter(lead=lead)}
    assert sorted(o.value for o in values["color"].options.all()) == ["blue", "red"]
    assert [o.value for o in values["gender"].options.all()] == ["male"]
    assert values["favorite_dish"].text == "beef lasagna"

    assert links(LeadTag, lead, "tag") == {"test": True}
    assert links(ListSubscription, lead, "list") == {"test": True}
    seq = SequenceSubscription.objects.get(lead=lead)
    assert (seq.sequence.name, seq.step, seq.status) == ("test", 2, "active")
    access = MembershipAccess.objects.get(lead=lead)
    assert (access.membership.name, access.level.name, access.active) == ("test", "standard", True)

    txn = Transaction.objects.get(lead=lead)
    assert (txn.kartra_id, txn.transaction_type, txn.amount) == (1234, "sale", Decimal("300.00"))
    assert (txn.product.name, txn.price_point) == ("test product", "1")
    assert txn.transaction_date == datetime(2019, 3, 26, 10, 35, 33, tzinfo=UTC)
    assert txn.product.price_points.get().number == "1"

    subs = {s.kartra_id: s for s in CalendarSubscription.objects.filter(lead=lead)}
    assert set(subs) == {1885, 245}
    first = subs[1885]
    assert (first.calendar.kartra_id, first.calendar.name) == (123, "first calendar")
    assert (first.calendar_class.kartra_id, first.calendar_class.name) == (22, "first class")
    assert (first.status, first.vendor_id, first.vendor_timezone) == (
        "Cancelled", 321, "America/New_York",
    )  # fmt: skip
    assert [h["email"] for h in first.hosts] == ["hostemail@gmail.com", "cohostemail@gmail.com"]
    assert [(e.starts_at, e.duration_minutes) for e in first.events.all()] == [
        (datetime(2020, 12, 9, 14, 0, tzinfo=UTC), 60),  # EST
        (datetime(2020, 12, 10, 14, 0, tzinfo=UTC), 40),
    ]
    assert subs[245].status == "Active"
    assert subs[245].ics_calendar_link == "https://app.kartra.com/calendar/ics/"

    results = {r.survey.name: r for r in SurveyResult.objects.filter(lead=lead)}
    assert results["My Survey"].score is None
    assert results["My Survey"].survey.survey_type == "survey"
    assert results["My Quiz"].score == Decimal("50")
    assert results["My Quiz"].completion_time == 75
    pets = results["My Survey"].answers.get(question__kartra_id=147)
    assert sorted(o.value for o in pets.options.all()) == ["Cats", "Dogs"]
    assert results["My Quiz"].answers.get(question__kartra_id=151).correct == 2

    for model in (LeadTag, ListSubscription, SequenceSubscription, MembershipAccess,
                  Transaction, CalendarSubscription, SurveyResult):  # fmt: skip
        row = model.objects.filter(lead=lead).first()
        assert (row.observed_at, row.observed_source, row.observed_ref) == (T0, "snapshot", 7)


def test_a_later_snapshot_replaces_every_relation_set():
    lead = apply(example_details())
    later = example_details(
        tags=[{"tag_name": "other"}],
        lists=[],
        sequences=[],
        memberships=[{"name": "test", "level_name": "gold", "active": "1"}],
        transactions=[],
        calendars=[example_details()["calendars"][1]],
        surveys=[],
    )
    apply(later, T0 + timedelta(hours=1))

    assert links(LeadTag, lead, "tag") == {"test": False, "other": True}
    assert links(ListSubscription, lead, "list") == {"test": False}
    seq = SequenceSubscription.objects.get(lead=lead)
    assert (seq.status, seq.step) == ("unsubscribed", 2)
    levels = {a.level.name: a.active for a in MembershipAccess.objects.filter(lead=lead)}
    assert levels == {"standard": False, "gold": True}
    assert Transaction.objects.filter(lead=lead).count() == 1  # never deleted
    assert list(CalendarSubscription.objects.values_list("kartra_id", flat=True)) == [245]
    assert not CalendarEvent.objects.filter(subscription__kartra_id=1885).exists()
    assert not SurveyResult.objects.exists()


def test_a_missing_relation_key_leaves_that_relation_alone():
    lead = apply(example_details())
    details = example_details()
    for key in ("tags", "lists", "sequences", "memberships", "calendars", "surveys"):
        del details[key]
    apply(details, T0 + timedelta(hours=1))

    assert links(LeadTag, lead, "tag") == {"test": True}
    assert CalendarSubscription.objects.count() == 2
    assert SurveyResult.objects.count() == 2


def test_a_refresh_request_made_after_the_request_stays():
    lead = Lead.objects.create(kartra_id=1234, mirror_refresh_requested_at=T0 + timedelta(1))
    apply(example_details())
    lead.refresh_from_db()
    assert lead.mirror_refresh_requested_at == T0 + timedelta(1)

    Lead.objects.filter(pk=lead.pk).update(mirror_refresh_requested_at=T0 - timedelta(1))
    apply(example_details(), T0 + timedelta(hours=1))
    lead.refresh_from_db()
    assert lead.mirror_refresh_requested_at is None
    assert lead.mirror_refreshed_at == T0 + timedelta(hours=1)


def test_sequence_completion_from_a_webhook_survives_an_active_snapshot(deliver):
    deliver(webhook_body(1234, "sequence_completion",
                         {"sequence": {"sequence_id": "41", "sequence_name": "test"}}))  # fmt: skip
    apply(example_details(), timezone.now() + timedelta(seconds=1))
    seq = SequenceSubscription.objects.get()
    assert (seq.sequence.kartra_id, seq.status, seq.step) == (41, "completed", 2)


def test_snapshot_does_not_undo_a_newer_webhook(deliver):
    requested_at = timezone.now()
    # Deliveries received after the get_lead request was sent, processed before its answer.
    deliver(webhook_body(1234, "unassign_tag", {"tag": {"tag_id": "5", "tag_name": "test"}},
                         first_name="Newer"))  # fmt: skip
    deliver(webhook_body(1234, "list_subscription",
                         {"list": {"list_id": "6", "list_name": "fresh list"}}))  # fmt: skip
    deliver(webhook_body(1234, "calendar_subscribe", {"calendar": {
        "calendar_id": "77", "calendar_name": "new calendar", "class_id": "8",
        "class_name": "new class"}}))  # fmt: skip

    lead = apply(example_details(), requested_at)

    lead.refresh_from_db()
    assert lead.first_name == "Newer"  # the newer profile wins
    assert links(LeadTag, lead, "tag") == {"test": False}
    assert links(ListSubscription, lead, "list") == {"test": True, "fresh list": True}
    assert Tag.objects.get().kartra_id == 5  # the snapshot's name matched the webhook's row
    assert CalendarSubscription.objects.filter(calendar__kartra_id=77).exists()
    # The webhooks asked for a refresh after the request was sent: it stays pending.
    assert lead.mirror_refresh_requested_at is not None


def test_an_older_delivery_processed_late_does_not_undo_a_snapshot(deliver):
    apply(example_details(), timezone.now() + timedelta(minutes=5))
    deliver(webhook_body(1234, "unassign_tag", {"tag": {"tag_id": "5", "tag_name": "test"}}))
    assert links(LeadTag, Lead.objects.get(), "tag") == {"test": True}


def test_webhook_rows_keep_their_details_under_a_snapshot(deliver):
    deliver(webhook_body(1234, "buy_product", {"transaction_details": {
        "transaction_id": "1234", "product_id": "77", "product_name": "test product",
        "product_price_point": "1", "transaction_full_amount": "300.00",
        "transaction_type": "sale", "transaction_subscription_id": "555",
        "buyer_email": "buyer@example.com",
        "transaction_date": "2019-03-26 06:35:33"}}))  # fmt: skip
    apply(example_details(), timezone.now() + timedelta(seconds=1))

    txn = Transaction.objects.get()
    assert (txn.amount, txn.full_amount) == (Decimal("300.00"), Decimal("300.00"))
    assert (txn.buyer_email, txn.subscription.kartra_id) == ("buyer@example.com", 555)
    assert txn.product.kartra_id == 77
    assert txn.raw["buyer_email"] == "buyer@example.com"


def test_unnumbered_calendar_registration_is_claimed_by_the_snapshot(deliver):
    deliver(webhook_body(1234, "calendar_subscribe", {"calendar": {
        "calendar_id": "33", "calendar_name": "second calendar", "class_id": "11",
        "class_name": "second class"}}))  # fmt: skip
    apply(example_details(), timezone.now() + timedelta(seconds=1))
    assert sorted(CalendarSubscription.objects.values_list("kartra_id", flat=True)) == [245, 1885]


@pytest.mark.parametrize("deleted", [False, True])
def test_not_found_and_deleted_leads_are_marked_not_erased(deleted):
    lead = apply(example_details())
    gone = lead_mark_gone(kartra_id=1234, deleted=deleted, requested_at=T0 + timedelta(1))

    assert gone.pk == lead.pk
    lead.refresh_from_db()
    assert lead.mirror_status == (MirrorStatus.DELETED if deleted else MirrorStatus.NOT_FOUND)
    assert lead.lead_deleted is deleted
    assert lead.mirror_refreshed_at == T0 + timedelta(1)
    assert LeadTag.objects.filter(lead=lead).exists()
    assert lead_mark_gone(email="nobody@example.com", deleted=False) is None

    apply(example_details(), T0 + timedelta(2))  # Kartra has it again
    lead.refresh_from_db()
    assert (lead.mirror_status, lead.lead_deleted) == (MirrorStatus.ACTIVE, False)


def test_pending_lead_imported_by_email_is_claimed():
    pending = Lead.objects.create(email="TEST@test.co", mirror_status=MirrorStatus.PENDING)
    lead = apply(example_details())
    assert lead.pk == pending.pk
    assert Lead.objects.get().kartra_id == 1234


# -- a snapshot is the whole truth about every relation set it lists ----------------------

#: One delivery per relation set, each naming a row the 002 example does not list.
NEVER_LISTED = {
    "tags": ("assign_tag", {"tag": {"tag_id": "5", "tag_name": "never listed"}}),
    "lists": ("list_subscription", {"list": {"list_id": "6", "list_name": "never listed"}}),
    "sequences": (
        "sequence_subscription",
        {"sequence": {"sequence_id": "7", "sequence_name": "never listed"}},
    ),
    "memberships": (
        "membership_granted",
        {
            "membership": {
                "membership_id": "8",
                "membership_name": "never listed",
                "level_id": "9",
                "level_name": "gold",
            }
        },
    ),
    "calendars": (
        "calendar_subscribe",
        {
            "calendar": {
                "calendar_id": "10",
                "calendar_name": "never listed",
                "class_id": "11",
                "class_name": "class",
                "calendar_subscription_id": "12",
            }
        },
    ),
    "surveys": (
        "survey_complete",
        {
            "survey": {
                "survey_id": "13",
                "survey_name": "never listed",
                "survey_type": "1",
                "questions": [],
            }
        },
    ),
}
STATE_OF = {
    "tags": LeadTag,
    "lists": ListSubscription,
    "sequences": SequenceSubscription,
    "memberships": MembershipAccess,
    "calendars": CalendarSubscription,
    "surveys": SurveyResult,
}


def rows_named(key: str, name: str) -> int:
    fk = {"tags": "tag", "lists": "list", "sequences": "sequence", "memberships": "membership",
          "calendars": "calendar", "surveys": "survey"}[key]  # fmt: skip
    return STATE_OF[key].objects.filter(**{f"{fk}__name": name}).count()


@pytest.mark.parametrize("key", sorted(NEVER_LISTED))
def test_an_older_delivery_processed_late_does_not_add_what_a_snapshot_did_not_list(deliver, key):
    apply(example_details(), timezone.now() + timedelta(minutes=5))
    action, details = NEVER_LISTED[key]
    deliver(webhook_body(1234, action, details))

    assert rows_named(key, "never listed") == 0
    # The delivery still lands on the timeline.
    assert Activity.objects.filter(lead__kartra_id=1234, action=action).exists()


@pytest.mark.parametrize("key", sorted(NEVER_LISTED))
def test_a_delivery_adds_to_a_set_the_snapshot_did_not_list(deliver, key):
    # Only a listed set is the whole truth: without the key the snapshot says nothing.
    details = example_details()
    del details[key]
    apply(details, timezone.now() + timedelta(minutes=5))
    action, body_details = NEVER_LISTED[key]
    deliver(webhook_body(1234, action, body_details))

    assert rows_named(key, "never listed") == 1


@pytest.mark.parametrize("key", sorted(NEVER_LISTED))
def test_a_newer_delivery_adds_to_a_set_the_snapshot_replaced(deliver, key):
    apply(example_details(), timezone.now() - timedelta(minutes=5))
    action, details = NEVER_LISTED[key]
    deliver(webhook_body(1234, action, details))

    assert rows_named(key, "never listed") == 1


def test_an_older_snapshot_applied_late_does_not_add_what_a_newer_one_did_not_list():
    apply(example_details(tags=[{"tag_name": "test"}]), T0 + timedelta(hours=1))
    apply(example_details(tags=[{"tag_name": "test"}, {"tag_name": "older"}]), T0)

    assert links(LeadTag, Lead.objects.get(), "tag") == {"test": True}


# -- unexpected values and repeated entries never fail a whole snapshot --------------------


def test_unexpected_enum_values_are_kept_as_sent_and_the_rest_applies():
    calendars = example_details()["calendars"]
    calendars[0]["calendar_subscription_status"] = "No-show"
    surveys = example_details()["surveys"]
    surveys[1]["survey_type"] = "quiz"
    surveys[0]["survey_type"] = "poll"
    details = example_details(
        calendars=calendars,
        surveys=surveys,
        sequences=[{"sequence_name": "test", "step": "2", "status": "paused"}],
        transactions=[{**example_details()["transactions"][0], "transaction_type": "Dispute"}],
    )
    details["custom_fields"].append(
        {"field_id": "326", "field_identifier": "birthday", "field_type": "date",
         "field_value": "1990-01-01"}
    )  # fmt: skip

    lead = apply(details)

    assert dict(CalendarSubscription.objects.values_list("kartra_id", "status")) == {
        1885: "No-show", 245: "Active",
    }  # fmt: skip
    types = {r.survey.name: r.survey.survey_type for r in SurveyResult.objects.all()}
    assert types == {"My Survey": "poll", "My Quiz": "quiz"}
    assert SequenceSubscription.objects.get().status == "paused"
    assert Transaction.objects.get().transaction_type == "Dispute"
    birthday = CustomFieldValue.objects.get(lead=lead, field__identifier="birthday")
    assert (birthday.field.field_type, birthday.text) == ("date", "1990-01-01")
    assert links(LeadTag, lead, "tag") == {"test": True}


def test_documented_survey_types_are_named():
    apply(example_details())
    types = {r.survey.name: r.survey.survey_type for r in SurveyResult.objects.all()}
    assert types == {"My Survey": "survey", "My Quiz": "quiz"}


def test_a_survey_listed_twice_is_applied_once_the_latest_completion_winning():
    survey, quiz = example_details()["surveys"]
    retake = {**quiz, "survey_score": "100", "survey_completion_date": "2021-07-03 06:35:33"}
    lead = apply(example_details(surveys=[survey, retake, quiz]))

    results = {r.survey.name: r for r in SurveyResult.objects.filter(lead=lead)}
    assert sorted(results) == ["My Quiz", "My Survey"]
    assert results["My Quiz"].score == Decimal("100")

    apply(example_details(surveys=[survey, quiz, quiz]), T0 + timedelta(hours=1))
    assert SurveyResult.objects.get(survey__name="My Quiz").score == Decimal("50")


def test_a_question_listed_twice_in_a_survey_is_answered_once():
    survey, quiz = example_details()["surveys"]
    quiz["questions"].append(quiz["questions"][0])
    lead = apply(example_details(surveys=[survey, quiz]))

    result = SurveyResult.objects.get(lead=lead, survey__name="My Quiz")
    assert result.answers.count() == len(quiz["questions"]) - 1


def test_a_calendar_registration_listed_twice_is_applied_once():
    first, second = example_details()["calendars"]
    again = {**first, "calendar_subscription_status": "Completed"}
    apply(example_details(calendars=[first, second, again]))

    assert dict(CalendarSubscription.objects.values_list("kartra_id", "status")) == {
        1885: "Completed", 245: "Active",
    }  # fmt: skip


def test_a_custom_field_listed_twice_is_applied_once():
    details = example_details()
    details["custom_fields"].append({**details["custom_fields"][2], "field_value": "pizza"})
    lead = apply(details)

    dish = CustomFieldValue.objects.get(lead=lead, field__identifier="favorite_dish")
    assert dish.text == "pizza"


def test_a_custom_field_renamed_in_kartra_is_applied_by_deliveries_and_snapshots(deliver):
    apply(example_details())
    details = example_details()
    details["custom_fields"][2]["field_identifier"] = "best_dish"
    details["custom_fields"][2]["field_value"] = "pizza"
    deliver(webhook_body(1234, "assign_tag", {"tag": {"tag_id": "5", "tag_name": "test"}},
                         custom_fields=details["custom_fields"]))  # fmt: skip
    lead = apply(details, timezone.now() + timedelta(seconds=1))

    dish = CustomFieldValue.objects.get(lead=lead, field__kartra_id=325)
    assert (dish.field.identifier, dish.text) == ("best_dish", "pizza")
    assert Delivery.objects.get().status == "processed"


def test_values_kept_as_sent_show_in_the_api_and_the_admin(admin_client):
    from tests.factories import UserFactory
    from tests.kartra_mirror.api.conftest import token_client, view_permissions

    calendars = example_details()["calendars"]
    calendars[0]["calendar_subscription_status"] = "No-show"
    transactions = [{**example_details()["transactions"][0], "transaction_type": "Dispute"}]
    apply(example_details(calendars=calendars, transactions=transactions))

    user = UserFactory(username="reader")
    user.user_permissions.add(*view_permissions())
    body = token_client(user).get("/api/v1/leads/1234/").json()
    assert {c["id"]: c["status"] for c in body["calendar_subscriptions"]} == {
        1885: "No-show",
        245: "Active",
    }
    assert [t["transaction_type"] for t in body["transactions"]] == ["Dispute"]

    registration = CalendarSubscription.objects.get(kartra_id=1885)
    page = admin_client.get(f"/admin/leads/calendarsubscription/{registration.pk}/change/")
    assert b"No-show" in page.content
    listing = admin_client.get("/admin/leads/transaction/")
    assert b"Dispute" in listing.content
    lead_page = admin_client.get(f"/admin/leads/lead/{Lead.objects.get().pk}/change/")
    assert b"No-show" in lead_page.content and b"Dispute" in lead_page.content
