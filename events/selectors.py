"""Reads over deliveries shared by the commands, the admin and the API."""

import re
from datetime import UTC, datetime, timedelta

from django.db.models import QuerySet
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


def deliveries_prunable(*, older_than: timedelta) -> QuerySet[Delivery]:
    """Processed deliveries older than the age that still hold a body; failed, rejected and
    unprocessed ones are never pruned, so they can still be replayed."""
    return Delivery.objects.filter(
        status__in=[DeliveryStatus.PROCESSED, DeliveryStatus.UNKNOWN_ACTION],
        received_at__lt=timezone.now() - older_than,
        body__isnull=False,
    )
