"""Reads over deliveries shared by the commands, the admin and the API."""

import re
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from .models import Delivery, DeliveryStatus

_AGE = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_age(text: str) -> timedelta:
    """``90d``, ``12h``, ``30m``, ``45s`` or ``2w`` as a timedelta; ValueError otherwise."""
    match = _AGE.match(text or "")
    if not match:
        raise ValueError(f"not an age: {text!r} (use a number and one of s, m, h, d, w)")
    return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})


def parse_moment(text: str) -> datetime:
    """An ISO date or datetime (UTC when no zone is given); ValueError otherwise."""
    value = parse_datetime(text) or parse_datetime(f"{text}T00:00:00")
    if value is None:
        raise ValueError(f"not a date or datetime: {text!r}")
    return value if timezone.is_aware(value) else timezone.make_aware(value, UTC)


def deliveries_matching(
    *,
    ids: list[int] | None = None,
    statuses: list[str] | None = None,
    actions: list[str] | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> QuerySet[Delivery]:
    """Deliveries selected by id, status, action and received time, oldest first."""
    query = Delivery.objects.all()
    if ids:
        query = query.filter(pk__in=ids)
    if statuses:
        query = query.filter(status__in=statuses)
    if actions:
        query = query.filter(action__in=actions)
    if since:
        query = query.filter(received_at__gte=since)
    if until:
        query = query.filter(received_at__lt=until)
    return query.order_by("received_at", "pk")


def retention_days() -> dict[str, int]:
    """Days the bodies of each kind of unsuccessful delivery are kept (0: forever)."""
    return {
        DeliveryStatus.FAILED: settings.KARTRA_PRUNE_FAILED_DAYS,
        DeliveryStatus.REJECTED: settings.KARTRA_PRUNE_REJECTED_DAYS,
        DeliveryStatus.UNKNOWN_ACTION: settings.KARTRA_PRUNE_UNKNOWN_DAYS,
    }


def deliveries_prunable(*, older_than: timedelta) -> QuerySet[Delivery]:
    """Deliveries that still hold a body it is time to delete: processed (and suppressed,
    already redacted) ones older than ``older_than``; failed, rejected and unknown-action
    ones older than their ``KARTRA_PRUNE_*_DAYS`` and never sooner than processed ones, so
    that they can be replayed after a fix meanwhile. Unprocessed ones are never pruned."""
    now = timezone.now()
    done = [DeliveryStatus.PROCESSED, DeliveryStatus.SUPPRESSED]
    condition = Q(status__in=done, received_at__lt=now - older_than)
    for status, days in retention_days().items():
        if days > 0:
            age = max(older_than, timedelta(days=days))
            condition |= Q(status=status, received_at__lt=now - age)
    return Delivery.objects.filter(condition, body__isnull=False)
