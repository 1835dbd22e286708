"""Helpers of the pipeline tests: stored deliveries at chosen times, snapshots."""

import json
from datetime import UTC, datetime, timedelta

from events.models import Delivery, DeliveryKind
from events.services import delivery_store
from leads.normalize import parse_lead_details
from leads.services.snapshot import lead_apply_snapshot

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def store(
    raw: bytes | dict, received_at: datetime, *, kind: str = DeliveryKind.WEBHOOK
) -> Delivery:
    """Store a delivery as the view would, then move its received time."""
    if isinstance(raw, dict):
        raw = json.dumps(raw).encode()
    delivery = delivery_store(body=raw, kind=kind)
    Delivery.objects.filter(pk=delivery.pk).update(received_at=received_at)
    return delivery


def snapshot(details: dict, requested_at: datetime, run: int | None = 7):
    return lead_apply_snapshot(
        snapshot=parse_lead_details(details), requested_at=requested_at, sync_run_id=run
    )
