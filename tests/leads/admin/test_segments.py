"""Segments: saved from the lead list, opened, counted, exported, shared and owned."""

import csv
import io
import re
from urllib.parse import urlencode

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from leads.admin import segments
from leads.admin.segments import lead_list_filters, parse_filters
from leads.models import CustomField, FieldType, Lead, LeadTag, Segment, Tag
from leads.selectors import segment_is_editable_by, segments_visible_to
from tests.factories import UserFactory, make_lead, observed

pytestmark = pytest.mark.django_db
LEADS = reverse("admin:leads_lead_changelist")
SEGMENTS = reverse("admin:leads_segment_changelist")
SEGMENT_ADD = reverse("admin:leads_segment_add")
EVERYTHING = ("view_lead", "view_segment", "add_segment", "change_segment", "delete_segment")


def staff(username: str, *codenames: str):
    user = UserFactory(username=username, is_staff=True)
    user.user_permissions.add(
        *Permission.objects.filter(content_type__app_label="leads", codename__in=codenames)
    )
    return user


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def change_url(segment: Segment) -> str:
    return reverse("admin:leads_segment_change", args=[segment.pk])


def export_url(segment: Segment) -> str:
    return reverse("admin:leads_segment_export", args=[segment.pk])


def read_csv(response) -> list[dict]:
    assert response.streaming and response["Content-Type"].startswith("text/csv")
    text = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(text)))


def tag_leads(tag: Tag, leads: list[Lead]) -> None:
    LeadTag.objects.bulk_create(LeadTag(lead=lead, tag=tag, **observed()) for lead in leads)


@pytest.fixture
def ann(db):
    return staff("ann", *EVERYTHING)


@pytest.fixture
def bob(db):
    return staff("bob", *EVERYTHING)


@pytest.fixture
def vip(db) -> Tag:
    return Tag.objects.create(kartra_id=77, name="VIP")


# --- the rules --------------------------------------------------------------------------


def test_each_person_sees_their_own_and_the_shared_segments(ann, bob, admin_user):
    mine = Segment.objects.create(name="mine", owner=ann)
    mine_shared = Segment.objects.create(name="mine, shared", owner=ann, shared=True)
    theirs = Segment.objects.create(name="theirs", owner=bob)
    theirs_shared = Segment.objects.create(name="theirs, shared", owner=bob, shared=True)
    orphan = Segment.objects.create(name="left behind", shared=True)  # its owner was deleted

    assert set(segments_visible_to(ann)) == {mine, mine_shared, theirs_shared, orphan}
    assert set(segments_visible_to(admin_user)) == {
        mine,
        mine_shared,
        theirs,
        theirs_shared,
        orphan,
    }
    assert segment_is_editable_by(mine_shared, ann)
    assert not segment_is_editable_by(theirs_shared, ann)
    assert not segment_is_editable_by(orphan, ann)
    assert all(segment_is_editable_by(s, admin_user) for s in Segment.objects.all())


def test_filters_keep_what_selects_leads_in_a_stable_order():
    params = {"tag": ["5"], "p": ["3"], "o": ["2.-1"], "e": ["1"], "q": ["ada"], "_popup": ["1"]}
    assert lead_list_filters(params) == "q=ada&tag=5"
    assert parse_filters(f"http://host{LEADS}?tag=5&p=2&q=ada") == "q=ada&tag=5"
    assert parse_filters("?custom_value=a+b&custom_field=3") == "custom_field=3&custom_value=a+b"
    assert parse_filters("  ") == ""


# --- save, open, count ------------------------------------------------------------------


def test_save_the_current_list_as_a_segment(ann, vip):
    tagged = make_lead(first_name="Ada")
    tag_leads(vip, [tagged])
    client = logged_in(ann)
    page = client.get(LEADS, {"tag": vip.pk, "q": "ada", "p": "1", "o": "2"}).content.decode()
    filters = f"q=ada&tag={vip.pk}"  # paging and ordering are not kept
    save_url = f"{SEGMENT_ADD}?{urlencode({'filters': filters})}"
    assert f'href="{save_url.replace("&", "&amp;")}"' in page

    form = client.get(save_url).content.decode()
    assert f'value="{filters.replace("&", "&amp;")}"' in form
    assert "tag: VIP" in form and "search: &quot;ada&quot;" in form

    strict = Client(enforce_csrf_checks=True)
    strict.force_login(ann)
    data = {"name": "Ada the VIP", "description": "", "filters": filters, "shared": "on"}
    assert strict.post(save_url, data).status_code == 403  # no CSRF token
    assert not Segment.objects.exists()
    token = strict.get(save_url).cookies["csrftoken"].value
    response = strict.post(save_url, {**data, "csrfmiddlewaretoken": token})
    assert response.status_code == 302 and response["Location"] == f"{LEADS}?{filters}"

    segment = Segment.objects.get()
    assert (segment.name, segment.owner, segment.shared, segment.filters) == (
        "Ada the VIP",
        ann,
        True,
        filters,
    )
    listed = client.get(response["Location"]).context["cl"].result_list
    assert [lead.pk for lead in listed] == [tagged.pk]


def test_filters_the_lead_list_refuses_are_not_saved(ann):
    response = logged_in(ann).post(
        SEGMENT_ADD, {"name": "broken", "filters": "no_such_field=1", "description": ""}
    )
    assert response.status_code == 200
    assert "The lead list does not take these filters" in response.content.decode()
    assert not Segment.objects.exists()


def test_the_chooser_opens_the_segments_a_person_sees(ann, bob, vip):
    tagged = make_lead()
    tag_leads(vip, [tagged])
    make_lead()
    own = Segment.objects.create(name="Own VIPs", owner=ann, filters=f"tag={vip.pk}")
    Segment.objects.create(name="Bob's shared", owner=bob, shared=True, filters="source=api")
    Segment.objects.create(name="Bob's private", owner=bob, filters="source=api")

    response = logged_in(ann).get(f"{LEADS}?{own.filters}")
    content = response.content.decode()
    assert [lead.pk for lead in response.context["cl"].result_list] == [tagged.pk]
    chosen = re.search(r'<li class="selected">\s*<a href="\?([^"]*)">Own VIPs</a>', content)
    assert chosen and chosen.group(1) == own.filters
    assert 'Bob&#x27;s shared</a> <span class="kartra-quiet">(bob)</span>' in content
    assert "Bob&#x27;s private" not in content
    # Filters changed since: the segment is no longer the one shown.
    content = logged_in(ann).get(LEADS, {"tag": vip.pk, "source": "api"}).content.decode()
    assert not re.search(r'<li class="selected">\s*<a href="\?[^"]*">Own VIPs', content)


def test_no_chooser_or_save_link_without_the_permissions(db, vip):
    reader = staff("reader", "view_lead")
    content = logged_in(reader).get(LEADS).content.decode()
    assert "By segment" not in content
    assert "Save as segment" not in content
    assert "Export list as CSV" in content  # exporting needs the view permission only


def test_segment_list_counts_each_segment_bounded(ann, vip, monkeypatch):
    tag_leads(vip, [make_lead() for _ in range(5)])
    few = Segment.objects.create(name="few", owner=ann, filters="q=nobody%40nowhere.example")
    many = Segment.objects.create(name="many", owner=ann, filters=f"tag={vip.pk}")
    monkeypatch.setattr(segments, "COUNT_BOUND", 3)

    content = logged_in(ann).get(SEGMENTS).content.decode()
    open_many = f"{LEADS}?{many.filters}"
    assert f'<a href="{open_many}">more than 3</a>' in content
    assert f'<a href="{LEADS}?{few.filters}">0</a>' in content
    assert f'<a href="{open_many}">Open</a>' in content
    assert f'<a href="{export_url(many)}">Export CSV</a>' in content


def test_segment_list_runs_one_count_per_segment(ann, vip):
    client = logged_in(ann)

    def queries() -> int:
        client.get(SEGMENTS)
        with CaptureQueriesContext(connection) as context:
            assert client.get(SEGMENTS).status_code == 200
        return len(context)

    Segment.objects.create(name="one", owner=ann, filters=f"tag={vip.pk}")
    one = queries()
    for i in range(4):
        Segment.objects.create(name=f"more {i}", owner=ann, filters=f"tag={vip.pk}&source=api")
    assert queries() == one + 4
    # Session, user, permissions, the page's count and rows: plus a count per segment.
    assert one == 6


def test_segment_page_says_what_it_selects(ann, vip):
    tag_leads(vip, [make_lead(), make_lead()])
    segment = Segment.objects.create(
        name="VIPs", owner=ann, filters=f"joined=past_7_days&score__gte=5&tag={vip.pk}"
    )
    content = logged_in(ann).get(change_url(segment)).content.decode()
    assert "<li>tag: VIP</li>" in content and "<li>date joined: Past 7 days</li>" in content
    assert "<li>score__gte: 5</li>" in content  # a plain lookup, as an older link may hold
    assert f'<a href="{LEADS}?{segment.filters.replace("&", "&amp;")}">2 leads</a>' in content
    assert f'href="{export_url(segment)}"' in content


# --- sharing and ownership --------------------------------------------------------------


def test_others_see_a_shared_segment_read_only(ann, bob):
    shared = Segment.objects.create(name="shared", owner=ann, shared=True, filters="source=api")
    private = Segment.objects.create(name="private", owner=ann, filters="source=api")
    client = logged_in(bob)

    page = client.get(change_url(shared))
    assert page.status_code == 200 and b'name="_save"' not in page.content
    changed = client.post(change_url(shared), {"name": "mine now", "filters": "", "shared": "on"})
    assert changed.status_code == 403
    delete_url = reverse("admin:leads_segment_delete", args=[shared.pk])
    assert client.post(delete_url, {"post": "yes"}).status_code == 403
    # Django's bulk delete asks for each selected segment, and refuses the lot.
    client.post(
        SEGMENTS, {"action": "delete_selected", "_selected_action": [shared.pk], "post": "yes"}
    )
    shared.refresh_from_db()
    assert shared.name == "shared"
    # A private one is not there at all for them.
    assert client.get(change_url(private)).status_code == 302
    assert client.get(export_url(private)).status_code == 404
    assert "private" not in client.get(SEGMENTS).content.decode()


def test_owners_change_and_delete_their_own(ann):
    segment = Segment.objects.create(name="draft", owner=ann, filters="source=api")
    client = logged_in(ann)
    response = client.post(
        change_url(segment),
        {"name": "final", "description": "api leads", "filters": "?source=api&p=3", "shared": "on"},
    )
    assert response.status_code == 302
    segment.refresh_from_db()
    assert (segment.name, segment.filters, segment.shared, segment.owner) == (
        "final",
        "source=api",
        True,
        ann,
    )
    client.post(SEGMENTS, {"action": "delete_selected", "_selected_action": [segment.pk]})
    client.post(
        SEGMENTS, {"action": "delete_selected", "_selected_action": [segment.pk], "post": "yes"}
    )
    assert not Segment.objects.exists()


def test_model_permissions_apply_besides_ownership(db):
    viewer = staff("viewer", "view_lead", "view_segment")
    segment = Segment.objects.create(name="own", owner=viewer, filters="")
    client = logged_in(viewer)
    assert client.get(change_url(segment)).status_code == 200
    assert client.post(change_url(segment), {"name": "x", "filters": ""}).status_code == 403
    assert client.get(SEGMENT_ADD).status_code == 403


# --- export -----------------------------------------------------------------------------


def test_export_of_the_whole_filtered_list_is_streamed(ann, vip):
    tagged = [make_lead() for _ in range(60)]  # more than one page of the list
    tag_leads(vip, tagged)
    make_lead()
    client = logged_in(ann)
    content = client.get(LEADS, {"tag": vip.pk, "o": "2"}).content.decode()
    url = f"{reverse('admin:leads_lead_export_list')}?tag={vip.pk}"
    assert f'href="{url}"' in content

    rows = read_csv(client.get(url))
    assert [int(row["kartra_id"]) for row in rows] == sorted(lead.kartra_id for lead in tagged)
    assert {row["tags"] for row in rows} == {"VIP"}


def test_export_streams_many_leads_in_chunks(ann):
    field = CustomField.objects.create(identifier="plan", field_type=FieldType.INPUT_FIELD)
    Lead.objects.bulk_create(
        Lead(kartra_id=100_000 + i, email=f"bulk{i}@example.com", source="import")
        for i in range(1_200)
    )
    response = logged_in(ann).get(reverse("admin:leads_lead_export_list"), {"source": "import"})
    with CaptureQueriesContext(connection) as context:
        chunks = list(response.streaming_content)
    # Several writes, each of a batch of rows; the fields, the leads' one query, then per
    # chunk of 500 leads their tags, lists and custom values.
    assert len(chunks) == 3
    assert len(context) <= 2 + 3 * 3
    lines = b"".join(chunks).decode().splitlines()
    assert len(lines) == 1 + 1_200 and lines[0].endswith(f"custom:{field.identifier}")


def test_segment_export(ann, bob, vip):
    tagged = make_lead()
    tag_leads(vip, [tagged])
    make_lead()
    segment = Segment.objects.create(
        name="VIP buyers!", owner=ann, shared=True, filters=f"tag={vip.pk}"
    )
    response = logged_in(bob).get(export_url(segment))
    assert re.search(
        r'filename="segment-vip-buyers-\d{8}-\d{6}\.csv"', response["Content-Disposition"]
    )
    assert [row["email"] for row in read_csv(response)] == [tagged.email]
    no_leads = staff("no-leads", "view_segment")
    assert logged_in(no_leads).get(export_url(segment)).status_code == 403


# --- filters that no longer hold --------------------------------------------------------


def test_a_segment_naming_a_deleted_tag_still_opens(ann, vip):
    tag_leads(vip, [make_lead()])
    segment = Segment.objects.create(name="VIPs", owner=ann, filters=f"tag={vip.pk}")
    pk = vip.pk
    vip.delete()
    client = logged_in(ann)

    response = client.get(f"{LEADS}?{segment.filters}")
    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == []
    assert f"#{pk} (not in the mirror)" in response.content.decode()
    assert f'<a href="{LEADS}?{segment.filters}">0</a>' in client.get(SEGMENTS).content.decode()
    assert "not in the mirror" in client.get(change_url(segment)).content.decode()


def test_a_segment_naming_a_deleted_custom_field_still_opens(ann):
    field = CustomField.objects.create(identifier="plan", field_type=FieldType.INPUT_FIELD)
    segment = Segment.objects.create(
        name="Gold plan", owner=ann, filters=f"custom_field={field.pk}&custom_value=gold"
    )
    field.delete()
    response = logged_in(ann).get(f"{LEADS}?{segment.filters}")
    assert response.status_code == 200 and list(response.context["cl"].result_list) == []
    assert "not in the mirror" in response.content.decode()


def test_filters_the_list_no_longer_takes(ann):
    segment = Segment.objects.create(name="old", owner=ann, filters="retired_filter=1")
    client = logged_in(ann)
    assert "filters no longer valid" in client.get(SEGMENTS).content.decode()
    assert "no longer takes these filters" in client.get(change_url(segment)).content.decode()
    response = client.get(export_url(segment), follow=True)
    assert "nothing exported" in response.content.decode()
