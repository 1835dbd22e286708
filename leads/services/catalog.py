"""Catalogue rows resolved in bulk: one claim and rename rule for every catalogue.

Webhooks name catalogue rows by Kartra id and name; ``get_lead`` and ``retrieve_account_*``
by name only. The rule, for tags, lists, sequences, memberships and their levels, products,
calendars and their classes, surveys and assets alike:

- a reference with an id finds the row with that id (within its scope: the membership of a
  level, the calendar of a class, the kind of an asset); failing that it claims the id-less
  row of its name (first seen by name), else it creates the row. A known id arriving with
  another name renames its row;
- a reference by name alone finds the row of that name, preferring one with an id (so the
  ids webhooks taught are kept), else creates an id-less row;
- extra values (a product's official name, a calendar's vendor) are written when not empty.

References are applied in the order given, so of two names for one id in a batch the later
one stands. The number of queries does not depend on how many references there are.
"""

from collections.abc import Iterable
from typing import Any

from django.db import IntegrityError, models, transaction
from django.db.models import Q

#: (scope value or None, Kartra id or None, name): how a caller names a catalogue row.
CatalogKey = tuple[Any, int | None, str]

_ATTEMPTS = 3


def changed_values(row: models.Model, values: dict[str, Any]) -> dict[str, Any]:
    """The non-empty ``values`` that differ from ``row``: what an observation changes on a
    catalogue row (an empty name or value never blanks what the mirror knows)."""
    return {k: v for k, v in values.items() if v not in (None, "") and getattr(row, k) != v}


def catalog_resolve_many(
    model: type[models.Model],
    refs: Iterable[tuple[CatalogKey, dict[str, Any]]],
    *,
    scope: str | None = None,
) -> dict[CatalogKey, models.Model]:
    """Return the row of each reference ``(key, extra values)``, creating, claiming or
    renaming rows as the module's rule says. ``scope`` names the field that scopes ids and
    names (``"membership"`` for levels); keys then carry that field's value (a pk, or the
    asset kind). A key with neither id nor name is skipped. Retries when a concurrent
    writer wins a unique race."""
    wanted: dict[CatalogKey, dict[str, Any]] = {}
    for key, extra in refs:
        if key[1] is None and not key[2]:
            continue
        merged = wanted.setdefault(key, {})
        merged.update({k: v for k, v in extra.items() if v not in (None, "")})
    if not wanted:
        return {}
    for attempt in range(_ATTEMPTS):
        try:
            return _resolve(model, wanted, scope)
        except IntegrityError:
            if attempt == _ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")


def catalog_resolve_names(
    model: type[models.Model], names: Iterable[str]
) -> dict[str, models.Model]:
    """The rows of many names (a snapshot's tags, an account's lists), by name."""
    found = catalog_resolve_many(model, [((None, None, n), {}) for n in names if n])
    return {name: row for (_, _, name), row in found.items()}


def _stored(model, wanted: dict[CatalogKey, dict], scope_attr: str | None) -> tuple[dict, ...]:
    """The stored rows ``wanted`` may name, by (scope, id), by (scope, name) (the row a name
    alone finds: one with an id first) and, of the id-less ones, by (scope, name)."""
    query = model.objects.filter(
        Q(kartra_id__in={k for _, k, _ in wanted if k is not None})
        | Q(name__in={n for _, _, n in wanted if n})
    )
    if scope_attr:
        query = query.filter(**{f"{scope_attr}__in": {s for s, _, _ in wanted}})
    by_id: dict[tuple, models.Model] = {}
    by_name: dict[tuple, models.Model] = {}
    unnamed: dict[tuple, models.Model] = {}  # which an id may claim
    for row in query.order_by("pk"):
        s = getattr(row, scope_attr) if scope_attr else None
        if row.kartra_id is not None:
            by_id[(s, row.kartra_id)] = row
        else:
            unnamed[(s, row.name)] = row
        best = by_name.get((s, row.name))
        if best is None or (best.kartra_id is None and row.kartra_id is not None):
            by_name[(s, row.name)] = row
    return by_id, by_name, unnamed


def _changed_save(model, changed: dict[int, models.Model], fields: set[str]) -> None:
    """Save the claimed and renamed rows' ``fields`` (and their auto_now fields)."""
    if not changed:
        return
    auto_now = [f.name for f in model._meta.concrete_fields if getattr(f, "auto_now", False)]
    # Claims and renames can meet a row a concurrent writer just gave the same id: the
    # savepoint keeps the caller's transaction usable for the retry.
    with transaction.atomic():
        model.objects.bulk_update(
            sorted(changed.values(), key=lambda r: r.pk), [*sorted(fields), *auto_now]
        )


def _resolve(model, wanted: dict[CatalogKey, dict], scope: str | None) -> dict:
    scope_attr = model._meta.get_field(scope).attname if scope else None
    by_id, by_name, unnamed = _stored(model, wanted, scope_attr)
    found: dict[CatalogKey, models.Model] = {}
    changed: dict[int, models.Model] = {}
    fields: set[str] = set()
    for key, extra in wanted.items():
        s, kartra_id, name = key
        if kartra_id is not None:
            row = by_id.get((s, kartra_id))
            if row is None and name and (s, name) in unnamed:
                row = unnamed.pop((s, name))
                row.kartra_id = kartra_id  # first seen by name: claimed by its id
                by_id[(s, kartra_id)] = row
                changed[id(row)] = row
                fields.add("kartra_id")
            values = {"name": name, **extra}
        else:
            row = by_name.get((s, name))
            values = extra
        if row is None:
            row = model(**({scope_attr: s} if scope_attr else {}), kartra_id=kartra_id, name=name)
            if kartra_id is not None:
                by_id[(s, kartra_id)] = row
            by_name.setdefault((s, name), row)
        updates = changed_values(row, values)
        for field, value in updates.items():
            setattr(row, field, value)
        if updates and row.pk:
            changed[id(row)] = row
            fields.update(updates)
        found[key] = row
    _changed_save(model, changed, fields)
    new = {id(row): row for row in found.values() if row.pk is None}
    if new:
        model.objects.bulk_create(list(new.values()), ignore_conflicts=True)
        stored = _reread(model, new.values(), scope_attr)
        found = {key: stored[id(row)] if row.pk is None else row for key, row in found.items()}
    return found


def _identity(row: models.Model, scope_attr: str | None) -> tuple:
    s = getattr(row, scope_attr) if scope_attr else None
    return (s, row.kartra_id) if row.kartra_id is not None else (s, None, row.name)


def _reread(model, new: Iterable[models.Model], scope_attr: str | None) -> dict[int, Any]:
    """The stored rows of unsaved ``new`` (inserted now, or by a concurrent writer
    meanwhile), by ``id()`` of the unsaved instance."""
    new = list(new)
    query = model.objects.filter(
        Q(kartra_id__in={r.kartra_id for r in new if r.kartra_id is not None})
        | Q(kartra_id__isnull=True, name__in={r.name for r in new if r.kartra_id is None})
    )
    if scope_attr:
        query = query.filter(**{f"{scope_attr}__in": {getattr(r, scope_attr) for r in new}})
    stored = {_identity(row, scope_attr): row for row in query}
    return {id(row): stored[_identity(row, scope_attr)] for row in new}
