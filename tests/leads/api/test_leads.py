"""/api/v1/leads/: the compact list, the full detail, and every filter of LeadFilterSet."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from events.models import Activity
from leads.models import Consent, FieldType, GdprStatus, Lead, List, SequenceStatus, TransactionType
from tests import factories as f
from tests.kartra_mirror.api.conftest import detail_url, get, ids, results

pytestmark = pytest.mark.django_db

LIST_KEYS = {
    "id",
    "url",
    "first_name",
    "last_name",
    "email",
    "score",
    "source",
    "date_joined",
    "mirror_last_activity_at",
    "mirror_refreshed_at",
    "mirror_updated",
}


def kartra_ids(client, **params) -> set[int]:
    return set(ids(client, "leads/", **params))


def test_list_is_compact(client_reader):
    f.LeadFactory.create_batch(3)
    rows = results(client_reader, "leads/")
    assert len(rows) == 3
    assert all(set(row) == LIST_KEYS for row in rows)


def test_detail_by_kartra_id_carries_everything(client_reader):
    lead = f.LeadFactory(kartra_id=4242, notes="VIP", mirror_refreshed_at=timezone.now())
    f.LeadTagFactory(lead=lead, tag=f.TagFactory(name="Buyer", kartra_id=7))
    f.LeadTagFactory(lead=lead, tag=f.TagFactory(name="Gone"), active=False)
    f.ListSubscriptionFactory(lead=lead, list=f.ListFactory(name="News"), active=False)
    f.SequenceSubscriptionFactory(lead=lead, step=3, status=SequenceStatus.COMPLETED)
    access = f.MembershipAccessFactory(lead=lead)
    text_field = f.CustomFieldFactory(identifier="company_size")
    f.CustomFieldValueFactory(lead=lead, field=text_field, text="11-50")
    choice = f.CustomFieldFactory(identifier="interests", field_type=FieldType.CHECKBOX)
    options = [f.CustomFieldOptionFactory(field=choice, value=v) for v in ("SEO", "Ads")]
    f.CustomFieldValueFactory(lead=lead, field=choice, text="", options=options)
    f.TransactionFactory(lead=lead, kartra_id=9001, amount=Decimal("19.99"))
    event = f.CalendarEventFactory(subscription__lead=lead)
    answer = f.SurveyAnswerFactory(result__lead=lead)
    answer.options.add(f.SurveyOptionFactory(question=answer.question, value="Yes"))
    now = timezone.now()
    for minutes in range(25):
        f.ActivityFactory(lead=lead, occurred_at=now - timedelta(minutes=minutes))

    response = get(client_reader, "leads/4242/")
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == 4242 and body["notes"] == "VIP"
    assert body["url"] == detail_url("leads/4242/")
    assert body["mirror_refreshed_at"] and body["mirror_webhook_at"]
    assert body["custom_fields"] == {"company_size": "11-50", "interests": ["SEO", "Ads"]}
    assert [t["name"] for t in body["tags"]] == ["Buyer"]  # current tags only
    assert body["tags"][0]["id"] == 7
    assert body["tags"][0]["url"] == detail_url("tags/7/")
    news = List.objects.get(name="News")
    assert body["lists"] == [
        {
            "id": news.kartra_id,
            "url": detail_url(f"lists/{news.kartra_id}/"),
            "name": "News",
            "active": False,
            "observed_at": body["lists"][0]["observed_at"],
        }
    ]
    assert body["sequences"][0]["step"] == 3 and body["sequences"][0]["status"] == "completed"
    assert body["memberships"][0]["level"] == {
        "id": access.level.kartra_id,
        "url": detail_url(f"membership-levels/mirror-{access.level.pk}/"),
        "name": access.level.name,
    }
    assert body["memberships"][0]["membership"]["id"] == access.membership.kartra_id
    assert body["memberships"][0]["active"] is True
    assert body["transactions"][0]["id"] == 9001
    assert body["transactions"][0]["url"] == detail_url("transactions/9001/")
    assert body["transactions"][0]["amount"] == "19.99"
    subscription = body["calendar_subscriptions"][0]
    assert subscription["events"][0]["duration_minutes"] == event.duration_minutes
    assert subscription["hosts"][0]["host_first_name"] == "Ada"
    assert subscription["id"] == event.subscription.kartra_id
    result = body["survey_results"][0]
    assert result["id"] is None  # Kartra gives survey results no id
    assert result["url"] == detail_url(f"survey-results/mirror-{answer.result.pk}/")
    assert result["answers"][0]["options"][0]["value"] == "Yes"
    assert result["answers"][0]["question"]["id"] == answer.question.kartra_id
    assert len(body["latest_activity"]) == 20
    newest = Activity.objects.filter(lead=lead).order_by("-occurred_at").first()
    assert body["latest_activity"][0]["id"] == newest.id  # activity is the mirror's own
    assert body["latest_activity"][0]["url"] == detail_url(f"activity/{newest.id}/")


def test_lead_without_kartra_id_is_addressed_by_its_mirror_key(client_reader):
    pending = f.LeadFactory(kartra_id=None, email="new@example.com")
    (row,) = results(client_reader, "leads/")
    assert row["id"] is None
    assert row["url"] == detail_url(f"leads/mirror-{pending.pk}/")
    detail = client_reader.get(row["url"]).json()
    assert detail["email"] == "new@example.com" and detail["url"] == row["url"]


def test_mirror_key_keeps_naming_a_lead_once_kartra_numbers_it(client_reader):
    lead = f.LeadFactory(kartra_id=None)
    Lead.objects.filter(pk=lead.pk).update(kartra_id=77)
    body = get(client_reader, f"leads/mirror-{lead.pk}/").json()
    assert body["id"] == 77 and body["url"] == detail_url("leads/77/")


def test_a_bare_number_is_never_the_mirror_key(client_reader):
    lead = f.LeadFactory(kartra_id=5000)
    other = f.LeadFactory(kartra_id=lead.pk + 7000)
    assert get(client_reader, f"leads/{lead.pk}/").status_code == 404
    assert get(client_reader, f"leads/{other.kartra_id}/").json()["email"] == other.email
    assert get(client_reader, "leads/mirror-99999/").status_code == 404
    assert get(client_reader, f"leads/mirror-{'9' * 30}/").status_code == 404


def test_detail_of_unknown_or_overflowing_id_is_404(client_reader):
    assert get(client_reader, "leads/1/").status_code == 404
    assert get(client_reader, "leads/99999999999999999999999/").status_code == 404


def test_email_is_case_insensitive_exact(client_reader):
    f.LeadFactory(kartra_id=1, email="Alice@Example.com")
    f.LeadFactory(kartra_id=2, email="alice@example.com.au")
    f.LeadFactory(kartra_id=3, email="")
    assert kartra_ids(client_reader, email="aLiCe@example.COM") == {1}
    assert kartra_ids(client_reader, email="nobody@example.com") == set()


def test_name_matches_part_of_first_or_last_name(client_reader):
    f.LeadFactory(kartra_id=1, first_name="Marianne", last_name="Smith")
    f.LeadFactory(kartra_id=2, first_name="Bob", last_name="Mariano")
    f.LeadFactory(kartra_id=3, first_name="Bob", last_name="Jones")
    assert kartra_ids(client_reader, name="MARIAN") == {1, 2}


def test_id_is_the_kartra_id(client_reader):
    f.LeadFactory(kartra_id=10)
    f.LeadFactory(kartra_id=11)
    assert kartra_ids(client_reader, id=11) == {11}


@pytest.fixture
def tagged(db):
    vip, buyer, old = (f.TagFactory(name=n) for n in ("VIP", "Buyer", "Old"))
    leads = {n: f.LeadFactory(kartra_id=n) for n in (1, 2, 3, 4)}
    f.LeadTagFactory(lead=leads[1], tag=vip)
    f.LeadTagFactory(lead=leads[1], tag=buyer)
    f.LeadTagFactory(lead=leads[2], tag=vip)
    f.LeadTagFactory(lead=leads[3], tag=buyer)
    f.LeadTagFactory(lead=leads[4], tag=old, active=False)
    return {"vip": vip, "buyer": buyer, "old": old}


def test_tag_by_name_and_id(client_reader, tagged):
    assert kartra_ids(client_reader, tag="VIP") == {1, 2}
    assert kartra_ids(client_reader, tag_id=tagged["buyer"].kartra_id) == {1, 3}
    assert kartra_ids(client_reader, tag="Old") == set()  # unassigned tags do not count


def test_several_tags_all_or_any(client_reader, tagged):
    assert kartra_ids(client_reader, tag=["VIP", "Buyer"]) == {1}
    assert kartra_ids(client_reader, tag=["VIP", "Buyer"], tag_match="all") == {1}
    assert kartra_ids(client_reader, tag=["VIP", "Buyer"], tag_match="any") == {1, 2, 3}
    mixed = {"tag": "VIP", "tag_id": tagged["buyer"].kartra_id}
    assert kartra_ids(client_reader, **mixed) == {1}
    assert kartra_ids(client_reader, **mixed, tag_match="any") == {1, 2, 3}


def test_list_counts_active_subscriptions(client_reader):
    news = f.ListFactory(name="News")
    f.ListSubscriptionFactory(lead__kartra_id=1, list=news)
    f.ListSubscriptionFactory(lead__kartra_id=2, list=news, active=False)
    f.ListSubscriptionFactory(lead__kartra_id=3)
    assert kartra_ids(client_reader, list="News") == {1}
    assert kartra_ids(client_reader, list_id=news.kartra_id) == {1}


def test_tag_and_list_together(client_reader, tagged):
    f.ListSubscriptionFactory(lead=Lead.objects.get(kartra_id=2), list__name="News")
    f.ListSubscriptionFactory(lead=Lead.objects.get(kartra_id=3), list__name="News")
    assert kartra_ids(client_reader, tag="VIP", list="News") == {2}


def test_sequence_and_status(client_reader):
    welcome = f.SequenceFactory(name="Welcome")
    f.SequenceSubscriptionFactory(lead__kartra_id=1, sequence=welcome)
    f.SequenceSubscriptionFactory(
        lead__kartra_id=2, sequence=welcome, status=SequenceStatus.COMPLETED
    )
    f.SequenceSubscriptionFactory(lead__kartra_id=3, status=SequenceStatus.COMPLETED)
    assert kartra_ids(client_reader, sequence="Welcome") == {1, 2}
    assert kartra_ids(client_reader, sequence_id=welcome.kartra_id) == {1, 2}
    assert kartra_ids(client_reader, sequence="Welcome", sequence_status="completed") == {2}
    assert kartra_ids(client_reader, sequence_status="completed") == {2, 3}


def test_membership_and_level(client_reader):
    gold = f.MembershipLevelFactory(name="Gold")
    silver = f.MembershipLevelFactory(name="Silver", membership=gold.membership)
    f.MembershipAccessFactory(lead__kartra_id=1, level=gold)
    f.MembershipAccessFactory(lead__kartra_id=2, level=silver)
    f.MembershipAccessFactory(lead__kartra_id=3, level=gold, active=False)
    membership = gold.membership
    assert kartra_ids(client_reader, membership=membership.name) == {1, 2}
    assert kartra_ids(client_reader, membership_id=membership.kartra_id) == {1, 2}
    assert kartra_ids(client_reader, membership_level_id=gold.kartra_id) == {1}


def test_membership_level_id_within_a_membership(client_reader):
    """Level ids are unique within a membership only: the same id in two memberships."""
    here = f.MembershipLevelFactory(kartra_id=1)
    there = f.MembershipLevelFactory(kartra_id=1)
    f.MembershipAccessFactory(lead__kartra_id=1, level=here)
    f.MembershipAccessFactory(lead__kartra_id=2, level=there)
    assert kartra_ids(client_reader, membership_level_id=1) == {1, 2}
    scoped = {"membership_level_id": 1, "membership_id": there.membership.kartra_id}
    assert kartra_ids(client_reader, **scoped) == {2}
    by_name = {"membership_level_id": 1, "membership": here.membership.name}
    assert kartra_ids(client_reader, **by_name) == {1}


def test_product_bought_and_transaction_type(client_reader):
    course = f.ProductFactory(name="course")
    f.TransactionFactory(lead__kartra_id=1, product=course)
    f.TransactionFactory(lead__kartra_id=2, product=course, transaction_type=TransactionType.REFUND)
    f.TransactionFactory(lead__kartra_id=3)
    assert kartra_ids(client_reader, product="course") == {1}
    assert kartra_ids(client_reader, product_id=course.kartra_id) == {1}
    assert kartra_ids(client_reader, transaction_type="refund") == {2}


def test_profile_filters(client_reader):
    now = timezone.now()
    f.LeadFactory(
        kartra_id=1,
        source="import",
        gdpr_lead_status=GdprStatus.ACCEPTED,
        consent=Consent.AGREED,
        blacklisted=True,
        date_joined=now - timedelta(days=400),
        score=5,
    )
    f.LeadFactory(
        kartra_id=2,
        lead_deleted=True,
        date_joined=now - timedelta(days=2),
        score=50,
        consent=Consent.NOT_AGREED,
    )
    f.LeadFactory(kartra_id=3, date_joined=None, score=None)
    assert kartra_ids(client_reader, source="import") == {1}
    assert kartra_ids(client_reader, gdpr_lead_status=GdprStatus.ACCEPTED) == {1}
    assert kartra_ids(client_reader, consent="agreed") == {1}
    assert kartra_ids(client_reader, consent="not_agreed") == {2}
    assert kartra_ids(client_reader, consent="unknown") == {3}
    assert get(client_reader, "leads/", consent="yes").status_code == 400
    assert kartra_ids(client_reader, blacklisted="true") == {1}
    assert kartra_ids(client_reader, blacklisted="false") == {2, 3}
    assert kartra_ids(client_reader, deleted="true") == {2}
    week_ago = (now - timedelta(days=7)).isoformat()
    assert kartra_ids(client_reader, joined_after=week_ago) == {2}
    assert kartra_ids(client_reader, joined_before=week_ago) == {1}
    assert kartra_ids(client_reader, score_min=10) == {2}
    assert kartra_ids(client_reader, score_max=10) == {1}
    assert kartra_ids(client_reader, score_min=5, score_max=5) == {1}


def test_updated_since(client_reader):
    f.LeadFactory(kartra_id=1)
    later = f.LeadFactory(kartra_id=2)
    moment = timezone.now() + timedelta(seconds=1)
    Lead.objects.filter(pk=later.pk).update(mirror_updated=moment + timedelta(seconds=1))
    assert kartra_ids(client_reader, updated_since=moment.isoformat()) == {2}


def test_search_on_email_names_and_phone(client_reader):
    f.LeadFactory(kartra_id=1, email="zed@acme.io", first_name="A", last_name="B", phone="1")
    f.LeadFactory(kartra_id=2, email="x@y.z", first_name="Acmeena", last_name="C", phone="2")
    f.LeadFactory(kartra_id=3, email="q@r.s", first_name="D", last_name="ACME", phone="3")
    f.LeadFactory(kartra_id=4, email="t@u.v", first_name="E", last_name="F", phone="5550199")
    f.LeadFactory(kartra_id=5, email="w@x.y", first_name="G", last_name="H", phone="4")
    assert kartra_ids(client_reader, search="acme") == {1, 2, 3}
    assert kartra_ids(client_reader, search="0199") == {4}
    assert kartra_ids(client_reader, search="acme zed") == {1}


@pytest.mark.parametrize(
    "ordering",
    [
        None,
        "id",
        "-id",
        "score",
        "-score",
        "date_joined",
        "-date_joined",
        "mirror_updated",
        "-mirror_updated",
        "mirror_last_activity_at",
        "-mirror_last_activity_at",
    ],
)
def test_ordering(client_reader, ordering):
    now = timezone.now()
    for n, score in enumerate([3, None, 1, 3, None, 2]):
        f.LeadFactory(
            kartra_id=None if n == 4 else 10 + n,
            score=score,
            date_joined=None if score is None else now - timedelta(days=score),
            mirror_last_activity_at=None if n % 2 else now - timedelta(hours=n),
        )
    # The default: by primary key, newest first; "id": the Kartra id the rows show.
    name = (ordering or "-pk").lstrip("-")
    field = "kartra_id" if name == "id" else name
    leads = list(Lead.objects.all())

    def key(lead):  # NULLs after every value, ties by primary key: PostgreSQL's btree order
        value = getattr(lead, field)
        return (value is None, value if value is not None else 0, lead.pk)

    descending = (ordering or "-pk").startswith("-")
    expected = [lead.kartra_id for lead in sorted(leads, key=key, reverse=descending)]
    params = {} if ordering is None else {"ordering": ordering}
    assert ids(client_reader, "leads/", **params) == expected  # one lead has no Kartra id


@pytest.mark.parametrize("ordering", ["email", "kartra_id", "pk", "-pk"])
def test_unknown_ordering_is_400(client_reader, ordering):
    response = get(client_reader, "leads/", ordering=ordering)
    assert response.status_code == 400
    assert "ordering" in response.json()


@pytest.mark.parametrize(
    "params",
    [
        {"id": "99999999999999999999"},
        {"tag_id": "abc"},
        {"email": "a\x00b"},
        {"tag": "a\x00b"},
        {"joined_after": "yesterday"},
        {"gdpr_lead_status": "9"},
        {"cursor": "not-a-cursor"},
    ],
)
def test_bad_filter_values_are_400(client_reader, params):
    assert get(client_reader, "leads/", **params).status_code == 400


def test_datetimes_with_offsets_postgresql_refuses_are_normalised(client_reader):
    f.LeadFactory(kartra_id=1, date_joined=timezone.now())
    # ISO 8601 allows -19:37; PostgreSQL accepts at most ±15:59, so the filter sends UTC.
    assert kartra_ids(client_reader, joined_after="2020-01-01T00:00:00-19:37") == {1}
    assert get(client_reader, "leads/", joined_after="0001-01-01T00:00:00+01:00").status_code == 400


def test_detail_says_consent_one_way_beside_the_raw_value(client_reader):
    f.LeadFactory(
        kartra_id=9, gdpr_lead_communications=0, consent=Consent.AGREED, consent_source="webhook"
    )
    row = get(client_reader, "leads/9/").json()
    assert (row["consent"], row["consent_source"], row["gdpr_lead_communications"]) == (
        "agreed",
        "webhook",
        0,
    )
