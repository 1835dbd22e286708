"""A webhook's lead block lists the lead's custom fields every time; when it lists them as the
lead's last profile did, their values are known to be stored and are not read or written
again (``leads.services.lead.custom_confirmed``). Whatever differs still wins by its
observation time, and the field catalogue still follows every listing."""

import copy
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from events.models import Delivery, DeliveryStatus
from events.services import deliveries_process_batch, delivery_store
from leads.models import Change, ChangeKind, CustomField, CustomFieldValue, Lead
from tests.payloads import body, lead_block

pytestmark = pytest.mark.django_db

START = timezone.now() - timedelta(hours=1)


def custom_fields(dish: str = "beef lasagna", identifier: str = "favorite_dish") -> list[dict]:
    """The 001 doc's two custom fields, with another dish or identifier for field 325."""
    listed = copy.deepcopy(lead_block(1)["custom_fields"])
    listed[1].update(field_value=dish, field_identifier=identifier)
    return listed


def deliver(*bodies: tuple[int, list[dict]], minutes: int) -> list[str]:
    """Store one assign_tag delivery per (lead, custom fields), a second apart from
    ``minutes`` after START, and process them in one batch; return the SQL it ran."""
    for n, (lead_id, listed) in enumerate(bodies):
        delivery = delivery_store(body=body("assign_tag", lead_id=lead_id, custom_fields=listed))
        at = START + timedelta(minutes=minutes, seconds=n)
        Delivery.objects.filter(pk=delivery.pk).update(received_at=at)
    with CaptureQueriesContext(connection) as captured:
        assert deliveries_process_batch() == len(bodies)
    assert not Delivery.objects.exclude(status=DeliveryStatus.PROCESSED).exists()
    return [query["sql"] for query in captured.captured_queries]


def dish(lead_id: int = 1) -> str:
    return CustomFieldValue.objects.get(lead__kartra_id=lead_id, field__kartra_id=325).text


def colours(lead_id: int = 1) -> set[str]:
    value = CustomFieldValue.objects.get(lead__kartra_id=lead_id, field__kartra_id=323)
    return set(value.options.values_list("value", flat=True))


def test_a_listing_as_before_is_neither_read_nor_written_again():
    deliver((1, custom_fields()), minutes=0)
    statements = deliver((1, custom_fields()), minutes=1)

    assert not [sql for sql in statements if "leads_customfieldvalue" in sql]
    assert dish() == "beef lasagna"
    assert colours() == {"red", "blue"}
    assert not Change.objects.filter(kind=ChangeKind.CUSTOM_FIELD).exists()


def test_a_changed_value_is_written_and_recorded():
    deliver((1, custom_fields()), minutes=0)
    deliver((1, custom_fields("pizza")), minutes=1)

    assert dish() == "pizza"
    assert colours() == {"red", "blue"}
    change = Change.objects.get(kind=ChangeKind.CUSTOM_FIELD)
    assert (change.old, change.new) == ("beef lasagna", "pizza")


@pytest.mark.parametrize(
    ("first", "second"), [("pizza", "beef lasagna"), ("beef lasagna", "pizza")]
)
def test_in_one_batch_the_newest_listing_wins_whichever_equals_the_stored_one(first, second):
    deliver((1, custom_fields()), minutes=0)
    deliver((1, custom_fields(first)), (1, custom_fields(second)), minutes=1)

    assert dish() == second


def test_only_the_lead_whose_listing_changed_is_written():
    deliver((1, custom_fields()), (2, custom_fields()), minutes=0)
    deliver((1, custom_fields()), (2, custom_fields("pizza")), minutes=1)

    assert (dish(1), dish(2)) == ("beef lasagna", "pizza")


def test_the_field_catalogue_follows_a_listing_that_is_as_before():
    """Field 325 is renamed, then renamed back: the lead whose listing is as its last one
    still tells the catalogue the identifier of today."""
    deliver((1, custom_fields()), minutes=0)
    deliver((2, custom_fields(identifier="dish")), minutes=1)
    assert CustomField.objects.get(kartra_id=325).identifier == "dish"

    deliver((1, custom_fields()), minutes=2)

    assert CustomField.objects.get(kartra_id=325).identifier == "favorite_dish"
    assert Lead.objects.get(kartra_id=1).mirror_raw["custom_fields"] == custom_fields()
