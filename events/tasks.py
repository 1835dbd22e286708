"""Background work: processing deliveries when a worker runs, inline when none does."""

from celery import shared_task
from django.conf import settings
from django.db import transaction

from .models import Delivery
from .services import delivery_process


@shared_task(name="events.process_delivery", acks_late=True)
def process_delivery(delivery_id: int) -> str:
    return delivery_process(delivery_id=delivery_id).status


def delivery_dispatch(delivery: Delivery) -> Delivery:
    """Process ``delivery`` now (the embedded default) or queue it for a worker."""
    if settings.KARTRA_PROCESS_INLINE:
        return delivery_process(delivery_id=delivery.pk)
    transaction.on_commit(lambda: process_delivery.delay(delivery.pk))
    return delivery
