"""kartra_replay and kartra_prune."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from events.models import Delivery, DeliveryStatus
from events.services import delivery_store
from leads.models import LeadTag
from tests.payloads import body

pytestmark = pytest.mark.django_db


def _run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO())
    return out.getvalue()


def test_replay_by_status_processes_received_deliveries():
    first = delivery_store(body=body("assign_tag"))
    delivery_store(body=body("assign_tag", lead_id=2))

    output = _run("kartra_replay", "--status", "received")

    assert "Replayed 2 deliveries: 2 processed." in output
    assert Delivery.objects.filter(status=DeliveryStatus.PROCESSED).count() == 2
    assert LeadTag.objects.count() == 2
    assert Delivery.objects.get(pk=first.pk).attempts == 1


def test_replay_by_id_and_action_and_time_range():
    old = delivery_store(body=body("assign_tag"))
    Delivery.objects.filter(pk=old.pk).update(received_at=timezone.now() - timedelta(days=3))
    new = delivery_store(body=body("list_subscription"))
    for d in (old, new):
        _run("kartra_replay", str(d.pk))
    since = (timezone.now() - timedelta(days=1)).date().isoformat()

    assert "Replayed 1 deliveries" in _run("kartra_replay", "--since", since)
    assert "Replayed 1 deliveries" in _run("kartra_replay", "--action", "assign_tag")
    assert Delivery.objects.get(pk=old.pk).attempts == 2
    assert Delivery.objects.get(pk=new.pk).attempts == 2


def test_replay_exits_non_zero_when_a_delivery_fails_again():
    delivery_store(body=b"not json")
    with pytest.raises(CommandError, match="1 deliveries failed again"):
        _run("kartra_replay", "--status", "received")
    assert Delivery.objects.get().status == DeliveryStatus.REJECTED


def test_replay_needs_a_selection():
    with pytest.raises(CommandError, match="say what to replay"):
        _run("kartra_replay")


def test_prune_deletes_only_old_processed_bodies():
    old_ok = delivery_store(body=body("assign_tag"))
    _run("kartra_replay", str(old_ok.pk))
    old_failed = delivery_store(body=b"nope", status=DeliveryStatus.FAILED)
    old_received = delivery_store(body=body("assign_tag", lead_id=2))
    recent_ok = delivery_store(body=body("assign_tag", lead_id=3))
    _run("kartra_replay", str(recent_ok.pk))
    Delivery.objects.exclude(pk=recent_ok.pk).update(
        received_at=timezone.now() - timedelta(days=91)
    )

    assert "Pruned the bodies of 1 deliveries" in _run("kartra_prune", "--older-than", "90d")

    assert Delivery.objects.get(pk=old_ok.pk).body is None
    assert Delivery.objects.get(pk=old_ok.pk).body_pruned_at is not None
    for kept in (old_failed, old_received, recent_ok):
        assert Delivery.objects.get(pk=kept.pk).body is not None
    assert LeadTag.objects.filter(lead__kartra_id=1).exists()  # mirror state kept


def test_prune_rejects_a_bad_age():
    with pytest.raises(CommandError, match="not an age"):
        _run("kartra_prune", "--older-than", "ninety")
