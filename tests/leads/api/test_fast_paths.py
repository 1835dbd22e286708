"""The API's fast paths give what stock DRF, django-filter and Django give.

Each fast path is kept only for the API's goal (p95 <= 1.3x the "DRF + ORM" floor of
``bench/floor.py``); these tests compare each with the stock behaviour it stands in for, so
that an upstream change that parts them fails here (CI runs them on the newest DRF,
django-filter and Django too).
"""

import pytest
from django.core.exceptions import EmptyResultSet
from django.db.models import prefetch_related_objects
from django.http import QueryDict

from kartra_mirror.api.prefetch import prefetch_present, presence_annotations
from leads.api.serializers import LeadDetailSerializer
from leads.filtersets.lead import LeadFilterSet
from leads.models import Lead
from tests import factories as f

pytestmark = pytest.mark.django_db

# Query strings over the lead filters: named alone or together, the modifiers one filter's
# method reads from another's value, and invalid values.
FILTER_REQUESTS = [
    "",
    "page_size=3&search=x",
    "tag=gold",
    "tag=gold&tag=silver",
    "tag=gold&tag=silver&tag_match=any",
    "tag_id=41&tag=silver",
    "list=news&tag=gold",
    "email=ANN@EXAMPLE.COM",
    "score_min=2&score_max=8&blacklisted=false",
    "custom_value=blue",
    "custom_field=colour&custom_value=blue",
    "sequence_status=active",
    "membership_level_id=5",
    "signup=affiliate&signed_up_after=2024-01-01T00:00:00Z",
    "score_min=many",
    "tag_match=sometimes&tag=gold",
    "joined_after=not-a-date&email=a@b.c",
]


@pytest.fixture
def leads():
    gold = f.TagFactory(name="gold", kartra_id=41)
    silver = f.TagFactory(name="silver")
    news = f.ListFactory(name="news")
    ann = f.LeadFactory(email="ann@example.com", score=3)
    bob = f.LeadFactory(score=9)
    f.LeadFactory(score=None)
    f.LeadTagFactory(lead=ann, tag=gold)
    f.LeadTagFactory(lead=ann, tag=silver)
    f.LeadTagFactory(lead=bob, tag=silver)
    f.LeadTagFactory(lead=bob, tag=gold, active=False)
    f.ListSubscriptionFactory(lead=bob, list=news)


@pytest.mark.parametrize("query", FILTER_REQUESTS)
def test_narrowed_filterset_filters_as_the_whole_one(leads, query):
    """``MirrorFilterSet.narrowed`` (the filters a request names) against django-filter's
    FilterSet with every filter: the same validity, errors, SQL and rows."""
    data = QueryDict(query)
    whole = LeadFilterSet(data=data, queryset=Lead.objects.order_by("pk"))
    narrowed = LeadFilterSet.narrowed(LeadFilterSet.named_filters(data))(
        data=data, queryset=Lead.objects.order_by("pk")
    )
    assert narrowed.is_valid() == whole.is_valid()
    assert narrowed.errors == whole.errors
    if whole.is_valid():
        assert sql(narrowed.qs) == sql(whole.qs)
        assert list(narrowed.qs) == list(whole.qs)


def sql(queryset) -> str | None:
    """The queryset's SQL; None for one that matches nothing (it sends no SQL)."""
    try:
        return str(queryset.query)
    except EmptyResultSet:
        return None


def test_the_backend_filters_as_django_filters(client_reader, leads):
    """Through the API: the page of a filtered list is the whole FilterSet's rows."""
    whole = LeadFilterSet(data=QueryDict("tag=silver&tag_match=any&tag=gold"))
    expected = sorted(lead.kartra_id for lead in whole.qs)
    response = client_reader.get("/api/v1/leads/", {"tag": ["silver", "gold"], "tag_match": "any"})
    assert response.status_code == 200
    assert sorted(row["id"] for row in response.json()["results"]) == expected


def test_empty_relations_are_what_a_stock_prefetch_leaves(django_assert_num_queries):
    """``prefetch_present`` writes Django's prefetch cache itself for a relation the row has
    none of: reading it then costs no query and gives what ``prefetch_related_objects``
    gives."""
    lead = f.LeadFactory()
    f.LeadTagFactory(lead=lead)
    prefetches = LeadDetailSerializer.Meta.prefetch_related
    annotated = Lead.objects.annotate(**presence_annotations(Lead, prefetches))
    fast, stock = annotated.get(pk=lead.pk), Lead.objects.get(pk=lead.pk)
    prefetch_present(fast, prefetches)
    prefetch_related_objects([stock], *prefetches)

    with django_assert_num_queries(0):
        for prefetch in prefetches:
            if prefetch.to_attr:
                assert getattr(fast, prefetch.to_attr) == getattr(stock, prefetch.to_attr)
            else:
                name = prefetch.prefetch_through
                assert list(getattr(fast, name).all()) == list(getattr(stock, name).all())
    assert len(fast.current_tags) == 1
