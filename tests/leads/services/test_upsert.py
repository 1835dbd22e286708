"""The observed upsert: one statement, the newest observation wins in the database."""

from datetime import timedelta

import pytest
from django.utils import timezone

from leads.models import Lead, LeadTag, Membership, MembershipAccess, Tag
from leads.services.upsert import upsert_observed

pytestmark = pytest.mark.django_db

NOW = timezone.now()


def _tag_row(lead, tag, *, active, seconds, ref=1):
    return {
        "lead_id": lead.pk,
        "tag_id": tag.pk,
        "active": active,
        "observed_at": NOW + timedelta(seconds=seconds),
        "observed_source": "webhook",
        "observed_ref": ref,
    }


def _upsert_tags(rows):
    return upsert_observed(LeadTag, rows, unique=("lead_id", "tag_id"), update=("active",))


def test_inserts_then_only_newer_observations_update(django_assert_num_queries):
    lead = Lead.objects.create(kartra_id=1)
    a, b = Tag.objects.create(name="a"), Tag.objects.create(name="b")
    with django_assert_num_queries(1):
        _upsert_tags(
            [_tag_row(lead, a, active=True, seconds=10), _tag_row(lead, b, active=True, seconds=10)]
        )
    _upsert_tags(
        [_tag_row(lead, a, active=False, seconds=5), _tag_row(lead, b, active=False, seconds=20)]
    )

    state = dict(LeadTag.objects.values_list("tag__name", "active"))
    assert state == {"a": True, "b": False}
    assert LeadTag.objects.get(tag=b).observed_at == NOW + timedelta(seconds=20)


def test_of_rows_with_one_key_the_newest_is_sent():
    lead = Lead.objects.create(kartra_id=1)
    tag = Tag.objects.create(name="a")
    sent = _upsert_tags(
        [
            _tag_row(lead, tag, active=False, seconds=30, ref=3),
            _tag_row(lead, tag, active=True, seconds=10, ref=1),
        ]
    )
    assert sent == 1
    assert LeadTag.objects.get().observed_ref == 3


def test_a_partial_unique_index_is_a_conflict_target():
    lead = Lead.objects.create(kartra_id=1)
    external = Membership.objects.create(name="external")

    def access(active, seconds):
        return {
            "lead_id": lead.pk,
            "membership_id": external.pk,
            "level_id": None,
            "active": active,
            "observed_at": NOW + timedelta(seconds=seconds),
            "observed_source": "webhook",
        }

    for row in (access(True, 1), access(False, 2), access(True, 0)):
        upsert_observed(
            MembershipAccess,
            [row],
            unique=("lead_id", "membership_id"),
            update=("active",),
            conflict_where="level_id IS NULL",
        )
    assert list(MembershipAccess.objects.values_list("active", flat=True)) == [False]
