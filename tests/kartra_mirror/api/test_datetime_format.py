"""Datetimes leave the API in UTC, whatever the display time zone is."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from django.utils import timezone

from kartra_mirror.api.serializers import UtcDateTimeField


def test_datetimes_are_rendered_in_utc_with_z(settings):
    settings.TIME_ZONE = "America/New_York"
    field = UtcDateTimeField()
    eastern = datetime(2019, 3, 26, 6, 35, 31, tzinfo=ZoneInfo("America/New_York"))

    with timezone.override("America/New_York"):
        assert field.to_representation(eastern) == "2019-03-26T10:35:31Z"
        assert field.to_representation(datetime(2024, 1, 2, 3, 4, 5, 6, tzinfo=UTC)) == (
            "2024-01-02T03:04:05.000006Z"
        )
    assert field.to_representation(None) is None
