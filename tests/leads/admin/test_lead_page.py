"""The lead page: the profile card, the merged timeline, every detail section, the raw JSON."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from events.models import Activity, AuditDifference, AuditRun, DriftCause
from leads.admin.lead_page import hosts_text
from leads.admin.timeline import PER_PAGE, Position, lead_timeline
from leads.models import (
    CalendarEvent,
    Consent,
    Lead,
    LeadTag,
    SequenceStatus,
    SequenceSubscription,
    Subscription,
    SurveyResult,
    Transaction,
    TransactionType,
)
from tests.factories import make_lead, make_lead_graph, observed

pytestmark = pytest.mark.django_db


def page(client, lead, **params):
    response = client.get(reverse("admin:leads_lead_change", args=[lead.pk]), params)
    assert response.status_code == 200
    return response


def test_every_section_is_there(admin_client):
    graph = make_lead_graph(2)
    lead = graph.lead
    content = page(admin_client, lead).content.decode()
    for section in (
        "custom-fields",
        "tags",
        "lists",
        "sequences",
        "memberships",
        "transactions",
        "calendars",
        "surveys",
        "timeline",
        "deliveries",
        "raw-json",
    ):
        assert f'id="{section}"' in content, section
    # Profile fieldsets.
    for heading in ("Profile details", "Address", "Consent and status", "Mirror bookkeeping"):
        assert heading in content
    for tag in graph.tags:
        assert tag.name in content
    assert "text 0" in content and "opt 1" in content  # custom field values
    assert "Gold" in content  # membership level
    assert "Grace Hopper &lt;grace@example.com&gt;" in content  # calendar hosts
    assert "Question 0?" in content and "Answer 0" in content  # survey answers
    assert "lead_visits_page" in content  # deliveries
    assert "&quot;email&quot;: &quot;" in content  # pretty raw JSON


def test_transaction_totals(admin_client):
    graph = make_lead_graph(2)  # two sales of 100.00 and two refunds of 30.00
    Transaction.objects.create(
        kartra_id=999_001,
        lead=graph.lead,
        transaction_type=TransactionType.REBILL,
        amount=Decimal("10.50"),  # get_lead's amount when the webhook's is absent
        **observed(),
    )
    Transaction.objects.create(
        kartra_id=999_002,
        lead=graph.lead,
        transaction_type=TransactionType.CHARGEBACK,
        full_amount=Decimal("-5.00"),  # whatever the sign, a chargeback lowers the net
        **observed(),
    )
    response = page(admin_client, graph.lead)
    totals = response.context["totals"]
    assert totals == {
        "sales": Decimal("210.50"),
        "refunds": Decimal("65.00"),
        "net": Decimal("145.50"),
    }
    content = response.content.decode()
    assert 'id="total-net"><strong>145.50</strong>' in content


def test_a_lead_with_nothing_renders(admin_client):
    content = page(admin_client, make_lead(mirror_raw={})).content.decode()
    assert "No tags." in content and "No transactions." in content


def test_hosts_text_tolerates_odd_shapes():
    assert hosts_text(None) == ""
    assert hosts_text(["someone", {"host_email_address": "a@b.c"}]) == "someone, a@b.c"


def section(content: str, ident: str) -> str:
    """The HTML of the element with this id, up to the next profile panel or section."""
    start = content.index(f'id="{ident}"')
    ends = [content.find(marker, start + 1) for marker in ("<section", "<details", 'id="timeline"')]
    return content[start : min(end for end in ends if end != -1)]


def test_the_profile_card_says_who_the_lead_is_and_what_they_hold(admin_client):
    graph = make_lead_graph(
        3, company="Analytical Engines Ltd", phone_country_code="+44", consent=Consent.AGREED
    )
    lead = graph.lead
    removed = LeadTag.objects.filter(lead=lead, active=True).first()
    removed.active = False
    removed.save()
    SequenceSubscription.objects.filter(lead=lead, step=2).update(
        status=SequenceStatus.UNSUBSCRIBED
    )
    cancelled = Subscription.objects.filter(lead=lead).first()
    Subscription.objects.filter(pk=cancelled.pk).update(cancelled=True)
    content = page(admin_client, lead).content.decode()

    contact = section(content, "profile-contact")
    assert lead.email in contact and f"+44 {lead.phone}" in contact
    assert "Analytical Engines Ltd" in contact and str(lead.kartra_id) in contact
    assert "agreed to be contacted" in contact
    chips = section(content, "profile-tags")
    held = LeadTag.objects.filter(lead=lead, active=True).select_related("tag")
    assert sorted(chip for chip in (link.tag.name for link in held) if chip in chips) == sorted(
        link.tag.name for link in held
    )
    assert removed.tag.name not in chips
    sequences = section(content, "profile-sequences")
    assert "step 0" in sequences and "step 1" in sequences and "step 2" not in sequences
    assert "Gold" in section(content, "profile-memberships")
    # Three sales of 100.00 and three refunds of 30.00.
    assert "300.00" in section(content, "profile-sales")
    assert "90.00" in section(content, "profile-refunds")
    assert "210.00" in section(content, "profile-net")
    assert "Product" in section(content, "profile-last-purchase")
    # Every subscription, with its status: the open ones first, the cancelled one last.
    subscriptions = section(content, "profile-subscriptions")
    assert subscriptions.count("<a ") == 3
    assert subscriptions.rindex(cancelled.product.name) > subscriptions.rindex("active")
    assert subscriptions.count(">active<") == 2 and subscriptions.count(">cancelled<") == 1
    assert "last webhook" in section(content, "profile-mirror")


def test_an_empty_lead_has_a_card_and_an_empty_timeline(admin_client):
    lead = Lead.objects.create(email="imported@example.com")  # known by email only
    content = page(admin_client, lead).content.decode()
    assert "not known yet" in section(content, "profile-contact")
    assert "No tags." in section(content, "profile-tags")
    assert "none" in section(content, "profile-last-purchase")
    assert "Nothing on this lead's timeline yet." in content


def test_the_timeline_merges_every_kind_newest_first(admin_client):
    graph = make_lead_graph(1)
    lead = graph.lead
    now = timezone.now()
    Transaction.objects.filter(lead=lead, transaction_type=TransactionType.SALE).update(
        transaction_date=now - timedelta(days=4)
    )
    Transaction.objects.filter(lead=lead, transaction_type=TransactionType.REFUND).update(
        transaction_date=now - timedelta(days=1)
    )
    CalendarEvent.objects.filter(subscription__lead=lead).update(starts_at=now - timedelta(days=2))
    SurveyResult.objects.filter(lead=lead).update(completed_at=now - timedelta(days=3))
    Activity.objects.create(lead=lead, action="assign_tag", occurred_at=now, details={"tag": "VIP"})
    Transaction.objects.create(  # undated: in the transactions section, not on the timeline
        kartra_id=999_003, lead=lead, transaction_type=TransactionType.SALE, **observed()
    )

    timeline = page(admin_client, lead).context["timeline"]
    assert [(entry.kind.name, entry.title) for entry in timeline.entries] == [
        ("activity", "Tag assigned"),
        ("changes", f"Tag {graph.tags[0].name}: — → assigned"),
        ("purchases", f"Refund: {graph.products[0].name}"),
        ("calendar", "Calendar session (active)"),
        ("surveys", f"Completed survey: Survey {lead.pk}-0"),
        ("purchases", f"Sale: {graph.products[0].name}"),
    ]
    # The purchase's own webhook activity is shown as the purchase, not twice.
    assert all(entry.title != "Lead visits page" for entry in timeline.entries)
    refund = timeline.entries[2]
    assert refund.amount == Decimal("30.00") and refund.negative
    assert timeline.entries[0].detail == "VIP" and timeline.next_token is None

    only = page(admin_client, lead, timeline="purchases").context["timeline"]
    assert {entry.kind.name for entry in only.entries} == {"purchases"}
    assert len(only.entries) == 2


def test_the_timeline_pages_by_cursor_without_skipping_or_repeating(admin_client):
    lead = make_lead()
    now = timezone.now()
    # Activity and purchases interleaved, with ties on the same instant across kinds.
    Activity.objects.bulk_create(
        Activity(lead=lead, action=f"visit-{i:03d}", occurred_at=now - timedelta(minutes=i // 2))
        for i in range(PER_PAGE + 20)
    )
    Transaction.objects.bulk_create(
        Transaction(
            kartra_id=700_000 + i,
            lead=lead,
            transaction_type=TransactionType.SALE,
            transaction_date=now - timedelta(minutes=i),
            **observed(),
        )
        for i in range(30)
    )
    seen, after, pages = [], None, 0
    while True:
        params = {"after": after} if after else {}
        timeline = page(admin_client, lead, **params).context["timeline"]
        seen.extend((entry.kind.name, entry.key) for entry in timeline.entries)
        pages += 1
        after = timeline.next_token
        if after is None:
            break
    assert pages == 2 and len(seen) == PER_PAGE + 20 + 30 == len(set(seen))
    full = lead_timeline(lead, per_page=1000).entries
    assert [(entry.kind.name, entry.key) for entry in full] == seen
    content = page(admin_client, lead).content.decode()
    assert 'rel="next"' in content and "Newest" not in content
    token = lead_timeline(lead).next_token
    assert Position.parse(token).token() == token  # a token survives its round trip
    second = page(admin_client, lead, after=token).content.decode()
    assert "&larr; Newest" in second and 'rel="next"' not in second


def test_a_bad_cursor_or_kind_shows_the_newest_page_of_everything(admin_client):
    lead = make_lead()
    Activity.objects.create(lead=lead, action="assign_tag", occurred_at=timezone.now())
    for params in ({"after": "junk"}, {"after": "1.2"}, {"timeline": "nope"}, {"after": "9" * 40}):
        timeline = page(admin_client, lead, **params).context["timeline"]
        assert timeline.kind is None and timeline.is_first and len(timeline.entries) == 1


def test_the_card_shows_drift_an_audit_found_until_the_lead_is_refreshed(admin_client):
    lead = make_lead()
    assert page(admin_client, lead).context["drift"] is None
    started = timezone.now() - timedelta(hours=1)
    run = AuditRun.objects.create(kind="sample", started_at=started)
    for name in ("first_name", "Tag VIP"):
        AuditDifference.objects.create(
            run=run,
            lead=lead,
            lead_kartra_id=lead.kartra_id,
            relation="profile",
            name=name,
            cause=DriftCause.NO_WEBHOOK,
        )
    content = page(admin_client, lead).content.decode()
    assert "2 differences from Kartra" in section(content, "profile-mirror")
    Lead.objects.filter(pk=lead.pk).update(mirror_refreshed_at=timezone.now())
    content = page(admin_client, lead).content.decode()
    assert "differences from Kartra" not in content


def test_the_timeline_shows_each_change_with_what_made_it(admin_client):
    from tests.leads.services.test_history import deliver, refresh
    from tests.payloads import body, example_details

    (tagged,) = deliver(body("assign_tag", lead_id=1234, email="lead@example.com"))
    later = timezone.now() + timedelta(hours=1)
    refresh(example_details(id="1234", email="lead@example.com", tags=[]), later, run=None)
    lead = Lead.objects.get(kartra_id=1234)
    changes = page(admin_client, lead, timeline="changes").context["timeline"].entries
    by_title = {entry.title: entry for entry in changes}
    renamed = by_title["Profile field first name: John → test"]
    assert renamed.detail == "by get_lead snapshot" and renamed.url == ""
    appeared = by_title["Lead status status: — → active"]
    assert appeared.detail == f"by delivery {tagged.pk}"
    assert appeared.url == reverse("admin:events_delivery_change", args=[tagged.pk])
    assert by_title["Tag VIP: assigned → unassigned"].at == later.replace(
        microsecond=later.microsecond
    )
    content = page(admin_client, lead).content.decode()
    assert "Profile field first name: John → test" in content
