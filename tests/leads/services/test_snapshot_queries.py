"""A snapshot applies in a pinned number of queries that does not grow with the number of
tags, lists, sequences, memberships, transactions, calendar registrations, survey results
or custom fields."""

import math
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from leads.models import Transaction
from leads.normalize import parse_lead_details
from leads.services.snapshot import lead_apply_snapshot
from tests.payloads import example_details

pytestmark = pytest.mark.django_db

#: Ceilings for a lead seen for the first time (its catalogue rows are new too) and for its
#: next refresh; measured at 77 and 79 on SQLite, and on PostgreSQL one more for the lock
#: that numbers a batch's changes, and one more for a batch in a transaction of its own, as
#: a sync applies it (its commit does not wait for the disk). The change history costs a
#: refresh 25 of them (each part of the lead read before and after the batch) and
#: a new lead 1 (its one change). A batch of snapshots costs the same (see
#: test_a_batch_of_snapshots_costs_what_one_does).
FIRST_SEEN_CEILING = 78
REFRESH_CEILING = 81

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def details_with(lead_id: int, n: int) -> dict:
    """A lead with ``n`` of every relation (calendar registrations with two events, survey
    results with two questions) and ``n`` custom fields."""
    fields = []
    for i in range(n):
        if i % 2:
            fields.append({"field_id": str(1000 + i), "field_identifier": f"text{i}",
                           "field_type": "input_field", "field_value": f"value {i}"})  # fmt: skip
        else:
            fields.append({"field_id": str(1000 + i), "field_identifier": f"check{i}",
                           "field_type": "checkbox", "field_value": [
                               {"option_id": "1", "option_value": "a"},
                               {"option_id": "2", "option_value": "b"}]})  # fmt: skip
    return example_details(
        id=str(lead_id),
        email=f"lead{lead_id}@example.com",
        tags=[{"tag_name": f"tag {i}"} for i in range(n)],
        lists=[{"list_name": f"list {i}", "active": str(i % 2)} for i in range(n)],
        sequences=[{"tree_name": f"seq {i}", "step": "1", "status": "active"} for i in range(n)],
        memberships=[{"name": f"club {i}", "level_name": "gold", "active": "1"} for i in range(n)],
        transactions=[
            {"transaction_id": str(lead_id * 1000 + i), "product_name": f"product {i}",
             "product_price_point": "1", "transaction_type": "Sale",
             "transaction_amount": "10.00", "transaction_date": "2024-01-01 10:00:00"}
            for i in range(n)
        ],  # fmt: skip
        custom_fields=fields,
        calendars=[
            {"calendar_name": f"calendar {i}", "calendar_id": str(100 + i),
             "class_name": "class", "class_id": str(500 + i),
             "subscription_id": str(lead_id * 1000 + i), "calendar_subscription_status": "Active",
             "vendor_id": "321", "vendor_timezone": "America/New_York",
             "events": [{"event_date": "2024-02-01 09:00", "event_duration": 60},
                        {"event_date": "2024-02-02 09:00", "event_duration": 30}]}
            for i in range(n)
        ],
        surveys=[
            {"survey_id": str(700 + i), "survey_name": f"survey {i}", "survey_type": "2",
             "survey_score": "50", "survey_completion_time": "60",
             "survey_completion_date": "2024-02-01 09:00:00",
             "questions": [
                 {"question_id": str(9000 + 10 * i + q), "question_title": f"q{q}",
                  "question_correct": "1",
                  "answers": [{"option_id": str(100 * q + 1), "option_value": "yes"},
                              {"option_id": str(100 * q + 2), "option_value": "no"}]}
                 for q in range(2)]}
            for i in range(n)
        ],
    )  # fmt: skip


def count_queries(details: dict, at: datetime) -> int:
    snapshot = parse_lead_details(details)
    with CaptureQueriesContext(connection) as captured:
        lead_apply_snapshot(snapshot=snapshot, requested_at=at, sync_run_id=None)
    return len(captured)


def sqlite_batches(n: int) -> int:
    """Extra INSERTs Django 5.2 makes on SQLite: it caps a statement at 999 parameters
    (``features.max_query_params``), which splits rows as wide as a transaction into
    batches of 16. One statement on PostgreSQL."""
    if connection.vendor != "sqlite":
        return 0
    fields = [f for f in Transaction._meta.concrete_fields if not f.primary_key]
    per_batch = connection.ops.bulk_batch_size(fields, [None] * n)
    return math.ceil(n / per_batch) - 1


def test_query_count_is_pinned_and_flat():
    first_small = count_queries(details_with(1, 2), T0)
    first_large = count_queries(details_with(2, 30), T0)
    again_small = count_queries(details_with(1, 2), T0 + timedelta(hours=1))
    again_large = count_queries(details_with(2, 30), T0 + timedelta(hours=1))

    assert first_small == first_large - sqlite_batches(30) <= FIRST_SEEN_CEILING
    assert again_small == again_large - sqlite_batches(30) <= REFRESH_CEILING


def test_the_002_example_with_calendars_and_surveys_stays_under_a_ceiling(
    django_assert_max_num_queries,
):
    snapshot = parse_lead_details(example_details())
    with django_assert_max_num_queries(FIRST_SEEN_CEILING):
        lead_apply_snapshot(snapshot=snapshot, requested_at=T0, sync_run_id=None)


def test_a_batch_of_snapshots_costs_what_one_does():
    """1, 10 or 50 leads in a batch: the same statements (a chunked INSERT counting once:
    SQLite caps a statement's parameters, PostgreSQL sends a batch's rows as arrays)."""
    from leads.models import Source
    from leads.services.observation import Observation
    from leads.services.snapshot import snapshots_apply
    from tests.events.deliveries.test_batch_queries import statements

    def apply(leads: range, at: datetime) -> int:
        observation = Observation(at=at, source=Source.SNAPSHOT)
        batch = [(parse_lead_details(details_with(n, 3)), observation) for n in leads]
        with CaptureQueriesContext(connection) as captured:
            snapshots_apply(batch)
        if connection.vendor == "postgresql":  # nothing chunked there
            assert statements(captured) == len(captured)
        return statements(captured)

    apply(range(1, 2), T0)  # the catalogue rows, for the batches below to find
    first = [apply(range(2, 3), T0), apply(range(3, 13), T0), apply(range(13, 63), T0)]
    assert first == [first[0]] * 3 and first[0] <= FIRST_SEEN_CEILING
    later = T0 + timedelta(hours=1)
    again = [apply(range(2, 3), later), apply(range(3, 13), later), apply(range(13, 63), later)]
    assert again == [again[0]] * 3 and again[0] <= REFRESH_CEILING
