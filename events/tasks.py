"""Celery tasks that process stored deliveries (see ``events.drain``)."""

from celery import shared_task
from django.conf import settings

from .drain import deliveries_drain
from .services import TRANSIENT_ERRORS


@shared_task(
    name="events.drain_deliveries",
    ignore_result=True,
    autoretry_for=TRANSIENT_ERRORS,
    retry_backoff=True,
    retry_backoff_max=30,
    max_retries=None,
)
def drain_deliveries() -> int:
    """Process every waiting delivery in batches; asked for by the requests that store
    them and, as a sweep, by beat. Returns how many were processed."""
    return deliveries_drain(give_up_after=float(settings.KARTRA_DRAIN_SWEEP_INTERVAL))
