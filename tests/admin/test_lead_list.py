"""The lead list: index-friendly search, every filter, and counts that never scan."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from leads.admin import base
from leads.models import (
    CalendarSubscription,
    GdprStatus,
    Lead,
    LeadTag,
    MembershipAccess,
    MirrorStatus,
    SequenceStatus,
    SequenceSubscription,
)

from .conftest import make_lead, make_lead_graph

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
    monkeypatch.setattr(base, "COUNT_BOUND", 3)
    for _ in range(5):
        make_lead(source="import")
    response = admin_client.get(URL, {"source": "import"})
    cl = response.context["cl"]
    assert (cl.paginator.count_kind, cl.result_count) == ("bounded", 3)
    assert "more than" in response.content.decode()


def test_unfiltered_count_is_estimated_when_the_table_is_big(admin_client, monkeypatch):
    make_lead()
    monkeypatch.setattr(base, "estimated_rows", lambda model, using="default": 1_234_567)
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
    assert base.estimated_rows(Lead) == 3


def test_lead_count_link_matches_the_filter(admin_client, lead_graph):
    tag = lead_graph.tags[0]
    response = admin_client.get(reverse("admin:leads_tag_changelist"))
    assert f'href="{URL}?tag={tag.pk}"' in response.content.decode()
    assert listed(admin_client, tag=tag.pk) == {lead_graph.lead.pk}
