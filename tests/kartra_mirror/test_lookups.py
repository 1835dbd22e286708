"""``__in`` of values is sent as one array on PostgreSQL (``kartra_mirror.db``), and finds
what Django's ``IN`` finds, on every database."""

import pytest
from django.db import connection
from django.db.models.functions import Lower
from django.test.utils import CaptureQueriesContext

from leads.models import Lead, LeadTag, Tag
from tests import factories as f

pytestmark = pytest.mark.django_db

#: Texts an array literal must quote: separators, braces, quotes, backslashes, NULL.
AWKWARD = ["a,b@x.com", 'q"uote@x.com', "{brace}@x.com", "o'hara@x.com", "back\\s@x.com", "NULL"]


def sql_of(queryset) -> tuple[list, str]:
    with CaptureQueriesContext(connection) as captured:
        rows = list(queryset)
    return rows, captured.captured_queries[-1]["sql"]


def test_values_are_one_array_and_find_the_same_rows():
    leads = [f.LeadFactory(kartra_id=n) for n in (1, 2, 3)]

    rows, sql = sql_of(
        Lead.objects.filter(kartra_id__in=[3, 1, 1, None, 99]).values_list("kartra_id", flat=True)
    )

    assert sorted(rows) == [1, 3]
    if connection.vendor == "postgresql":
        assert "= ANY(" in sql and " IN (" not in sql
    assert Lead.objects.filter(kartra_id__in=[]).count() == 0
    assert Lead.objects.filter(kartra_id__in=[None]).count() == 0
    assert Lead.objects.exclude(kartra_id__in=[1]).count() == 2
    assert Lead.objects.filter(pk__in=[lead.pk for lead in leads[:2]]).count() == 2


def test_texts_that_an_array_literal_must_quote():
    for n, email in enumerate(AWKWARD, start=1):
        f.LeadFactory(kartra_id=n, email=email)

    found = Lead.objects.annotate(email_ci=Lower("email")).filter(
        email_ci__in=[email.lower() for email in AWKWARD]
    )

    assert sorted(found.values_list("email", flat=True)) == sorted(AWKWARD)
    assert not Lead.objects.filter(email__in=["a", "b@x.com"]).exists()


def test_relations_by_object_by_key_and_by_subquery():
    lead, other = f.LeadFactory(kartra_id=1), f.LeadFactory(kartra_id=2)
    tag = Tag.objects.create(kartra_id=7, name="seven")
    for owner in (lead, other):
        LeadTag.objects.create(lead=owner, tag=tag, observed_at=owner.mirror_updated)

    by_object, sql = sql_of(LeadTag.objects.filter(lead__in=[lead]))
    by_key = LeadTag.objects.filter(lead_id__in=[other.pk])
    by_subquery, subquery_sql = sql_of(
        LeadTag.objects.filter(lead__in=Lead.objects.filter(kartra_id=2))
    )

    assert [row.lead_id for row in by_object] == [lead.pk]
    assert [row.lead_id for row in by_key] == [other.pk]
    assert [row.lead_id for row in by_subquery] == [other.pk]
    if connection.vendor == "postgresql":
        assert "= ANY(" in sql
        assert " IN (SELECT" in subquery_sql  # a subquery stays one
