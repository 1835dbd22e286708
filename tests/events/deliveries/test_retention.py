"""``kartra_prune``: processed bodies go after the age given; failed, rejected and
unknown-action bodies after their own ``KARTRA_PRUNE_*_DAYS`` (never sooner than processed
ones; 0 keeps them); unprocessed ones never."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from events.models import Delivery, DeliveryStatus
from events.services import delivery_store

pytestmark = pytest.mark.django_db


def aged(status: str, days: int) -> int:
    delivery = delivery_store(body=b'{"x": 1}', status=status)
    Delivery.objects.filter(pk=delivery.pk).update(
        received_at=timezone.now() - timedelta(days=days, minutes=1)
    )
    return delivery.pk


def pruned() -> set[int]:
    return set(Delivery.objects.filter(body__isnull=True).values_list("pk", flat=True))


@pytest.fixture
def retention(settings):
    settings.KARTRA_PRUNE_FAILED_DAYS = 60
    settings.KARTRA_PRUNE_REJECTED_DAYS = 10  # shorter than the processed age: that wins
    settings.KARTRA_PRUNE_UNKNOWN_DAYS = 0  # kept forever
    return settings


def test_each_status_keeps_its_bodies_as_long_as_its_setting_says(retention):
    gone = {
        aged(DeliveryStatus.PROCESSED, 31),
        aged(DeliveryStatus.SUPPRESSED, 31),
        aged(DeliveryStatus.FAILED, 61),
        aged(DeliveryStatus.REJECTED, 31),
    }
    kept = {
        aged(DeliveryStatus.PROCESSED, 29),
        aged(DeliveryStatus.FAILED, 59),
        aged(DeliveryStatus.REJECTED, 29),  # past its 10 days, not past the 30 of processed
        aged(DeliveryStatus.UNKNOWN_ACTION, 900),
        aged(DeliveryStatus.RECEIVED, 900),
    }
    dry = StringIO()
    call_command("kartra_prune", "--older-than", "30d", "--dry-run", stdout=dry)
    assert f"Would prune the bodies of {len(gone)} deliveries." in dry.getvalue()
    assert pruned() == set()

    call_command("kartra_prune", "--older-than", "30d", stdout=StringIO())

    assert pruned() == gone
    assert not pruned() & kept


def test_unknown_action_bodies_go_after_their_days(retention):
    retention.KARTRA_PRUNE_UNKNOWN_DAYS = 365
    old, young = aged(DeliveryStatus.UNKNOWN_ACTION, 366), aged(DeliveryStatus.UNKNOWN_ACTION, 364)

    call_command("kartra_prune", "--older-than", "30d", stdout=StringIO())

    assert pruned() == {old} and young not in pruned()


@pytest.mark.parametrize("days", [30, 0])
def test_the_change_history_is_kept_for_its_days(settings, days):
    from leads.models import Change
    from tests.factories import ChangeFactory

    settings.KARTRA_HISTORY_DAYS = days
    now = timezone.now()
    old = ChangeFactory(recorded_at=now - timedelta(days=31))
    recent = ChangeFactory(recorded_at=now - timedelta(days=29))
    out = StringIO()
    call_command("kartra_prune", "--older-than", "90d", "--dry-run", stdout=out)
    assert f"Would delete {1 if days else 2} changes" in out.getvalue()
    assert Change.objects.count() == 2
    call_command("kartra_prune", "--older-than", "90d", stdout=StringIO())
    kept = set(Change.objects.values_list("pk", flat=True))
    assert kept == ({recent.pk} if days else set())
    assert old.pk not in kept
