"""Custom fields: the account's catalogue of fields and options, and each lead's values.

Kartra's field id is a field's key. Its identifier can change in Kartra under the same id, so
the identifier (and type) follow the newest observation that carries one; a record without
an id (Kartra's own payloads always have one) is matched by identifier.

Everything here works in bulk: the number of queries does not grow with the number of
fields or options.
"""

from collections.abc import Iterable, Sequence
from datetime import datetime

from django.db.models import Q
from django.utils import timezone

from leads.models import (
    CustomField,
    CustomFieldOption,
    CustomFieldValue,
    Lead,
)
from leads.normalize import CustomFieldRecord, CustomValueRecord, OptionRef

from .observation import Observation

_ATTEMPTS = 3

FieldRecord = CustomFieldRecord | CustomValueRecord
#: A field's Kartra id, or its identifier when the record has no id.
FieldKey = int | str


def field_key(record: FieldRecord) -> FieldKey:
    """The key ``custom_fields_upsert`` returns a record's field under."""
    kartra_id = (
        record.field_kartra_id if isinstance(record, CustomValueRecord) else record.kartra_id
    )
    return kartra_id if kartra_id is not None else record.identifier


def custom_fields_upsert(
    records: Sequence[FieldRecord], *, observed_at: datetime | None = None
) -> dict[FieldKey, CustomField]:
    """Make sure every field and every option named in ``records`` exists; return the
    fields by ``field_key``.

    A record with a field id finds its row by that id, or claims the id-less row of its
    identifier (a field first seen without an id); one without an id finds the row of its
    identifier. A row takes the record's identifier and type unless a newer observation
    (``observed_at``, by default now: a catalogue call) changed them. A row still holding
    that identifier is a stale copy of another field, renamed since: its identifier is
    cleared until that field is observed again. A field listed twice: the last listing wins.
    """
    at = observed_at or timezone.now()
    wanted = {field_key(r): r for r in records}
    if not wanted:
        return {}
    for _ in range(_ATTEMPTS):
        found = _fields_write(wanted, at)
        if all(row.pk for row in found.values()):
            break
    else:
        raise RuntimeError("custom fields kept being created concurrently; try again")
    _options_upsert((found[key], option) for key, r in wanted.items() for option in r.options)
    return found


def _fields_write(wanted: dict[FieldKey, FieldRecord], at: datetime) -> dict[FieldKey, CustomField]:
    ids = {k for k in wanted if isinstance(k, int)}
    identifiers = {r.identifier for r in wanted.values() if r.identifier}
    rows = list(CustomField.objects.filter(Q(kartra_id__in=ids) | Q(identifier__in=identifiers)))
    stored = {row.pk: _state(row) for row in rows}
    by_id = {row.kartra_id: row for row in rows if row.kartra_id is not None}
    holders = {row.identifier: row for row in rows if row.identifier}
    found: dict[FieldKey, CustomField] = {}
    for key, record in wanted.items():
        row = by_id.get(key) if isinstance(key, int) else holders.get(key)
        if row is None and isinstance(key, int):
            unnamed = holders.get(record.identifier)
            if unnamed is not None and unnamed.kartra_id is None:
                row = unnamed  # first seen without an id: claimed by it
        found[key] = row or CustomField(identifier="")
        if found[key].kartra_id is None and isinstance(key, int):
            found[key].kartra_id = key
    _follow_newest(wanted, found, holders, at)
    changed = [row for row in rows if _state(row) != stored[row.pk]]
    renamed = [row.pk for row in changed if row.identifier != stored[row.pk][1]]
    if renamed:
        # Renames may swap identifiers between rows: clear them first, so that no row's
        # update meets another row's old identifier.
        CustomField.objects.filter(pk__in=renamed).update(identifier="")
    if changed:
        CustomField.objects.bulk_update(
            changed, ["kartra_id", "identifier", "field_type", "mirror_identifier_observed_at"]
        )
    new = [row for row in found.values() if not row.pk]
    if new:
        # A row a concurrent writer inserted meanwhile is skipped here and read on the next
        # attempt (no row is left without its key after that).
        CustomField.objects.bulk_create(new, ignore_conflicts=True)
        _reread(new)
    return found


def _state(row: CustomField) -> tuple:
    return (row.kartra_id, row.identifier, row.field_type, row.mirror_identifier_observed_at)


def _follow_newest(
    wanted: dict[FieldKey, FieldRecord],
    found: dict[FieldKey, CustomField],
    holders: dict[str, CustomField],
    at: datetime,
) -> None:
    """Give each found row its record's identifier and type, unless an observation newer
    than ``at`` changed them (the row's, or that of another row holding the identifier,
    which otherwise loses it). Rows are changed in memory only."""

    def is_newer(row: CustomField) -> bool:
        observed = row.mirror_identifier_observed_at
        return observed is not None and observed > at

    for key, record in wanted.items():
        row = found[key]
        if is_newer(row):
            continue
        identifier = record.identifier or row.identifier
        holder = holders.get(identifier)
        if holder is not None and holder is not row and holder.identifier == identifier:
            if is_newer(holder):
                identifier = row.identifier  # the holder's claim to it is newer
            else:
                holder.identifier = ""
        if (row.identifier, row.field_type) != (identifier, record.field_type) or (
            row.mirror_identifier_observed_at is None
        ):
            row.identifier, row.field_type = identifier, record.field_type
            row.mirror_identifier_observed_at = at
            if identifier:
                holders[identifier] = row


def _reread(new: list[CustomField]) -> None:
    """Give the rows just inserted their primary keys (``bulk_create`` does not return them
    when it skips conflicts); a row that was not inserted keeps none."""
    ids = {row.kartra_id for row in new if row.kartra_id is not None}
    identifiers = {row.identifier for row in new if row.kartra_id is None}
    rows = CustomField.objects.filter(Q(kartra_id__in=ids) | Q(identifier__in=identifiers))
    by_id = {(row.kartra_id, row.identifier): row.pk for row in rows}
    for row in new:
        row.pk = by_id.get((row.kartra_id, row.identifier))


def _options_upsert(pairs: Iterable[tuple[CustomField, OptionRef]]) -> None:
    pairs = list(pairs)
    if not pairs:
        return
    CustomFieldOption.objects.bulk_create(
        [CustomFieldOption(field=f, kartra_id=o.kartra_id, value=o.value) for f, o in pairs],
        update_conflicts=True,
        unique_fields=["field", "kartra_id"],
        update_fields=["value"],
    )


def lead_apply_custom_values(
    lead: Lead, values: Sequence[CustomValueRecord], *, observation: Observation
) -> None:
    """Set the lead's value of each field in ``values`` (text or chosen options). A field
    listed twice: the last listing wins."""
    latest = {field_key(record): record for record in values}
    fields = custom_fields_upsert(values, observed_at=observation.at)
    if not fields:
        return
    existing = {
        v.field_id: v for v in CustomFieldValue.objects.filter(lead=lead, field__in=fields.values())
    }
    to_create, to_update = [], []
    for key, record in latest.items():
        field = fields[key]
        row = existing.get(field.pk)
        if row is not None and observation.is_older_than(row.observed_at):
            continue
        # The normaliser gives choice types no text; a type Kartra added since keeps its text.
        text = record.text
        if row is None:
            to_create.append(
                CustomFieldValue(lead=lead, field=field, text=text, **observation.fields())
            )
        else:
            row.text = text
            for name, value in observation.fields().items():
                setattr(row, name, value)
            to_update.append(row)
    CustomFieldValue.objects.bulk_create(to_create)
    CustomFieldValue.objects.bulk_update(
        to_update, ["text", "observed_at", "observed_source", "observed_ref"]
    )
    _set_chosen_options(lead, latest, fields, [*to_create, *to_update])


def _set_chosen_options(
    lead: Lead,
    latest: dict[FieldKey, CustomValueRecord],
    fields: dict[FieldKey, CustomField],
    rows: list[CustomFieldValue],
) -> None:
    if not rows:
        return
    row_by_field = {r.field_id: r for r in rows}
    if not all(r.pk for r in rows):  # SQLite's bulk_create may not return keys
        row_by_field = {
            r.field_id: r
            for r in CustomFieldValue.objects.filter(lead=lead, field_id__in=row_by_field)
        }
    wanted = {
        (fields[key].pk, o.kartra_id)
        for key, v in latest.items()
        if fields[key].pk in row_by_field
        for o in v.options
    }
    candidates = CustomFieldOption.objects.filter(
        field_id__in={f for f, _ in wanted}, kartra_id__in={k for _, k in wanted}
    )
    option_ids = {
        (o.field_id, o.kartra_id): o.pk for o in candidates if (o.field_id, o.kartra_id) in wanted
    }
    through = CustomFieldValue.options.through
    through.objects.filter(customfieldvalue__in=[r.pk for r in row_by_field.values()]).delete()
    through.objects.bulk_create(
        [
            through(customfieldvalue_id=row_by_field[field_id].pk, customfieldoption_id=pk)
            for (field_id, _), pk in sorted(option_ids.items())
        ]
    )
