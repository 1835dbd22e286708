"""Custom fields: the account's catalogue of fields and options, and each lead's values.

Everything here works in bulk: the number of queries does not grow with the number of
fields or options.
"""

from collections.abc import Iterable, Sequence

from leads.models import (
    TEXT_FIELD_TYPES,
    CustomField,
    CustomFieldOption,
    CustomFieldValue,
    Lead,
)
from leads.normalize import CustomFieldRecord, CustomValueRecord, OptionRef

from .observation import Observation


def custom_fields_upsert(
    records: Sequence[CustomFieldRecord | CustomValueRecord],
) -> dict[str, CustomField]:
    """Make sure every field (by identifier, keeping or learning its Kartra id) and every
    option named in ``records`` exists; return the fields by identifier."""
    wanted = {r.identifier: r for r in records if r.identifier}
    if not wanted:
        return {}
    id_of = {
        r.identifier: getattr(r, "kartra_id", None) or getattr(r, "field_kartra_id", None)
        for r in wanted.values()
    }
    by_identifier = {f.identifier: f for f in CustomField.objects.filter(identifier__in=wanted)}
    CustomField.objects.bulk_create(
        [
            CustomField(identifier=i, field_type=r.field_type, kartra_id=id_of[i])
            for i, r in sorted(wanted.items())
            if i not in by_identifier
        ],
        ignore_conflicts=True,
    )
    changed = []
    for field in CustomField.objects.filter(identifier__in=wanted):
        record = wanted[field.identifier]
        new_id = id_of[field.identifier] or field.kartra_id
        if field.field_type != record.field_type or field.kartra_id != new_id:
            field.field_type, field.kartra_id = record.field_type, new_id
            changed.append(field)
        by_identifier[field.identifier] = field
    if changed:
        CustomField.objects.bulk_update(changed, ["field_type", "kartra_id"])
    _options_upsert(
        (by_identifier[r.identifier], option) for r in wanted.values() for option in r.options
    )
    return by_identifier


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
    """Set the lead's value of each field in ``values`` (text or chosen options)."""
    fields = custom_fields_upsert(values)
    if not fields:
        return
    existing = {
        v.field_id: v for v in CustomFieldValue.objects.filter(lead=lead, field__in=fields.values())
    }
    to_create, to_update = [], []
    for record in values:
        field = fields[record.identifier]
        row = existing.get(field.pk)
        if row is not None and observation.is_older_than(row.observed_at):
            continue
        text = record.text if field.field_type in TEXT_FIELD_TYPES else ""
        if row is None:
            to_create.append(
                CustomFieldValue(lead=lead, field=field, text=text, **observation.fields())
            )
        else:
            row.text = text
            for key, value in observation.fields().items():
                setattr(row, key, value)
            to_update.append(row)
    CustomFieldValue.objects.bulk_create(to_create)
    CustomFieldValue.objects.bulk_update(
        to_update, ["text", "observed_at", "observed_source", "observed_ref"]
    )
    _set_chosen_options(lead, values, fields, [*to_create, *to_update])


def _set_chosen_options(lead, values, fields, rows) -> None:
    if not rows:
        return
    row_by_field = {r.field_id: r for r in rows}
    if not all(r.pk for r in rows):  # SQLite's bulk_create may not return keys
        row_by_field = {
            r.field_id: r
            for r in CustomFieldValue.objects.filter(lead=lead, field_id__in=row_by_field)
        }
    wanted = {
        (fields[v.identifier].pk, o.kartra_id)
        for v in values
        if fields[v.identifier].pk in row_by_field
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
