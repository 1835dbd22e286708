"""Date filters by periods counted back from today, so that a saved segment's "past 7 days"
moves with the calendar."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from django.contrib import admin
from django.utils import timezone


class RelativeDateFilter(admin.SimpleListFilter):
    """A date column by periods counted back from today, in the current time zone.

    Django's date filter writes the period's dates into the URL, so a segment saved with
    "past 7 days" would keep that week forever; this one keeps the period's name.
    """

    field: str
    periods = (
        ("today", "Today"),
        ("past_7_days", "Past 7 days"),
        ("past_30_days", "Past 30 days"),
        ("this_month", "This month"),
        ("this_year", "This year"),
        ("over_30_days", "More than 30 days ago"),
        ("none", "No date"),
    )

    def lookups(self, request, model_admin):
        return self.periods

    def queryset(self, request, queryset):
        period = self.value()
        if period is None:
            return queryset
        if period == "none":
            return queryset.filter(**{f"{self.field}__isnull": True})
        if period not in dict(self.periods):
            raise admin.options.IncorrectLookupParameters(period)
        start, end = self.bounds(period)
        if start is not None:
            queryset = queryset.filter(**{f"{self.field}__gte": start})
        return queryset.filter(**{f"{self.field}__lt": end})

    def bounds(self, period: str) -> tuple[datetime | None, datetime]:
        """Where a period starts (None: at the beginning of time) and ends (excluded)."""
        today = timezone.localdate()
        if period == "over_30_days":
            return None, _midnight(today - timedelta(days=29))
        starts = {
            "today": today,
            "past_7_days": today - timedelta(days=6),
            "past_30_days": today - timedelta(days=29),
            "this_month": today.replace(day=1),
            "this_year": today.replace(month=1, day=1),
        }
        return _midnight(starts[period]), _midnight(today + timedelta(days=1))


def _midnight(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


class JoinedFilter(RelativeDateFilter):
    title = "date joined"
    parameter_name = "joined"
    field = "date_joined"


class LastActivityFilter(RelativeDateFilter):
    title = "last activity"
    parameter_name = "last_activity"
    field = "mirror_last_activity_at"
