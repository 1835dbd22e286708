"""Calendar registrations observed by a batch, with their calendars, classes and events.

``get_lead`` names each registration by Kartra's subscription id; the webhooks of 001 name
none, so a webhook's registration is the lead's registration to that class: the row that a
snapshot numbered, else the unnumbered row webhooks keep. A numbered registration claims the
unnumbered row of its class. Statements per batch do not depend on its size.
"""

from django.db.models import Q

from leads.models import (
    Calendar,
    CalendarClass,
    CalendarEvent,
    CalendarSubscription,
    Lead,
    Source,
)

from .catalog import catalog_resolve_many
from .upsert import rows_insert, upsert_observed

_OBSERVATION = ("observed_at", "observed_source", "observed_ref")


def calendars_write(changes, leads: dict[int, Lead]) -> dict[int, CalendarSubscription]:
    """Upsert the registrations of ``changes`` (``RecordChange`` of ``CalendarRecord``, with
    the status the event sets, if any) and replace the events of those this batch wrote.
    Returns each change's stored registration, by ``id()`` of its record."""
    if not changes:
        return {}
    places = _places(changes, leads)
    groups, new = _rows(changes, places)
    # New unnumbered registrations, one per lead and class (the lead's lock keeps them
    # unique): the changes of one, in observation order, make one row.
    merged: dict[tuple, dict] = {}
    for row in sorted(new, key=lambda r: r["observed_at"]):
        place = (row["lead_id"], row["calendar_id"], row["calendar_class_id"])
        merged[place] = {**merged.get(place, {}), **row}
    CalendarSubscription.objects.bulk_create(
        [CalendarSubscription(**row) for row in merged.values()]
    )
    for (key, columns), rows in groups.items():
        upsert_observed(
            CalendarSubscription,
            rows,
            unique=(key,),
            update=[c for c in columns if c not in (key, *_OBSERVATION)],
        )
    return _events_replace(changes, places)


def _places(changes, leads: dict[int, Lead]) -> dict[int, tuple[int, int, int | None]]:
    """Each change's (lead, calendar, class) primary keys, by ``id()`` of the change; the
    calendars and classes are resolved in the catalogue."""
    calendars = catalog_resolve_many(
        Calendar,
        [
            ((None, *_ref(c.record.calendar)),
             {"vendor_id": c.record.vendor_id, "vendor_timezone": c.record.vendor_timezone})
            for c in changes
        ],
    )  # fmt: skip
    classes = catalog_resolve_many(
        CalendarClass,
        [
            ((calendars[(None, *_ref(c.record.calendar))].pk, *_ref(c.record.calendar_class)), {})
            for c in changes
            if c.record.calendar_class is not None
        ],
        scope="calendar",
    )

    def place(c) -> tuple[int, int, int | None]:
        calendar = calendars[(None, *_ref(c.record.calendar))]
        klass = c.record.calendar_class
        klass_pk = classes[(calendar.pk, *_ref(klass))].pk if klass is not None else None
        return (leads[c.lead].pk, calendar.pk, klass_pk)

    return {id(c): place(c) for c in changes}


def _rows(changes, places) -> tuple[dict[tuple, list[dict]], list[dict]]:
    """The rows to write: grouped by the key they are upserted on (``id`` of a stored row,
    or a registration number) and their columns, and the new unnumbered ones apart."""
    by_number, by_place = _stored(changes, places)
    unnumbered = {key: row for key, row in by_place.items() if row.kartra_id is None}
    groups: dict[tuple, list[dict]] = {}
    new: list[dict] = []
    for c in changes:
        record, (lead_pk, calendar_pk, klass_pk) = c.record, places[id(c)]
        row = {
            "lead_id": lead_pk,
            "calendar_id": calendar_pk,
            "calendar_class_id": klass_pk,
            **_values(record, c.status, full=c.observation.source == Source.SNAPSHOT),
            **c.observation.fields(),
        }
        number = record.subscription_kartra_id
        if number is not None:
            row["kartra_id"] = number
            claimed = unnumbered.pop((lead_pk, calendar_pk, klass_pk), None)
            if number not in by_number and claimed is not None:
                row["id"] = claimed.pk  # first seen by a webhook: takes its number
                by_number[number] = claimed
        else:
            stored = by_place.get((lead_pk, calendar_pk, klass_pk))
            if stored is not None:
                row["id"] = stored.pk
        row["status"] = row.get("status") or "Active"
        if "id" not in row and number is None:
            new.append(row)
            continue
        key = "id" if "id" in row else "kartra_id"
        groups.setdefault((key, tuple(sorted(row))), []).append(row)
    return groups, new


def _stored(changes, places) -> tuple[dict, dict]:
    """The stored registrations the changes may update: by registration number, and the
    newest by (lead, calendar, class)."""
    numbers = {c.record.subscription_kartra_id for c in changes} - {None}
    existing = list(
        CalendarSubscription.objects.filter(
            lead_id__in={p[0] for p in places.values()},
            calendar_id__in={p[1] for p in places.values()},
        )
    )
    by_number = {row.kartra_id: row for row in existing if row.kartra_id is not None}
    by_number.update(
        {
            row.kartra_id: row
            for row in CalendarSubscription.objects.filter(kartra_id__in=numbers - set(by_number))
        }
    )
    by_place: dict[tuple, CalendarSubscription] = {}
    for row in sorted(existing, key=lambda r: r.observed_at):
        by_place[(row.lead_id, row.calendar_id, row.calendar_class_id)] = row  # newest last
    return by_number, by_place


def _ref(ref) -> tuple[int | None, str]:
    return (ref.kartra_id, ref.name)


def _values(record, status: str | None, *, full: bool) -> dict:
    """The registration's columns the record (or the event) carries: all of them from a
    snapshot, which lists the whole registration; the non-empty ones from a webhook."""
    values = {
        "status": status or record.status,
        "vendor_id": record.vendor_id,
        "vendor_timezone": record.vendor_timezone,
        "ics_calendar_link": record.ics_calendar_link,
        "hosts": list(record.hosts),
    }
    return values if full else {k: v for k, v in values.items() if v}


def _events_replace(changes, places) -> dict[int, CalendarSubscription]:
    """Replace the events of the registrations this batch wrote; return every change's
    stored registration."""
    numbers = {c.record.subscription_kartra_id for c in changes} - {None}
    rows = list(
        CalendarSubscription.objects.filter(
            Q(
                lead_id__in={p[0] for p in places.values()},
                calendar_id__in={p[1] for p in places.values()},
            )
            | Q(kartra_id__in=numbers)
        ).select_related("calendar", "calendar_class")
    )
    by_number = {row.kartra_id: row for row in rows if row.kartra_id is not None}
    by_place = {}
    for row in sorted(rows, key=lambda r: r.observed_at):
        by_place[(row.lead_id, row.calendar_id, row.calendar_class_id)] = row
    stored = {}
    events = {}
    for c in changes:
        number = c.record.subscription_kartra_id
        row = by_number[number] if number is not None else by_place[places[id(c)]]
        stored[id(c.record)] = row
        applied = (row.observed_at, row.observed_source, row.observed_ref) == (
            c.observation.at,
            c.observation.source,
            c.observation.ref,
        )
        if applied and c.record.events:
            events[row.pk] = c.record.events
    if events:
        CalendarEvent.objects.filter(subscription_id__in=events).delete()
        rows_insert(
            CalendarEvent,
            [
                {"subscription_id": pk, "starts_at": start, "duration_minutes": minutes}
                for pk, rows_ in sorted(events.items())
                for start, minutes in rows_
            ],
            skip_conflicts=True,
        )
    return stored
