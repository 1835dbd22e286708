"""/api/v1/activity/, and the staff-only /api/v1/deliveries/ and /api/v1/sync-runs/."""

from datetime import timedelta

import pytest
from django.utils import timezone

from events.models import DeliveryStatus, SyncRunStatus
from tests import factories as f
from tests.kartra_mirror.api.conftest import detail_url, get, ids, results

pytestmark = pytest.mark.django_db


def test_activity_filters_and_order(client_reader):
    now = timezone.now()
    old = f.ActivityFactory(lead__kartra_id=1, occurred_at=now - timedelta(days=3))
    new = f.ActivityFactory(lead=old.lead, action="video_play", occurred_at=now)
    other = f.ActivityFactory(lead__kartra_id=2, occurred_at=now - timedelta(days=1))
    assert ids(client_reader, "activity/") == [new.id, other.id, old.id]
    assert ids(client_reader, "activity/", ordering="occurred_at") == [old.id, other.id, new.id]
    assert ids(client_reader, "activity/", lead=1) == [new.id, old.id]
    assert ids(client_reader, "activity/", action="video_play") == [new.id]
    two_days_ago = (now - timedelta(days=2)).isoformat()
    assert ids(client_reader, "activity/", occurred_after=two_days_ago) == [new.id, other.id]
    assert ids(client_reader, "activity/", occurred_before=two_days_ago) == [old.id]
    body = get(client_reader, f"activity/{new.id}/").json()
    assert body["id"] == new.id and body["url"] == detail_url(f"activity/{new.id}/")
    assert body["lead"] == {"id": 1, "url": detail_url("leads/1/"), "email": new.lead.email}
    assert body["asset"] == {
        "id": new.asset.kartra_id,
        "url": detail_url(f"assets/mirror-{new.asset.pk}/"),
        "kind": "page",
        "name": new.asset.name,
    }


def test_delivery_list_never_carries_the_body(client_staff):
    f.DeliveryFactory(body=b'{"lead": {"id": 1}, "action": "assign_tag"}')
    (row,) = results(client_staff, "deliveries/")
    assert not {"body", "body_text", "headers", "traceback"} & set(row)


def test_delivery_points_at_the_lead_it_was_applied_to(client_staff):
    lead = f.LeadFactory(kartra_id=31)
    applied = f.DeliveryFactory(lead_kartra_id=31, lead=lead)
    pending = f.DeliveryFactory(lead_kartra_id=32, lead=None)
    rows = {row["id"]: row for row in results(client_staff, "deliveries/")}
    assert rows[applied.id]["lead"] == {
        "id": 31,
        "url": detail_url("leads/31/"),
        "email": lead.email,
    }
    assert rows[applied.id]["url"] == detail_url(f"deliveries/{applied.id}/")
    assert rows[pending.id]["lead"] is None and rows[pending.id]["lead_kartra_id"] == 32
    assert get(client_staff, f"deliveries/{applied.id}/").json()["lead"]["id"] == 31


def test_delivery_detail_shows_the_body_as_text(client_staff):
    delivery = f.DeliveryFactory(body='{"name": "Zoë"}'.encode() + b"\xff")
    body = get(client_staff, f"deliveries/{delivery.id}/").json()
    assert body["body_text"] == '{"name": "Zoë"}\ufffd'
    assert body["headers"] == {"User-Agent": "Kartra"}
    pruned = f.DeliveryFactory(body=None, body_pruned_at=timezone.now())
    assert get(client_staff, f"deliveries/{pruned.id}/").json()["body_text"] is None


def test_delivery_filters(client_staff):
    now = timezone.now()
    failed = f.DeliveryFactory(status=DeliveryStatus.FAILED, received_at=now - timedelta(hours=5))
    tagged = f.DeliveryFactory(action="assign_tag", lead_kartra_id=77, received_at=now)
    bought = f.DeliveryFactory(action="buy_product", received_at=now - timedelta(hours=1))
    assert ids(client_staff, "deliveries/") == [tagged.id, bought.id, failed.id]
    assert ids(client_staff, "deliveries/", status="failed") == [failed.id]
    assert ids(client_staff, "deliveries/", action="buy_product") == [bought.id]
    assert ids(client_staff, "deliveries/", lead=77) == [tagged.id]
    two_hours_ago = (now - timedelta(hours=2)).isoformat()
    assert ids(client_staff, "deliveries/", received_after=two_hours_ago) == [tagged.id, bought.id]
    assert ids(client_staff, "deliveries/", received_before=two_hours_ago) == [failed.id]
    assert ids(client_staff, "deliveries/", ordering="received_at")[0] == failed.id


def test_sync_run_filters(client_staff):
    now = timezone.now()
    old = f.SyncRunFactory(kind="catalog", started_at=now - timedelta(days=1))
    new = f.SyncRunFactory(status=SyncRunStatus.FAILED, started_at=now)
    assert ids(client_staff, "sync-runs/") == [new.id, old.id]
    assert ids(client_staff, "sync-runs/", kind="catalog") == [old.id]
    assert ids(client_staff, "sync-runs/", status="failed") == [new.id]
    hour_ago = (now - timedelta(hours=1)).isoformat()
    assert ids(client_staff, "sync-runs/", started_after=hour_ago) == [new.id]
    assert ids(client_staff, "sync-runs/", started_before=hour_ago) == [old.id]
    assert get(client_staff, f"sync-runs/{new.id}/").json()["status"] == "failed"
