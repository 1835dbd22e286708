"""factory-boy factories for the events app's models: deliveries, activity, sync and audit
runs, erasures."""

import hashlib
import json
from datetime import timedelta

import factory
from django.utils import timezone
from factory.django import DjangoModelFactory

from events.models import (
    Activity,
    AuditDifference,
    AuditRun,
    Delivery,
    DeliveryStatus,
    DriftCause,
    Erasure,
    SyncRun,
    SyncRunStatus,
)
from tests.payloads import webhook_body

from .leads import AssetFactory, LeadFactory


def _webhook_body(delivery) -> bytes:
    lead_id = delivery.lead_kartra_id
    return json.dumps(webhook_body(lead_id, delivery.action, {}, id=lead_id)).encode()


class DeliveryFactory(DjangoModelFactory):
    received_at = factory.LazyFunction(timezone.now)
    action = "assign_tag"
    lead_kartra_id = factory.Sequence(lambda n: 100_000 + n)
    body = factory.LazyAttribute(_webhook_body)
    body_sha256 = factory.LazyAttribute(lambda d: hashlib.sha256(d.body or b"").hexdigest())
    size = factory.LazyAttribute(lambda d: len(d.body or b""))
    content_type = "application/json"
    headers = factory.LazyFunction(lambda: {"User-Agent": "Kartra"})
    remote_addr = "203.0.113.7"
    status = DeliveryStatus.PROCESSED
    attempts = 1
    processed_at = factory.LazyAttribute(lambda d: d.received_at)

    class Meta:
        model = Delivery


class ActivityFactory(DjangoModelFactory):
    lead = factory.SubFactory(LeadFactory)
    action = "kartra_page_visit"
    occurred_at = factory.LazyFunction(timezone.now)
    asset = factory.SubFactory(AssetFactory)
    details = factory.LazyFunction(dict)

    class Meta:
        model = Activity


class SyncRunFactory(DjangoModelFactory):
    kind = "refresh"
    arguments = factory.LazyFunction(dict)
    started_at = factory.LazyFunction(timezone.now)
    finished_at = factory.LazyAttribute(lambda run: run.started_at + timedelta(minutes=3))
    status = SyncRunStatus.SUCCEEDED
    leads_refreshed = 10
    api_calls = 10

    class Meta:
        model = SyncRun


class AuditRunFactory(DjangoModelFactory):
    kind = "daily"
    started_at = factory.LazyFunction(lambda: timezone.now() - timedelta(minutes=5))
    finished_at = factory.LazyFunction(timezone.now)
    heartbeat_at = factory.SelfAttribute("finished_at")
    status = SyncRunStatus.SUCCEEDED
    leads_compared = 50
    api_calls = 50

    class Meta:
        model = AuditRun


class AuditDifferenceFactory(DjangoModelFactory):
    """A tag Kartra holds and the mirror missed."""

    run = factory.SubFactory(AuditRunFactory)
    lead = factory.SubFactory(LeadFactory)
    lead_kartra_id = factory.SelfAttribute("lead.kartra_id")
    relation = "tag"
    name = "VIP"
    mirror_value = None
    kartra_value = "assigned"
    cause = DriftCause.MISSED_WEBHOOK

    class Meta:
        model = AuditDifference


class ErasureFactory(DjangoModelFactory):
    erased_at = factory.LazyFunction(timezone.now)
    actor = "os:ops"
    lead_found = True
    counts = factory.LazyFunction(lambda: {"leads.Lead": 1})

    class Meta:
        model = Erasure
