"""Webhook deliveries: store first, then parse, dispatch and apply in one transaction."""

import hashlib
import logging
import traceback
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Value
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone

from leads.models import Lead, Source
from leads.normalize import PayloadError, WebhookEvent, parse_webhook
from leads.services.lead import lead_apply_profile, lead_lock, lead_request_refresh
from leads.services.observation import Observation

from .appliers import APPLIERS, ActivityTarget
from .models import Activity, Delivery, DeliveryStatus

logger = logging.getLogger(__name__)


def delivery_store(
    *,
    body: bytes,
    content_type: str = "",
    headers: dict[str, str] | None = None,
    remote_addr: str | None = None,
    status: str = DeliveryStatus.RECEIVED,
    error: str = "",
) -> Delivery:
    """Save a delivery exactly as received, in its own transaction (autocommit), before
    anything parses it. A body identical to one received within ``KARTRA_DUPLICATE_WINDOW``
    seconds is linked to it as a probable duplicate (Kartra sends no event id)."""
    now = timezone.now()
    digest = hashlib.sha256(body).hexdigest()
    window = timedelta(seconds=settings.KARTRA_DUPLICATE_WINDOW)
    original = (
        Delivery.objects.filter(
            body_sha256=digest,
            received_at__gte=now - window,
            probable_duplicate_of__isnull=True,
        )
        .exclude(status=DeliveryStatus.TOO_LARGE)
        .order_by("received_at", "pk")
        .first()
    )
    return Delivery.objects.create(
        received_at=now,
        body=body if status != DeliveryStatus.TOO_LARGE else None,
        body_sha256=digest,
        size=len(body),
        content_type=content_type[:255],
        headers=headers or {},
        remote_addr=remote_addr,
        status=status,
        error=error,
        probable_duplicate_of=original,
    )


def delivery_process(*, delivery_id: int) -> Delivery:
    """Parse and apply one stored delivery; safe to run again on the same delivery.

    The outcome is recorded on the delivery: ``processed``, ``unknown_action`` (profile
    applied, activity recorded under the action's own name), ``rejected`` (not a Kartra
    event, nothing applied) or ``failed`` (our error; exception and traceback kept, nothing
    applied). Never raises for a bad body or a processing error.
    """
    delivery = Delivery.objects.get(pk=delivery_id)
    delivery.attempts += 1
    if delivery.body is None:
        return _finish(delivery, DeliveryStatus.FAILED, "the raw body was pruned; cannot replay")
    try:
        event = parse_webhook(bytes(delivery.body))
    except PayloadError as exc:
        return _finish(delivery, DeliveryStatus.REJECTED, str(exc))
    delivery.action = event.action[:64]
    delivery.lead_kartra_id = event.lead.kartra_id
    try:
        with transaction.atomic():
            lead = _apply(delivery, event)
            delivery.lead = lead
            status = DeliveryStatus.PROCESSED if event.known else DeliveryStatus.UNKNOWN_ACTION
            return _finish(delivery, status, "")
    except Exception as exc:  # noqa: BLE001 - kept on the delivery for replay
        logger.exception("delivery %s failed", delivery.pk)
        delivery.traceback = traceback.format_exc()
        return _finish(delivery, DeliveryStatus.FAILED, f"{type(exc).__name__}: {exc}")


def _apply(delivery: Delivery, event: WebhookEvent) -> Lead:
    observation = Observation(at=delivery.received_at, source=Source.WEBHOOK, ref=delivery.pk)
    lead = lead_lock(kartra_id=event.lead.kartra_id, email=event.lead.fields.get("email", ""))
    lead_apply_profile(lead, event.lead, observation=observation)
    applier = APPLIERS.get(event.action)
    target = (
        applier(lead, event, observation)
        if applier
        else ActivityTarget(details={"action_details": event.raw_details})
    )
    Activity.objects.update_or_create(
        delivery=delivery,
        defaults={
            "lead": lead,
            "action": event.action[:64],
            "occurred_at": delivery.received_at,
            "asset": target.asset,
            "product": target.product,
            "transaction": target.transaction,
            "points": target.points,
            "details": target.details,
            "probable_duplicate": delivery.probable_duplicate_of_id is not None,
        },
    )
    at = delivery.received_at
    Lead.objects.filter(pk=lead.pk).update(
        mirror_webhook_at=Greatest(Coalesce(F("mirror_webhook_at"), Value(at)), Value(at)),
        mirror_last_activity_at=Greatest(
            Coalesce(F("mirror_last_activity_at"), Value(at)), Value(at)
        ),
    )
    # Webhooks carry one relation only: ask for a full refresh. One pending request per
    # lead, so a burst of deliveries coalesces into one get_lead call.
    lead_request_refresh(lead_ids=[lead.pk])
    return lead


def _finish(delivery: Delivery, status: str, error: str) -> Delivery:
    delivery.status = status
    delivery.error = error
    if status != DeliveryStatus.FAILED:
        delivery.traceback = ""
    delivery.processed_at = timezone.now()
    delivery.save(
        update_fields=[
            "status",
            "error",
            "traceback",
            "processed_at",
            "attempts",
            "action",
            "lead_kartra_id",
            "lead",
        ]
    )
    return delivery
