"""What Kartra guarantees is enforced by the database, so concurrent writers cannot
create duplicates."""

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from leads.models import (
    Calendar,
    CalendarSubscription,
    CustomField,
    CustomFieldOption,
    Lead,
    LeadTag,
    List,
    ListSubscription,
    Membership,
    MembershipAccess,
    MembershipLevel,
    Source,
    Tag,
    Transaction,
)

pytestmark = pytest.mark.django_db

SEEN = {"observed_at": timezone.now(), "observed_source": Source.WEBHOOK}


def _refused(create) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        create()


def test_duplicate_kartra_lead_id_is_refused():
    Lead.objects.create(kartra_id=7)
    _refused(lambda: Lead.objects.create(kartra_id=7))


def test_email_is_unique_case_insensitively_but_blank_is_allowed_many_times():
    Lead.objects.create(kartra_id=1, email="Ann@Example.com")
    _refused(lambda: Lead.objects.create(kartra_id=2, email="ann@example.COM"))
    Lead.objects.create(kartra_id=3, email="")
    Lead.objects.create(kartra_id=4, email="")


def test_duplicate_transaction_id_is_refused():
    lead = Lead.objects.create(kartra_id=1)
    Transaction.objects.create(kartra_id=99, lead=lead, transaction_type="sale", **SEEN)
    _refused(
        lambda: Transaction.objects.create(kartra_id=99, lead=lead, transaction_type="sale", **SEEN)
    )


def test_duplicate_tag_assignment_is_refused():
    lead = Lead.objects.create(kartra_id=1)
    tag = Tag.objects.create(kartra_id=5, name="VIP")
    LeadTag.objects.create(lead=lead, tag=tag, **SEEN)
    _refused(lambda: LeadTag.objects.create(lead=lead, tag=tag, active=False, **SEEN))


def test_duplicate_list_subscription_is_refused():
    lead = Lead.objects.create(kartra_id=1)
    mailing_list = List.objects.create(name="News")
    ListSubscription.objects.create(lead=lead, list=mailing_list, **SEEN)
    _refused(lambda: ListSubscription.objects.create(lead=lead, list=mailing_list, **SEEN))


def test_catalogue_ids_are_unique_and_one_idless_row_per_name():
    Tag.objects.create(kartra_id=5, name="VIP")
    _refused(lambda: Tag.objects.create(kartra_id=5, name="Other"))
    Tag.objects.create(name="Seen by name")
    _refused(lambda: Tag.objects.create(name="Seen by name"))
    # a renamed tag may share its old name with an id-less row
    Tag.objects.create(kartra_id=6, name="Seen by name")


def test_membership_access_is_unique_per_level_and_per_levelless_membership():
    lead = Lead.objects.create(kartra_id=1)
    membership = Membership.objects.create(kartra_id=1, name="Academy")
    level = MembershipLevel.objects.create(membership=membership, kartra_id=2, name="Gold")
    MembershipAccess.objects.create(lead=lead, membership=membership, level=level, **SEEN)
    _refused(
        lambda: MembershipAccess.objects.create(
            lead=lead, membership=membership, level=level, **SEEN
        )
    )
    MembershipAccess.objects.create(lead=lead, membership=membership, level=None, **SEEN)
    _refused(
        lambda: MembershipAccess.objects.create(
            lead=lead, membership=membership, level=None, **SEEN
        )
    )


def test_option_ids_are_unique_within_their_field_only():
    color = CustomField.objects.create(kartra_id=323, identifier="color", field_type="checkbox")
    gender = CustomField.objects.create(kartra_id=324, identifier="gender", field_type="drop_down")
    CustomFieldOption.objects.create(field=color, kartra_id=1, value="red")
    CustomFieldOption.objects.create(field=gender, kartra_id=1, value="male")
    _refused(lambda: CustomFieldOption.objects.create(field=color, kartra_id=1, value="x"))


def test_calendar_subscription_id_is_unique():
    lead = Lead.objects.create(kartra_id=1)
    calendar = Calendar.objects.create(kartra_id=123, name="Coaching")
    CalendarSubscription.objects.create(
        kartra_id=1885, lead=lead, calendar=calendar, status="Active", **SEEN
    )
    _refused(
        lambda: CalendarSubscription.objects.create(
            kartra_id=1885, lead=lead, calendar=calendar, status="Active", **SEEN
        )
    )
