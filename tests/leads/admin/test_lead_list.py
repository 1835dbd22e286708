"""The lead list: index-friendly search, every filter, and counts that never scan."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from kartra_mirror import admin as mirror_admin
from leads.models import (
    CalendarSubscription,
    CustomField,
    CustomFieldOption,
    CustomFieldValue,
    FieldType,
    GdprStatus,
    Lead,
    LeadTag,
    MembershipAccess,
    MirrorStatus,
    SequenceStatus,
    SequenceSubscription,
)
from tests.factories import make_lead, make_lead_graph, observed

pytestmark = pytest.mark.django_db
URL = reverse("admin:leads_lead_changelist")


def listed(client, **params) -> set[int]:
    response = client.get(URL, params)
    assert response.status_code == 200
    return {lead.pk for lead in response.context["cl"].result_list}


@pytest.fixture
def people(db):
    return {
        "ada": make_lead(
            kartra_id=501,
            email="Ada.Lovelace@Example.com",
            first_name="Ada",
            last_name="Lovelace",
            phone="+1 555 0101",
        ),
        "grace": make_lead(
            kartra_id=502,
            email="grace@navy.mil",
            first_name="Grace",
            last_name="Hopper",
            phone="5550102",
        ),
        "alan": make_lead(
            kartra_id=503,
            email="alan@example.com",
            first_name="Alan",
            last_name="Turing",
            phone="44 20 7946 0958",
        ),
    }


def test_list_columns(admin_client, people):
    response = admin_client.get(URL)
    content = response.content.decode()
    for header in (
        "Kartra id",
        "Name",
        "Email",
        "Score",
        "Source",
        "Joined",
        "Last activity",
        "Last refreshed",
    ):
        assert header in content, header
    assert "Ada Lovelace" in content and "Ada.Lovelace@Example.com" in content


@pytest.mark.parametrize(
    ("term", "expected"),
    [
        ("ada.lovelace@example.com", {"ada"}),  # exact, any case
        ("ADA.LOVELACE@EXAMPLE.COM", {"ada"}),
        ("grace@", {"grace"}),  # prefix
        ("alan@exa", {"alan"}),
        ("ada.love", {"ada"}),  # the start of an email without its @
        ("ADA.LOVELACE", {"ada"}),
        ("@example.com", set()),  # a prefix search, not a contains scan
        ("502", {"grace"}),  # Kartra id
        ("#503", {"alan"}),
        ("Lovelace", {"ada"}),  # a name
        ("grace hopper", {"grace"}),  # first and last name
        ("ada turing", set()),  # each word must match
        ("al", {"alan"}),  # a name fragment or an email prefix
        ("5550102", {"grace"}),  # phone digits
        ("20 7946", {"alan"}),  # phone as typed
        ("  ", {"ada", "grace", "alan"}),
    ],
)
def test_search(admin_client, people, term, expected):
    assert listed(admin_client, q=term) == {people[name].pk for name in expected}


def test_search_by_a_long_number_does_not_overflow(admin_client, people):
    assert listed(admin_client, q="9" * 30) == set()


def test_catalogue_filters(admin_client):
    one, two = make_lead_graph(2), make_lead_graph(1)
    make_lead()  # holds nothing
    lead = one.lead

    assert listed(admin_client, tag=one.tags[0].pk) == {lead.pk}
    # An unassigned tag does not count (the builder unassigns every fifth).
    LeadTag.objects.filter(lead=lead, tag=one.tags[1]).update(active=False)
    assert listed(admin_client, tag=one.tags[1].pk) == set()

    mailing_list = lead.list_subscriptions.first().list
    assert listed(admin_client, list=mailing_list.pk) == {lead.pk}

    access = MembershipAccess.objects.filter(lead=two.lead).first()
    assert listed(admin_client, membership=access.membership_id) == {two.lead.pk}
    assert listed(admin_client, membership_level=access.level_id) == {two.lead.pk}

    subscription = SequenceSubscription.objects.filter(lead=lead).first()
    assert listed(admin_client, sequence=subscription.sequence_id) == {lead.pk}
    assert (
        listed(admin_client, sequence=subscription.sequence_id, sequence_status="completed")
        == set()
    )
    subscription.status = SequenceStatus.COMPLETED
    subscription.save()
    assert listed(admin_client, sequence=subscription.sequence_id, sequence_status="completed") == {
        lead.pk
    }
    assert listed(admin_client, sequence_status="completed") == {lead.pk}

    assert listed(admin_client, product=one.products[0].pk) == {lead.pk}
    assert listed(admin_client, product=two.products[0].pk) == {two.lead.pk}

    calendar_subscription = CalendarSubscription.objects.filter(lead=lead).first()
    assert listed(admin_client, calendar=calendar_subscription.calendar_id) == {lead.pk}
    calendar_subscription.status = "Cancelled"
    calendar_subscription.save()
    assert listed(admin_client, calendar=calendar_subscription.calendar_id) == set()

    survey = lead.survey_results.first().survey
    assert listed(admin_client, survey=survey.pk) == {lead.pk}


def test_autocomplete_filter_shows_the_chosen_row(admin_client, lead_graph):
    tag = lead_graph.tags[0]
    response = admin_client.get(URL, {"tag": tag.pk})
    content = response.content.decode()
    assert f'<option value="{tag.pk}" selected>{tag.name}</option>' in content
    assert 'data-model-name="leadtag"' in content and 'data-field-name="tag"' in content
    assert (
        "admin/js/autocomplete.js" in content and "kartra_admin/autocomplete_filter.js" in content
    )


def test_autocomplete_view_feeds_the_filter(admin_client, lead_graph):
    response = admin_client.get(
        reverse("admin:autocomplete"),
        {"app_label": "leads", "model_name": "leadtag", "field_name": "tag", "term": "Tag"},
    )
    assert response.status_code == 200
    names = {result["text"] for result in response.json()["results"]}
    assert {tag.name for tag in lead_graph.tags} <= names


def test_a_bad_filter_value_is_refused_not_a_crash(admin_client, lead_graph):
    response = admin_client.get(URL, {"tag": "abc"})
    assert response.status_code == 302  # Django's answer to bad lookups: back with ?e=1


def test_profile_filters(admin_client):
    now = timezone.now()
    plain = make_lead(source="api", gdpr_lead_status=GdprStatus.ACCEPTED)
    flagged = make_lead(
        source="checkout",
        blacklisted=True,
        lead_deleted=True,
        gdpr_lead_status=GdprStatus.PENDING,
        mirror_status=MirrorStatus.DELETED,
        date_joined=now - timedelta(days=400),
    )
    unknown_source = make_lead(source="")

    assert listed(admin_client, source="checkout") == {flagged.pk}
    assert listed(admin_client, source="_none") == {unknown_source.pk}
    assert listed(admin_client, gdpr_lead_status__exact=GdprStatus.PENDING) == {flagged.pk}
    assert listed(admin_client, blacklisted__exact=1) == {flagged.pk}
    assert listed(admin_client, lead_deleted__exact=1) == {flagged.pk}
    assert listed(admin_client, mirror_status__exact="deleted") == {flagged.pk}
    since = (now - timedelta(days=7)).isoformat()  # what the "Past 7 days" link sends
    recent = listed(admin_client, date_joined__gte=since)
    assert plain.pk in recent and flagged.pk not in recent


def test_source_filter_offers_documented_and_seen_values(admin_client):
    make_lead(source="zapier-custom")
    response = admin_client.get(URL)
    choices = [
        choice["display"]
        for spec in response.context["cl"].filter_specs
        if spec.title == "source"
        for choice in spec.choices(response.context["cl"])
    ]
    assert "zapier-custom" in choices and "double-optin" in choices


def test_no_facet_counts_and_no_full_count(admin_client, people):
    response = admin_client.get(URL)
    cl = response.context["cl"]
    assert cl.model_admin.show_full_result_count is False
    assert cl.add_facets is False
    assert cl.full_result_count is None
    assert cl.paginator.count_kind == "exact"
    assert "3 leads" in response.content.decode()


def test_filtered_count_is_bounded(admin_client, monkeypatch):
    monkeypatch.setattr(mirror_admin, "COUNT_BOUND", 3)
    for _ in range(5):
        make_lead(source="import")
    response = admin_client.get(URL, {"source": "import"})
    cl = response.context["cl"]
    assert (cl.paginator.count_kind, cl.result_count) == ("bounded", 3)
    assert "more than" in response.content.decode()


def test_unfiltered_count_is_estimated_when_the_table_is_big(admin_client, monkeypatch):
    make_lead()
    monkeypatch.setattr(mirror_admin, "estimated_rows", lambda model, using="default": 1_234_567)
    response = admin_client.get(URL)
    cl = response.context["cl"]
    assert (cl.paginator.count_kind, cl.result_count) == ("estimate", 1_234_567)
    assert "about" in response.content.decode()
    # Filtered, the estimate is not used.
    assert admin_client.get(URL, {"q": "nobody@nowhere"}).context["cl"].result_count == 0


@pytest.mark.postgres
def test_postgres_estimate_reads_pg_class(db):
    from django.db import connection

    for _ in range(3):
        make_lead()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE leads_lead")
    assert mirror_admin.estimated_rows(Lead) == 3


def test_lead_count_link_matches_the_filter(admin_client, lead_graph):
    tag = lead_graph.tags[0]
    response = admin_client.get(reverse("admin:leads_tag_changelist"))
    assert f'href="{URL}?tag={tag.pk}"' in response.content.decode()
    assert listed(admin_client, tag=tag.pk) == {lead_graph.lead.pk}


@pytest.fixture
def custom_values(db):
    """A text field, a drop-down and a field of a type Kartra added since, with values."""
    text = CustomField.objects.create(identifier="city", field_type=FieldType.INPUT_FIELD)
    choice = CustomField.objects.create(identifier="color", field_type=FieldType.DROP_DOWN)
    newer = CustomField.objects.create(identifier="rating", field_type="star_rating")
    blue, red = (
        CustomFieldOption.objects.create(field=choice, kartra_id=i, value=value)
        for i, value in ((1, "Blue"), (2, "Red"))
    )
    five = CustomFieldOption.objects.create(field=newer, kartra_id=5, value="5 stars")
    leads = {name: make_lead(first_name=name) for name in ("paris", "lyon", "blue", "red", "none")}
    long_text = " ".join(["Saint-Etienne"] * 300)  # longer than a btree entry may be
    for name, city in (("paris", "Paris"), ("lyon", long_text), ("blue", "")):
        CustomFieldValue.objects.create(lead=leads[name], field=text, text=city, **observed())
    for name, option in (("blue", blue), ("red", red)):
        value = CustomFieldValue.objects.create(lead=leads[name], field=choice, **observed())
        value.options.add(option)
    CustomFieldValue.objects.create(lead=leads["paris"], field=newer, text="great", **observed())
    rated = CustomFieldValue.objects.create(lead=leads["red"], field=newer, **observed())
    rated.options.add(five)
    return {"text": text, "choice": choice, "newer": newer, "long": long_text, **leads}


def by_value(client, field, value=None) -> set[str]:
    params = {"custom_field": field.pk}
    if value is not None:
        params["custom_value"] = value
    response = client.get(URL, params)
    assert response.status_code == 200
    return {lead.first_name for lead in response.context["cl"].result_list}


def test_custom_field_value_filter(admin_client, custom_values):
    text, choice, newer = custom_values["text"], custom_values["choice"], custom_values["newer"]
    # Text: the whole text, any case; a part of it is not a match.
    assert by_value(admin_client, text, "pARIS") == {"paris"}
    assert by_value(admin_client, text, "Par") == set()
    assert by_value(admin_client, text, custom_values["long"].upper()) == {"lyon"}
    # Choices: one of the chosen options, any case.
    assert by_value(admin_client, choice, "blue") == {"blue"}
    assert by_value(admin_client, choice, "Green") == set()
    # A type Kartra added since: its text or its options.
    assert by_value(admin_client, newer, "GREAT") == {"paris"}
    assert by_value(admin_client, newer, "5 stars") == {"red"}
    # The field alone: any value in it (an empty text is none).
    assert by_value(admin_client, text) == {"paris", "lyon"}
    assert by_value(admin_client, choice) == {"blue", "red"}


def test_custom_field_value_filter_shows_options_or_a_value_box(admin_client, custom_values):
    choice, text = custom_values["choice"], custom_values["text"]
    content = admin_client.get(URL, {"custom_field": choice.pk}).content.decode()
    assert f'<option value="{choice.pk}" selected>color</option>' in content
    assert 'data-model-name="customfieldvalue"' in content
    assert 'data-filter-clears="custom_value"' in content
    assert f"?custom_field={choice.pk}&amp;custom_value=Red" in content
    assert 'name="custom_value"' not in content

    page = admin_client.get(URL, {"custom_field": text.pk, "tag": "", "q": "ada"}).content
    content = page.decode()
    # A GET form that sends the list's other parameters along.
    assert 'name="custom_value"' in content
    assert f'<input type="hidden" name="custom_field" value="{text.pk}">' in content
    assert '<input type="hidden" name="q" value="ada">' in content


def test_a_custom_value_needs_its_field(admin_client, custom_values):
    response = admin_client.get(URL, {"custom_value": "Paris"})
    assert response.status_code == 302 and response["Location"].endswith("?e=1")


@pytest.mark.parametrize(
    ("period", "expected"),
    [
        ("today", {"today"}),
        ("past_7_days", {"today", "week"}),
        ("past_30_days", {"today", "week", "month"}),
        ("over_30_days", {"old"}),
        ("none", {"never"}),
    ],
)
def test_periods_count_back_from_today(admin_client, period, expected):
    now = timezone.now()
    ages = {"today": timedelta(0), "week": timedelta(days=5), "month": timedelta(days=20)}
    ages["old"] = timedelta(days=45)
    for name, age in ages.items():
        make_lead(first_name=name, date_joined=now - age, mirror_last_activity_at=now - age)
    make_lead(first_name="never", date_joined=None, mirror_last_activity_at=None)
    for parameter in ("joined", "last_activity"):
        response = admin_client.get(URL, {parameter: period})
        assert {lead.first_name for lead in response.context["cl"].result_list} == expected


def test_an_unknown_period_is_refused(admin_client):
    assert admin_client.get(URL, {"joined": "someday"}).status_code == 302
