"""/api/v1/changes/: the change history as a feed a tool resumes from the last cursor it saw."""

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from leads.models import Change
from tests.kartra_mirror.api.conftest import get
from tests.leads.services.test_history import deliver, refresh
from tests.payloads import body, example_details

pytestmark = pytest.mark.django_db

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def test_a_change_reads_with_what_observed_it(client_reader):
    (tagged,) = deliver(body("assign_tag", lead_id=1))
    later = timezone.now().replace(microsecond=0) + timedelta(hours=1)  # after the webhook
    refresh(example_details(id="1", email="lead1@example.com", first_name="Edited"), later, 3)
    page = get(client_reader, "changes/").json()
    created, *rest = page["results"]
    assert created["lead"] == {
        "id": 1,
        "url": "http://testserver/api/v1/leads/1/",
        "email": "lead1@example.com",
    }
    assert (created["kind"], created["name"], created["old"], created["new"]) == (
        "lead", "status", None, "active",
    )  # fmt: skip
    assert (created["source"], created["delivery"], created["sync_run"]) == (
        "webhook", tagged.pk, None,
    )  # fmt: skip
    assert created["url"] == f"http://testserver/api/v1/changes/{created['id']}/"
    renamed = next(row for row in rest if row["name"] == "first_name")
    assert (renamed["old"], renamed["new"]) == ("John", "Edited")
    assert (renamed["source"], renamed["delivery"], renamed["sync_run"]) == ("snapshot", None, 3)
    assert renamed["observed_at"] == later.isoformat().replace("+00:00", "Z")
    assert get(client_reader, f"changes/{renamed['id']}/").json() == renamed


def test_the_feed_resumes_exactly_after_its_cursor(client_reader):
    for lead_id in range(1, 6):
        deliver(body("assign_tag", lead_id=lead_id))
    first = get(client_reader, "changes/", page_size=2).json()
    assert [row["id"] for row in first["results"]] == list(
        Change.objects.order_by("id").values_list("id", flat=True)[:2]
    )
    assert first["more"] is True and first["cursor"] == str(first["results"][-1]["id"])
    seen = [row["id"] for row in first["results"]]
    page = first
    while page["more"]:
        page = get(client_reader, "changes/", page_size=2, after=page["cursor"]).json()
        seen += [row["id"] for row in page["results"]]
    assert seen == sorted(Change.objects.values_list("id", flat=True))
    # Nothing new: the same cursor again, to poll with.
    idle = get(client_reader, "changes/", after=page["cursor"]).json()
    assert (idle["results"], idle["more"], idle["cursor"]) == ([], False, page["cursor"])
    assert idle["next"].endswith(f"after={page['cursor']}")
    # What happens next comes after it.
    deliver(body("unassign_tag", lead_id=3))
    (new,) = get(client_reader, "changes/", after=idle["cursor"]).json()["results"]
    assert (new["kind"], new["name"], new["lead"]["id"]) == ("tag", "VIP", 3)


def test_filters_keep_the_feed_order(client_reader):
    deliver(body("assign_tag", lead_id=1), body("assign_tag", lead_id=2))
    deliver(
        body("unassign_tag", lead_id=1, first_name="Jo"),
        body("list_subscription", lead_id=2),
        at=None,
    )
    rows = get(client_reader, "changes/", lead=1).json()["results"]
    assert [(r["kind"], r["name"]) for r in rows] == [
        ("lead", "status"),
        ("profile", "first_name"),
        ("tag", "VIP"),
    ]
    by_kind = get(client_reader, "changes/", kind="tag").json()["results"]
    assert [(r["lead"]["id"], r["kind"]) for r in by_kind] == [(1, "tag")]
    assert [
        r["name"] for r in get(client_reader, "changes/", name="first_name").json()["results"]
    ] == ["first_name"]
    later = Change.objects.order_by("id").last().observed_at
    timed = get(client_reader, "changes/", observed_after=later.isoformat()).json()["results"]
    assert {r["id"] for r in timed} == set(
        Change.objects.filter(observed_at__gte=later).values_list("id", flat=True)
    )
    assert get(client_reader, "changes/", source="snapshot").json()["results"] == []
    refresh(example_details(id="1", email="lead1@example.com"), T0 + timedelta(days=9000), run=4)
    assert {
        r["sync_run"] for r in get(client_reader, "changes/", source="snapshot").json()["results"]
    } == {4}


@pytest.mark.parametrize("after", ["x", "-1", "1.5", str(2**63)])
def test_a_bad_cursor_is_a_400_that_says_why(client_reader, after):
    response = get(client_reader, "changes/", after=after)
    assert response.status_code == 400
    assert "after" in response.json()


def test_the_feed_needs_the_view_permission(client_no_perm, client_anonymous):
    assert get(client_no_perm, "changes/").status_code == 403
    assert get(client_anonymous, "changes/").status_code == 401
