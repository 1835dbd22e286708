"""Every JSON example in Kartra's five docs, copied verbatim into ``fixtures/``."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from leads.normalize import (
    AnswerRecord,
    CalendarRecord,
    CatalogRef,
    CustomValueRecord,
    ListState,
    MembershipState,
    OptionRef,
    PayloadError,
    ProductRef,
    SequenceState,
    SurveyRecord,
    loads_lenient,
    parse_lead_details,
    parse_webhook,
)

from ._support import FIXTURES, fixture_bytes, fixture_json, utc

DOC_FIXTURES = sorted(path.name for path in FIXTURES.glob("*.json"))
# The two long examples carry trailing commas that strict JSON rejects.
NOT_STRICT_JSON = {"001_list_subscription_example.json", "002_get_lead_success.json"}

DOC_CUSTOM_VALUES = (
    CustomValueRecord(323, "color", "checkbox", "", (OptionRef(1, "red"), OptionRef(2, "blue"))),
    CustomValueRecord(324, "gender", "drop_down", "", (OptionRef(1, "male"),)),
    CustomValueRecord(325, "favorite_dish", "input_field", "beef lasagna", ()),
)


def test_every_doc_example_is_a_fixture():
    assert DOC_FIXTURES == [
        "001_list_subscription_example.json",
        "002_create_lead_error_244.json",
        "002_create_lead_success.json",
        "002_edit_lead_error_244.json",
        "002_edit_lead_success.json",
        "002_get_lead_error_234.json",
        "002_get_lead_event_template.json",
        "002_get_lead_host_fragment.json",
        "002_get_lead_success.json",
        "002_search_lead_error.json",
        "002_search_lead_success.json",
        "003_make_api_call_get_lead_body.json",
        "003_make_api_call_pages_body.json",
    ]


@pytest.mark.parametrize("name", DOC_FIXTURES)
def test_doc_examples_load_leniently(name):
    text = fixture_bytes(name).decode()
    assert isinstance(loads_lenient(text), dict)
    if name in NOT_STRICT_JSON:
        with pytest.raises(json.JSONDecodeError):
            json.loads(text)


def test_001_list_subscription_example():
    event = parse_webhook(fixture_bytes("001_list_subscription_example.json"))
    assert event.action == "list_subscription"
    assert event.known is True
    assert event.detail == CatalogRef(kartra_id=1, name="list 1")
    assert event.raw_details == {"list": {"list_id": 1, "list_name": "list 1"}}
    lead = event.lead
    assert lead.kartra_id == 1
    assert lead.fields == {
        "first_name": "John",
        "middle_name": "Doe",
        "last_name": "Doe",
        "last_name2": "Doe",
        "email": "johndoe@gmail.com",
        "phone_country_code": "+1",
        "phone": "1234567",
        "company": "company",
        "address": "address",
        "city": "New York",
        "zip": "1234",
        "state": "state",
        "country": "United States",
        "date_joined": utc(2018, 4, 26, 4, 0, 0),  # midnight EDT
        "website": "http://www.example.com",
        "ip": "127.0.0.1",
        "ip_country": "United States",
        "facebook": "facebook",
        "twitter": "twitter",
        "linkedin": "linkedin",
        "google_plus": "google_plus",
        "sales_tax_id": "1234",
        "lead_picture": "http://www.example.com",
        "source": "",  # "0"
        "score": 0,
        "lead_deleted": False,
        "lead_deleted_date": utc(2018, 4, 26, 4, 0, 0),
        "referring_id": None,  # "0"
        "blacklisted": False,
        "source_id": None,
        "gdpr_lead_status": 1,
        "gdpr_lead_status_date": utc(2018, 4, 26, 4, 0, 0),
        "gdpr_lead_status_ip": "127.0.0.1",
        "gdpr_lead_communications": 0,
    }
    assert lead.custom_values == DOC_CUSTOM_VALUES
    assert lead.raw["google_plus"] == "google_plus"


def test_002_get_lead_success_example():
    snapshot = parse_lead_details(fixture_json("002_get_lead_success.json"))
    profile = snapshot.profile
    assert profile.kartra_id == 1234
    assert profile.fields == {
        "first_name": "test",
        "middle_name": "test",
        "last_name": "test",
        "last_name2": "test",
        "company": "test",
        "sales_tax_id": "test",
        "email": "test@test.co",
        "username": "test123",
        "date_joined": utc(2019, 3, 26, 10, 35, 31),  # 06:35:31 EDT
        "phone_country_code": "+40",
        "phone": "123456",
        "ip": "1.1.1.1",
        "address": "test",
        "zip": "test",
        "city": "test",
        "state": "CA",
        "country": "US",
        "lead_picture": "https://s3.amazonaws.com/kartra/internal/default_user.png",
        "score": 0,
        "source": "checkout",
        "source_id": 1234,
        "ip_country": "United States",
        "website": "https://google.com",
        "facebook": "test",
        "twitter": "test",
        "linkedin": "test",
        "lead_preferred_time_zone": "America/New_York",
        "referring_id": 1234,
        "blacklisted": False,
        "gdpr_lead_status": 2,
        "gdpr_lead_status_date": utc(2019, 3, 26, 10, 35, 31),
        "gdpr_lead_communications": 1,
        "gdpr_lead_status_ip": "1.1.1.1",
    }
    assert profile.custom_values == DOC_CUSTOM_VALUES
    assert snapshot.tags == ("test",)
    assert snapshot.lists == (ListState("test", True),)
    assert snapshot.sequences == (SequenceState("test", 2, "active"),)  # tree_name
    assert snapshot.memberships == (MembershipState("test", "standard", True),)

    (transaction,) = snapshot.transactions
    assert transaction.kartra_id == 1234
    assert transaction.product == ProductRef(None, "test product", None)
    assert transaction.subscription_kartra_id is None
    assert transaction.fields == {
        "transaction_type": "sale",
        "price_point": "1",
        "amount": Decimal("300.00"),
        "transaction_date": utc(2019, 3, 26, 10, 35, 33),
    }

    hosts = (
        {"first_name": "host", "last_name": "host", "email": "hostemail@gmail.com"},
        {"first_name": "co-host", "last_name": "co-host", "email": "cohostemail@gmail.com"},
    )
    assert snapshot.calendars == (
        CalendarRecord(
            calendar=CatalogRef(123, "first calendar"),
            calendar_class=CatalogRef(22, "first class"),
            subscription_kartra_id=1885,
            status="Cancelled",
            vendor_id=321,
            vendor_timezone="America/New_York",
            hosts=hosts,
            events=((utc(2020, 12, 9, 14, 0), 60), (utc(2020, 12, 10, 14, 0), 40)),
            ics_calendar_link="",
        ),
        CalendarRecord(
            calendar=CatalogRef(33, "second calendar"),
            calendar_class=CatalogRef(11, "second class"),
            subscription_kartra_id=245,
            status="Active",
            vendor_id=321,
            vendor_timezone="America/Detroit",
            hosts=hosts,
            events=((utc(2020, 12, 14, 14, 0), 60), (utc(2020, 12, 19, 14, 0), 40)),
            ics_calendar_link="https://app.kartra.com/calendar/ics/",
        ),
    )

    assert snapshot.surveys == (
        SurveyRecord(
            survey=CatalogRef(123, "My Survey"),
            survey_type="survey",  # "1"
            score=None,  # "N/A"
            completion_time=65,
            completed_at=utc(2021, 7, 1, 10, 35, 33),
            answers=(
                AnswerRecord(146, "Age", 0, (OptionRef(105, "Between 18 and 30"),)),
                AnswerRecord(
                    147,
                    "What pets do you like",
                    0,
                    (OptionRef(109, "Cats"), OptionRef(110, "Dogs")),
                ),
            ),
        ),
        SurveyRecord(
            survey=CatalogRef(127, "My Quiz"),
            survey_type="quiz",  # "2"
            score=Decimal("50.00"),
            completion_time=75,
            completed_at=utc(2021, 7, 2, 10, 35, 33),
            answers=(
                AnswerRecord(150, "5+5", 1, (OptionRef(125, "10"),)),
                AnswerRecord(151, "Question", 2, (OptionRef(131, "Cats"), OptionRef(132, "Dogs"))),
            ),
        ),
    )


def test_get_lead_answer_and_its_lead_details_parse_alike():
    answer = fixture_json("002_get_lead_success.json")
    assert parse_lead_details(answer) == parse_lead_details(answer["lead_details"])
    assert parse_lead_details(fixture_bytes("002_get_lead_success.json")).profile.kartra_id == 1234


@pytest.mark.parametrize(
    ("name", "type_code", "message"),
    [
        ("002_get_lead_error_234.json", "234", "No lead found"),
        ("002_create_lead_error_244.json", "244", "Lead already exists"),
        ("002_edit_lead_error_244.json", "244", "Lead already exists"),
        ("002_search_lead_error.json", "244", "Lead already exists"),
    ],
)
def test_002_error_examples(name, type_code, message):
    answer = fixture_json(name)
    assert answer == {"status": "Error", "message": message, "type": type_code}
    with pytest.raises(PayloadError) as caught:
        parse_lead_details(answer)  # an error envelope has no lead id
    assert caught.value.field == "lead_details.id"


@pytest.mark.parametrize(
    ("name", "command"),
    [("002_create_lead_success.json", "create_lead"), ("002_edit_lead_success.json", "edit_lead")],
)
def test_002_create_and_edit_success_examples(name, command):
    answer = fixture_json(name)
    result = answer["actions"][0][command]
    assert result["status"] == "Success"
    snapshot = parse_lead_details(result["lead_details"])
    assert snapshot.profile.kartra_id == 1234
    assert snapshot.profile.fields == {}
    assert snapshot.profile.custom_values is None
    assert snapshot.tags == snapshot.lists == snapshot.transactions == ()


def test_002_search_success_example():
    answer = fixture_json("002_search_lead_success.json")
    assert answer["message"] == "Lead found"
    assert parse_lead_details(answer).profile.kartra_id == 39260


def test_002_host_fragment_and_event_template():
    host = fixture_json("002_get_lead_host_fragment.json")
    calendar = {"calendar_id": "1", "calendar_name": "c", "hosts": [host]}
    snapshot = parse_lead_details({"id": "1", "calendars": [calendar]})
    assert snapshot.calendars[0].hosts == (
        {"first_name": "host", "last_name": "host", "email": "hostemail@gmail.com"},
    )
    # The event "example" is a template ("YYYY-MM-DD HH:MM", "MM"), not data.
    calendar["events"] = [fixture_json("002_get_lead_event_template.json")]
    with pytest.raises(PayloadError) as caught:
        parse_lead_details({"id": "1", "calendars": [calendar]})
    assert caught.value.field == "lead_details.calendars[0].events[0].event_date"
    assert caught.value.value == "YYYY-MM-DD HH:MM"


def test_003_request_body_examples():
    assert fixture_json("003_make_api_call_pages_body.json") == {
        "actions[][cmd]": "retrieve_account_pages"
    }
    assert fixture_json("003_make_api_call_get_lead_body.json") == {
        "get_lead[email]": "{lead_email}"
    }
