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
from .upsert import applied_keys, rows_insert, rows_upsert, upsert_observed

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
    # The options of every record: two leads' values in one batch may choose different ones.
    _options_upsert((found[field_key(r)], option) for r in records for option in r.options)
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
    # One row per option (one statement may not update a row twice; the last listing's
    # value wins), in key order, so that concurrent writers lock them in the same order.
    values = {(f.pk, o.kartra_id): o.value for f, o in pairs}
    if not values:
        return
    rows_upsert(
        CustomFieldOption,
        [
            {"field_id": field_id, "kartra_id": kartra_id, "value": value}
            for (field_id, kartra_id), value in sorted(values.items())
        ],
        unique=["field_id", "kartra_id"],
        update=["value"],
    )


def custom_values_apply(
    values: list[tuple[Lead, CustomValueRecord, Observation]],
    *,
    confirmed: Sequence[tuple[CustomValueRecord, Observation]] = (),
) -> None:
    """Upsert the custom field values of ``(lead, value, observation)``, the newest
    observation per lead and field winning (a field listed twice: the last listing), and
    replace the chosen options of the values written. Field identifiers follow the newest
    observation of the batch, ``confirmed`` values included: values the caller knows are
    stored as they are, whose fields and options are still observed. The number of
    queries does not grow with the values."""
    observed = [(record, observation) for _, record, observation in values] + list(confirmed)
    if not observed:
        return
    newest = max(observation.at for _, observation in observed)
    fields = custom_fields_upsert([record for record, _ in observed], observed_at=newest)
    if not values:
        return
    rows = [
        {
            "lead_id": lead.pk,
            "field_id": fields[field_key(record)].pk,
            "text": record.text,
            **observation.fields(),
        }
        for lead, record, observation in values
    ]
    upsert_observed(CustomFieldValue, rows, unique=("lead_id", "field_id"), update=("text",))
    written = applied_keys(CustomFieldValue, rows, unique=("lead_id", "field_id"))
    if not written:
        return
    chosen = {
        (lead.pk, fields[field_key(record)].pk): {o.kartra_id for o in record.options}
        for lead, record, _ in values
    }
    options = CustomFieldOption.objects.filter(
        field_id__in={field for _, field in written},
        kartra_id__in={k for key in written for k in chosen[key]},
    ).values_list("pk", "field_id", "kartra_id")
    through = CustomFieldValue.options.through
    through.objects.filter(customfieldvalue_id__in=written.values()).delete()
    leads_of: dict[int, list[int]] = {}
    for lead, field in written:
        leads_of.setdefault(field, []).append(lead)
    rows_insert(
        through,
        [
            {"customfieldvalue_id": written[(lead, field)], "customfieldoption_id": pk}
            for pk, field, kartra_id in sorted(options)
            for lead in leads_of[field]
            if kartra_id in chosen[(lead, field)]
        ],
    )
