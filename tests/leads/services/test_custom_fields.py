"""Custom fields: Kartra's field id is the key; the identifier follows the newest observation."""

from datetime import UTC, datetime, timedelta

import pytest

from leads.models import CustomField, CustomFieldValue, Lead, Source
from leads.normalize import CustomFieldRecord, CustomValueRecord, OptionRef
from leads.services.custom_fields import custom_fields_upsert, custom_values_apply
from leads.services.observation import Observation

pytestmark = pytest.mark.django_db

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def seen(at: datetime) -> Observation:
    return Observation(at=at, source=Source.WEBHOOK)


def text(field_id: int | None, identifier: str, value: str = "x") -> CustomValueRecord:
    return CustomValueRecord(field_id, identifier, "input_field", value, ())


def lead_apply_custom_values(lead: Lead, values: list, *, observation: Observation) -> None:
    custom_values_apply([(lead, record, observation) for record in values])


def fields() -> dict:
    return dict(CustomField.objects.values_list("kartra_id", "identifier"))


@pytest.fixture
def lead() -> Lead:
    return Lead.objects.create(kartra_id=1)


def test_a_renamed_identifier_keeps_the_field_and_its_values(lead):
    lead_apply_custom_values(lead, [text(325, "dish", "lasagna")], observation=seen(T0))
    field = CustomField.objects.get()

    lead_apply_custom_values(
        lead, [text(325, "favorite_dish", "pizza")], observation=seen(T0 + timedelta(1))
    )

    assert fields() == {325: "favorite_dish"}
    value = CustomFieldValue.objects.get()
    assert (value.field_id, value.text) == (field.pk, "pizza")


def test_an_older_observation_does_not_rename_back(lead):
    lead_apply_custom_values(lead, [text(325, "favorite_dish")], observation=seen(T0))
    # A delivery received earlier, processed (or replayed) late, carries the old identifier.
    lead_apply_custom_values(lead, [text(325, "dish", "old")], observation=seen(T0 - timedelta(1)))

    assert fields() == {325: "favorite_dish"}


def test_two_fields_swapping_identifiers(lead):
    custom_fields_upsert([text(1, "a"), text(2, "b")], observed_at=T0)
    custom_fields_upsert([text(1, "b"), text(2, "a")], observed_at=T0 + timedelta(1))

    assert fields() == {1: "b", 2: "a"}


def test_an_identifier_taken_by_another_field_is_released_from_the_stale_row(lead):
    custom_fields_upsert([text(1, "color")], observed_at=T0)
    # Field 1 was renamed in Kartra and field 2 now has its old identifier.
    lead_apply_custom_values(lead, [text(2, "color", "red")], observation=seen(T0 + timedelta(1)))

    assert fields() == {1: "", 2: "color"}
    assert CustomFieldValue.objects.get().field.kartra_id == 2
    custom_fields_upsert([text(1, "colour")], observed_at=T0 + timedelta(2))
    assert fields() == {1: "colour", 2: "color"}


def test_a_row_first_seen_by_identifier_is_claimed_by_its_id(lead):
    lead_apply_custom_values(lead, [text(None, "dish", "lasagna")], observation=seen(T0))
    lead_apply_custom_values(lead, [text(325, "dish", "pizza")], observation=seen(T0))

    assert fields() == {325: "dish"}
    assert CustomFieldValue.objects.get().text == "pizza"


def test_a_value_named_by_id_only(lead):
    lead_apply_custom_values(lead, [text(325, "dish", "lasagna")], observation=seen(T0))
    lead_apply_custom_values(lead, [text(325, "", "pizza")], observation=seen(T0))

    assert fields() == {325: "dish"}
    assert CustomFieldValue.objects.get().text == "pizza"


def test_the_catalogue_call_renames_too(lead):
    custom_fields_upsert([text(323, "color")], observed_at=T0)
    record = CustomFieldRecord(323, "colour", "checkbox", (OptionRef(1, "red"),))
    custom_fields_upsert([record])

    assert fields() == {323: "colour"}
    assert CustomField.objects.get().options.get().value == "red"


def test_constant_queries_whatever_the_number_of_fields(lead, django_assert_max_num_queries):
    custom_fields_upsert([text(i, f"f{i}") for i in range(1, 4)], observed_at=T0)
    renamed = [text(i, f"renamed{i}") for i in range(1, 31)]
    with django_assert_max_num_queries(8):
        custom_fields_upsert(renamed, observed_at=T0 + timedelta(1))
    assert len(fields()) == 30


def test_options_first_seen_on_several_leads_of_one_batch_are_all_kept():
    """Each lead's choice is linked, not only the last record's (a batch of snapshots or
    deliveries where leads chose different options Kartra's catalogue call has not shown)."""
    a, b = Lead.objects.create(kartra_id=1), Lead.objects.create(kartra_id=2)

    def choice(option_id: int, label: str) -> CustomValueRecord:
        return CustomValueRecord(324, "gender", "drop_down", "", (OptionRef(option_id, label),))

    custom_values_apply([(a, choice(2, "female"), seen(T0)), (b, choice(1, "male"), seen(T0))])
    chosen = {
        value.lead_id: sorted(value.options.values_list("kartra_id", flat=True))
        for value in CustomFieldValue.objects.all()
    }
    assert chosen == {a.pk: [2], b.pk: [1]}
